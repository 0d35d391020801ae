"""Sign-up, sign-in, sign-out and the address book (the buyer's orders: tests/cart/test_order_views.py)."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import Address
from cart.models import Cart, CartItem, Order
from tests.factories import (
    PASSWORD, AddressFactory, CartItemFactory, OrderFactory, OrderItemFactory, ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


def _messages(response):
    return [str(m) for m in response.context["messages"]]


# ---- sign-up / sign-in / sign-out ----------------------------------------

def test_signup_creates_a_buyer_logs_in_and_keeps_the_cart(client):
    product = ProductFactory(stock=3)
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": 2})
    response = client.post(reverse("accounts:signup"), {
        "username": "newbuyer", "email": "New@Example.com",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
        "next": "/cart/checkout/",
    })
    assert response.status_code == 302 and response["Location"] == "/cart/checkout/"
    user = User.objects.get(username="newbuyer")
    assert user.email == "new@example.com" and user.check_password("a-long-unusual-passphrase")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert CartItem.objects.get(cart__user=user).quantity == 2
    assert Cart.objects.count() == 1


@pytest.mark.parametrize("data,field", [
    ({"username": "x1", "email": "x1@example.com", "password1": "password", "password2": "password"},
     "password2"),  # common and too short
    ({"username": "x2", "email": "x2@example.com", "password1": "12345678901", "password2": "12345678901"},
     "password2"),  # entirely numeric
    ({"username": "x3", "email": "x3@example.com", "password1": "a-long-unusual-passphrase",
      "password2": "different-passphrase-here"}, "password2"),
    ({"username": "x4", "email": "not-an-email", "password1": "a-long-unusual-passphrase",
      "password2": "a-long-unusual-passphrase"}, "email"),
    ({"username": "", "email": "x5@example.com", "password1": "a-long-unusual-passphrase",
      "password2": "a-long-unusual-passphrase"}, "username"),
])
def test_signup_rejects_bad_input(client, data, field):
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.filter(username=data["username"] or "none").exists()


def test_signup_refuses_a_taken_username(client):
    UserFactory(username="taken", email="taken@example.com")
    response = client.post(reverse("accounts:signup"), {
        "username": "taken", "email": "other@example.com",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase"})
    assert response.status_code == 200 and "username" in response.context["form"].errors
    assert User.objects.count() == 1


def test_signup_does_not_reveal_a_registered_email(client):
    """A registered address and a fresh one get the same answer: nobody learns who is a customer."""
    UserFactory(username="taken", email="taken@example.com")
    answers = []
    for username, email in (("first", "TAKEN@example.com"), ("second", "fresh@example.com")):
        response = Client().post(reverse("accounts:signup"), {
            "username": username, "email": email,
            "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase"})
        answers.append((response.status_code, response["Location"]))
    assert answers[0] == answers[1] == (302, reverse("main:home"))
    assert User.objects.filter(email="taken@example.com").count() == 2


def test_login_with_wrong_password_is_refused(client):
    user = UserFactory()
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_login_ignores_a_foreign_next(client):
    user = UserFactory()
    response = client.post(reverse("accounts:login"), {
        "username": user.username, "password": PASSWORD, "next": "https://evil.example/",
    })
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil")


def test_login_merge_caps_at_stock_and_says_so(client):
    product = ProductFactory(stock=2, name="Wool Cap")
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": 2})
    user = UserFactory()
    CartItemFactory(cart=Cart.objects.create(user=user), product=product, quantity=1)
    response = client.post(reverse("accounts:login"),
                           {"username": user.username, "password": PASSWORD}, follow=True)
    assert CartItem.objects.get(cart__user=user).quantity == 2
    assert any("Only 2 of “Wool Cap” left" in m for m in _messages(response))


def test_logout_is_post_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("name,args", [
    ("accounts:profile", []), ("accounts:order_list", []), ("accounts:order_detail", ["FS-X"]),
    ("accounts:address_edit", [1]),
])
def test_anonymous_visitors_are_sent_to_login(client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


# ---- address book --------------------------------------------------------

ADDRESS = {"full_name": "Ravi K", "line1": "1 Park St", "city": "Kolkata", "postcode": "700016",
           "country": "India"}


def test_address_book_add_edit_default_delete(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("accounts:profile"), ADDRESS)
    first = Address.objects.get(user=user)
    assert first.is_default  # the first address becomes the default
    client.post(reverse("accounts:profile"), {**ADDRESS, "line1": "2 Park St"})
    second = Address.objects.get(user=user, line1="2 Park St")
    assert not second.is_default

    client.post(reverse("accounts:address_default", args=[second.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default

    client.post(reverse("accounts:address_edit", args=[first.pk]), {**ADDRESS, "city": "Pune"})
    first.refresh_from_db()
    assert first.city == "Pune" and not first.is_default

    client.post(reverse("accounts:address_delete", args=[second.pk]))
    first.refresh_from_db()
    assert first.is_default  # the remaining address takes over as default
    page = client.get(reverse("accounts:profile"))
    assert "Pune" in page.content.decode()


def test_address_form_errors_are_shown(client):
    client.force_login(UserFactory())
    response = client.post(reverse("accounts:profile"), {**ADDRESS, "line1": ""})
    assert response.status_code == 200
    assert "line1" in response.context["form"].errors
    assert not Address.objects.exists()


def test_another_users_address_is_404(client):
    address = AddressFactory()
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:address_edit", args=[address.pk])).status_code == 404
    assert client.post(reverse("accounts:address_delete", args=[address.pk])).status_code == 404
    assert client.post(reverse("accounts:address_default", args=[address.pk])).status_code == 404
    assert Address.objects.filter(pk=address.pk).exists()


def test_address_actions_are_post_only(client):
    address = AddressFactory()
    client.force_login(address.user)
    assert client.get(reverse("accounts:address_delete", args=[address.pk])).status_code == 405
    assert client.get(reverse("accounts:address_default", args=[address.pk])).status_code == 405


@pytest.mark.parametrize("name", ["accounts:order_cancel", "accounts:address_delete", "accounts:logout",
                                  "accounts:profile"])
def test_csrf_is_enforced(name):
    order = OrderFactory()
    OrderItemFactory(order=order)
    address = AddressFactory(user=order.buyer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(order.buyer)
    args = {"accounts:order_cancel": [order.number], "accounts:address_delete": [address.pk]}.get(name, [])
    assert client.post(reverse(name, args=args), ADDRESS).status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert Address.objects.count() == 1


def test_login_page_renders_with_csrf_token(client):
    body = client.get(reverse("accounts:login") + "?next=/cart/checkout/").content.decode()
    assert "csrfmiddlewaretoken" in body and 'value="/cart/checkout/"' in body


def test_pages_render_for_a_signed_in_buyer(client):
    address = AddressFactory()
    client.force_login(address.user)
    for url in (reverse("accounts:profile"), reverse("accounts:order_list"),
                reverse("accounts:address_edit", args=[address.pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "csrfmiddlewaretoken" in response.content.decode()
    assert "not ordered anything" in client.get(reverse("accounts:order_list")).content.decode()


def test_signed_in_user_visiting_login_or_signup_is_redirected(client):
    client.force_login(UserFactory())
    assert client.get(reverse("accounts:login")).status_code == 302
    assert client.get(reverse("accounts:signup")).status_code == 302
