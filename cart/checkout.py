"""Checkout: turning a cart into an order.

`place_order` reads as its steps. The card is charged outside any lock, by
reserving first:

1. reserve (one transaction, rows locked): lock the cart, lock the products
   (primary-key order, `main.locks.lock_products`), refuse anything inactive
   or short of stock, take the stock with F() guarded by `stock__gte`, write
   the order with its payment pending and snapshots of each line, empty the
   cart;
2. charge the card, holding no lock (a slow gateway never blocks other
   shoppers' checkouts of the same products);
3. confirm (the lines are paid) or, if the card is refused, release: the
   stock and the cart lines go back and the order, with an address saved for
   it, is deleted, so a refused order leaves nothing behind.

Purchases are recorded and the confirmation e-mail sent after the order is
confirmed. Lock order: Cart -> Order -> OrderItem -> Product. A crash between
the charge and the confirmation leaves a placed order whose payment is still
pending, which staff see and can cancel like any unpaid order.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.services import create_address, delete_address
from cart.errors import CartError, OrderTooLarge, OutOfStock, PaymentDeclined
from cart.models import Cart, CartItem, Order, OrderItem
from cart.pipeline import restore_stock
from cart.services import MAX_ORDER_TOTAL
from main.locks import lock_products
from main.models import Interaction, Product
from main.services import record_interaction

Payment = OrderItem.Payment
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


def place_order(cart, address, payment_method, *, card_number=None, new_address=None):
    """Turn ``cart`` into an order and return it; call it outside a transaction.

    ``address`` is an ``accounts.Address`` of the cart's user (it is copied), or
    ``new_address`` a dict of Address fields, saved to the buyer's address book
    with the order. Raises CartError (OutOfStock, PaymentDeclined) and then
    nothing is written, not even the new address.
    """
    buyer = _buyer(cart)
    reservation = _reserve(cart, buyer, address, new_address, payment_method)
    paid = False
    if payment_method == Order.PaymentMethod.TEST_CARD:
        try:
            paid = charge_test_card(card_number, reservation.order.total)
        except Exception:  # declined, or the gateway failed: give everything back
            _release(reservation)
            raise
    return _confirm(reservation.order, paid)


@dataclass
class Reservation:
    order: Order
    cart: Cart
    cart_items: list        # the cart lines as they were, to give back on release
    new_address: object     # an Address saved for this order, deleted on release


def _reserve(cart, buyer, address, new_address, payment_method):
    """Step 1: stock taken and the order written with its payment pending, under the locks."""
    with transaction.atomic():
        if new_address is not None:
            address = create_address(buyer, **new_address)
        _check_choices(buyer, address, payment_method)
        items = _lock_cart_items(cart)
        products = lock_products(item.product_id for item in items)
        _refuse_unavailable(items, products)
        _refuse_too_large(items, products)
        _take_stock(items, products)
        order = _create_order(buyer, address, payment_method, items, products)
        CartItem.objects.filter(cart=cart).delete()
    return Reservation(order, cart, items, address if new_address is not None else None)


def _release(reservation):
    """Step 3 when the payment failed: the stock and the cart lines back, the order
    and the address saved for it gone."""
    with transaction.atomic():
        Cart.objects.select_for_update().filter(pk=reservation.cart.pk).values_list("pk", flat=True).first()
        Order.objects.select_for_update().filter(pk=reservation.order.pk).values_list("pk", flat=True).get()
        lines = list(OrderItem.objects.select_for_update().filter(order=reservation.order).order_by("pk"))
        restore_stock(lines)
        _return_to_cart(reservation.cart, reservation.cart_items)
        reservation.order.delete()
        if reservation.new_address is not None:
            delete_address(reservation.new_address)


def _confirm(order, paid):
    """Step 3 when the payment went through (or is due on delivery)."""
    with transaction.atomic():
        if paid:
            OrderItem.objects.filter(order=order, payment_status=Payment.PENDING).update(
                payment_status=Payment.PAID, updated_at=timezone.now())
        transaction.on_commit(lambda: _after_order_placed(order.pk), robust=True)
    return order


def _buyer(cart):
    if cart.user is None:
        raise CartError("Sign in to check out.")
    return cart.user


def _check_choices(buyer, address, payment_method):
    if address is None or address.user_id != buyer.pk:
        raise CartError("Choose one of your delivery addresses.")
    if payment_method not in Order.PaymentMethod.values:
        raise CartError("Choose a payment method.")


def _lock_cart_items(cart):
    """The cart's lines, after locking the cart itself.

    A double-submitted checkout waits on this lock and then finds the cart
    already emptied, instead of ordering twice.
    """
    Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True).first()
    items = list(CartItem.objects.filter(cart=cart).order_by("product_id"))
    if not items:
        raise CartError("Your cart is empty.")
    return items


def _refuse_unavailable(items, products):
    """OutOfStock naming every product that is inactive or short, and what is left."""
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


def _refuse_too_large(items, products):
    total = _order_total(items, products)
    if total > MAX_ORDER_TOTAL:
        raise OrderTooLarge(
            f"This order would total {settings.CURRENCY_SYMBOL}{total:,.2f}; one order can total at most "
            f"{settings.CURRENCY_SYMBOL}{MAX_ORDER_TOTAL:,.2f}. Please split it into smaller orders."
        )


def _order_total(items, products):
    return sum((products[item.product_id].price * item.quantity for item in items), Decimal("0"))


def _take_stock(items, products):
    for item in items:
        updated = (Product.objects.filter(pk=item.product_id, stock__gte=item.quantity)
                   .update(stock=F("stock") - item.quantity))
        if updated != 1:  # only reachable without row locks (SQLite); never oversell
            raise OutOfStock(f"“{products[item.product_id].name}” just sold out. "
                             "Please update your cart.")


def _return_to_cart(cart, items):
    """Put the reserved cart lines back as they were (same ids, same order).

    A line the shopper added for the same product meanwhile keeps its place and
    gets the reserved units on top.
    """
    present = set(CartItem.objects.filter(cart=cart).values_list("product_id", flat=True))
    for item in items:
        if item.product_id in present:
            CartItem.objects.filter(cart=cart, product_id=item.product_id).update(
                quantity=F("quantity") + item.quantity)
        else:
            CartItem.objects.create(pk=item.pk, cart=cart, product_id=item.product_id, quantity=item.quantity)
            # auto_now_add stamped the re-creation: keep the line where it was in the cart.
            CartItem.objects.filter(pk=item.pk).update(added_at=item.added_at)


def _create_order(buyer, address, payment_method, items, products):
    """The order with a copy of the address, and one line per cart item snapshotting
    the product's name, sku, price and seller; every line's payment is pending."""
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
        total=_order_total(items, products),
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
            payment_status=Payment.PENDING,
        )
        for item in items
    ])
    return order


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
