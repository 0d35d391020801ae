"""Every write to carts and orders.

Rules this module keeps (CONTRIBUTING.md):
- stock changes lock the product rows with ``select_for_update()`` in primary-key
  order and write with ``F()`` expressions guarded by ``stock__gte`` so a stale
  read can never oversell;
- lock order is always Order -> OrderItem -> Product, so two services never wait
  on each other in opposite directions;
- side effects (interactions, e-mail) run after commit through
  ``transaction.on_commit``.

Errors meant for shoppers are ``CartError`` (and subclasses) with a message that
can be shown as is. Pipeline errors are ``cart.workflow.IllegalTransition``.
"""
import logging
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F

from cart.models import Cart, CartItem, Order, OrderItem
from cart.workflow import IllegalTransition
from main.models import Interaction, Product
from main.services import record_interaction

logger = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 99

Fulfilment = OrderItem.Fulfilment
Payment = OrderItem.Payment


class CartError(Exception):
    """A refusal whose message can be shown to the shopper as is."""


class OutOfStock(CartError):
    pass


class PaymentDeclined(CartError):
    pass


class OrderNotCancellable(CartError):
    pass


# --------------------------------------------------------------------------
# Order status pipeline (also used by the seller dashboard for its lines)
# --------------------------------------------------------------------------

def _restore_stock(lines):
    """Give back the units of ``lines``; locks the products in primary-key order.

    Call inside a transaction that already holds the lines' locks.
    """
    quantities = {}
    for line in lines:
        if line.product_id is not None:  # the listing may have been deleted since
            quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    if not quantities:
        return
    list(Product.objects.select_for_update().filter(pk__in=quantities).order_by("pk")
         .values_list("pk", flat=True))
    for product_id in sorted(quantities):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantities[product_id])


def _derive_order_status(statuses):
    statuses = set(statuses)
    if not statuses:
        return None
    if statuses == {Fulfilment.CANCELLED}:
        return Order.Status.CANCELLED
    if statuses <= {Fulfilment.DELIVERED, Fulfilment.CANCELLED}:
        return Order.Status.COMPLETED
    if statuses & {Fulfilment.SHIPPED, Fulfilment.DELIVERED}:
        return Order.Status.PROCESSING
    return Order.Status.PLACED


def _path_through(flow, current, target):
    """The shortest list of legal moves from ``current`` to ``target`` (BFS)."""
    if current == target:
        return []
    queue = deque([(current, [])])
    seen = {current}
    while queue:
        state, path = queue.popleft()
        for nxt in sorted(flow.allowed(state)):
            if nxt in seen:
                continue
            if nxt == target:
                return path + [nxt]
            seen.add(nxt)
            queue.append((nxt, path + [nxt]))
    raise IllegalTransition(f"{flow.name} cannot move from “{current}” to “{target}”.")


def sync_order_status(order):
    """Derive the order's status from its lines and move it there through STATUS_FLOW.

    Any line shipped or delivered -> processing; every line delivered or cancelled
    with at least one delivered -> completed; every line cancelled -> cancelled.
    Steps through intermediate states (placed -> processing -> completed) one legal
    move at a time; raises IllegalTransition if the flow has no way there.
    Returns the order with its fresh status.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        target = _derive_order_status(locked.items.values_list("fulfilment_status", flat=True))
        if target is not None and target != locked.status:
            for step in _path_through(Order.STATUS_FLOW, locked.status, target):
                Order.STATUS_FLOW.check(locked.status, step)
                locked.status = step
            locked.save(update_fields=["status", "updated_at"])
    order.status = locked.status
    return order


def set_line_fulfilment(line, status):
    """Move one order line along FULFILMENT_FLOW, then re-derive the order status.

    Cancelling a line (only possible while it is pending) gives its units back to
    stock. The caller does any permission/seller scoping; this checks the flow only.
    Raises IllegalTransition for a move the flow does not list.
    """
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=line.order_id).values_list("pk", flat=True).get()
        locked = OrderItem.objects.select_for_update().get(pk=line.pk)
        OrderItem.FULFILMENT_FLOW.check(locked.fulfilment_status, status)
        if status == Fulfilment.CANCELLED:
            _restore_stock([locked])
        locked.fulfilment_status = status
        locked.save(update_fields=["fulfilment_status", "updated_at"])
        sync_order_status(locked.order)
    line.fulfilment_status = locked.fulfilment_status
    return line


def set_line_payment(line, status):
    """Move one order line along PAYMENT_FLOW. Raises IllegalTransition otherwise."""
    with transaction.atomic():
        locked = OrderItem.objects.select_for_update().get(pk=line.pk)
        OrderItem.PAYMENT_FLOW.check(locked.payment_status, status)
        locked.payment_status = status
        locked.save(update_fields=["payment_status", "updated_at"])
    line.payment_status = locked.payment_status
    return line


def cancel_order(order, buyer=None):
    """The buyer cancels the whole order while every line is still pending.

    Lines become cancelled (paid ones refunded), the order cancelled, and the
    stock is given back with F() under row locks. ``buyer``, when given, must own
    the order. Raises OrderNotCancellable with a message for the buyer.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if buyer is not None and locked.buyer_id != buyer.pk:
            raise OrderNotCancellable("This order is not yours to cancel.")
        lines = list(OrderItem.objects.select_for_update().filter(order=locked).order_by("pk"))
        if not lines or any(line.fulfilment_status != Fulfilment.PENDING for line in lines):
            raise OrderNotCancellable(
                f"Order {locked.number} can no longer be cancelled: part of it has already shipped "
                "or been cancelled."
            )
        try:
            Order.STATUS_FLOW.check(locked.status, Order.Status.CANCELLED)
        except IllegalTransition as exc:
            raise OrderNotCancellable(f"Order {locked.number} can no longer be cancelled.") from exc
        _restore_stock(lines)
        for line in lines:
            OrderItem.FULFILMENT_FLOW.check(line.fulfilment_status, Fulfilment.CANCELLED)
            line.fulfilment_status = Fulfilment.CANCELLED
            fields = ["fulfilment_status", "updated_at"]
            if line.payment_status == Payment.PAID:
                OrderItem.PAYMENT_FLOW.check(line.payment_status, Payment.REFUNDED)
                line.payment_status = Payment.REFUNDED
            fields.append("payment_status")
            line.save(update_fields=fields)
        locked.status = Order.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
    order.status = locked.status
    return order
