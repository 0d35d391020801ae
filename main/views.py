from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_safe

from fashionshop import ratelimit
from fashionshop.http import client_address
from fashionshop.templating import computed_when_read
from main import selectors
from main.facets import catalog_version
from main.forms import PhotoSearchForm, ProductFilterForm
from main.models import Interaction
from main.recommendations import for_you_context, product_page_context
from main.services import record_interaction
from shop_ml import facade

PHOTO_MATCHES = 12
# Ask for more matches than are shown: some will be inactive or sold out.
OVERFETCH = 4


@require_safe
def home(request):
    return render(request, "main/home.html", {
        # Read only when the shop window below is not cached for this catalog version.
        "new_arrivals": SimpleLazyObject(selectors.new_arrivals),
        "featured": SimpleLazyObject(selectors.featured_categories),
        "shop_window_seconds": selectors.CACHE_SECONDS,
        **for_you_context(request),
    })


def _listing_page(request, scope, **extra):
    """A product listing within `scope` (fixed field values), filtered and sorted as the query asks.

    What it shows depends on the URL and the catalog alone, so it is rendered once per
    URL and catalog version; the page's products are read only when it is rendered.
    """
    return render(request, "main/product_list.html", {
        **computed_when_read(lambda: _listing_context(request, scope), LISTING_CONTEXT), **extra,
        "listing_cache_seconds": selectors.CACHE_SECONDS, "catalog_version": catalog_version()})


LISTING_CONTEXT = ("form", "listing", "page_obj", "problems", "sort", "sort_choices")


def _listing_context(request, scope):
    form = ProductFilterForm(request.GET)
    product_filter, sort = form.product_filter(), form.sort_order()
    listing = selectors.product_listing(
        product_filter, scope=scope, sort=sort, page_number=form.page_number()
    )
    return {
        "form": form,
        "listing": listing,
        "page_obj": listing.page,
        "problems": form.problems(),
        "sort": sort,
        "sort_choices": selectors.SORT_CHOICES,
    }


@require_safe
def category(request, gender, sub_category=None, article_type=None):
    path = selectors.category_path(gender, sub_category, article_type)
    if path is None:
        raise Http404("The catalog has no such category.")
    scope = dict(zip(("gender", "sub_category", "article_type"), (node.name for node in path)))
    return _listing_page(
        request, scope, title=gender if len(path) == 1 else f"{gender} {path[-1].name}", path=path,
        # The next level down, for the category links above the results.
        subcategories=path[-1].children)


@require_safe
def seller_store(request, slug):
    seller = selectors.seller_by_slug(slug)
    if seller is None:
        raise Http404("No such store.")
    return _listing_page(request, {"seller": seller}, title=seller.store_name, seller=seller)


def _keeps_cookies(request):
    """Whether the caller sent back a cookie this shop set (every page sets the CSRF one).

    Bots and scripts do not: their views would each create a session row and an
    interaction row that tie nothing together, so they are not recorded.
    """
    return settings.SESSION_COOKIE_NAME in request.COOKIES or settings.CSRF_COOKIE_NAME in request.COOKIES


@require_safe
def product_detail(request, sku):
    product = selectors.product_for_page(sku)
    if product is None:
        raise Http404("No such product.")
    if request.user.is_authenticated or _keeps_cookies(request):
        if not request.user.is_authenticated and request.session.session_key is None:
            # A session ties an anonymous shopper's views together for recommendations.
            request.session.create()
        record_interaction(
            product, Interaction.Kind.VIEW, user=request.user, session_key=request.session.session_key
        )
    # ML order, purchasable only, one query for all sections.
    return render(request, "main/product_detail.html", {
        "product": product, **product_page_context(product, request)})


@require_http_methods(["GET", "POST"])
def photo_search(request):
    matches, results, refusal, status = None, [], "", 200
    form = PhotoSearchForm()  # unbound: rendering a bound form would decode its photo
    if request.method == "POST":
        if not request.user.is_authenticated and not ratelimit.allow(
                f"photo-search:{client_address(request)}", settings.PHOTO_SEARCH_ANONYMOUS_PER_MINUTE, 60):
            # Refused before the photo is decoded: refusing is what keeps it cheap.
            refusal, status = "You have searched by photo many times in the last minute. "\
                "Please wait a minute, or sign in to search more.", 429
        elif (form := PhotoSearchForm(request.POST, request.FILES)).is_valid():
            try:
                matches = facade.similar_to_image(form.cleaned_data["photo"], k=PHOTO_MATCHES * OVERFETCH)
            except facade.ModelBusy:
                refusal, status = "Photo search is busy right now. Please try again in a few seconds.", 503
            else:
                results = selectors.purchasable_in_order([sku for sku, _ in matches])[:PHOTO_MATCHES]
    response = render(request, "main/photo_search.html", {
        "form": form,
        "refusal": refusal,
        "searched": matches is not None,
        # The facade answers [] when no visual model is trained yet, not "nothing alike".
        "model_ready": bool(matches),
        "results": results,
    }, status=status)
    if status != 200:
        response["Retry-After"] = "60" if status == 429 else "5"
    return response
