"""/api/categorize-photo with the fused categorizer: one suggestion from the name and the
photo, the plain-words disagreement, the photo's own guesses, and what a save records."""
import json

import pytest
from django.urls import reverse

from experiments.models import SuggestionOutcome
from main.models import Product
from shop_ml import facade
from tests.seller_accounts.conftest import stored_files, upload

PHOTO = "/api/categorize-photo"
FUSED = {
    "name": "Catwalk Women Black Flats", "gender": "Women", "masterCategory": "Footwear",
    "subCategory": "Shoes", "articleType": "Heels", "baseColour": "Black", "season": "Summer",
    "usage": "Casual", "confidence": {"articleType": 0.81, "gender": 0.99},
    "candidates": [{"articleType": "Heels", "probability": 0.81}],
    "source": "fused",
    "photo": {"articleType": {"label": "Heels", "probability": 0.93},
              "candidates": [{"articleType": "Heels", "probability": 0.93},
                             {"articleType": "Flats", "probability": 0.05}]},
    "name_only": {"articleType": {"label": "Flats", "probability": 0.88}},
    "disagreements": [{"field": "articleType", "name": "Flats", "photo": "Heels",
                       "name_probability": 0.88, "photo_probability": 0.93,
                       "message": "The photo looks like Heels; the name suggests Flats."}],
}


@pytest.fixture
def listings(monkeypatch):
    calls = []

    def categorize_listings(items):
        calls.append([(name, image.size) for name, image in items])
        return [dict(FUSED, name=items[0][0])]
    monkeypatch.setattr(facade, "categorize_listings", categorize_listings)
    monkeypatch.setattr(facade, "predict_article_type_from_image",
                        lambda *a, **k: pytest.fail("one forward pass is enough"))
    return calls


def test_a_photo_with_the_name_gets_one_fused_suggestion_and_the_disagreement(client_a, listings, settings):
    response = client_a.post(PHOTO, {"photo": upload(), "name": "  Catwalk Women Black Flats "})
    assert response.status_code == 200
    data = response.json()
    assert listings == [[("Catwalk Women Black Flats", (48, 32))]]
    assert data["model"] == "fused" and data["available"] is True
    assert data["suggestions"]["articleType"] == "Heels" and data["suggestions"]["confidence"]["articleType"] == 0.81
    assert set(data["suggestions"]) == {"name", "gender", "masterCategory", "subCategory", "articleType",
                                        "baseColour", "season", "usage", "confidence", "candidates"}
    assert [d["message"] for d in data["disagreements"]] == [
        "The photo looks like Heels; the name suggests Flats."]
    assert data["article_types"] == FUSED["photo"]["candidates"]
    assert stored_files(settings) == []


def test_a_photo_without_a_name_is_answered_from_the_photo(client_a, listings):
    response = client_a.post(PHOTO, {"photo": upload()})
    assert response.status_code == 200 and listings == [[("", (48, 32))]]


def test_a_name_answer_means_no_fused_model_and_falls_back_to_the_photo_guesses(client_a, monkeypatch):
    monkeypatch.setattr(facade, "categorize_listings",
                        lambda items: [{**FUSED, "source": "name", "photo_error": "no fused model"}])
    monkeypatch.setattr(facade, "predict_article_type_from_image",
                        lambda image, top=3: [("Jeans", 0.8), ("Trousers", 0.15)][:top])
    data = client_a.post(PHOTO, {"photo": upload(), "name": "Flats"}).json()
    assert data["suggestions"] == {} and data["model"] == "" and data["disagreements"] == []
    assert data["article_types"][0] == {"articleType": "Jeans", "probability": 0.8}


@pytest.mark.parametrize("name", ["x" * 301, "y" * 10_000])
def test_an_overlong_name_is_a_400(client_a, listings, name):
    response = client_a.post(PHOTO, {"photo": upload(), "name": name})
    assert response.status_code == 400 and "limit is 300" in response.json()["error"]
    assert listings == []


def test_a_busy_model_is_a_503_to_try_again(client_a, monkeypatch):
    def busy(items):
        raise facade.ModelBusy("taken")
    monkeypatch.setattr(facade, "categorize_listings", busy)
    response = client_a.post(PHOTO, {"photo": upload(), "name": "Flats"})
    assert response.status_code == 503 and "try again" in response.json()["error"]


def test_signed_out_and_get_are_refused_as_json(client, listings):
    assert client.post(PHOTO, {"photo": upload()}).status_code == 401
    assert listings == []


VALID = {
    "name": "Catwalk Women Black Flats", "description": "", "price": "1299.50", "stock": "12",
    "gender": "Women", "master_category": "Footwear", "sub_category": "Shoes", "article_type": "Flats",
    "base_colour": "Black", "season": "Summer", "year": "2024", "usage": "Casual", "is_active": "on",
}


def test_a_save_records_what_the_seller_kept_of_the_fused_suggestion(client_a):
    shown = json.dumps({"model": "fused", "version": "20261130T090000000000Z",
                        "fields": {"article_type": "Heels", "base_colour": "Black"}})
    response = client_a.post(reverse("seller_accounts:product_create"), {**VALID, "suggestions": shown})
    assert response.status_code == 302
    product = Product.objects.get()
    recorded = {o.field: (o.suggested, o.saved, o.model_name, o.overridden)
                for o in SuggestionOutcome.objects.filter(product=product)}
    model = "fused@20261130T090000000000Z"
    assert recorded == {"article_type": ("Heels", "Flats", model, True),
                        "base_colour": ("Black", "Black", model, False)}


def test_an_unknown_model_name_in_the_shown_suggestions_records_nothing(client_a):
    shown = json.dumps({"model": "fusedX", "fields": {"article_type": "Heels"}})
    assert client_a.post(reverse("seller_accounts:product_create"),
                         {**VALID, "suggestions": shown}).status_code == 302
    assert not SuggestionOutcome.objects.exists()
