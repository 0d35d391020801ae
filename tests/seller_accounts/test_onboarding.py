"""Becoming a seller: sign up with a store, or open a store from a buyer account."""
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from seller_accounts import services
from seller_accounts.models import Seller
from tests.factories import PASSWORD, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "newseller", "email": "new@example.com", "store_name": "Indigo Looms",
          "password1": PASSWORD, "password2": PASSWORD}


def test_signup_creates_user_and_store_and_signs_in(client):
    response = client.post(reverse("seller_accounts:signup"), SIGNUP)
    assert response.status_code == 302 and response.url == reverse("seller_accounts:dashboard")
    seller = Seller.objects.get()
    assert (seller.user.username, seller.store_name, seller.slug) == ("newseller", "Indigo Looms", "indigo-looms")
    assert seller.user.check_password(PASSWORD)
    overview = client.get(reverse("seller_accounts:dashboard"))
    assert overview.context["seller"] == seller and overview.context["product_count"] == 0


@pytest.mark.parametrize("field,value,message", [
    ("store_name", "alpha store", "already exists"),
    ("username", "Taken", "already exists"),
    ("password2", "different-password", "didn"),
    ("email", "not-an-email", "valid email"),
    ("store_name", "   ", "required"),
])
def test_signup_refusals_create_nothing(client, seller_a, field, value, message):
    get_user_model().objects.create_user("taken", password="x")
    users = get_user_model().objects.count()
    response = client.post(reverse("seller_accounts:signup"), {**SIGNUP, field: value})
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert get_user_model().objects.count() == users and Seller.objects.count() == 1


def test_signed_in_user_is_sent_from_signup_to_the_dashboard(buyer_client):
    assert buyer_client.get(reverse("seller_accounts:signup")).url == reverse("seller_accounts:dashboard")


def test_buyer_opens_a_store(buyer_client, buyer):
    page = buyer_client.get(reverse("seller_accounts:dashboard"))
    assert b"Open your store" in page.content
    response = buyer_client.post(reverse("seller_accounts:onboarding"), {"store_name": "Khadi & Co."})
    assert response.status_code == 302
    assert Seller.objects.get(user=buyer).slug == "khadi-co"


def test_store_slug_is_made_unique():
    SellerFactory(store_name="Other", slug="khadi-co")
    SellerFactory(store_name="Other 2", slug="khadi-co-2")
    assert services.unique_store_slug("Khadi Co") == "khadi-co-3"
    assert services.unique_store_slug("!!!") == "store"


def test_seller_cannot_open_a_second_store(client_a, seller_a):
    response = client_a.post(reverse("seller_accounts:onboarding"), {"store_name": "Second"})
    assert response.url == reverse("seller_accounts:dashboard")
    assert Seller.objects.count() == 1


def test_dashboard_overview_lists_low_stock(client_a, seller_a):
    ProductFactory(seller=seller_a, name="Almost gone", stock=1)
    ProductFactory(seller=seller_a, name="Plenty", stock=50)
    ProductFactory(seller=seller_a, name="Sold out", stock=0)
    ProductFactory(seller=seller_a, name="Unlisted", stock=2, is_active=False)
    response = client_a.get(reverse("seller_accounts:dashboard"))
    assert [p.name for p in response.context["low_stock"]] == ["Almost gone"]
    assert response.context["out_of_stock_count"] == 1
    assert response.context["product_count"] == 4 and response.context["active_count"] == 3
