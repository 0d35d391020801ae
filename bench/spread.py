"""The URL spreads the page benchmarks request: many products, listings and queries,
so that no single cached key carries a figure.

Needs Django set up (`django.setup()`); reads the catalog, never writes it.
"""
import random
import re
from urllib.parse import quote, urlencode

# Everyday searches, as shoppers type them.
QUERIES = (
    "blue jeans", "red dress", "running shoes", "men watch", "black tshirt", "women handbag",
    "casual shirt", "sports shoes", "white sneakers", "kurta", "sunglasses", "leather belt",
    "formal shoes", "printed top", "denim jacket", "flip flops", "backpack", "saree",
    "track pants", "socks",
)
SORTS = ("newest", "price_asc", "price_desc", "name")
# Page caches: template fragments and per-listing facet counts.
PAGE_CACHE_KEYS = re.compile(r"^:\d+:(template\.cache\.|main:counts:)")


def clear_page_caches():
    """Empty the page caches of the in-process cache (LocMemCache: only the benches
    reach into its store); what all pages share (taxonomy tree, featured categories,
    vocabulary, A/B settings) stays, as it does between two shoppers."""
    from django.core.cache import cache

    for key in [key for key in cache._cache if PAGE_CACHE_KEYS.search(key)]:
        cache.delete(key.split(":", 2)[2])  # stored as ":<version>:<key>"


def _segment(value):
    return quote(value.replace("%", "%25").replace("/", "%2F"), safe="")


def product_urls(n=2000, seed=0):
    """`n` product pages, a fixed random sample of the active catalog."""
    from main.models import Product

    ids = list(Product.objects.active().order_by("id").values_list("sku", flat=True))
    return [f"/p/{sku}/" for sku in random.Random(seed).sample(ids, min(n, len(ids)))]


def category_urls():
    """Every gender and gender/sub-category landing page."""
    from main.selectors import taxonomy_tree

    urls = []
    for gender in taxonomy_tree():
        urls.append(f"/c/{_segment(gender.name)}/")
        urls += [f"/c/{_segment(gender.name)}/{_segment(sub.name)}/" for sub in gender.children]
    return urls


def listing_urls(n=240, seed=0):
    """Filtered listings: gender × sub-category × colour × sort, `n` of them."""
    from django.db.models import Count

    from main.models import Product

    rows = (Product.objects.active().exclude(base_colour="")
            .values_list("gender", "sub_category", "base_colour").annotate(n=Count("id"))
            .filter(n__gte=5).order_by("-n"))
    urls = [f"/c/{_segment(g)}/{_segment(s)}/?" + urlencode({"colour": c, "sort": sort})
            for g, s, c, _ in rows for sort in SORTS]
    return random.Random(seed).sample(urls, min(n, len(urls)))


def search_urls():
    return ["/search/?" + urlencode({"q": q}) for q in QUERIES]
