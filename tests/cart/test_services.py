"""Cart and checkout services: good input and bad input alike."""
from decimal import Decimal

import pytest
from django.core import mail
from django.test import RequestFactory
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore

from accounts.models import Address
from cart import selectors, services
from cart.models import Cart, CartItem, Order, OrderItem
from main.models import Interaction
from tests.factories import (
    AddressFactory, CartFactory, CartItemFactory, ProductFactory, UserFactory,
)

pytestmark = pytest.mark.django_db

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def _request(user=None):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    request.session = SessionStore()
    return request


# ---- carts ---------------------------------------------------------------

def test_anonymous_cart_creates_the_session_and_is_reused():
    request = _request()
    assert request.session.session_key is None
    cart = services.get_or_create_cart(request)
    assert cart.session_key == request.session.session_key is not None
    assert cart.user is None
    assert services.get_or_create_cart(request) == cart
    assert selectors.get_cart(request) == cart


def test_signed_in_cart_belongs_to_the_user():
    user = UserFactory()
    cart = services.get_or_create_cart(_request(user))
    assert cart.user == user and cart.session_key is None


def test_add_to_cart_adds_and_sums(django_capture_on_commit_callbacks):
    cart = CartFactory()
    product = ProductFactory(stock=5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.add_to_cart(cart, product, 2, user=cart.user)
        item = services.add_to_cart(cart, product, "1", user=cart.user)
    assert len(callbacks) == 2
    assert item.quantity == 3
    assert CartItem.objects.get(cart=cart).quantity == 3
    assert Interaction.objects.filter(product=product, kind=Interaction.Kind.ADD_TO_CART,
                                      user=cart.user).count() == 2


def test_add_to_cart_records_the_interaction_only_after_commit(django_capture_on_commit_callbacks):
    cart = CartFactory()
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.add_to_cart(cart, product, 1, user=cart.user)
    assert len(callbacks) == 1
    assert not Interaction.objects.exists()
    callbacks[0]()
    assert Interaction.objects.filter(kind=Interaction.Kind.ADD_TO_CART).count() == 1


def test_anonymous_add_records_the_session(django_capture_on_commit_callbacks):
    cart = Cart.objects.create(session_key="abc123")
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_to_cart(cart, product, 1, session_key="abc123")
    interaction = Interaction.objects.get()
    assert interaction.user is None and interaction.session_key == "abc123"


def test_cannot_add_more_than_in_stock():
    cart = CartFactory()
    product = ProductFactory(stock=2, name="Blue Jeans")
    services.add_to_cart(cart, product, 2)
    with pytest.raises(services.OutOfStock, match=r"Only 2 of “Blue Jeans” left.*already have 2"):
        services.add_to_cart(cart, product, 1)
    assert CartItem.objects.get(cart=cart).quantity == 2


def test_out_of_stock_and_inactive_products_are_refused():
    cart = CartFactory()
    with pytest.raises(services.OutOfStock, match="out of stock"):
        services.add_to_cart(cart, ProductFactory(stock=0), 1)
    with pytest.raises(services.CartError, match="no longer available"):
        services.add_to_cart(cart, ProductFactory(is_active=False), 1)
    assert not CartItem.objects.exists()
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, "two", None, "", 1000])
def test_bad_quantities_are_refused(quantity):
    cart = CartFactory()
    with pytest.raises(services.CartError):
        services.add_to_cart(cart, ProductFactory(), quantity)
    assert not CartItem.objects.exists()


def test_update_changes_quantity_within_stock():
    item = CartItemFactory(product=ProductFactory(stock=3), quantity=1)
    services.update_cart_item(item.cart, item.pk, 3)
    item.refresh_from_db()
    assert item.quantity == 3
    with pytest.raises(services.OutOfStock, match="Only 3"):
        services.update_cart_item(item.cart, item.pk, 4)
    item.refresh_from_db()
    assert item.quantity == 3


