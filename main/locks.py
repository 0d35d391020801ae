"""The one way to lock product rows before their stock changes.

Every path that changes stock (checkout, a released reservation, a cancelled
line or order, a seller's edit or count) takes the rows through
`lock_products`, so they are always locked in primary-key order and two paths
never wait on each other in opposite orders. Across the project the order is
Cart -> Order -> OrderItem -> Product: a path that needs several of these
locks the earlier ones first.
"""
from main.models import Product


def lock_products(ids):
    """{pk: Product} of `ids`, locked (SELECT ... FOR UPDATE) in primary-key order.

    Call it inside a transaction. SQLite has no row locks, so stock writes stay
    guarded by F() expressions and `stock__gte` as well.
    """
    return {product.pk: product for product in
            Product.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")}
