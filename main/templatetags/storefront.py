from decimal import Decimal

from django import template
from django.conf import settings
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

register = template.Library()


@register.filter
def money(value):
    """A price as shoppers read it: ₹1,299, or ₹1,299.50 when there are paise."""
    if value in (None, ""):
        return ""
    value = Decimal(value)
    digits = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{settings.CURRENCY_SYMBOL}{digits}"


@register.simple_tag
def product_photo(product, full=False):
    """The product's photo (the thumbnail on cards), or a placeholder if it has none."""
    first, second = (product.image, product.thumbnail) if full else (product.thumbnail, product.image)
    photo = first or second
    alt = product.name or product.article_type
    if not photo:
        return format_html(
            '<div class="placeholder-photo{}" role="img" aria-label="No photo of {} yet">'
            '<span aria-hidden="true" class="text-center"><i class="bi bi-image fs-1 d-block"></i>'
            'No photo yet</span></div>', " rounded" if full else "", alt)
    # No width or height: the browser would stretch a small photo to them.
    if full:
        return format_html('<div class="photo-box rounded"><img src="{}" alt="{}" class="product-photo" '
                           'fetchpriority="high"></div>', photo.url, alt)
    return format_html('<div class="photo-box"><img src="{}" alt="{}" class="card-img-top" loading="lazy" '
                       'decoding="async"></div>', photo.url, alt)


def card_html(product, url=None, reason=""):
    """A product's card: photo, name linking to `url` (its page by default), price, and
    the reason a recommendation shows it. Built in Python rather than a template: a
    listing has 24 of them and the template engine was most of a page's time."""
    sold_out = mark_safe('<span class="badge text-bg-secondary ms-1">Out of stock</span>') \
        if not product.in_stock else ""
    why = format_html('<p class="small text-muted mb-0 recommendation-reason">{}</p>', capfirst(reason)) \
        if reason else ""
    return format_html(
        '<article class="card h-100 product-card border-0">{}<div class="card-body px-1 py-2">'
        '<h3 class="card-title mb-1"><a class="stretched-link text-reset text-decoration-none" href="{}">{}</a>'
        '</h3><p class="mb-{}"><span class="fw-semibold">{}</span>{}</p>{}</div></article>',
        product_photo(product), url or product.get_absolute_url(), product.name or product.article_type,
        1 if reason else 0, money(product.price), sold_out, why)


@register.simple_tag
def product_cards(products):
    """Each product's card as HTML, in the order given."""
    return [card_html(product) for product in products]


@register.simple_tag
def recommendation_cards(section):
    """A recommendation section's cards, each with its reason and click-tracking link."""
    return [card_html(product, getattr(product, "click_url", None), reason) for product, reason in section.items]


@register.simple_tag
def featured_category_cards(categories):
    """The home page's category cards: a category's newest photo, its name linking to
    its page, and how many products it has."""
    return [format_html(
        '<article class="card h-100 product-card border-0">{}<div class="card-body px-1 py-2">'
        '<h4 class="card-title mb-0"><a class="stretched-link text-reset text-decoration-none" href="{}">{}</a>'
        '</h4><p class="small text-muted mb-0">{} product{}</p></div></article>',
        product_photo(category.product) if category.product else mark_safe(
            '<div class="placeholder-photo" aria-hidden="true"><i class="bi bi-image fs-1"></i></div>'),
        category_url(category.gender, category.sub_category, category.article_type), category.article_type,
        f"{category.count:,}", pluralize(category.count)) for category in categories]


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
