"""Maintained facet counts: what main.services keeps current and main.selectors sums.

Every active product falls in one *combination*: its seller, its facet values
(gender, sub-category, article type, colour, season, usage) and its price class.
`FacetCount` holds one row per combination with how many products are in it, so
a listing's facet counts and the taxonomy tree are sums over a few thousand rows
whatever the size of the catalog.

Price classes split prices at the edges of the price bands, keeping each edge
price in a class of its own (the bands include both ends, so a product at an
edge price is in two bands): a band, or a price filter whose limits are band
edges, is then a range of classes.
"""
import time
from bisect import bisect_left
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Case, Count, Max, PositiveSmallIntegerField, Q, Value, When

from fashionshop.cache import HeldHere

# (lowest, highest) prices, both inclusive, as the min_price/max_price filter reads them.
PRICE_BANDS = ((None, 500), (500, 1000), (1000, 2000), (2000, 5000), (5000, None))
_EDGES = tuple(sorted({Decimal(edge) for band in PRICE_BANDS for edge in band if edge is not None}))
LAST_CLASS = 2 * len(_EDGES)
# Changes whenever products change (main.services): part of the cache keys of
# whatever sums or shows many products, so one write retires them on every worker.
CATALOG_VERSION_KEY = "main:catalog-version"
# A product's combination, as FacetCount fields (seller_id is FacetCount.seller).
FIELDS = ("seller_id", "gender", "sub_category", "article_type", "base_colour", "season", "usage",
          "price_class")


def price_class(price):
    """Even classes lie between edges, odd ones are the edge prices themselves."""
    position = bisect_left(_EDGES, Decimal(price))
    on_edge = position < len(_EDGES) and _EDGES[position] == Decimal(price)
    return 2 * position + on_edge


def price_class_expression():
    """`price_class` of the price column, for grouping products in the database."""
    whens = []
    for position, edge in enumerate(_EDGES):
        whens += [When(price__lt=edge, then=Value(2 * position)),
                  When(price=edge, then=Value(2 * position + 1))]
    return Case(*whens, default=Value(LAST_CLASS), output_field=PositiveSmallIntegerField())


def classes_q(low, high):
    """The price classes of prices in [low, high] (None: unbounded), or None when a limit
    is not a band edge (then only the products themselves can say)."""
    bounds = []
    for limit, unbounded in ((low, 0), (high, LAST_CLASS)):
        if limit is None:
            bounds.append(unbounded)
        elif Decimal(limit) in _EDGES:
            bounds.append(price_class(limit))
        else:
            return None
    return Q(price_class__gte=bounds[0], price_class__lte=bounds[1])


def combination(product):
    """The combination an active product counts in, or None for an inactive one."""
    if not product.is_active:
        return None
    return (product.seller_id, product.gender, product.sub_category, product.article_type,
            product.base_colour, product.season, product.usage, price_class(product.price))


def count_combinations(products, combinations=None):
    """One dict of FacetCount fields per combination of the (active) `products`, only
    those of `combinations` if given."""
    rows = products.order_by().annotate(price_class=price_class_expression())
    if combinations is not None:
        rows = rows.filter(combinations_q(combinations))
    return rows.values(*FIELDS).annotate(products=Count("id"),
                                         newest_photographed=Max("id", filter=~Q(image="")))


def combinations_q(combinations):
    """Rows (products annotated with price_class, or FacetCounts) in any of `combinations`."""
    wanted = Q(pk__in=[])
    for values in combinations:
        wanted |= Q(**dict(zip(FIELDS, values)))
    return wanted


# A page reads the version several times and a worker serves many pages a second:
# each process keeps what it read for half a second.
_version_here = HeldHere(seconds=0.5)


def _read_catalog_version():
    version = cache.get(CATALOG_VERSION_KEY)
    if version is None:
        cache.add(CATALOG_VERSION_KEY, time.time_ns(), None)
        version = cache.get(CATALOG_VERSION_KEY)  # another process may have added first
    return version


def catalog_version():
    """A number that changes whenever products change, or 0 when no cache answers.

    A cache that lost it (restarted, flushed) starts a new one rather than going back
    to an old number, so nothing kept under an old version is taken for current.
    """
    return _version_here.get(CATALOG_VERSION_KEY, _read_catalog_version) or 0


def catalog_changed():
    version = time.time_ns()
    cache.set(CATALOG_VERSION_KEY, version, None)
    _version_here.put(CATALOG_VERSION_KEY, version)


def forget_catalog_version_here():
    """Read the version from the cache next time (tests, after emptying the cache)."""
    _version_here.forget()
