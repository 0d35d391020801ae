import hashlib
from decimal import Decimal
from functools import cache as once

from django import template
from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

# A card's key names everything it shows that can change (updated_at moves with every
# edit through main.services; stock also moves at checkout), so a stale card is never
# served: a new price is a new key on every worker at once.
CARD_SECONDS = 24 * 3600
CARD_TEMPLATES = ("main/partials/product_card.html", "main/partials/product_photo.html")


@register.filter
def money(value):
    """A price as shoppers read it: ₹1,299, or ₹1,299.50 when there are paise."""
    if value in (None, ""):
        return ""
    value = Decimal(value)
    digits = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{settings.CURRENCY_SYMBOL}{digits}"


@register.inclusion_tag("main/partials/product_photo.html")
def product_photo(product, full=False):
    """The product's photo (the thumbnail in listings), or a placeholder if it has none."""
    first, second = (product.image, product.thumbnail) if full else (product.thumbnail, product.image)
    photo = first or second
    return {"product": product, "url": photo.url if photo else "", "full": full}


@once
def _card_templates_digest():
    """Changes with the card's templates, so a deploy never serves cards cached by the last one."""
    sources = "".join(get_template(name).template.source for name in CARD_TEMPLATES)
    return hashlib.sha256(sources.encode()).hexdigest()[:12]


def _card_key(product):
    return (f"main:card:{_card_templates_digest()}:{product.pk}:{product.updated_at.timestamp()}:"
            f"{product.price}:{product.in_stock:d}")


@register.simple_tag
def product_cards(products):
    """Each product's card as HTML, rendered once per version of the product: the
    template engine is most of a listing's cost, and most cards have been shown before."""
    products = list(products)
    keys = [_card_key(product) for product in products]
    cached = cache.get_many(keys)
    rendered = {key: render_to_string(CARD_TEMPLATES[0], {"product": product})
                for key, product in zip(keys, products) if key not in cached}
    if rendered:
        cache.set_many(rendered, CARD_SECONDS)
    return [mark_safe(cached.get(key) or rendered[key]) for key in keys]


@register.simple_tag
def facet_options(facet):
    """A facet's values as labelled checkboxes. Built here rather than in a template loop:
    a category page lists a hundred values or more, and the template engine made that
    panel a large part of the page's time."""
    return format_html_join("", (
        '<div class="form-check"><input class="form-check-input" type="checkbox" name="{0}" '
        'value="{1}" id="f-{0}-{2}"{3}><label class="form-check-label" for="f-{0}-{2}">'
        '{1} <span class="text-muted">({4})</span></label></div>'), (
        (facet.param, option.value, number, mark_safe(" checked") if option.selected else "", f"{option.count:,}")
        for number, option in enumerate(facet.values, start=1)))


@register.simple_tag(takes_context=True)
def query_without(context, param, value):
    """The current query string without one value of `param`, back on page 1."""
    query = context["request"].GET.copy()
    query.setlist(param, [v for v in query.getlist(param) if v.strip() != value])
    query.pop("page", None)
    return f"?{query.urlencode()}"


@register.simple_tag
def page_links(page_obj):
    """Page numbers around the current page, with ellipses for the gaps."""
    return page_obj.paginator.get_elided_page_range(page_obj.number, on_each_side=2, on_ends=1)


@register.simple_tag
def category_url(*names):
    """The category page of a path given as names; empty names are skipped, so a
    template can pass the levels it has (`{% category_url gender sub_category child %}`)."""
    return reverse("main:category", args=[name for name in names if name])


@register.simple_tag
def category_trail(*names):
    """(name, URL) of every level of a category path, for breadcrumbs."""
    names = [name for name in names if name]
    return [(name, reverse("main:category", args=names[: i + 1])) for i, name in enumerate(names)]
