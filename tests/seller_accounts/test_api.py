"""/api/categorize and /api/categorize-photo: JSON answers for the seller form's
suggestions, with authentication, CSRF and input limits enforced."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from shop_ml import facade
from tests.seller_accounts.conftest import image_bytes, png_claiming, stored_files, upload

pytestmark = pytest.mark.django_db

CATEGORIZE = "/api/categorize"
PHOTO = "/api/categorize-photo"
JEANS = {
    "name": "Roadster Men Blue Jeans", "gender": "Men", "masterCategory": "Apparel",
    "subCategory": "Bottomwear", "articleType": "Jeans", "baseColour": "Blue", "season": "Fall",
    "usage": "Casual",
    "confidence": {"gender": 0.97, "masterCategory": 0.99, "subCategory": 0.98, "articleType": 0.91,
                   "baseColour": 0.88, "season": 0.52, "usage": 0.9},
    "candidates": [{"articleType": "Jeans", "probability": 0.91},
                   {"articleType": "Trousers", "probability": 0.05},
                   {"articleType": "Shorts", "probability": 0.02}],
}


@pytest.fixture
def categorized(monkeypatch):
    """The calls the API made to the categorizer, which answers JEANS."""
    calls = []

    def categorize(names, model="default"):
        calls.append((list(names), model))
        return [{**JEANS, "name": name} for name in names]
    monkeypatch.setattr(facade, "categorize", categorize)
    monkeypatch.setattr(facade, "artifact_status", lambda: {
        "categorizer-default": {"loaded": True, "version": "20260101T000000Z"},
        "categorizer-cascade": {"loaded": True, "version": "20260202T000000Z"}})
    return calls


@pytest.fixture
def photo_guesses(monkeypatch):
    calls = []

    def predict(image, top=3):
        calls.append((image.size, top))
        return [("Jeans", 0.8), ("Trousers", 0.15), ("Shorts", 0.05)][:top]
    monkeypatch.setattr(facade, "predict_article_type_from_image", predict)
    return calls


def post_json(client, url, payload, **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", **extra)


def test_the_urls_are_named():
    assert reverse("api:categorize") == CATEGORIZE
    assert reverse("api:categorize_photo") == PHOTO


# Who may call ----------------------------------------------------------------

@pytest.mark.parametrize("url", [CATEGORIZE, PHOTO])
def test_anonymous_callers_get_a_json_401_not_a_redirect(client, categorized, url):
    response = post_json(client, url, {"name": "Blue jeans"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Sign in to get suggestions."}
    assert categorized == []


@pytest.mark.parametrize("url", [CATEGORIZE, PHOTO])
def test_csrf_is_enforced(seller_a, categorized, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller_a.user)
    response = post_json(client, url, {"name": "Blue jeans"})
    assert response.status_code == 403
    assert categorized == []


def test_a_request_with_the_csrf_token_passes(seller_a, categorized):
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller_a.user)
    page = client.get(reverse("seller_accounts:product_create"))
    token = page.cookies["csrftoken"].value
    response = post_json(client, CATEGORIZE, {"name": "Blue jeans"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["available"] is True


@pytest.mark.parametrize("url", [CATEGORIZE, PHOTO])
def test_get_is_refused_with_json(client_a, url):
    response = client_a.get(url)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json() == {"error": "Use POST."}


# /api/categorize ---------------------------------------------------------------

def test_json_body_answers_the_facade_suggestions(client_a, categorized):
    response = post_json(client_a, CATEGORIZE, {"name": "  Roadster Men Blue Jeans  ", "model": "cascade"})
    assert response.status_code == 200
    assert categorized == [(["Roadster Men Blue Jeans"], "cascade")]
    body = response.json()
    assert body == {"suggestions": {**JEANS, "name": "Roadster Men Blue Jeans"}, "model": "cascade",
                    "version": "20260202T000000Z", "available": True}


def test_form_encoded_body_and_default_model(client_a, categorized):
    response = client_a.post(CATEGORIZE, {"name": "Blue jeans"})
    assert response.status_code == 200
    assert categorized == [(["Blue jeans"], "default")] and response.json()["model"] == "default"


def test_buyers_signed_in_may_ask_too(buyer_client, categorized):
    assert post_json(buyer_client, CATEGORIZE, {"name": "Blue jeans"}).status_code == 200


def test_no_trained_model_answers_unavailable_not_an_error(client_a, monkeypatch):
    monkeypatch.setattr(facade, "categorize", lambda names, model="default": [])
    response = post_json(client_a, CATEGORIZE, {"name": "Blue jeans"})
    assert response.status_code == 200
    assert response.json() == {"suggestions": {}, "model": "default", "version": "", "available": False}


@pytest.mark.parametrize("body,message", [
    ("{not json", "The body is not valid JSON."),
    (b"\xff\xfe{}", "The body is not valid JSON."),
    ("[\"Blue jeans\"]", "Send a JSON object"),
    ("\"Blue jeans\"", "Send a JSON object"),
    ({}, "Enter a product name."),
    ({"name": ""}, "Enter a product name."),
    ({"name": "   \t "}, "Enter a product name."),
    ({"name": None}, "Enter a product name."),
    ({"name": 42}, "“name” must be a string."),
    ({"name": ["Blue", "jeans"]}, "“name” must be a string."),
    ({"name": {"text": "x"}}, "“name” must be a string."),
    ({"name": "Blue jeans", "model": 1}, "“model” must be a string."),
    ({"name": "Blue jeans", "model": "gpt"}, "Unknown model; use one of: default, cascade."),
    ({"name": "x" * 10_000}, "The name is 10000 characters long; the limit is 300."),
    ({"name": "x" * 301}, "The name is 301 characters long; the limit is 300."),
    ({"name": "Blue\x00jeans"}, "Null characters are not allowed."),
])
def test_bad_input_is_a_400_saying_why(client_a, categorized, body, message):
    response = post_json(client_a, CATEGORIZE, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert categorized == []


def test_a_name_of_exactly_300_characters_after_strip_is_accepted(client_a, categorized):
    response = post_json(client_a, CATEGORIZE, {"name": "  " + "x" * 300 + "  "})
    assert response.status_code == 200 and categorized == [(["x" * 300], "default")]


def test_a_missing_form_field_is_a_400(client_a, categorized):
    response = client_a.post(CATEGORIZE, {"model": "default"})
    assert response.status_code == 400 and response.json() == {"error": "Enter a product name."}


def test_an_oversized_body_is_refused_before_parsing(client_a, categorized):
    response = post_json(client_a, CATEGORIZE, {"name": "Blue jeans", "padding": "x" * 40_000})
    assert response.status_code == 413
    assert "larger than 32 KB" in response.json()["error"] and categorized == []


# /api/categorize-photo -------------------------------------------------------

def test_a_photo_answers_the_top_three_article_types(client_a, photo_guesses, settings):
    response = client_a.post(PHOTO, {"photo": upload("jeans.png", image_bytes("PNG", size=(64, 80)), "image/png")})
    assert response.status_code == 200
    assert response.json() == {"available": True, "article_types": [
        {"articleType": "Jeans", "probability": 0.8}, {"articleType": "Trousers", "probability": 0.15},
        {"articleType": "Shorts", "probability": 0.05}],
        "suggestions": {}, "model": "", "version": "", "disagreements": []}  # no fused model
    assert photo_guesses == [((64, 80), 3)]
    assert stored_files(settings) == []


def test_no_image_model_answers_unavailable(client_a, monkeypatch):
    monkeypatch.setattr(facade, "predict_article_type_from_image", lambda image, top=3: [])
    response = client_a.post(PHOTO, {"photo": upload()})
    assert response.status_code == 200 and response.json() == {
        "available": False, "article_types": [], "suggestions": {}, "model": "", "version": "",
        "disagreements": []}


@pytest.mark.parametrize("photo,message", [
    (None, "Choose a photo"),
    (upload("photo.jpg", b"just some text, honest\n" * 20), "not an image"),
    (upload("photo.jpg", b""), "The file is empty."),
    (upload("bomb.png", png_claiming(100_000, 100_000), "image/png"), "more than 25,000,000 pixels"),
    (upload("photo.bmp", image_bytes("BMP"), "image/bmp"), "BMP files are not accepted"),
])
def test_a_bad_photo_is_a_400_saying_why_and_stores_nothing(client_a, photo_guesses, settings, photo, message):
    response = client_a.post(PHOTO, {} if photo is None else {"photo": photo})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert photo_guesses == [] and stored_files(settings) == []


def test_a_huge_photo_is_a_400(client_a, photo_guesses, settings):
    data = image_bytes("PNG", size=(200, 200))
    settings.MAX_UPLOAD_BYTES = len(data) - 1
    response = client_a.post(PHOTO, {"photo": upload("big.png", data, "image/png")})
    assert response.status_code == 400 and "limit" in response.json()["error"]
    assert photo_guesses == [] and stored_files(settings) == []


def test_a_photo_over_the_pixel_limit_is_a_400(client_a, photo_guesses, settings):
    settings.MAX_IMAGE_PIXELS = 100
    response = client_a.post(PHOTO, {"photo": upload()})
    assert response.status_code == 400
    assert response.json() == {"error": "The photo is 48×32 pixels; the limit is 100 pixels."}
    assert photo_guesses == []


# With a real categorizer -------------------------------------------------------

def tiny_catalog():
    kinds = [("Men Blue Denim Jeans", "Men", "Apparel", "Bottomwear", "Jeans", "Blue"),
             ("Women Red Cotton Kurta", "Women", "Apparel", "Topwear", "Kurtas", "Red"),
             ("Men Black Running Shoes", "Men", "Footwear", "Shoes", "Sports Shoes", "Black"),
             ("Women White Leather Handbag", "Women", "Accessories", "Bags", "Handbags", "White")]
    return [{"id": str(i), "productDisplayName": f"Brand{i} {name}", "gender": gender,
             "masterCategory": master, "subCategory": sub, "articleType": article,
             "baseColour": colour, "season": "Summer", "usage": "Casual"}
            for i in range(40) for name, gender, master, sub, article, colour in [kinds[i % 4]]]


@pytest.fixture
def trained_categorizer(settings):
    """A real "default" categorizer trained on 40 rows and served from the test's MODELS_DIR."""
    from ml.categorization import save_model, train

    facade.reload()
    save_model(settings.MODELS_DIR, train(tiny_catalog(), "default"), {"data": "40 synthetic rows"})
    yield
    facade.reload()


def test_a_real_categorizer_answers_json_with_its_version(client_a, trained_categorizer):
    response = post_json(client_a, CATEGORIZE, {"name": "Roadster blue denim jeans for men"})
    assert response.status_code == 200
    body = response.json()
    assert body["available"] is True and body["model"] == "default"
    assert body["version"] == facade.artifact_status()["categorizer-default"]["version"] != ""
    suggestions = body["suggestions"]
    assert (suggestions["gender"], suggestions["articleType"], suggestions["baseColour"]) == ("Men", "Jeans", "Blue")
    assert set(suggestions["confidence"]) == {"gender", "masterCategory", "subCategory", "articleType",
                                              "baseColour", "season", "usage"}
    assert [c["articleType"] for c in suggestions["candidates"]][0] == "Jeans"
    assert len(suggestions["candidates"]) == 3


def test_without_any_trained_categorizer_the_answer_is_unavailable(client_a, settings):
    facade.reload()
    response = post_json(client_a, CATEGORIZE, {"name": "Blue jeans", "model": "cascade"})
    assert response.status_code == 200
    assert response.json() == {"suggestions": {}, "model": "cascade", "version": "", "available": False}
