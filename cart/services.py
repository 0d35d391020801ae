"""Every write to carts: adding, changing and removing lines, and merging the
anonymous cart into the user's at sign-in.

Checkout is cart/checkout.py; the order status pipeline is cart/pipeline.py.
Refusals are `cart.errors.CartError` (and subclasses), shown to the shopper as is.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cart.errors import CartError, OutOfStock
from cart.models import SESSION_HAS_CART, Cart, CartItem
from main.models import Interaction
from main.services import record_interaction

MAX_LINE_QUANTITY = 99
MAX_CART_LINES = 50
# The largest order must fit Order.total (12 digits, 2 of them decimals): listing prices are
# capped so that a full cart of the dearest products fits; checkout checks the total anyway
# (prices listed before the cap, or changed by staff).
MAX_ORDER_TOTAL = Decimal("9999999999.99")
MAX_LISTING_PRICE = Decimal("2000000.00")


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
    request.session[SESSION_HAS_CART] = True
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
        if item is None and CartItem.objects.filter(cart=cart).count() >= MAX_CART_LINES:
            raise CartError(f"A cart holds at most {MAX_CART_LINES} different products; "
                            "check out or remove some first.")
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


def merge_cart_at_sign_in(session_key, user):
    """The cart's step in settings.SIGN_IN_STEPS: the shopper-facing notes of the merge."""
    return merge_session_cart(session_key, user).adjusted


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
