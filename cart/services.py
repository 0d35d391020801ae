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
from django.utils import timezone

from accounts.services import create_address
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


# --------------------------------------------------------------------------
# Carts
# --------------------------------------------------------------------------

def ensure_session_key(request):
    """Anonymous carts are keyed on the session, so make sure one exists."""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def get_or_create_cart(request):
    """The signed-in user's cart, or the anonymous session's cart (created on demand)."""
    if request.user.is_authenticated:
        cart, _ = Cart.objects.get_or_create(user=request.user)
        return cart
    cart, _ = Cart.objects.get_or_create(session_key=ensure_session_key(request), user=None)
    return cart


def _check_quantity(quantity):
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise CartError("Enter a whole number for the quantity.") from None
    if quantity < 0 or quantity > MAX_LINE_QUANTITY:
        raise CartError(f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}.")
    return quantity


def _check_available(product, wanted, in_cart=0):
    if not product.is_active:
        raise CartError(f"“{product.name}” is no longer available.")
    if product.stock <= 0:
        raise OutOfStock(f"“{product.name}” is out of stock.")
    if wanted > product.stock:
        already = f" (you already have {in_cart} in your cart)" if in_cart else ""
        raise OutOfStock(
            f"Only {product.stock} of “{product.name}” left in stock{already}."
        )


def add_to_cart(cart, product, quantity=1, *, user=None, session_key=""):
    """Add ``quantity`` of ``product``; refuses inactive, out-of-stock or more than in stock.

    Records an ADD_TO_CART interaction after commit. Returns the cart line.
    """
    quantity = _check_quantity(quantity)
    if quantity < 1:
        raise CartError(f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}.")
    with transaction.atomic():
        Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True).get()
        item = CartItem.objects.filter(cart=cart, product=product).first()
        in_cart = item.quantity if item else 0
        product.refresh_from_db(fields=["stock", "is_active"])
        _check_available(product, in_cart + quantity, in_cart)
        if in_cart + quantity > MAX_LINE_QUANTITY:
            raise CartError(f"You can have at most {MAX_LINE_QUANTITY} of one product in your cart.")
        if item is None:
            item = CartItem.objects.create(cart=cart, product=product, quantity=quantity)
        else:
            CartItem.objects.filter(pk=item.pk).update(quantity=F("quantity") + quantity)
            item.refresh_from_db(fields=["quantity"])
        Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
        transaction.on_commit(
            lambda: record_interaction(product, Interaction.Kind.ADD_TO_CART,
                                       user=user, session_key=session_key),
            robust=True,
        )
    return item


