"""The order status pipeline: every legal move works, every other move raises."""
import pytest

from cart import pipeline
from cart.errors import OrderNotCancellable
from cart.models import Order, OrderItem
from cart.pipeline import FULFILMENT_FLOW, PAYMENT_FLOW, IllegalTransition
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

F = OrderItem.Fulfilment
P = OrderItem.Payment
ALL_FULFILMENT = list(F.values)
ALL_PAYMENT = list(P.values)


def _illegal(flow, states):
    return [(a, b) for a in states for b in states if b not in flow.allowed(a)]


@pytest.mark.parametrize("current,target", _illegal(FULFILMENT_FLOW, ALL_FULFILMENT))
def test_every_illegal_fulfilment_move_raises(current, target):
    line = OrderItemFactory(fulfilment_status=current)
    with pytest.raises(IllegalTransition):
        pipeline.set_line_fulfilment(line, target)
    line.refresh_from_db()
    assert line.fulfilment_status == current


@pytest.mark.parametrize("current,target", _illegal(PAYMENT_FLOW, ALL_PAYMENT))
def test_every_illegal_payment_move_raises(current, target):
    line = OrderItemFactory(payment_status=current)
    with pytest.raises(IllegalTransition):
        pipeline.set_line_payment(line, target)
    line.refresh_from_db()
    assert line.payment_status == current


def test_unknown_status_is_refused():
    line = OrderItemFactory()
    with pytest.raises(IllegalTransition):
        pipeline.set_line_fulfilment(line, "teleported")
    with pytest.raises(IllegalTransition):
        pipeline.set_line_payment(line, "maybe")


@pytest.mark.parametrize("current,target", [
    (a, b) for a in ALL_PAYMENT for b in sorted(PAYMENT_FLOW.allowed(a))
])
def test_every_legal_payment_move_is_saved(current, target):
    line = OrderItemFactory(payment_status=current)
    pipeline.set_line_payment(line, target)
    line.refresh_from_db()
    assert line.payment_status == target


def test_shipping_one_line_makes_the_order_processing():
    order = OrderFactory()
    first, second = OrderItemFactory(order=order), OrderItemFactory(order=order)
    pipeline.set_line_fulfilment(first, F.SHIPPED)
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
    second.refresh_from_db()
    assert second.fulfilment_status == F.PENDING


def test_all_delivered_or_cancelled_completes_the_order_through_processing():
    order = OrderFactory()
    first, second = OrderItemFactory(order=order), OrderItemFactory(order=order)
    pipeline.set_line_fulfilment(second, F.CANCELLED)
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    pipeline.set_line_fulfilment(first, F.SHIPPED)
    pipeline.set_line_fulfilment(first, F.DELIVERED)
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED


def test_sync_steps_from_placed_to_completed_through_processing():
    order = OrderFactory()
    OrderItemFactory(order=order, fulfilment_status=F.DELIVERED)
    pipeline.sync_order_status(order)
    assert Order.objects.get(pk=order.pk).status == Order.Status.COMPLETED


def test_all_lines_cancelled_cancels_the_order_and_restores_stock():
    product = ProductFactory(stock=4)
    order = OrderFactory()
    first = OrderItemFactory(order=order, product=product, quantity=2)
    second = OrderItemFactory(order=order, product=product, quantity=1)
    pipeline.set_line_fulfilment(first, F.CANCELLED)
    pipeline.set_line_fulfilment(second, F.CANCELLED)
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert product.stock == 7


def test_sync_refuses_to_move_a_finished_order():
    order = OrderFactory(status=Order.Status.CANCELLED)
    OrderItemFactory(order=order, fulfilment_status=F.SHIPPED)
    with pytest.raises(IllegalTransition):
        pipeline.sync_order_status(order)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_sync_with_pending_lines_leaves_a_placed_order_alone():
    order = OrderFactory()
    OrderItemFactory(order=order)
    pipeline.sync_order_status(order)
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED


def test_buyer_cancels_a_pending_order():
    product = ProductFactory(stock=1)
    order = OrderFactory()
    paid = OrderItemFactory(order=order, product=product, quantity=2, payment_status=P.PAID)
    cod = OrderItemFactory(order=order, quantity=1)
    pipeline.cancel_order(order, buyer=order.buyer)
    order.refresh_from_db()
    paid.refresh_from_db()
    cod.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert paid.fulfilment_status == cod.fulfilment_status == F.CANCELLED
    assert paid.payment_status == P.REFUNDED
    assert cod.payment_status == P.PENDING
    assert product.stock == 3


def test_buyer_cannot_cancel_once_a_line_has_shipped():
    product = ProductFactory(stock=0)
    order = OrderFactory(status=Order.Status.PROCESSING)
    OrderItemFactory(order=order, product=product, fulfilment_status=F.SHIPPED)
    pending = OrderItemFactory(order=order, product=product)
    with pytest.raises(OrderNotCancellable):
        pipeline.cancel_order(order, buyer=order.buyer)
    pending.refresh_from_db()
    product.refresh_from_db()
    order.refresh_from_db()
    assert pending.fulfilment_status == F.PENDING
    assert product.stock == 0
    assert order.status == Order.Status.PROCESSING


def test_cancelling_twice_is_refused_and_stock_is_restored_once():
    product = ProductFactory(stock=0)
    order = OrderFactory()
    OrderItemFactory(order=order, product=product, quantity=2)
    pipeline.cancel_order(order)
    with pytest.raises(OrderNotCancellable):
        pipeline.cancel_order(order)
    product.refresh_from_db()
    assert product.stock == 2


def test_another_buyer_cannot_cancel():
    order = OrderFactory()
    OrderItemFactory(order=order)
    with pytest.raises(OrderNotCancellable):
        pipeline.cancel_order(order, buyer=UserFactory())
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED


def test_cancel_survives_a_deleted_listing():
    order = OrderFactory()
    line = OrderItemFactory(order=order)
    line.product.delete()
    pipeline.cancel_order(order)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
