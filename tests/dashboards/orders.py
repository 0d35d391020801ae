"""Orders dated in the past, for the sales aggregates."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from cart.models import Order
from tests.factories import OrderFactory, OrderItemFactory


def order_at(when, *lines, status=Order.Status.PLACED):
    """An order placed at `when` (UTC) with (product, quantity, unit_price[, line fields]) lines."""
    order = OrderFactory(status=status)
    for product, quantity, unit_price, *extra in lines:
        OrderItemFactory(order=order, product=product, quantity=quantity,
                         unit_price=Decimal(unit_price), **(extra[0] if extra else {}))
    # created_at is auto_now_add: only an update can date an order in the past.
    Order.objects.filter(pk=order.pk).update(created_at=when)
    return order


def utc(*args):
    return datetime(*args, tzinfo=ZoneInfo("UTC"))
