from django.shortcuts import render
from django.views.decorators.http import require_safe

from fashionshop.templating import computed_when_read
from main import selectors as catalog
from main.facets import catalog_version
from main.forms import ProductFilterForm
from search import selectors
from search.forms import SearchOptionsForm
from search.understanding import understand

FIELD_LABELS = {
    "gender": "Gender", "master_category": "Category", "sub_category": "Category",
    "article_type": "Product type", "base_colour": "Colour", "usage": "Occasion", "season": "Season",
}


def _with(request, **changes):
    """The current query string with `changes` (a list value appends), back on page 1."""
    query = request.GET.copy()
    query.pop("page", None)
    for name, value in changes.items():
        if isinstance(value, list):
            for item in value:
                query.appendlist(name, item)
        else:
            query[name] = value
    return f"?{query.urlencode()}"


@require_safe
def results(request):
    """Search results, rendered once per URL and catalog version: what the query finds
    is worked out only when the page is not in the cache."""
    form = ProductFilterForm(request.GET)
    product_filter, sort = form.product_filter(), form.sort_order()
    context = {
        "form": form,
        "problems": form.problems(),
        "sort": sort,
        "sort_choices": catalog.SORT_CHOICES,
        "can_rank": bool(product_filter.text),
        "listing_cache_seconds": catalog.CACHE_SECONDS,
        "catalog_version": catalog_version(),
    }
    if product_filter.text:
        context.update(computed_when_read(lambda: _found(request, form, product_filter, sort), FOUND))
    else:
        context["title"] = "All products"
        context.update(computed_when_read(lambda: _all_products(form, product_filter, sort), ("listing", "page_obj")))
    return render(request, "search/results.html", context)


def _all_products(form, product_filter, sort):
    listing = catalog.product_listing(product_filter, sort=sort, page_number=form.page_number())
    return {"listing": listing, "page_obj": listing.page}


FOUND = ("listing", "page_obj", "found", "title", "chips", "search_as_typed", "understood_fields",
         "search_options", "try_instead")


def _found(request, form, product_filter, sort):
    """The `FOUND` part of the results page's context: the query read and searched."""
    ignored, exact = SearchOptionsForm(request.GET).options()
    understanding = understand(product_filter.text, ignored=ignored, exact=exact)
    found = selectors.search(understanding, product_filter, sort=sort, page_number=form.page_number())
    return {
        "listing": found.listing,
        "page_obj": found.listing.page,
        "found": found,
        "title": f"Results for “{understanding.corrected_query or understanding.query}”",
        "chips": [
            {"field": name, "label": FIELD_LABELS[name], "values": values,
             "remove": _with(request, ignore=[name])}
            for name, values in found.understood.items()
        ],
        "search_as_typed": _with(request, exact="1"),
        "understood_fields": set(found.understood),
        # The filter panel's form keeps how the query is read.
        "search_options": [("ignore", name) for name in ignored] + ([("exact", "1")] if exact else []),
        "try_instead": [] if found.level else selectors.popular_searches(),
    }


@require_safe
def suggestions(request):
    """The as-you-type panel under the search box (htmx): categories with counts and
    the top products for what has been typed so far."""
    text = request.GET.get("q", "")[:ProductFilterForm.base_fields["q"].max_length]
    completed = selectors.complete(text)
    return render(request, "search/suggestions.html", {
        "query": text.strip(),
        "suggestions": selectors.suggestions(understand(completed)) if completed else None,
    })
