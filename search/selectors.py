"""Reads for search: the vocabulary, the products a query finds, and suggestions.

A query is tried at narrower to broader *levels* (see `_levels`); the first level
that finds products is the listing, with facets. When it has fewer products than a
page, the broader levels fill page 1 after it, so a query with relevant products
never shows an empty page.
"""
import time
from collections import Counter
from dataclasses import dataclass, replace

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.expressions import RawSQL

from main import selectors as catalog
from main.models import FacetCount, Product
from search import spelling
from search.vocabulary import FIELDS, KIND_FIELDS, MAX_QUERY_WORDS, Vocabulary, read_curated, words_of

CACHE_SECONDS = 300
LABELS_CACHE_KEY = "search:catalog-labels"
SEARCH_CONFIG = "english"
# What the non-PostgreSQL match looks in for each word.
TEXT_FIELDS = ("name", "article_type", "sub_category", "master_category", "base_colour", "gender", "usage")
SUGGESTED_CATEGORIES = 5
SUGGESTED_PRODUCTS = 4

# --- The vocabulary ------------------------------------------------------------------

_vocabulary = {"at": None, "value": None}


def _catalog_labels():
    """{field: sorted values} the active products carry, cached for a few minutes."""
    labels = cache.get(LABELS_CACHE_KEY)
    if labels is None:
        rows = Product.objects.active().values_list(*FIELDS).distinct().order_by()
        labels = {name: sorted({row[i] for row in rows}) for i, name in enumerate(FIELDS)}
        cache.set(LABELS_CACHE_KEY, labels, CACHE_SECONDS)
    return labels


def vocabulary():
    """The Vocabulary over the catalog's current labels and the curated file, rebuilt
    once per process every few minutes."""
    at = _vocabulary["at"]
    if at is None or time.monotonic() - at > CACHE_SECONDS:
        _vocabulary["value"] = Vocabulary(_catalog_labels(), read_curated())
        _vocabulary["at"] = time.monotonic()
    return _vocabulary["value"]


def forget_vocabulary():
    """Read the catalog's labels and words afresh on the next search."""
    cache.delete(LABELS_CACHE_KEY)
    _vocabulary["at"] = None
    spelling.terms.forget()


# --- Matching words ------------------------------------------------------------------


def _document():
    """The stored tsvector column (PostgreSQL only; main migration 0005 keeps it current)."""
    return RawSQL('"main_product"."search_document"', [], output_field=SearchVectorField())


def _tsquery(words, operator):
    # Words are letters and digits only (search.vocabulary.words_of), so the raw form is safe.
    return SearchQuery(f" {operator} ".join(words), config=SEARCH_CONFIG, search_type="raw")


def _stem(word):
    """Enough stemming for a substring match: "loafers" finds "Loafer"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _word_q(word):
    q = Q()
    for name in TEXT_FIELDS:
        q |= Q(**{f"{name}__icontains": _stem(word)})
    return q


def with_words(queryset, words, every=True):
    """Products whose text holds every one (or, with every=False, any) of `words`."""
    if not words:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.alias(document=_document()).filter(
            document=_tsquery(words, "&" if every else "|"))
    combined = Q() if every else Q(pk__in=[])
    for word in words:
        combined = combined & _word_q(word) if every else combined | _word_q(word)
    return queryset.filter(combined)


def _text_rank(words, few):
    """How well a product's text matches `words`. ts_rank weighs names above labels but
    reads every row's document, so it ranks `few` rows (a word match through the GIN
    index); over a whole category, each word the document holds counts one."""
    if connection.vendor == "postgresql":
        if few:
            return SearchRank(_document(), _tsquery(words, "|"))
        holds = [Q(document=_tsquery([word], "&")) for word in words]
    else:
        holds = [Q(name__icontains=_stem(word)) for word in words]
    return sum((Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())
                for q in holds), Value(0))


def _boost(boosts):
    """One point per boosted field the product matches."""
    return sum((Case(When(Q(**{f"{name}__in": values}), then=Value(1)), default=Value(0),
                     output_field=IntegerField()) for name, values in boosts.items()), Value(0))


# --- Levels --------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One way of narrowing the catalog for a query."""

    name: str  # "exact", "understood", "broader", "any word", "similar"
    filters: dict  # Product field → values
    words: tuple = ()  # every one must match
    any_words: tuple = ()  # at least one must match

    @property
    def narrows(self):
        return bool(self.filters or self.words or self.any_words)

    def q(self):
        q = Q()
        for name, values in self.filters.items():
            q &= Q(**{f"{name}__in": values})
        return q


