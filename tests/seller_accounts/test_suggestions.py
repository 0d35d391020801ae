"""The product form's live suggestions: what the page offers, what a save records,
and the photo entering the visual-search index after commit."""
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from experiments.models import SuggestionOutcome
from main import services
from main.models import Product
from shop_ml import facade
from tests.seller_accounts.conftest import upload
from tests.seller_accounts.test_products import VALID

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(monkeypatch):
    """The skus the (eager) index task handed to the facade."""
    skus = []
    monkeypatch.setattr(facade, "index_product", lambda product: skus.append(product.sku) or True)
    return skus


# Visual-search index ---------------------------------------------------------

def test_a_new_listing_with_a_photo_is_indexed_after_commit(client_a, indexed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client_a.post(reverse("seller_accounts:product_create"), {**VALID, "photo": upload()})
    assert indexed == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert indexed == [Product.objects.get().sku]


def test_a_new_listing_without_a_photo_is_not_indexed(client_a, indexed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(reverse("seller_accounts:product_create"), VALID)
    assert Product.objects.exists() and indexed == []


def test_a_replaced_photo_is_indexed_but_other_edits_are_not(product_a, indexed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(product_a, {"name": "Alpha Kurta, new name"})
    assert indexed == []
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(product_a, {}, photo=upload())
    assert indexed == [product_a.sku]


def test_a_new_article_type_or_colour_reindexes_the_same_photo(product_a, indexed,
                                                               django_capture_on_commit_callbacks):
    services.update_product(product_a, {}, photo=upload())
    indexed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        # the form sends every field: unchanged labels are not a change
        services.update_product(product_a, {"article_type": product_a.article_type,
                                            "base_colour": product_a.base_colour, "stock": 3})
    assert indexed == []
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(product_a, {"base_colour": "Maroon"})
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(product_a, {"article_type": "Kurtis"})
    assert indexed == [product_a.sku, product_a.sku]


def test_a_new_label_without_a_photo_indexes_nothing(product_a, indexed, django_capture_on_commit_callbacks):
    assert not product_a.image
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(product_a, {"base_colour": "Maroon"})
    assert indexed == []


def test_a_refused_photo_indexes_nothing(client_a, indexed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client_a.post(reverse("seller_accounts:product_create"), {**VALID, "photo": upload(data=b"not an image")})
    assert not Product.objects.exists() and indexed == [] and callbacks == []


# The form page ---------------------------------------------------------------

def test_the_form_offers_the_suggestions_hooks_and_script(client_a):
    html = client_a.get(reverse("seller_accounts:product_create")).content.decode()
    assert 'id="suggestions"' in html and 'aria-live="polite"' in html and 'id="photo-opinion"' in html
    assert 'data-categorize-url="/api/categorize"' in html and 'data-photo-url="/api/categorize-photo"' in html
    assert '<input type="hidden" name="suggestions" id="id_suggestions">' in html
    assert 'src="/static/seller_accounts/suggest.js"' in html
    assert '<template id="suggestion-row">' in html


def test_the_edit_page_has_them_too(client_a, product_a):
    html = client_a.get(reverse("seller_accounts:product_edit", args=[product_a.sku])).content.decode()
    assert 'id="id_suggestions"' in html and "seller_accounts/suggest.js" in html


# Outcomes of a save ------------------------------------------------------------

def shown(fields, model="default", version="20260101T000000Z"):
    return json.dumps({"model": model, "version": version, "fields": fields})


def outcomes():
    return {o.field: (o.suggested, o.saved, o.model_name) for o in SuggestionOutcome.objects.all()}


def test_a_new_listing_records_which_suggestions_were_kept(client_a):
    suggested = {"gender": "Women", "article_type": "Tops", "base_colour": "Teal", "season": "Summer"}
    response = client_a.post(reverse("seller_accounts:product_create"), {**VALID, "suggestions": shown(suggested)})
    assert response.status_code == 302
    product = Product.objects.get()
    model = "default@20260101T000000Z"
    assert outcomes() == {
        "gender": ("Women", "Women", model), "article_type": ("Tops", "Kurtas", model),
        "base_colour": ("Teal", "Teal", model), "season": ("Summer", "Summer", model),
    }
    assert {o.field for o in SuggestionOutcome.objects.filter(product=product) if o.overridden} == {"article_type"}


def test_an_edit_records_against_the_saved_values(client_a, product_a):
    data = {**VALID, "stock": "7", "stock_seen": "7", "article_type": "  Kurta   Sets ",
            "suggestions": shown({"article_type": "Kurta Sets", "usage": "Casual"}, model="cascade", version="")}
    response = client_a.post(reverse("seller_accounts:product_edit", args=[product_a.sku]), data)
    assert response.status_code == 302
    assert outcomes() == {"article_type": ("Kurta Sets", "Kurta Sets", "cascade"),
                          "usage": ("Casual", "Ethnic", "cascade")}


def test_without_javascript_nothing_is_recorded(client_a):
    assert client_a.post(reverse("seller_accounts:product_create"), VALID).status_code == 302
    assert Product.objects.exists() and not SuggestionOutcome.objects.exists()


def test_a_refused_save_records_nothing(client_a):
    response = client_a.post(reverse("seller_accounts:product_create"),
                             {**VALID, "price": "-1", "suggestions": shown({"gender": "Women"})})
    assert response.status_code == 200 and not SuggestionOutcome.objects.exists()
    # The page sent back keeps what was shown, so the script can show it again.
    assert response.context["form"]["suggestions"].value() == shown({"gender": "Women"})


@pytest.mark.parametrize("tampered", [
    "not json",
    "[]",
    "null",
    json.dumps({"model": "default", "fields": {}}),
    json.dumps({"model": "gpt-9", "fields": {"gender": "Men"}}),
    json.dumps({"model": "default", "fields": {"price": "0.01"}}),
    json.dumps({"model": "default", "fields": {"gender": "Men", "seller_id": "2"}}),
    json.dumps({"model": "default", "fields": {"gender": 42}}),
    json.dumps({"model": "default", "fields": {"gender": ["Men"]}}),
    json.dumps({"model": "default", "fields": {"gender": "x" * 101}}),
    json.dumps({"model": "default", "fields": {"gender": "Men\u0000"}}),
    json.dumps({"model": "default", "fields": {"gender": ""}}),
    json.dumps({"model": "default", "version": "1; DROP TABLE", "fields": {"gender": "Men"}}),
    json.dumps({"model": "default", "version": 7, "fields": {"gender": "Men"}}),
    json.dumps({"model": "default", "fields": {"gender": "Men"}, "extra": "x"}),
    json.dumps({"model": "default", "fields": {"gender": "Men"}, "pad": "x" * 3000}),
    "{" * 5000,
])
def test_tampered_suggestions_are_ignored_and_the_listing_still_saves(client_a, tampered):
    response = client_a.post(reverse("seller_accounts:product_create"), {**VALID, "suggestions": tampered})
    assert response.status_code == 302
    product = Product.objects.get()
    assert (product.gender, product.article_type, product.price) == ("Women", "Kurtas", Decimal("1299.50"))
    assert not SuggestionOutcome.objects.exists()
