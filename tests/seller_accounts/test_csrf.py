"""CSRF protection stays on for every dashboard POST."""
import pytest
from django.test import Client
from django.urls import reverse

from main.models import Product
from tests.seller_accounts.test_products import VALID

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_client(seller_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(seller_a.user)
    return client


def _routes(product, line):
    return [
        (reverse("seller_accounts:product_create"), VALID),
        (reverse("seller_accounts:product_edit", args=[product.sku]), {**VALID, "name": "Forged"}),
        (reverse("seller_accounts:product_delete", args=[product.sku]), {}),
        (reverse("seller_accounts:product_stock", args=[product.sku]), {"stock": "0"}),
        (reverse("seller_accounts:product_price", args=[product.sku]), {"price": "1.00"}),
        (reverse("seller_accounts:line_fulfilment", args=[line.order.number, line.pk]), {"status": "cancelled"}),
        (reverse("seller_accounts:line_payment", args=[line.order.number, line.pk]), {"status": "paid"}),
        (reverse("seller_accounts:onboarding"), {"store_name": "Forged"}),
    ]


def test_every_post_without_a_token_is_refused(strict_client, product_a, line_a):
    for url, data in _routes(product_a, line_a):
        assert strict_client.post(url, data).status_code == 403, url
    product_a.refresh_from_db()
    line_a.refresh_from_db()
    assert (product_a.name, product_a.stock, product_a.is_active) == ("Alpha Kurta", 7, True)
    assert (line_a.fulfilment_status, line_a.payment_status) == ("pending", "pending")
    assert Product.objects.count() == 2


def test_signup_without_a_token_is_refused(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("seller_accounts:signup"), {"username": "x"})
    assert response.status_code == 403


def test_posts_with_the_token_from_the_page_work(strict_client, product_a):
    page = strict_client.get(reverse("seller_accounts:product_list"))
    token = page.cookies["csrftoken"].value
    response = strict_client.post(reverse("seller_accounts:product_stock", args=[product_a.sku]),
                                  {"stock": "3", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    response = strict_client.post(reverse("seller_accounts:product_price", args=[product_a.sku]),
                                  {"price": "5.00"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    product_a.refresh_from_db()
    assert product_a.stock == 3 and str(product_a.price) == "5.00"
