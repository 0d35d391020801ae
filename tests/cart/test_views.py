"""The buyer journey through the cart and checkout pages."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Address
from cart.models import Cart, CartItem, Order
from cart.selectors import cart_count
from main.models import Interaction
from tests.factories import (
    PASSWORD, AddressFactory, CartFactory, CartItemFactory, OrderFactory, OrderItemFactory,
    ProductFactory, UserFactory,
)

pytestmark = pytest.mark.django_db


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_url_names_resolve_to_the_documented_paths():
    assert reverse("cart:detail") == "/cart/"
    assert reverse("cart:add", args=["12345"]) == "/cart/add/12345/"
    assert reverse("cart:checkout") == "/cart/checkout/"
    assert reverse("cart:confirmation", args=["FS-1"]) == "/cart/orders/FS-1/thanks/"
    assert reverse("cart:update", args=[1]) and reverse("cart:remove", args=[1])


def test_anonymous_visitor_adds_to_cart_and_sees_the_count(client, django_capture_on_commit_callbacks):
    product = ProductFactory(stock=4, name="Red Kurta")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("cart:add", args=[product.sku]), {"quantity": "2"}, follow=True)
    assert response.status_code == 200
    assert "Added “Red Kurta” to your cart." in _messages(response)
    assert response.context["CART_COUNT"] == 2
    assert "Red Kurta" in response.content.decode()
    cart = Cart.objects.get()
    assert cart.user is None and cart.session_key == client.session.session_key
    assert Interaction.objects.get().kind == Interaction.Kind.ADD_TO_CART


def test_add_without_quantity_defaults_to_one(client):
    product = ProductFactory()
    client.post(reverse("cart:add", args=[product.sku]))
    assert CartItem.objects.get().quantity == 1


def test_add_more_than_in_stock_shows_a_clear_message(client):
    product = ProductFactory(stock=1, name="Last Scarf")
    response = client.post(reverse("cart:add", args=[product.sku]), {"quantity": 3}, follow=True)
    assert "Only 1 of “Last Scarf” left in stock." in _messages(response)
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("quantity", ["0", "-2", "abc", "1000"])
def test_add_with_a_bad_quantity_is_refused(client, quantity):
    product = ProductFactory()
    response = client.post(reverse("cart:add", args=[product.sku]), {"quantity": quantity})
    assert response.status_code == 302
    assert not CartItem.objects.exists()


def test_add_is_post_only_and_unknown_sku_is_404(client):
    product = ProductFactory()
    assert client.get(reverse("cart:add", args=[product.sku])).status_code == 405
    assert client.post(reverse("cart:add", args=["nope"])).status_code == 404


def test_add_redirect_ignores_foreign_next(client):
    product = ProductFactory()
    response = client.post(reverse("cart:add", args=[product.sku]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("cart:detail")
    response = client.post(reverse("cart:add", args=[product.sku]), {"next": "/c/Men/"})
    assert response["Location"] == "/c/Men/"


def test_update_and_remove(client):
    user = UserFactory()
    client.force_login(user)
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=3))
    client.post(reverse("cart:update", args=[item.pk]), {"quantity": 3})
    item.refresh_from_db()
    assert item.quantity == 3
    response = client.post(reverse("cart:update", args=[item.pk]), {"quantity": 9}, follow=True)
    assert any("Only 3" in m for m in _messages(response))
    client.post(reverse("cart:remove", args=[item.pk]))
    assert not CartItem.objects.exists()


def test_cannot_touch_another_shoppers_cart_item(client):
    item = CartItemFactory(quantity=1)
    client.force_login(UserFactory())
    client.post(reverse("cart:update", args=[item.pk]), {"quantity": 5})
    client.post(reverse("cart:remove", args=[item.pk]))
    item.refresh_from_db()
    assert item.quantity == 1


def test_checkout_requires_login_and_the_cart_survives_it(client):
    product = ProductFactory(stock=5)
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": 2})
    response = client.get(reverse("cart:checkout"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=/cart/checkout/" in response["Location"]

    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=1)
    response = client.post(reverse("accounts:login"), {
        "username": user.username, "password": PASSWORD, "next": "/cart/checkout/",
    })
    assert response["Location"] == "/cart/checkout/"
    assert CartItem.objects.get(cart__user=user).quantity == 3
    assert Cart.objects.count() == 1
    response = client.get("/cart/checkout/")
    assert response.status_code == 200


def _checkout_data(**overrides):
    data = {"address": "new", "full_name": "Asha Rao", "line1": "12 MG Road", "city": "Bengaluru",
            "postcode": "560001", "country": "India", "payment_method": "test_card",
            "card_number": "4242 4242 4242 4242"}
    data.update(overrides)
    return data


def test_full_buyer_journey_with_a_new_address(client):
    product = ProductFactory(stock=2, price=Decimal("500.00"), name="Linen Shirt")
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": 2})
    user = UserFactory()
    client.post(reverse("accounts:login"), {"username": user.username, "password": PASSWORD})

    page = client.get(reverse("cart:checkout"))
    assert "Linen Shirt" in page.content.decode()
    response = client.post(reverse("cart:checkout"), _checkout_data())
    order = Order.objects.get(buyer=user)
    assert response["Location"] == reverse("cart:confirmation", args=[order.number])
    thanks = client.get(response["Location"])
    assert order.number in thanks.content.decode()
    assert thanks.context["CART_COUNT"] == 0
    assert "4242" not in thanks.content.decode()
    assert order.total == Decimal("1000.00")
    assert Address.objects.get(user=user).line1 == "12 MG Road"
    product.refresh_from_db()
    assert product.stock == 0

    history = client.get(reverse("accounts:order_list"))
    assert order.number in history.content.decode()
    detail = client.get(order.get_absolute_url())
    assert detail.status_code == 200
    assert "Awaiting shipment" in detail.content.decode()


def test_checkout_with_a_saved_address_and_cash_on_delivery(client):
    user = UserFactory()
    address = AddressFactory(user=user, line1="7 Lake View")
    CartItemFactory(cart=CartFactory(user=user))
    client.force_login(user)
    response = client.post(reverse("cart:checkout"), {"address": str(address.pk), "payment_method": "cod"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.ship_line1 == "7 Lake View" and order.payment_method == "cod"
    assert Address.objects.count() == 1


def test_declined_card_shows_the_error_and_keeps_everything(client):
    user = UserFactory()
    item = CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=3))
    client.force_login(user)
    response = client.post(reverse("cart:checkout"), _checkout_data(card_number="4000 0000 0000 0002"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your card was declined" in body
    assert "value=\"4000" not in body  # never echoed back into the input
    assert not Order.objects.exists() and not Address.objects.exists()
    item.product.refresh_from_db()
    assert item.product.stock == 3
    assert CartItem.objects.filter(pk=item.pk).exists()


def test_checkout_form_errors_are_announced(client):
    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user))
    client.force_login(user)
    response = client.post(reverse("cart:checkout"), _checkout_data(line1="", card_number=""))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in body
    assert 'aria-invalid="true"' in body
    assert 'id="id_line1_error"' in body and 'aria-describedby="id_line1_error"' in body
    assert not Order.objects.exists()


def test_checkout_sold_out_meanwhile_names_the_product(client):
    user = UserFactory()
    product = ProductFactory(stock=5, name="Silk Saree")
    CartItemFactory(cart=CartFactory(user=user), product=product, quantity=2)
    product.stock = 1
    product.save()
    client.force_login(user)
    response = client.post(reverse("cart:checkout"), _checkout_data())
    assert "“Silk Saree”: you asked for 2, only 1 left" in response.content.decode()
    assert not Order.objects.exists()


def test_empty_cart_checkout_goes_back_to_the_cart(client):
    client.force_login(UserFactory())
    response = client.get(reverse("cart:checkout"))
    assert response["Location"] == reverse("cart:detail")


def test_confirmation_of_another_buyers_order_is_404(client):
    order = OrderFactory()
    OrderItemFactory(order=order)
    client.force_login(UserFactory())
    assert client.get(reverse("cart:confirmation", args=[order.number])).status_code == 404


@pytest.mark.parametrize("name,args", [
    ("cart:add", ["SKU"]), ("cart:update", [1]), ("cart:remove", [1]), ("cart:checkout", []),
])
def test_csrf_is_enforced_on_every_post(name, args):
    user = UserFactory()
    product = ProductFactory(sku="SKU")
    item = CartItemFactory(cart=CartFactory(user=user), product=product)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    args = [item.pk] if args == [1] else args
    response = client.post(reverse(name, args=args), _checkout_data(quantity=2))
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.quantity == 1
    assert not Order.objects.exists()


def test_cart_page_shows_warnings_and_disables_checkout(client):
    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user), product=ProductFactory(stock=0, name="Gone Tee"))
    client.force_login(user)
    response = client.get(reverse("cart:detail"))
    body = response.content.decode()
    assert "“Gone Tee” is out of stock" in body
    assert 'type="button" disabled' in body


def test_navbar_shows_the_count(client):
    user = UserFactory()
    CartItemFactory(cart=CartFactory(user=user), quantity=2)
    client.force_login(user)
    response = client.get(reverse("cart:detail"))
    assert response.context["CART_COUNT"] == 2
    assert '<span class="badge text-bg-dark">2</span>' in response.content.decode()


def test_empty_cart_page_for_a_new_visitor_creates_no_session_or_cart(client):
    response = client.get(reverse("cart:detail"))
    assert response.status_code == 200
    assert "Your cart is empty." in response.content.decode()
    assert response.context["CART_COUNT"] == 0
    assert not Cart.objects.exists()


def test_a_browsing_visitor_without_a_cart_costs_no_cart_query(client, django_assert_num_queries):
    product = ProductFactory(stock=4)
    for _ in range(2):  # the second view starts a session, as for a browsing shopper
        client.get(reverse("main:product_detail", args=[product.sku]))
    assert client.session.session_key
    request = RequestFactory().get("/")
    request.user, request.session = AnonymousUser(), client.session
    with django_assert_num_queries(0):
        assert cart_count(request) == 0
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": "3"})
    request.session = client.session
    with django_assert_num_queries(1):
        assert cart_count(request) == 3


def test_cart_count_without_session_or_user_is_zero():
    assert cart_count(RequestFactory().get("/")) == 0


def test_the_signed_in_navbar_reads_whether_there_is_a_cart_with_the_user(client):
    user = UserFactory()
    product = ProductFactory(stock=4)
    client.force_login(user)
    url = reverse("main:product_detail", args=[product.sku])

    def cart_queries():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        return response, [q["sql"] for q in queries if "cart_" in q["sql"]]

    response, queries = cart_queries()
    assert response.context["CART_COUNT"] == 0
    assert len(queries) == 1 and "auth_user" in queries[0]  # the user's own query, nothing more
    client.post(reverse("cart:add", args=[product.sku]), {"quantity": "2"})
    response, queries = cart_queries()
    assert response.context["CART_COUNT"] == 2
    assert '<span class="badge text-bg-dark">2</span>' in response.content.decode()
    assert len(queries) == 2 and "SUM" in queries[1]
