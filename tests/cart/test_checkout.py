"""Checkout: one order from a cart, all or nothing."""
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import Address
from cart import checkout
from cart.checkout import place_order
from cart.errors import CartError, OutOfStock, PaymentDeclined
from cart.models import Cart, CartItem, Order, OrderItem
from main.models import Interaction
from tests.factories import AddressFactory, CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


@pytest.fixture
def filled_cart():
    user = UserFactory()
    cart = CartFactory(user=user)
    jeans = ProductFactory(stock=5, price=Decimal("999.00"), name="Jeans")
    shirt = ProductFactory(stock=2, price=Decimal("450.50"), name="Shirt")
    CartItemFactory(cart=cart, product=jeans, quantity=2)
    CartItemFactory(cart=cart, product=shirt, quantity=1)
    address = AddressFactory(user=user)
    return cart, address, jeans, shirt


def test_place_order_with_test_card(filled_cart, django_capture_on_commit_callbacks):
    cart, address, jeans, shirt = filled_cart
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order = place_order(cart, address, "test_card", card_number=GOOD_CARD)
    assert not Interaction.objects.exists()  # nothing before commit
    assert len(mail.outbox) == 0
    for callback in callbacks:
        callback()

    order.refresh_from_db()
    assert order.buyer == cart.user
    assert order.total == Decimal("2448.50")
    assert order.status == Order.Status.PLACED
    assert order.ship_full_name == address.full_name and order.ship_city == address.city
    lines = {line.sku: line for line in order.items.all()}
    assert lines[jeans.sku].quantity == 2 and lines[jeans.sku].unit_price == Decimal("999.00")
    assert lines[shirt.sku].product_name == "Shirt" and lines[shirt.sku].seller == shirt.seller
    assert {line.payment_status for line in lines.values()} == {OrderItem.Payment.PAID}
    assert {line.fulfilment_status for line in lines.values()} == {OrderItem.Fulfilment.PENDING}
    jeans.refresh_from_db()
    shirt.refresh_from_db()
    assert (jeans.stock, shirt.stock) == (3, 1)
    assert not CartItem.objects.filter(cart=cart).exists()
    assert Interaction.objects.filter(kind=Interaction.Kind.PURCHASE, user=cart.user).count() == 2
    assert len(mail.outbox) == 1 and order.number in mail.outbox[0].subject


def test_cash_on_delivery_leaves_payment_pending(filled_cart):
    cart, address, *_ = filled_cart
    order = place_order(cart, address, "cod")
    assert set(order.items.values_list("payment_status", flat=True)) == {"pending"}
    assert order.payment_method == "cod"


def _assert_nothing_happened(cart, jeans, shirt):
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert list(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity")) == [
        (jeans.pk, 2), (shirt.pk, 1)]
    jeans.refresh_from_db()
    shirt.refresh_from_db()
    assert (jeans.stock, shirt.stock) == (5, 2)


def test_declined_card_creates_nothing(filled_cart, django_capture_on_commit_callbacks):
    cart, address, jeans, shirt = filled_cart
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(PaymentDeclined, match="declined"):
            place_order(cart, address, "test_card", card_number=DECLINED_CARD)
    assert callbacks == []
    _assert_nothing_happened(cart, jeans, shirt)
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("card", ["", None, "1234 5678 9012 3456", "4242"])
def test_unknown_cards_are_refused(filled_cart, card):
    cart, address, jeans, shirt = filled_cart
    with pytest.raises(PaymentDeclined):
        place_order(cart, address, "test_card", card_number=card)
    _assert_nothing_happened(cart, jeans, shirt)


def test_oversell_is_refused_naming_the_product_and_what_is_left(filled_cart):
    cart, address, jeans, shirt = filled_cart
    shirt.stock = 0
    shirt.save()
    jeans.stock = 1
    jeans.save()
    with pytest.raises(OutOfStock) as excinfo:
        place_order(cart, address, "cod")
    message = str(excinfo.value)
    assert "“Jeans”: you asked for 2, only 1 left" in message
    assert "“Shirt”: you asked for 1, none left" in message
    assert not Order.objects.exists() and not OrderItem.objects.exists()
    jeans.refresh_from_db()
    assert jeans.stock == 1
    assert CartItem.objects.filter(cart=cart).count() == 2


def test_inactive_product_in_cart_is_refused(filled_cart):
    cart, address, jeans, shirt = filled_cart
    jeans.is_active = False
    jeans.save()
    with pytest.raises(CartError, match="“Jeans” is no longer available"):
        place_order(cart, address, "cod")
    assert not Order.objects.exists()


def test_price_snapshot_survives_a_later_price_change(filled_cart):
    cart, address, jeans, _ = filled_cart
    order = place_order(cart, address, "cod")
    jeans.price = Decimal("1.00")
    jeans.name = "Renamed"
    jeans.save()
    line = order.items.get(sku=jeans.sku)
    assert line.unit_price == Decimal("999.00") and line.product_name == "Jeans"
    order.refresh_from_db()
    assert order.total == Decimal("2448.50")


