"""Recommendations for the product page: the ML facade's answers as products.

The facade ranks skus; this module turns them into purchasable products in
that order with one query (seller joined), drops inactive and out-of-stock
ones, and keeps each product's reason. It records nothing: the product view
already records the VIEW interaction.
"""
from dataclasses import dataclass, field

from main.models import Product

SIMILAR = "Similar items"
ALSO_BOUGHT = "Customers also bought"
PER_SECTION = 8
# Ask the models for more than we show: some candidates will be out of stock.
OVERFETCH = 3


@dataclass
class Section:
    title: str
    items: list = field(default_factory=list)  # [(product, reason)]

    def __bool__(self):
        return bool(self.items)

    @property
    def products(self):
        return [product for product, _ in self.items]


def _products_in_order(rankings):
    """{sku: product} for every sku of the rankings, purchasable only, in one query."""
    skus = {sku for ranking in rankings for sku, _, _ in ranking}
    if not skus:
        return {}
    products = Product.objects.purchasable().select_related("seller").filter(sku__in=skus)
    return {product.sku: product for product in products}


def _section(title, ranking, products, taken, k):
    section = Section(title)
    for sku, _, reason in ranking:
        product = products.get(sku)
        if product is None or sku in taken:
            continue
        taken.add(sku)
        product.recommendation_reason = reason
        section.items.append((product, reason))
        if len(section.items) >= k:
            break
    return section


def product_page_sections(product, request=None, k=PER_SECTION):
    """[Section("Similar items"), Section("Customers also bought")], empty ones dropped.

    Never raises: without a trained model the facade answers nothing and the
    page simply has no recommendations.
    """
    from ml import facade

    similar = facade.similar_products(product, k=k * OVERFETCH)
    # Shopper evidence only: content neighbours already fill "Similar items".
    bought = facade.also_bought(product, k=k * OVERFETCH, content_fill=False)
    products = _products_in_order([similar, bought])
    taken = {product.sku}
    sections = [_section(SIMILAR, similar, products, taken, k),
                _section(ALSO_BOUGHT, bought, products, taken, k)]
    return [section for section in sections if section]


def similar_products(product, request=None, k=PER_SECTION):
    """Similar purchasable products, each with `.recommendation_reason`: the slot's list."""
    sections = product_page_sections(product, request, k)
    return sections[0].products if sections and sections[0].title == SIMILAR else []
