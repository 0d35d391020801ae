"""Reads for the storefront: the taxonomy tree, listings with facet counts, search.

The taxonomy (genders, sub-categories, article types, colours, ...) is whatever
the active products say it is; nothing here lists its values.
"""
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.utils.functional import cached_property

from main.facets import PRICE_BANDS, catalog_version, classes_q
from main.models import FacetCount, Product
from seller_accounts.models import Seller

TREE_CACHE_KEY = "main:taxonomy-tree"
FEATURED_CACHE_KEY = "main:featured-categories"
# Both are sums over the maintained facet counts, so cheap to rebuild; the cache
# spares that on most requests, and a new listing shows up within a minute.
CACHE_SECONDS = 60

PER_PAGE = 24
# What a product card shows (main.templatetags.storefront.card_html): listings and
# rankings load these alone (rankings ask for three times the products they show).
CARD_FIELDS = ("id", "sku", "name", "article_type", "price", "stock", "image", "thumbnail")
NEW_ARRIVALS = 12
FEATURED_PER_GENDER = 4

# (model field, GET parameter, label), in the order the filter panel shows them.
FACETS = (
    ("gender", "gender", "Gender"),
    ("sub_category", "category", "Category"),
    ("article_type", "type", "Product type"),
    ("base_colour", "colour", "Colour"),
    ("season", "season", "Season"),
    ("usage", "usage", "Occasion"),
)

