"""Checkout: turning a cart into an order.

`place_order` reads as its steps: check what the buyer chose, lock the cart,
lock the products (primary-key order, `main.locks.lock_products`), refuse
anything inactive or short of stock, take the payment, take the stock with
F() guarded by `stock__gte`, write the order with snapshots of each line and
empty the cart. Purchases are recorded and the confirmation e-mail sent after
commit. Lock order: Cart -> Product.
"""
from decimal import Decimal

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F

from accounts.services import create_address
from cart.errors import CartError, OutOfStock, PaymentDeclined
from cart.models import Cart, CartItem, Order, OrderItem
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
    """Turn ``cart`` into an order in one transaction, and return it.

    ``address`` is an ``accounts.Address`` of the cart's user (it is copied), or
    ``new_address`` a dict of Address fields, saved to the buyer's address book
    in the same transaction. Raises CartError (OutOfStock, PaymentDeclined) and
    then nothing is written, not even the new address.
    """
    buyer = _buyer(cart)
    with transaction.atomic():
        if new_address is not None:
            address = create_address(buyer, **new_address)
        _check_choices(buyer, address, payment_method)
        items = _lock_cart_items(cart)
        products = lock_products(item.product_id for item in items)
        _refuse_unavailable(items, products)
        total = _order_total(items, products)
        payment_status = _take_payment(payment_method, card_number, total)
        _take_stock(items, products)
        order = _create_order(buyer, address, payment_method, total, items, products, payment_status)
        CartItem.objects.filter(cart=cart).delete()
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


def _order_total(items, products):
    return sum((products[item.product_id].price * item.quantity for item in items), Decimal("0"))


def _take_payment(payment_method, card_number, total):
    """The lines' payment status: paid once the card is charged, else pending (cash on delivery)."""
    if payment_method == Order.PaymentMethod.TEST_CARD:
        charge_test_card(card_number, total)
        return Payment.PAID
    return Payment.PENDING


def _take_stock(items, products):
    for item in items:
        updated = (Product.objects.filter(pk=item.product_id, stock__gte=item.quantity)
                   .update(stock=F("stock") - item.quantity))
        if updated != 1:  # only reachable without row locks (SQLite); never oversell
            raise OutOfStock(f"“{products[item.product_id].name}” just sold out. "
                             "Please update your cart.")


def _create_order(buyer, address, payment_method, total, items, products, payment_status):
    """The order with a copy of the address, and one line per cart item snapshotting
    the product's name, sku, price and seller."""
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
