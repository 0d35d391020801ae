"""Reads for the vendor dashboard. Every queryset here is scoped to one seller."""
from django.db.models import Count, F, Prefetch, Q, Sum

from cart.models import Order, OrderItem
from main.models import Product
from seller_accounts.models import Seller

LOW_STOCK_THRESHOLD = 5


def seller_for_user(user):
    """The user's Seller, or None for anonymous users and buyers."""
    if not user.is_authenticated:
        return None
    return Seller.objects.filter(user=user).first()


# Products ------------------------------------------------------------------

def seller_products(seller):
    return Product.objects.filter(seller=seller)


def seller_product_search(seller, *, q="", article_type="", stock="", status=""):
    """The seller's products filtered by the list's search form."""
    products = seller_products(seller)
    if q:
        products = products.filter(Q(name__icontains=q) | Q(sku__iexact=q))
    if article_type:
        products = products.filter(article_type=article_type)
    if stock == "out":
        products = products.filter(stock=0)
    elif stock == "low":
        products = products.filter(stock__gt=0, stock__lte=LOW_STOCK_THRESHOLD)
    elif stock == "in":
        products = products.filter(stock__gt=0)
    if status == "active":
        products = products.filter(is_active=True)
    elif status == "inactive":
        products = products.filter(is_active=False)
    return products.only(
        "id", "sku", "name", "price", "stock", "is_active", "article_type", "thumbnail",
        "seller_id", "created_at",
    )


def seller_article_types(seller):
    """The article types this seller lists (for the list's filter)."""
    return list(
        seller_products(seller).order_by("article_type")
        .values_list("article_type", flat=True).distinct()
    )


def seller_low_stock(seller, limit=10):
    """Listed products about to run out (sold-out ones are counted separately)."""
    return (
        seller_products(seller).active()
        .filter(stock__gt=0, stock__lte=LOW_STOCK_THRESHOLD)
        .order_by("stock", "name")[:limit]
    )


# Orders --------------------------------------------------------------------

def seller_order_lines(seller):
    return OrderItem.objects.filter(seller=seller).select_related("order")


def seller_orders(seller, *, fulfilment=""):
    """Orders holding at least one of the seller's lines (optionally one in the given
    fulfilment status), with only the seller's lines prefetched (as `seller_lines`) and
    the seller's own share of the order annotated."""
    lines = OrderItem.objects.filter(seller=seller).select_related("product").order_by("id")
    orders = Order.objects.filter(items__seller=seller)
    if fulfilment:
        orders = Order.objects.filter(
            pk__in=OrderItem.objects.filter(seller=seller, fulfilment_status=fulfilment).values("order_id")
        ).filter(items__seller=seller)
    return (
        orders
        .annotate(
            seller_line_count=Count("items", filter=Q(items__seller=seller)),
            seller_subtotal=Sum(
                F("items__unit_price") * F("items__quantity"), filter=Q(items__seller=seller)
            ),
        )
        .prefetch_related(Prefetch("items", queryset=lines, to_attr="seller_lines"))
        .order_by("-created_at", "-id")
    )


def seller_recent_lines(seller, limit=10):
    return seller_order_lines(seller).order_by("-order__created_at", "-id")[:limit]


def seller_dashboard_summary(seller):
    products = seller_products(seller)
    counts = products.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        out_of_stock=Count("id", filter=Q(is_active=True, stock=0)),
    )
    pending = seller_order_lines(seller).filter(
        fulfilment_status=OrderItem.Fulfilment.PENDING
    ).count()
    return {
        "product_count": counts["total"],
        "active_count": counts["active"],
        "out_of_stock_count": counts["out_of_stock"],
        "pending_line_count": pending,
        "low_stock": list(seller_low_stock(seller)),
        "recent_lines": list(seller_recent_lines(seller)),
        "low_stock_threshold": LOW_STOCK_THRESHOLD,
    }