def _widened(filters):
    """`filters` with article types replaced by the sub-category holding most of each
    ("Sandals" → "Sandal", which also holds sports sandals; not the two stray sandals
    filed under "Shoes")."""
    if "article_type" not in filters:
        return filters
    counts = Counter()
    for gender in catalog.taxonomy_tree():
        for sub in gender.children:
            for node in sub.children:
                if node.name in filters["article_type"]:
                    counts[(node.name, sub.name)] += node.count
    home = {}
    for (article_type, sub), count in counts.most_common():
        home.setdefault(article_type, sub)
    widened = {f: v for f, v in filters.items() if f != "article_type"}
    subs = tuple(sorted(set(home.values())))
    return {**widened, "sub_category": subs} if subs else widened


def _only(filters, fields):
    return {f: v for f, v in filters.items() if f in fields}


def _levels(understanding):
    """Narrowest first: everything understood and every unexplained word; the understood
    filters alone; then broader kinds of product, dropping colour, and gender last.
    When nothing was understood: products matching any word, then the categorizer's
    likeliest article types ("similar products"). An occasion or season alone
    ("wedding") filters like the rest.

    A generator: the broader levels (which read the taxonomy) are only made when the
    narrower ones leave a page short."""
    said = {f: v for f, v in understanding.boosts.items() if f not in understanding.from_model}
    filters = understanding.filters or said
    core = KIND_FIELDS + ("gender",)

    def candidates():
        yield Level("exact", filters, words=understanding.unexplained)
        yield Level("understood", filters)
        widened = _widened(filters)
        yield Level("broader", widened)
        yield Level("broader", _only(filters, core))
        yield Level("broader", _only(widened, core))
        yield Level("broader", _only(filters, KIND_FIELDS))
        if not filters:  # nothing understood: some of the words, then the categorizer's guesses
            yield Level("any word", {}, any_words=understanding.terms)
            yield Level("similar", {"article_type": understanding.guesses} if understanding.guesses else {})

    seen = set()
    for level in candidates():
        key = (repr(sorted(level.filters.items())), level.words, level.any_words)
        if level.narrows and key not in seen:
            seen.add(key)
            yield level


class Narrowing:
    """What main.selectors.product_listing needs from a search: which products match
    and their order by relevance."""

    def __init__(self, understanding, level):
        self.understanding = understanding
        self.level = level

    @property
    def narrows(self):
        """Whether `narrow` leaves out products the facet selections keep: when not, the
        listing's counts can come from the maintained facet counts."""
        facet_fields = {f for f, _, _ in catalog.FACETS}
        return bool(self.level.words or self.level.any_words
                    or set(self.level.filters) - facet_fields)

    def narrow(self, queryset):
        """The level's matches. Filters on facet fields arrive as the listing's facet
        selections instead, so the facet panel can count and untick them."""
        facet_fields = {f for f, _, _ in catalog.FACETS}
        for name, values in self.level.filters.items():
            if name not in facet_fields:
                queryset = queryset.filter(**{f"{name}__in": values})
        queryset = with_words(queryset, self.level.words)
        return with_words(queryset, self.level.any_words, every=False)

    def order(self, queryset):
        """Boosted labels first, then the best text match, products with a photo, the newest."""
        ordering = []
        if self.understanding.boosts:
            queryset = queryset.alias(boost=_boost(self.understanding.boosts))
            ordering.append("-boost")
        # "loafers" means casual or formal shoes, and the ones named loafers come first;
        # "any word" matches rank by how many of the words they hold.
        rank_words = self.understanding.ranking or self.level.any_words
        if rank_words:
            if connection.vendor == "postgresql":
                queryset = queryset.alias(document=_document())
            few = bool(self.level.words or self.level.any_words)
            queryset = queryset.alias(text_rank=_text_rank(rank_words, few))
            ordering.append("-text_rank")
        queryset = queryset.alias(has_photo=Case(When(image="", then=Value(0)), default=Value(1),
                                                 output_field=IntegerField()))
        return queryset.order_by(*ordering, "-has_photo", "-created_at", "-id")


def _facet_values(level, product_filter):
    """The listing's facet selections: the shopper's own, then what the level understood
    for the facets the shopper left alone."""
    values = dict(product_filter.values)
    for name, _, _ in catalog.FACETS:
        if not values.get(name) and name in level.filters:
            values[name] = level.filters[name]
    return values


