"""Totals cannot overflow Order.total: listing prices, line quantities and cart lines are
capped so the largest possible order fits, and checkout refuses a bigger total clearly."""
from decimal import Decimal

import pytest
from django.urls import reverse

from cart.errors import CartError
from cart.models import CartItem, Order
from cart.services import MAX_CART_LINES, MAX_LINE_QUANTITY, MAX_LISTING_PRICE, MAX_ORDER_TOTAL, add_to_cart
from seller_accounts.forms import PriceForm
from tests.factories import AddressFactory, CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_largest_possible_order_fits_the_total_column():
    field = Order._meta.get_field("total")
    capacity = Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** -field.decimal_places
    assert MAX_ORDER_TOTAL == capacity
    assert MAX_LISTING_PRICE * MAX_LINE_QUANTITY * MAX_CART_LINES <= MAX_ORDER_TOTAL


@pytest.mark.parametrize("price,valid", [
    (MAX_LISTING_PRICE, True), (MAX_LISTING_PRICE + Decimal("0.01"), False), (Decimal("99999999.99"), False),
])
def test_the_price_form_caps_the_listing_price(price, valid):
    assert PriceForm({"price": str(price)}).is_valid() is valid


def test_the_seller_price_update_refuses_a_price_past_the_cap(client):
    product = ProductFactory()
    client.force_login(product.seller.user)
    response = client.post(reverse("seller_accounts:product_price", args=[product.sku]), {"price": "99999999.99"})
    assert response.status_code < 500
    product.refresh_from_db()
    assert product.price == Decimal("999.00")


def test_a_cart_holds_at_most_the_line_cap():
    cart = CartFactory(user=UserFactory())
    for _ in range(MAX_CART_LINES):
        CartItemFactory(cart=cart)
    with pytest.raises(CartError, match=f"at most {MAX_CART_LINES} different products"):
        add_to_cart(cart, ProductFactory())
    assert CartItem.objects.filter(cart=cart).count() == MAX_CART_LINES


def test_checkout_refuses_a_total_past_the_column_with_a_clear_message(client):
    """Two products listed at 99,999,999.99 before the cap, 99 of each: 19.8 billion."""
    user = UserFactory()
    address = AddressFactory(user=user)
    cart = CartFactory(user=user)
    items = [CartItemFactory(cart=cart, quantity=99, product=ProductFactory(price=Decimal("99999999.99"), stock=200))
             for _ in range(2)]
    client.force_login(user)
    response = client.post(reverse("cart:checkout"), {"address": str(address.pk), "payment_method": "cod"})
    assert response.status_code == 200
    assert "one order can total at most ₹9,999,999,999.99" in response.content.decode()
    assert not Order.objects.exists()
    for item in items:
        item.product.refresh_from_db()
        assert item.product.stock == 200 and CartItem.objects.filter(pk=item.pk).exists()
