"""Cart services: good input and bad input alike."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from cart import selectors, services
from cart.errors import CartError, OutOfStock
from cart.models import Cart, CartItem
from main.models import Interaction
from tests.factories import CartFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

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
    with pytest.raises(OutOfStock, match=r"Only 2 of “Blue Jeans” left.*already have 2"):
        services.add_to_cart(cart, product, 1)
    assert CartItem.objects.get(cart=cart).quantity == 2


def test_out_of_stock_and_inactive_products_are_refused():
    cart = CartFactory()
    with pytest.raises(OutOfStock, match="out of stock"):
        services.add_to_cart(cart, ProductFactory(stock=0), 1)
    with pytest.raises(CartError, match="no longer available"):
        services.add_to_cart(cart, ProductFactory(is_active=False), 1)
    assert not CartItem.objects.exists()
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, "two", None, "", 1000])
def test_bad_quantities_are_refused(quantity):
    cart = CartFactory()
    with pytest.raises(CartError):
        services.add_to_cart(cart, ProductFactory(), quantity)
    assert not CartItem.objects.exists()


def test_update_changes_quantity_within_stock():
    item = CartItemFactory(product=ProductFactory(stock=3), quantity=1)
    services.update_cart_item(item.cart, item.pk, 3)
    item.refresh_from_db()
    assert item.quantity == 3
    with pytest.raises(OutOfStock, match="Only 3"):
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
    with pytest.raises(CartError):
        services.update_cart_item(other, item.pk, 2)
    with pytest.raises(CartError):
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
