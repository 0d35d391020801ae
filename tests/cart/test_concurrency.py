"""Ten buyers race for the last three units: exactly three win, stock ends at 0.

Runs only on PostgreSQL (SQLite has no row locks), e.g.
DATABASE_URL=postgres://postgres@127.0.0.1:5432/fashionshop_dev .venv/bin/pytest tests/cart
"""
import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from cart import checkout
from cart.checkout import place_order
from cart.errors import CartError, OutOfStock
from cart.models import Order, OrderItem
from main.models import Product
from tests.factories import AddressFactory, CartFactory, CartItemFactory, ProductFactory, UserFactory

BUYERS = 10
UNITS = 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_buyers_race_for_the_last_three_units():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    product = ProductFactory(stock=UNITS, name="Last Jacket")
    other = ProductFactory(stock=100)  # a second locked row, to exercise primary-key lock order
    carts = []
    for _ in range(BUYERS):
        user = UserFactory()
        cart = CartFactory(user=user)
        CartItemFactory(cart=cart, product=other, quantity=1)
        CartItemFactory(cart=cart, product=product, quantity=1)
        carts.append((cart, AddressFactory(user=user)))

    barrier = threading.Barrier(BUYERS)
    outcomes, errors = [], []
    lock = threading.Lock()

    def buy(cart, address):
        try:
            barrier.wait(timeout=30)
            order = place_order(cart, address, "cod")
            with lock:
                outcomes.append(order.number)
        except OutOfStock as exc:
            with lock:
                errors.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(f"UNEXPECTED {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=pair) for pair in carts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(e.startswith("UNEXPECTED") for e in errors), errors
    assert len(outcomes) == UNITS
    assert len(errors) == BUYERS - UNITS
    assert all("“Last Jacket”" in e and "none left" in e for e in errors)
    product.refresh_from_db()
    other.refresh_from_db()
    assert product.stock == 0
    assert other.stock == 100 - UNITS
    assert Order.objects.count() == UNITS
    assert sum(OrderItem.objects.filter(product=product).values_list("quantity", flat=True)) == UNITS
    assert Product.objects.filter(stock__lt=0).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_submitted_checkout_orders_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    product = ProductFactory(stock=10)
    user = UserFactory()
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=product, quantity=2)
    address = AddressFactory(user=user)
    barrier = threading.Barrier(4)
    outcomes = []
    lock = threading.Lock()

    def submit():
        try:
            barrier.wait(timeout=30)
            place_order(cart, address, "cod")
            result = "ordered"
        except CartError as exc:
            result = str(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(outcomes) == ["Your cart is empty."] * 3 + ["ordered"]
    product.refresh_from_db()
    assert product.stock == 8
    assert Order.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_card_is_charged_holding_no_product_lock(monkeypatch):
    """While the gateway answers, another checkout can lock the same product rows."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    product = ProductFactory(stock=5)
    user = UserFactory()
    cart = CartFactory(user=user)
    CartItemFactory(cart=cart, product=product, quantity=1)
    locked_meanwhile = []

    def charge(card_number, amount):
        def try_lock():
            try:
                with transaction.atomic():
                    list(Product.objects.select_for_update(nowait=True).filter(pk=product.pk))
                locked_meanwhile.append(True)
            except OperationalError:
                locked_meanwhile.append(False)
            finally:
                connections.close_all()
        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join(timeout=30)
        return True

    monkeypatch.setattr(checkout, "charge_test_card", charge)
    order = place_order(cart, AddressFactory(user=user), "test_card", card_number="4242424242424242")
    assert locked_meanwhile == [True]
    assert set(order.items.values_list("payment_status", flat=True)) == {"paid"}