class _Nothing:
    """The Narrowing of a query that finds nothing."""

    narrows = True

    def narrow(self, queryset):
        return queryset.none()

    def order(self, queryset):
        return queryset


@dataclass(frozen=True)
class SearchResults:
    understanding: object  # search.understanding.Understanding
    level: str  # the Level name the listing comes from, "" when nothing matched
    listing: object  # main.selectors.Listing
    understood: dict  # field → values the query chose and the listing applies (its chips)
    more: list  # products filling page 1 after a short listing, from broader levels


def search(understanding, product_filter, *, sort=catalog.RELEVANCE, page_number=1,
           per_page=catalog.PER_PAGE):
    """Page `page_number` of what `understanding` finds, within the shopper's own facet
    and price choices (`product_filter`), with facet counts."""
    chosen = Product.objects.active().filter(product_filter.q())
    levels = _levels(understanding)
    for level in levels:
        narrowing = Narrowing(understanding, level)
        # A word match often finds nothing, so ask before counting facets; facet values
        # alone are counted from the maintained counts, so the listing itself asks.
        if narrowing.narrows and not narrowing.narrow(chosen.filter(level.q())).exists():
            continue
        listing = catalog.product_listing(
            replace(product_filter, values=_facet_values(level, product_filter)), sort=sort,
            page_number=page_number, per_page=per_page, search=narrowing)
        if listing.total:
            break
    else:
        listing = catalog.product_listing(product_filter, sort=sort, page_number=page_number,
                                          per_page=per_page, search=_Nothing())
        return SearchResults(understanding, "", listing, {}, [])
    understood = {f: v for f, v in level.filters.items() if not product_filter.values.get(f)}
    more = []
    shown = [p.pk for p in listing.page.object_list]
    if listing.page.number == 1 and len(shown) < per_page:
        more = _fill(understanding, levels, chosen, per_page - len(shown), shown)
    return SearchResults(understanding, level.name, listing, understood, more)


def _fill(understanding, levels, chosen, wanted, shown):
    more, exclude = [], list(shown)
    for level in levels:
        if len(more) >= wanted:
            break
        narrowing = Narrowing(understanding, level)
        queryset = narrowing.narrow(chosen.filter(level.q())).exclude(pk__in=exclude)
        page = list(narrowing.order(queryset)[:wanted - len(more)])
        more += page
        exclude += [p.pk for p in page]
    return more


def page_skus(results):
    """The skus page 1 shows, in order: the listing, then the products filling it."""
    return [p.sku for p in results.listing.page.object_list] + [p.sku for p in results.more]


# --- Suggestions as the shopper types ------------------------------------------------


def complete(text):
    """`text` with its last, half-typed word completed to the vocabulary's most used
    word starting with it ("sneak" → "sneakers")."""
    words = words_of(text)[:MAX_QUERY_WORDS]
    if not words:
        return ""
    known = spelling.terms.get().frequency
    last = words[-1]
    if last not in known:
        completions = [word for word in known if word.startswith(last)]
        if completions:
            words[-1] = max(completions, key=lambda word: (known[word], word))
    return " ".join(words)


@dataclass(frozen=True)
class Suggestions:
    categories: list  # (gender, sub_category, article_type, count), most products first
    products: list


def suggestions(understanding):
    """The categories holding most of what `understanding` finds, and its best products."""
    for level in _levels(understanding):
        narrowing = Narrowing(understanding, level)
        matches = narrowing.narrow(Product.objects.active().filter(level.q()))
        # Facet values alone are summed from the maintained counts, not the products.
        counted, count = ((matches, Count("id")) if narrowing.narrows
                          else (FacetCount.objects.filter(level.q()), Sum("products")))
        categories = list(
            counted.values_list("gender", "sub_category", "article_type")
            .annotate(count=count).order_by("-count", "gender", "article_type")[:SUGGESTED_CATEGORIES])
        if categories:
            return Suggestions(categories, list(narrowing.order(matches)[:SUGGESTED_PRODUCTS]))
    return Suggestions([], [])


def popular_searches(limit=5):
    """What to try when a search finds nothing: the largest article types, with their gender."""
    kinds = [(node.count, f"{gender.name} {node.name}")
             for gender in catalog.taxonomy_tree() for sub in gender.children for node in sub.children]
    return [name for _, name in sorted(kinds, key=lambda pair: (-pair[0], pair[1]))[:limit]]