def test_update_to_zero_removes_and_lowering_is_always_allowed():
    item = CartItemFactory(product=ProductFactory(stock=1), quantity=3)
    services.update_cart_item(item.cart, item.pk, 2)
    item.refresh_from_db()
    assert item.quantity == 2
    services.update_cart_item(item.cart, item.pk, 0)
    assert not CartItem.objects.filter(pk=item.pk).exists()


def test_update_and_remove_refuse_another_carts_item():
    item = CartItemFactory()
    other = CartFactory()
    with pytest.raises(services.CartError):
        services.update_cart_item(other, item.pk, 2)
    with pytest.raises(services.CartError):
        services.remove_cart_item(other, item.pk)
    item.refresh_from_db()
    assert item.quantity == 1


def test_remove_deletes_the_line():
    item = CartItemFactory()
    services.remove_cart_item(item.cart, item.pk)
    assert not CartItem.objects.exists()


# ---- merge at login ------------------------------------------------------

def test_merge_sums_quantities_capped_at_stock_and_drops_unavailable():
    user = UserFactory()
    user_cart = CartFactory(user=user)
    anon = Cart.objects.create(session_key="anon-key")
    capped = ProductFactory(stock=3, name="Capped Tee")
    fresh = ProductFactory(stock=5)
    gone = ProductFactory(is_active=False)
    CartItemFactory(cart=user_cart, product=capped, quantity=2)
    CartItemFactory(cart=anon, product=capped, quantity=2)
    CartItemFactory(cart=anon, product=fresh, quantity=1)
    CartItemFactory(cart=anon, product=gone, quantity=1)

    result = services.merge_session_cart("anon-key", user)

    quantities = dict(CartItem.objects.filter(cart=user_cart).values_list("product_id", "quantity"))
    assert quantities == {capped.pk: 3, fresh.pk: 1}
    assert not Cart.objects.filter(pk=anon.pk).exists()
    assert result.merged == 2
    assert any("Capped Tee" in note for note in result.adjusted)
    assert len(result.adjusted) == 2


def test_merge_creates_the_user_cart_and_ignores_unknown_keys():
    user = UserFactory()
    assert services.merge_session_cart("", user).merged == 0
    assert services.merge_session_cart("nope", user).merged == 0
    assert not Cart.objects.exists()
    anon = Cart.objects.create(session_key="k")
    CartItemFactory(cart=anon, quantity=2)
    services.merge_session_cart("k", user)
    assert Cart.objects.get(user=user).items.get().quantity == 2


# ---- place_order ---------------------------------------------------------

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
        order = services.place_order(cart, address, "test_card", card_number=GOOD_CARD)
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
    order = services.place_order(cart, address, "cod")
    assert set(order.items.values_list("payment_status", flat=True)) == {"pending"}
    assert order.payment_method == "cod"


def _assert_nothing_happened(cart, jeans, shirt):
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()
    assert CartItem.objects.filter(cart=cart).count() == 2
    jeans.refresh_from_db()
    shirt.refresh_from_db()
    assert (jeans.stock, shirt.stock) == (5, 2)


def test_declined_card_creates_nothing(filled_cart, django_capture_on_commit_callbacks):
    cart, address, jeans, shirt = filled_cart
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(services.PaymentDeclined, match="declined"):
            services.place_order(cart, address, "test_card", card_number=DECLINED_CARD)
    assert callbacks == []
    _assert_nothing_happened(cart, jeans, shirt)
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("card", ["", None, "1234 5678 9012 3456", "4242"])
def test_unknown_cards_are_refused(filled_cart, card):
    cart, address, jeans, shirt = filled_cart
    with pytest.raises(services.PaymentDeclined):
        services.place_order(cart, address, "test_card", card_number=card)
    _assert_nothing_happened(cart, jeans, shirt)


