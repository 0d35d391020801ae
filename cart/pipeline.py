"""The order and order-line status pipelines, and every move along them.

Each pipeline lists its legal moves; anything else raises IllegalTransition.
An order's status is not set by hand: it follows its lines
(`sync_order_status`). Sellers move their own lines (seller_accounts), staff
through the admin, and buyers cancel whole orders while nothing has shipped.

Locks are taken Order -> OrderItem -> Product (products through
`main.locks.lock_products`), the order checkout uses too.
"""
from collections import deque

from django.db import transaction
from django.db.models import F

from cart.errors import OrderNotCancellable
from cart.models import Order, OrderItem
from main.locks import lock_products
from main.models import Product

Status = Order.Status
Fulfilment = OrderItem.Fulfilment
Payment = OrderItem.Payment


class IllegalTransition(Exception):
    pass


class Workflow:
    def __init__(self, name, transitions):
        self.name = name
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}

    def allowed(self, current):
        return self.transitions.get(current, frozenset())

    def check(self, current, target):
        if target not in self.allowed(current):
            raise IllegalTransition(f"{self.name} cannot move from “{current}” to “{target}”.")


ORDER_FLOW = Workflow("Order", {
    Status.PLACED: {Status.PROCESSING, Status.CANCELLED},
    Status.PROCESSING: {Status.COMPLETED, Status.CANCELLED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
})
FULFILMENT_FLOW = Workflow("Fulfilment", {
    Fulfilment.PENDING: {Fulfilment.SHIPPED, Fulfilment.CANCELLED},
    Fulfilment.SHIPPED: {Fulfilment.DELIVERED},
    Fulfilment.DELIVERED: set(),
    Fulfilment.CANCELLED: set(),
})
PAYMENT_FLOW = Workflow("Payment", {
    Payment.PENDING: {Payment.PAID, Payment.FAILED},
    Payment.FAILED: {Payment.PAID},
    Payment.PAID: {Payment.REFUNDED},
    Payment.REFUNDED: set(),
})


def restore_stock(lines):
    """Give back the units of ``lines`` under the product locks.

    Call inside a transaction that already holds the lines' locks.
    """
    quantities = {}
    for line in lines:
        if line.product_id is not None:  # the listing may have been deleted since
            quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    lock_products(quantities)
    for product_id in sorted(quantities):
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantities[product_id])


def _derive_order_status(statuses):
    statuses = set(statuses)
    if not statuses:
        return None
    if statuses == {Fulfilment.CANCELLED}:
        return Status.CANCELLED
    if statuses <= {Fulfilment.DELIVERED, Fulfilment.CANCELLED}:
        return Status.COMPLETED
    if statuses & {Fulfilment.SHIPPED, Fulfilment.DELIVERED}:
        return Status.PROCESSING
    return Status.PLACED


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
    """Derive the order's status from its lines and move it there through ORDER_FLOW.

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
            for step in _path_through(ORDER_FLOW, locked.status, target):
                ORDER_FLOW.check(locked.status, step)
                locked.status = step
            locked.save(update_fields=["status", "updated_at"])
    order.status = locked.status
    return order


def _cancel_line(line):
    """Mark a locked, pending line cancelled and refund it if it was paid; the one way
    a line is cancelled, by its buyer, its seller or staff. The caller restocks and saves."""
    FULFILMENT_FLOW.check(line.fulfilment_status, Fulfilment.CANCELLED)
    line.fulfilment_status = Fulfilment.CANCELLED
    if line.payment_status == Payment.PAID:
        PAYMENT_FLOW.check(line.payment_status, Payment.REFUNDED)
        line.payment_status = Payment.REFUNDED


def set_line_fulfilment(line, status):
    """Move one order line along FULFILMENT_FLOW, then re-derive the order status.

    Cancelling a line (only possible while it is pending) gives its units back to
    stock and refunds it if it was paid. The caller does any permission/seller
    scoping; this checks the flow only. Raises IllegalTransition for a move the flow
    does not list.
    """
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=line.order_id).values_list("pk", flat=True).get()
        locked = OrderItem.objects.select_for_update().get(pk=line.pk)
        if status == Fulfilment.CANCELLED:
            _cancel_line(locked)
            restore_stock([locked])
        else:
            FULFILMENT_FLOW.check(locked.fulfilment_status, status)
            locked.fulfilment_status = status
        locked.save(update_fields=["fulfilment_status", "payment_status", "updated_at"])
        sync_order_status(locked.order)
    line.fulfilment_status, line.payment_status = locked.fulfilment_status, locked.payment_status
    return line


def set_line_payment(line, status):
    """Move one order line along PAYMENT_FLOW. Raises IllegalTransition otherwise."""
    with transaction.atomic():
        locked = OrderItem.objects.select_for_update().get(pk=line.pk)
        PAYMENT_FLOW.check(locked.payment_status, status)
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
            ORDER_FLOW.check(locked.status, Status.CANCELLED)
        except IllegalTransition as exc:
            raise OrderNotCancellable(f"Order {locked.number} can no longer be cancelled.") from exc
        restore_stock(lines)
        for line in lines:
            _cancel_line(line)
            line.save(update_fields=["fulfilment_status", "payment_status", "updated_at"])
        locked.status = Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
    order.status = locked.status
    return order
