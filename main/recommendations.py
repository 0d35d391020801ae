"""Recommendations as products: the ML facade's rankings turned into page sections.

The facade ranks skus over every product; this module turns them into
purchasable products in that order with one query for all sections (two when
the first candidates leave a section short; main.selectors.purchasable_by_sku:
the one purchasable rule), keeps each product's reason, and runs the
"recommenders" A/B test: the shopper's variant picks the recommender, each
shown section is recorded as impressions, and every product gets a
click-tracking link. It records no interactions: the views do that.
"""
from dataclasses import dataclass, field

from django.utils.functional import SimpleLazyObject

from experiments.models import Impression
from experiments.selectors import click_url
from experiments.services import assign_variant, record_impressions
from main.facets import catalog_version
from main.selectors import purchasable_by_sku
from shop_ml import facade

EXPERIMENT = "recommenders"
DEFAULT_VARIANT = "hybrid"
SIMILAR = "Similar items"
VISUAL = "Visually similar"
ALSO_BOUGHT = "Customers also bought"
FOR_YOU = "Recommended for you"
SURFACES = {SIMILAR: Impression.Surface.SIMILAR, VISUAL: Impression.Surface.VISUAL,
            ALSO_BOUGHT: Impression.Surface.ALSO_BOUGHT, FOR_YOU: Impression.Surface.FOR_YOU}
PER_SECTION = 8
# Sections are the same for every shopper with the same key (the product, or the history)
# outside an A/B test, so the pages cache them.
SHARED_SECTIONS_SECONDS = 300
# Ask the models for more than we show: some candidates will be out of stock.
OVERFETCH = 3
# Candidates per section the database is asked about first (see _sections).
SPARE = 4


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)  # [(product, reason)]

    def __bool__(self):
        return bool(self.items)

    @property
    def products(self):
        return [product for product, _ in self.items]


def _first_candidates(titled_rankings, k, exclude):
    """The skus the database is asked about first: walking the sections in order, the
    first k + SPARE of each ranking that no earlier section or `exclude` claimed."""
    claimed, chosen = set(exclude), []
    for _, ranking in titled_rankings:
        new = [sku for sku, _, _ in ranking if sku not in claimed][:k + SPARE]
        claimed.update(new)
        chosen += new
    return chosen


def _build(titled_rankings, products, asked, exclude, k):
    """Sections of up to k of `products` each, in ranking order and no product twice; None
    if filling one needs a sku the database was not asked about (`asked`; None: all)."""
    taken, sections = set(exclude), []
    for title, ranking in titled_rankings:
        section = Section(title)
        for sku, _, reason in ranking:
            if len(section.items) >= k:
                break
            if sku in taken:
                continue
            if asked is not None and sku not in asked:
                return None
            product = products.get(sku)
            if product is not None:
                taken.add(sku)
                section.items.append((product, reason))
        sections.append(section)
    return sections


def _sections(titled_rankings, k, exclude=()):
    """The non-empty sections of purchasable products for [(title, ranking)], in order.

    The rankings hold OVERFETCH times k skus for products sold out since, but nearly
    every product is in stock: the first query reads the first candidates of each
    section only, and a second reads the rest when a section is left short.
    """
    first = _first_candidates(titled_rankings, k, exclude)
    sections = _build(titled_rankings, purchasable_by_sku(first), set(first), exclude, k)
    if sections is None:
        every = [sku for _, ranking in titled_rankings for sku, _, _ in ranking]
        sections = _build(titled_rankings, purchasable_by_sku(every), None, exclude, k)
    return [section for section in sections if section]


def _track(request, variant, sections):
    """Record what each section showed and give its products click-tracking links."""
    for section in sections:
        impressions = record_impressions(request, EXPERIMENT, variant, SURFACES[section.title],
                                         [product.sku for product in section.products])
        for product, impression in zip(section.products, impressions):
            product.click_url = click_url(impression)


def _variant(request):
    return assign_variant(EXPERIMENT, request)


def product_page_context(product, request):
    """The product page's recommendation context: sections computed only if rendered,
    and how long the rendered sections may be shared (0 while an A/B test runs, since
    impressions and click links are then per shopper)."""
    variant = _variant(request)
    return {"recommendation_sections": SimpleLazyObject(
                lambda: product_page_sections(product, request, variant)),
            "recommendations_cache_seconds": 0 if variant else SHARED_SECTIONS_SECONDS,
            "recommendations_key": product.sku,
            # Part of the cache key: a seller's new price or stock retires every cached section.
            "catalog_version": catalog_version()}


def product_page_sections(product, request, variant, k=PER_SECTION):
    """Similar items, visually similar (products with a photo) and customers also bought,
    for the shopper's A/B `variant` of the recommenders (None: no test runs).

    Never raises: without a trained model the facade answers nothing and the
    page simply has fewer sections.
    """
    # Enough for the hybrid's blend (twice what it returns) and the visual section.
    looks_alike = facade.visual_neighbours(product.sku, 2 * k * OVERFETCH) if product.image else []
    similar = facade.similar_products(product, k=k * OVERFETCH, variant=variant or DEFAULT_VARIANT,
                                      looks_alike=looks_alike)
    visual = [(sku, score, "looks alike") for sku, score in looks_alike[:k * OVERFETCH]]
    # Shopper evidence only: content neighbours already fill "Similar items".
    bought = facade.also_bought(product, k=k * OVERFETCH, content_fill=False)
    sections = _sections([(SIMILAR, similar), (VISUAL, visual), (ALSO_BOUGHT, bought)], k,
                         exclude={product.sku})
    _track(request, variant, sections)
    return sections


def for_you_context(request, k=PER_SECTION):
    """The home page's "recommended for you" context: the section computed only if
    rendered, and the key its rendering is shared under while no A/B test runs (the
    shopper's history and the models: newcomers all share one)."""
    variant = _variant(request)
    shopper = request.user if request.user.is_authenticated else request.session.session_key
    history = facade.shopper_history(shopper)
    return {"recommendation_sections": SimpleLazyObject(
                lambda: for_you_sections(request, shopper, history, variant, k)),
            "recommendations_cache_seconds": 0 if variant else SHARED_SECTIONS_SECONDS,
            "recommendations_key": facade.for_you_key(history, k=k * OVERFETCH,
                                                      variant=variant or DEFAULT_VARIANT),
            "catalog_version": catalog_version()}


def for_you_sections(request, shopper, history, variant, k=PER_SECTION):
    """"Recommended for you" from the shopper's history, or what is popular for a newcomer."""
    ranking = facade.recommended_for(shopper, k=k * OVERFETCH, variant=variant or DEFAULT_VARIANT,
                                     history=history)
    sections = _sections([(FOR_YOU, ranking)], k)
    _track(request, variant, sections)
    return sections