SORT_CHOICES = (
    ("newest", "Newest"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("name", "Name"),
)
RELEVANCE = "relevance"
_ORDERINGS = {
    "newest": ("-created_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "-id"),
    "name": ("name", "id"),
}


# --- Taxonomy ------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxonomyNode:
    name: str
    count: int
    children: tuple = ()


def _ranked(counts):
    """Nodes by product count, largest first; ties by name so the order is stable."""
    return tuple(sorted(counts, key=lambda node: (-node.count, node.name)))


def _build_taxonomy_tree():
    rows = (
        FacetCount.objects.values_list("gender", "sub_category", "article_type")
        .annotate(count=Sum("products"))
        .order_by()
    )
    nested = {}
    for gender, sub_category, article_type, count in rows:
        nested.setdefault(gender, {}).setdefault(sub_category, {})[article_type] = count
    return _ranked(
        TaxonomyNode(
            gender,
            sum(sum(types.values()) for types in subs.values()),
            _ranked(
                TaxonomyNode(
                    sub_category,
                    sum(types.values()),
                    _ranked(TaxonomyNode(name, count) for name, count in types.items()),
                )
                for sub_category, types in subs.items()
            ),
        )
        for gender, subs in nested.items()
    )


# This process's copy of the tree: {"key": cache key it was read under, "tree": ...}.
_tree_here = {"key": None, "tree": None}


def taxonomy_tree():
    """Gender → sub-category → article type of the active products, each level by product
    count, from the maintained counts; cached per catalog version.

    Every page's navigation reads it, so each process also keeps the last version it
    read: unpickling the shared copy on every request cost more than the rest of the
    navigation.
    """
    version = catalog_version()
    key = f"{TREE_CACHE_KEY}:{version}"
    if version and _tree_here["key"] == key:
        return _tree_here["tree"]
    tree = cache.get(key)
    if tree is None:
        tree = _build_taxonomy_tree()
        cache.set(key, tree, CACHE_SECONDS)
    _tree_here.update(key=key, tree=tree)
    return tree


def nav_genders():
    return [node.name for node in taxonomy_tree()]


def category_path(gender, sub_category=None, article_type=None):
    """The tree nodes along a category path, or None if the catalog has no such category."""
    names = [name for name in (gender, sub_category, article_type) if name is not None]
    nodes, level = [], taxonomy_tree()
    for name in names:
        node = next((n for n in level if n.name == name), None)
        if node is None:
            return None
        nodes.append(node)
        level = node.children
    return nodes


# --- Taxonomy values (the seller form's suggestions) ------------------------------------

TAXONOMY_FIELDS = (
    "gender", "master_category", "sub_category", "article_type", "base_colour", "season", "usage",
)
TAXONOMY_CACHE_KEY = "main:taxonomy-values:{field}"
TAXONOMY_CACHE_SECONDS = 60 * 15


def taxonomy_values(field):
    """Distinct values of one taxonomy field across the active catalog, cached."""
    if field not in TAXONOMY_FIELDS:
        raise ValueError(f"{field} is not a taxonomy field")
    key = TAXONOMY_CACHE_KEY.format(field=field)
    values = cache.get(key)
    if values is None:
        values = list(
            Product.objects.active().exclude(**{field: ""})
            .order_by(field).values_list(field, flat=True).distinct()
        )
        cache.set(key, values, TAXONOMY_CACHE_SECONDS)
    return values


def taxonomy_datalists():
    return {field: taxonomy_values(field) for field in TAXONOMY_FIELDS}


def forget_taxonomy_values():
    """Drop the cached values so a value a seller just introduced is offered next time."""
    cache.delete_many([TAXONOMY_CACHE_KEY.format(field=field) for field in TAXONOMY_FIELDS])


# --- Home ----------------------------------------------------------------------------


def new_arrivals(limit=NEW_ARRIVALS):
    # Only products with a photo: most of the imported catalog has none, and a shop
    # window of grey boxes sells nothing. The created_at index keeps this a short scan.
    return list(Product.objects.active().exclude(image="").only(*CARD_FIELDS)[:limit])


@dataclass(frozen=True)
class FeaturedCategory:
    gender: str
    sub_category: str
    article_type: str
    count: int
    product: Product | None  # shows the category's photo


def _build_featured_categories(per_gender):
    picks = []
    for gender in taxonomy_tree():
        types = [(sub.name, node) for sub in gender.children for node in sub.children]
        types.sort(key=lambda pair: (-pair[1].count, pair[1].name))
        picks += [(gender.name, sub, node) for sub, node in types[:per_gender]]
    if not picks:
        return []
    wanted = Q()
    for gender, _, node in picks:
        wanted |= Q(gender=gender, article_type=node.name)
    # The newest photographed product of every featured category, from the maintained counts.
    newest = (
        FacetCount.objects.filter(wanted, newest_photographed__isnull=False)
        .values_list("gender", "article_type").annotate(newest=Max("newest_photographed")).order_by()
    )
    ids = {(gender, article_type): pk for gender, article_type, pk in newest}
    products = Product.objects.in_bulk(list(ids.values()))
    return [
        FeaturedCategory(gender, sub, node.name, node.count, products.get(ids.get((gender, node.name))))
        for gender, sub, node in picks
    ]


def featured_categories(per_gender=FEATURED_PER_GENDER):
    """The largest article types of every gender, each with a representative photo."""
    key = f"{FEATURED_CACHE_KEY}:{per_gender}:{catalog_version()}"
    featured = cache.get(key)
    if featured is None:
        featured = _build_featured_categories(per_gender)
        cache.set(key, featured, CACHE_SECONDS)
    return featured


# --- Listings ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFilter:
    """What a shopper narrowed a listing to. Values of one facet are alternatives (OR);
    facets, the price range and the search text all apply together (AND)."""

    text: str = ""
    values: dict = field(default_factory=dict)  # model field → tuple of chosen values
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    @property
    def narrows(self):
        """Whether any facet value or price limit is chosen (the search text aside)."""
        return any(self.values.values()) or self.min_price is not None or self.max_price is not None

    def chosen(self, facet_field):
        return self.values.get(facet_field, ())

    def q(self, skip=None, price_q=None):
        """The filters as a Q, leaving out the facet `skip` ("price" for the price range);
        `price_q(low, high)` turns the price range into a Q (of products by default)."""
        q = Q()
        for facet_field, chosen in self.values.items():
            if chosen and facet_field != skip:
                q &= Q(**{f"{facet_field}__in": chosen})
        if skip != "price":
            q &= (price_q or _price_q)(self.min_price, self.max_price)
        return q


def _price_q(low, high):
    q = Q()
    if low is not None:
        q &= Q(price__gte=low)
    if high is not None:
        q &= Q(price__lte=high)
    return q


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    field: str
    param: str
    label: str
    values: list


@dataclass(frozen=True)
class PriceBand:
    low: int | None
    high: int | None
    count: int
    selected: bool


@dataclass(frozen=True)
class Listing:
    product_filter: ProductFilter  # as applied: without the facets the scope fixes
    page: object  # django.core.paginator.Page
    facets: list
    price_bands: list
    total: int


@dataclass(frozen=True)
class _CountSource:
    """What facet counts are summed over: the maintained counts (main/facets.py) when
    the filters can be read there, else the matching products themselves."""

    rows: object  # a QuerySet of FacetCount or of Product
    count: object  # (filter=None) -> the aggregate counting products over `rows`
    price_q: object  # (low, high) -> Q over `rows`
    counted: tuple  # (columns of `rows` the count reads, SQL counting them)

    @classmethod
    def for_listing(cls, base, scope, product_filter, searched):
        if not searched and classes_q(product_filter.min_price, product_filter.max_price) is not None:
            return cls(FacetCount.objects.filter(**scope),
                       lambda filter=None: Sum("products", filter=filter), classes_q,
                       (("products",), "SUM(products)"))
        return cls(base, lambda filter=None: Count("id", filter=filter), _price_q, ((), "COUNT(*)"))


class _CountedPaginator(Paginator):
    """A paginator given the result count, which the price-band query already made,
    so paging costs no extra COUNT(*) over the catalog."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count


def _facet_counts(source, product_filter, facet_field):
    """[(value, count)] of one facet, with every other filter applied."""
    return (
        source.rows.filter(product_filter.q(skip=facet_field, price_q=source.price_q))
        .exclude(**{facet_field: ""})
        .values_list(facet_field)
        .annotate(count=source.count())
        .order_by()
    )


def _counts_of_unchosen_facets(source, product_filter, facet_fields):
    """{field: [(value, count)]} of facets with no value chosen, in one statement.

    All of them count over the same rows (every filter applies, none is theirs), so
    the rows are read once, as a common table expression, and grouped once per facet
    (UNION ALL): a search's facets were six scans of its matches.
    """
    extra, count_sql = source.counted
    matched = source.rows.filter(product_filter.q(price_q=source.price_q)).order_by().values(
        *facet_fields, *extra)
    counts = {name: [] for name in facet_fields}
    try:
        sql, params = matched.query.sql_with_params()
    except EmptyResultSet:  # the filters match nothing whatever the rows
        return counts
    quote = connection.ops.quote_name
    groups = " UNION ALL ".join(
        f"SELECT %s, {quote(name)}, {count_sql} FROM matched WHERE {quote(name)} <> '' GROUP BY {quote(name)}"
        for name in facet_fields)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH matched AS ({sql}) {groups}", (*params, *facet_fields))
        for name, value, count in cursor.fetchall():
            counts[name].append((value, count))
    return counts


def _facet(facet_field, param, label, product_filter, counts):
    chosen = set(product_filter.chosen(facet_field))
    values = [FacetValue(value, count, value in chosen) for value, count in counts]
    seen = {value.value for value in values}
    # A chosen value the other filters leave empty stays listed, so it can be unticked.
    values += [FacetValue(value, 0, True) for value in chosen - seen]
    values.sort(key=lambda v: (-v.count, v.value))
    return Facet(facet_field, param, label, values)


def _price_bands_and_total(source, product_filter):
    """Counts for every price band (with the other filters applied) and the number of
    results with all filters applied, in one aggregate query."""
    scoped = source.rows.filter(product_filter.q(skip="price"))
    aggregates = {
        f"band{i}": source.count(filter=source.price_q(low, high)) for i, (low, high) in enumerate(PRICE_BANDS)
    }
    aggregates["total"] = source.count(filter=source.price_q(product_filter.min_price, product_filter.max_price))
    # A sum over no rows is NULL, not 0.
    counts = {name: n or 0 for name, n in scoped.order_by().aggregate(**aggregates).items()}
    bands = [
        PriceBand(
            low, high, counts[f"band{i}"],
            selected=(product_filter.min_price, product_filter.max_price) == (
                None if low is None else Decimal(low), None if high is None else Decimal(high),
            ),
        )
        for i, (low, high) in enumerate(PRICE_BANDS)
    ]
    return bands, counts["total"]


def _counts(source, product_filter, scope):
    shown = [(facet_field, param, label) for facet_field, param, label in FACETS if facet_field not in scope]
    unchosen = [facet_field for facet_field, _, _ in shown if not product_filter.chosen(facet_field)]
    counts = _counts_of_unchosen_facets(source, product_filter, unchosen) if unchosen else {}
    facets = [
        _facet(facet_field, param, label, product_filter,
               counts[facet_field] if facet_field in counts else _facet_counts(source, product_filter, facet_field))
        for facet_field, param, label in shown
    ]
    price_bands, total = _price_bands_and_total(source, product_filter)
    return facets, price_bands, total


def _cached_counts(source, product_filter, scope):
    """Counts from the maintained rows are the same for every shopper until the catalog
    changes: kept per catalog version. Counts over a search's products are not kept."""
    if source.rows.model is not FacetCount:
        return _counts(source, product_filter, scope)
    described = repr((sorted((name, getattr(value, "pk", value)) for name, value in scope.items()),
                      sorted((name, sorted(values)) for name, values in product_filter.values.items() if values),
                      product_filter.min_price, product_filter.max_price))
    key = f"main:counts:{catalog_version()}:{hashlib.sha256(described.encode()).hexdigest()}"
    counts = cache.get(key)
    if counts is None:
        counts = _counts(source, product_filter, scope)
        cache.set(key, counts, CACHE_SECONDS)
    return counts


def product_listing(product_filter, *, scope=None, sort="newest", page_number=1, per_page=PER_PAGE,
                    search=None):
    """One page of active products within `scope` (fixed model-field values such as the
    category path or a seller) narrowed by `product_filter`, with facet counts.

    `search` (a search.selectors.Narrowing) narrows to the products a query finds and
    orders them when `sort` is RELEVANCE; the search text itself is its business.

    Each facet counts its values with every other filter applied, so a count is the
    number of results that value gives with the rest of the selection kept. Facets
    fixed by the scope are not offered, and filter values for them are ignored.
    """
    scope = scope or {}
    product_filter = ProductFilter(
        text=product_filter.text,
        values={f: v for f, v in product_filter.values.items() if f not in scope},
        min_price=product_filter.min_price,
        max_price=product_filter.max_price,
    )
    base = Product.objects.active().filter(**scope)
    if search is not None:
        base = search.narrow(base)
    # A search understood as facet values alone ("sneakers") narrows nothing beyond them.
    source = _CountSource.for_listing(base, scope, product_filter,
                                      searched=search is not None and search.narrows)
    facets, price_bands, total = _cached_counts(source, product_filter, scope)
    results = base.filter(product_filter.q()).only(*CARD_FIELDS)
    if search is not None and sort == RELEVANCE:
        results = search.order(results)
    else:
        results = results.order_by(*_ORDERINGS.get(sort, _ORDERINGS["newest"]))
    # Maintained counts are recounted just after a write commits; get_page() keeps the
    # page number in range whatever the count says.
    page = _CountedPaginator(results, per_page, total).get_page(page_number)
    return Listing(product_filter=product_filter, page=page, facets=facets, price_bands=price_bands, total=total)


# --- Single products and stores ------------------------------------------------------


def product_for_page(sku):
    """The active product with this sku and its seller, or None."""
    # get() rather than first(): sku is unique, and first() had every product page pay
    # for compiling and sorting by the default order.
    try:
        return Product.objects.active().select_related("seller").get(sku=sku)
    except Product.DoesNotExist:
        return None


def seller_by_slug(slug):
    return Seller.objects.filter(slug=slug).first()


def purchasable_by_sku(skus):
    """{sku: product} of the active, in-stock products among `skus`, in one query, with
    the fields of their cards.

    The one place the ML rankings meet the purchasable rule (shop_ml.facade's docstring).
    """
    skus = set(skus)
    if not skus:
        return {}
    # .order_by(): a dict has no order, and the default one cost a sort on every page.
    products = Product.objects.purchasable().only(*CARD_FIELDS).filter(sku__in=skus).order_by()
    return {p.sku: p for p in products}


def purchasable_in_order(skus):
    """The active, in-stock products among `skus`, in the order given (e.g. by similarity)."""
    products = purchasable_by_sku(skus)
    return [products[sku] for sku in skus if sku in products]