def test_oversell_is_refused_naming_the_product_and_what_is_left(filled_cart):
    cart, address, jeans, shirt = filled_cart
    shirt.stock = 0
    shirt.save()
    jeans.stock = 1
    jeans.save()
    with pytest.raises(services.OutOfStock) as excinfo:
        services.place_order(cart, address, "cod")
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
    with pytest.raises(services.CartError, match="“Jeans” is no longer available"):
        services.place_order(cart, address, "cod")
    assert not Order.objects.exists()


def test_price_snapshot_survives_a_later_price_change(filled_cart):
    cart, address, jeans, _ = filled_cart
    order = services.place_order(cart, address, "cod")
    jeans.price = Decimal("1.00")
    jeans.name = "Renamed"
    jeans.save()
    line = order.items.get(sku=jeans.sku)
    assert line.unit_price == Decimal("999.00") and line.product_name == "Jeans"
    order.refresh_from_db()
    assert order.total == Decimal("2448.50")


def test_card_number_is_never_stored(filled_cart):
    cart, address, *_ = filled_cart
    order = services.place_order(cart, address, "test_card", card_number=GOOD_CARD)
    values = [str(v) for v in Order.objects.filter(pk=order.pk).values().get().values()]
    values += [str(v) for row in OrderItem.objects.filter(order=order).values() for v in row.values()]
    assert not any("4242" in v for v in values)


def test_empty_cart_anonymous_cart_foreign_address_and_bad_method_are_refused(filled_cart):
    cart, address, *_ = filled_cart
    stranger = UserFactory()
    with pytest.raises(services.CartError, match="empty"):
        services.place_order(CartFactory(user=stranger), AddressFactory(user=stranger), "cod")
    with pytest.raises(services.CartError, match="Sign in"):
        services.place_order(Cart.objects.create(session_key="x"), address, "cod")
    with pytest.raises(services.CartError, match="address"):
        services.place_order(cart, AddressFactory(), "cod")
    with pytest.raises(services.CartError, match="payment"):
        services.place_order(cart, address, "bitcoin")
    assert not Order.objects.exists()


def test_checkout_with_new_address_saves_it(filled_cart):
    cart, _, *_ = filled_cart
    Address.objects.all().delete()
    data = {"full_name": "Ravi K", "line1": "1 Park St", "city": "Kolkata",
            "postcode": "700016", "country": "India"}
    order = services.checkout(cart, payment_method="cod", new_address=data)
    address = Address.objects.get(user=cart.user)
    assert address.is_default and address.line1 == "1 Park St"
    assert order.ship_line1 == "1 Park St"


def test_declined_checkout_with_new_address_saves_nothing(filled_cart):
    cart, _, *_ = filled_cart
    before = Address.objects.count()
    data = {"full_name": "Ravi K", "line1": "1 Park St", "city": "Kolkata",
            "postcode": "700016", "country": "India"}
    with pytest.raises(services.PaymentDeclined):
        services.checkout(cart, payment_method="test_card", new_address=data,
                          card_number=DECLINED_CARD)
    assert Address.objects.count() == before
    assert not Order.objects.exists()


# ---- selectors -----------------------------------------------------------

def test_cart_count_is_one_query(django_assert_num_queries):
    user = UserFactory()
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, quantity=2)
    CartItemFactory(cart=cart, quantity=3)
    with django_assert_num_queries(1):
        assert selectors.cart_count(_request(user)) == 5
    with django_assert_num_queries(0):
        assert selectors.cart_count(_request()) == 0


def test_cart_summary_warns_about_lines_that_cannot_be_bought():
    cart = CartFactory()
    CartItemFactory(cart=cart, product=ProductFactory(stock=1, name="Low"), quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(stock=5, price=Decimal("10.00")), quantity=1)
    summary = selectors.cart_summary(cart)
    assert summary.count == 3
    assert summary.total == Decimal("1998.00") + Decimal("10.00")
    assert summary.warnings == ["Only 1 of “Low” left; please lower the quantity."]
    assert not summary.can_check_out
