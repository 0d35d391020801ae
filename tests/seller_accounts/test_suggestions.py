"""The product form's live suggestions: what the page offers, what a save records,
and the photo entering the visual-search index after commit."""
import pytest
from django.urls import reverse

from main import services
from main.models import Product
from ml import facade
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


def test_a_refused_photo_indexes_nothing(client_a, indexed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client_a.post(reverse("seller_accounts:product_create"), {**VALID, "photo": upload(data=b"not an image")})
    assert not Product.objects.exists() and indexed == [] and callbacks == []