def update_cart_item(cart, item_id, quantity):
    """Set a line's quantity (0 removes it); refuses more than in stock."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        item = (CartItem.objects.select_for_update().select_related("product")
                .filter(cart=cart, pk=item_id).first())
        if item is None:
            raise CartError("That item is no longer in your cart.")
        if quantity == 0:
            item.delete()
            return None
        if quantity > item.quantity:  # lowering is always allowed; checkout re-checks
            _check_available(item.product, quantity)
        item.quantity = quantity
        item.save(update_fields=["quantity"])
    return item


def remove_cart_item(cart, item_id):
    deleted, _ = CartItem.objects.filter(cart=cart, pk=item_id).delete()
    if not deleted:
        raise CartError("That item is no longer in your cart.")


@dataclass
class MergeResult:
    merged: int = 0
    adjusted: list = field(default_factory=list)  # shopper-facing notes


def merge_session_cart(session_key, user):
    """Fold the anonymous cart of ``session_key`` into ``user``'s cart at login.

    Quantities are summed and capped at the stock; inactive or sold-out products
    are dropped with a note. Call with the session key read *before* login()
    rotates it. The anonymous cart is deleted.
    """
    result = MergeResult()
    if not session_key:
        return result
    with transaction.atomic():
        anon = (Cart.objects.select_for_update()
                .filter(session_key=session_key, user__isnull=True).first())
        if anon is None:
            return result
        user_cart, _ = Cart.objects.get_or_create(user=user)
        Cart.objects.select_for_update().filter(pk=user_cart.pk).values_list("pk", flat=True).get()
        existing = {item.product_id: item for item in user_cart.items.all()}
        for item in anon.items.select_related("product").order_by("product_id"):
            product = item.product
            mine = existing.get(product.pk)
            wanted = min(item.quantity + (mine.quantity if mine else 0), MAX_LINE_QUANTITY)
            if not product.is_active or product.stock <= 0:
                result.adjusted.append(f"“{product.name}” is no longer available and was left out.")
                continue
            if wanted > product.stock:
                result.adjusted.append(
                    f"Only {product.stock} of “{product.name}” left, so your cart holds {product.stock}."
                )
                wanted = product.stock
            if mine is None:
                CartItem.objects.create(cart=user_cart, product=product, quantity=wanted)
            else:
                mine.quantity = wanted
                mine.save(update_fields=["quantity"])
            result.merged += 1
        anon.delete()
    return result


# --------------------------------------------------------------------------
# Checkout
# --------------------------------------------------------------------------

TEST_CARD_APPROVED = "4242424242424242"
TEST_CARD_DECLINED = "4000000000000002"


def _normalise_card(number):
    return "".join(ch for ch in str(number or "") if not ch.isspace() and ch != "-")


def charge_test_card(card_number, amount):
    """The test payment gateway: 4242… is approved, 4000…0002 is declined.

    The card number is only looked at here, never stored or logged.
    """
    digits = _normalise_card(card_number)
    if digits == TEST_CARD_APPROVED:
        return True
    if digits == TEST_CARD_DECLINED:
        raise PaymentDeclined("Your card was declined. No money was taken; try another card "
                              "or pay cash on delivery.")
    raise PaymentDeclined("This shop only accepts the test card 4242 4242 4242 4242.")


def _after_order_placed(order_id):
    order = Order.objects.select_related("buyer").get(pk=order_id)
    for line in order.items.select_related("product"):
        if line.product is not None:
            record_interaction(line.product, Interaction.Kind.PURCHASE, user=order.buyer)
    if order.buyer.email:
        lines = "\n".join(f"{line.quantity} × {line.product_name} — {line.line_total}"
                          for line in order.items.all())
        send_mail(
            subject=f"Your order {order.number}",
            message=f"Thank you for your order {order.number}.\n\n{lines}\n\nTotal: {order.total}\n",
            from_email=None,
            recipient_list=[order.buyer.email],
            fail_silently=True,
        )


def place_order(cart, address, payment_method, *, card_number=None):
    """Turn ``cart`` into an order in one transaction.

    Locks the products (primary-key order), refuses to oversell naming the
    product and what is left, charges the test card, decrements stock with F(),
    snapshots name/sku/price/seller per line, creates the order and empties the
    cart. Purchases are recorded and the confirmation e-mail sent after commit.
    ``address`` is an ``accounts.Address`` of the cart's user; it is copied.
    Raises CartError (OutOfStock, PaymentDeclined) and then nothing is written.
    """
    buyer = cart.user
    if buyer is None:
        raise CartError("Sign in to check out.")
    if address is None or address.user_id != buyer.pk:
        raise CartError("Choose one of your delivery addresses.")
    if payment_method not in Order.PaymentMethod.values:
        raise CartError("Choose a payment method.")

    with transaction.atomic():
        # Lock the cart first (lock order Cart -> Product): a double-submitted checkout
        # waits here and then finds the cart already emptied, instead of ordering twice.
        Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True).first()
        items = list(CartItem.objects.filter(cart=cart).order_by("product_id"))
        if not items:
            raise CartError("Your cart is empty.")
        products = {
            product.pk: product
            for product in Product.objects.select_for_update()
            .filter(pk__in=[item.product_id for item in items]).order_by("pk")
        }
        problems = []
        for item in items:
            product = products[item.product_id]
            if not product.is_active:
                problems.append(f"“{product.name}” is no longer available.")
            elif product.stock < item.quantity:
                left = f"only {product.stock} left" if product.stock else "none left"
                problems.append(f"“{product.name}”: you asked for {item.quantity}, {left}.")
        if problems:
            raise OutOfStock("We could not place your order. " + " ".join(problems)
                             + " Please update your cart.")

        total = sum((products[item.product_id].price * item.quantity for item in items),
                    Decimal("0"))
        if payment_method == Order.PaymentMethod.TEST_CARD:
            charge_test_card(card_number, total)
            payment_status = Payment.PAID
        else:
            payment_status = Payment.PENDING

        for item in items:
            updated = (Product.objects.filter(pk=item.product_id, stock__gte=item.quantity)
                       .update(stock=F("stock") - item.quantity))
            if updated != 1:  # only reachable without row locks (SQLite); never oversell
                raise OutOfStock(f"“{products[item.product_id].name}” just sold out. "
                                 "Please update your cart.")

        order = Order.objects.create(
            buyer=buyer,
            payment_method=payment_method,
            ship_full_name=address.full_name,
            ship_line1=address.line1,
            ship_line2=address.line2,
            ship_city=address.city,
            ship_postcode=address.postcode,
            ship_country=address.country,
            ship_phone=address.phone,
            total=total,
        )
        OrderItem.objects.bulk_create([
            OrderItem(
                order=order,
                product=products[item.product_id],
                seller_id=products[item.product_id].seller_id,
                sku=products[item.product_id].sku,
                product_name=products[item.product_id].name,
                unit_price=products[item.product_id].price,
                quantity=item.quantity,
                payment_status=payment_status,
            )
            for item in items
        ])
        CartItem.objects.filter(cart=cart).delete()
        transaction.on_commit(lambda: _after_order_placed(order.pk), robust=True)
    return order


def checkout(cart, *, payment_method, address=None, new_address=None, card_number=None):
    """Check out with a saved ``address`` or a ``new_address`` (dict of Address fields).

    A new address is saved to the buyer's address book in the same transaction as
    the order, so a refused order (declined card, sold out) leaves nothing behind.
    """
    with transaction.atomic():
        if new_address is not None:
            if cart.user is None:
                raise CartError("Sign in to check out.")
            address = create_address(cart.user, **new_address)
        return place_order(cart, address, payment_method, card_number=card_number)
