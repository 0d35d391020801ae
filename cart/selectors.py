"""Reads of carts and orders shared by views, the context processor and other apps."""
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Sum
from django.shortcuts import get_object_or_404

from cart.models import SESSION_HAS_CART, Cart, CartItem, Order, OrderItem


def get_cart(request):
    """The request's existing cart, or None; never creates one."""
    if request.user.is_authenticated:
        return Cart.objects.filter(user=request.user).first()
    key = request.session.session_key
    if not key:
        return None
    return Cart.objects.filter(session_key=key, user__isnull=True).first()


def cart_count(request):
    """Units in the request's cart, in at most one query (none for a shopper who never
    made a cart: most pages are seen by shoppers who have not added anything)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        cart = getattr(user, "cart", None)  # read with the user (accounts.backends)
        if cart is None:
            return 0
        items = CartItem.objects.filter(cart=cart)
    else:
        key = getattr(request, "session", None) and request.session.session_key
        if not key or not request.session.get(SESSION_HAS_CART):
            return 0
        items = CartItem.objects.filter(cart__session_key=key, cart__user__isnull=True)
    return items.aggregate(total=Sum("quantity"))["total"] or 0


@dataclass
class CartSummary:
    cart: Cart | None
    lines: list = field(default_factory=list)
    total: Decimal = Decimal("0")
    count: int = 0
    warnings: list = field(default_factory=list)

    @property
    def is_empty(self):
        return not self.lines

    @property
    def can_check_out(self):
        return bool(self.lines) and not self.warnings


def cart_summary(cart):
    """Lines with their products, the total, and a warning per line that cannot be bought."""
    summary = CartSummary(cart=cart)
    if cart is None:
        return summary
    summary.lines = list(CartItem.objects.filter(cart=cart).select_related("product"))
    for line in summary.lines:
        product = line.product
        summary.total += product.price * line.quantity
        summary.count += line.quantity
        if not product.is_active:
            summary.warnings.append(f"“{product.name}” is no longer available; please remove it.")
        elif product.stock <= 0:
            summary.warnings.append(f"“{product.name}” is out of stock; please remove it.")
        elif line.quantity > product.stock:
            summary.warnings.append(
                f"Only {product.stock} of “{product.name}” left; please lower the quantity."
            )
    return summary


def orders_for_buyer(user):
    return (Order.objects.filter(buyer=user)
            .annotate(line_count=Count("items"), unit_count=Sum("items__quantity"))
            .order_by("-created_at", "-id"))


def order_for_buyer(user, number):
    """The buyer's own order with its lines; anyone else's answers 404."""
    queryset = Order.objects.filter(buyer=user).prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product", "seller"))
    )
    return get_object_or_404(queryset, number=number)


def order_is_cancellable(order):
    """The buyer may cancel while the order is placed and every line still pending."""
    if order.status != Order.Status.PLACED:
        return False
    statuses = {line.fulfilment_status for line in order.items.all()}
    return statuses == {OrderItem.Fulfilment.PENDING}