def test_card_number_is_never_stored(filled_cart):
    cart, address, *_ = filled_cart
    order = place_order(cart, address, "test_card", card_number=GOOD_CARD)
    values = [str(v) for v in Order.objects.filter(pk=order.pk).values().get().values()]
    values += [str(v) for row in OrderItem.objects.filter(order=order).values() for v in row.values()]
    assert not any("4242" in v for v in values)


def test_empty_cart_anonymous_cart_foreign_address_and_bad_method_are_refused(filled_cart):
    cart, address, *_ = filled_cart
    stranger = UserFactory()
    with pytest.raises(CartError, match="empty"):
        place_order(CartFactory(user=stranger), AddressFactory(user=stranger), "cod")
    with pytest.raises(CartError, match="Sign in"):
        place_order(Cart.objects.create(session_key="x"), address, "cod")
    with pytest.raises(CartError, match="address"):
        place_order(cart, AddressFactory(), "cod")
    with pytest.raises(CartError, match="payment"):
        place_order(cart, address, "bitcoin")
    assert not Order.objects.exists()


def test_checkout_with_new_address_saves_it(filled_cart):
    cart, _, *_ = filled_cart
    Address.objects.all().delete()
    data = {"full_name": "Ravi K", "line1": "1 Park St", "city": "Kolkata",
            "postcode": "700016", "country": "India"}
    order = place_order(cart, None, "cod", new_address=data)
    address = Address.objects.get(user=cart.user)
    assert address.is_default and address.line1 == "1 Park St"
    assert order.ship_line1 == "1 Park St"


def test_declined_checkout_with_new_address_saves_nothing(filled_cart):
    cart, _, *_ = filled_cart
    before = Address.objects.count()
    data = {"full_name": "Ravi K", "line1": "1 Park St", "city": "Kolkata",
            "postcode": "700016", "country": "India"}
    with pytest.raises(PaymentDeclined):
        place_order(cart, None, "test_card", new_address=data, card_number=DECLINED_CARD)
    assert Address.objects.count() == before
    assert not Order.objects.exists()


def test_the_card_is_charged_after_the_stock_is_reserved_and_the_order_written(filled_cart, monkeypatch):
    cart, address, jeans, shirt = filled_cart
    seen = {}

    def charge(card_number, amount):
        jeans.refresh_from_db()
        order = Order.objects.get()
        seen.update(stock=jeans.stock, amount=amount, cart_lines=CartItem.objects.filter(cart=cart).count(),
                    payments=set(order.items.values_list("payment_status", flat=True)))
        return True

    monkeypatch.setattr(checkout, "charge_test_card", charge)
    order = place_order(cart, address, "test_card", card_number=GOOD_CARD)
    assert seen == {"stock": 3, "amount": Decimal("2448.50"), "cart_lines": 0, "payments": {"pending"}}
    assert set(order.items.values_list("payment_status", flat=True)) == {"paid"}


def test_a_declined_card_gives_back_the_same_cart_lines_in_their_order(filled_cart):
    cart, address, jeans, shirt = filled_cart
    before = list(CartItem.objects.filter(cart=cart).values_list("pk", "product_id", "quantity", "added_at"))
    with pytest.raises(PaymentDeclined):
        place_order(cart, address, "test_card", card_number=DECLINED_CARD)
    after = list(CartItem.objects.filter(cart=cart).values_list("pk", "product_id", "quantity", "added_at"))
    assert after == before


def test_a_line_added_while_the_card_was_charged_keeps_its_units_and_gets_the_reserved_ones(
        filled_cart, monkeypatch):
    cart, address, jeans, shirt = filled_cart

    def decline_after_another_add(card_number, amount):
        CartItem.objects.create(cart=cart, product=jeans, quantity=1)
        raise PaymentDeclined("declined")

    monkeypatch.setattr(checkout, "charge_test_card", decline_after_another_add)
    with pytest.raises(PaymentDeclined):
        place_order(cart, address, "test_card", card_number=GOOD_CARD)
    assert dict(CartItem.objects.filter(cart=cart).values_list("product_id", "quantity")) == {
        jeans.pk: 3, shirt.pk: 1}
    jeans.refresh_from_db()
    assert jeans.stock == 5 and not Order.objects.exists()


def test_a_failing_gateway_releases_the_reservation_too(filled_cart, monkeypatch):
    cart, address, jeans, shirt = filled_cart

    def gateway_down(card_number, amount):
        raise ConnectionError("gateway unreachable")

    monkeypatch.setattr(checkout, "charge_test_card", gateway_down)
    with pytest.raises(ConnectionError):
        place_order(cart, address, "test_card", card_number=GOOD_CARD)
    _assert_nothing_happened(cart, jeans, shirt)
