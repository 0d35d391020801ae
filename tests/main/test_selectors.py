from decimal import Decimal

import pytest
from django.core.cache import cache

from main import selectors
from main.facets import forget_catalog_version_here
from main.forms import ProductFilterForm
from main.models import Product
from main.selectors import ProductFilter
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    """The taxonomy and listing counts are cached; each test starts from its own data."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seller():
    return SellerFactory()


def make(seller, **fields):
    return ProductFactory(seller=seller, **fields)


@pytest.fixture
def catalog(seller):
    """A small catalog with two genders, a space in a name and an inactive product."""
    return {
        "red_tee": make(seller, name="Roadster Men Red Tshirt", sub_category="Topwear", article_type="Tshirts",
                        base_colour="Red", price=Decimal("499"), season="Summer", usage="Casual"),
        "red_tee_2": make(seller, name="Nike Men Red Sports Tshirt", sub_category="Topwear", article_type="Tshirts",
                          base_colour="Red", price=Decimal("899"), season="Summer", usage="Sports"),
        "blue_shirt": make(seller, name="Arrow Men Blue Formal Shirt", sub_category="Topwear", article_type="Shirts",
                           base_colour="Blue", price=Decimal("1299"), season="Fall", usage="Formal"),
        "track": make(seller, name="Puma Men Black Track Pants", sub_category="Bottomwear", article_type="Track Pants",
                      base_colour="Black", price=Decimal("799"), season="Winter", usage="Sports"),
        "top": make(seller, name="Vero Moda Women Red Top", gender="Women", sub_category="Topwear",
                    article_type="Tops", base_colour="Red", price=Decimal("599")),
        "heels": make(seller, name="Catwalk Women Black Heels", gender="Women", master_category="Footwear",
                      sub_category="Shoes", article_type="Heels", base_colour="Black", price=Decimal("2599")),
        "hidden": make(seller, name="Hidden Girls Dress", gender="Girls", sub_category="Dress",
                       article_type="Dresses", is_active=False),
    }


def facet(listing, field):
    return {value.value: value.count for value in next(f for f in listing.facets if f.field == field).values}


# --- Taxonomy -----------------------------------------------------------------------


def test_taxonomy_tree_is_derived_from_active_products_and_ranked_by_count(catalog):
    tree = selectors.taxonomy_tree()

    assert [(g.name, g.count) for g in tree] == [("Men", 4), ("Women", 2)]
    men = tree[0]
    assert [(s.name, s.count) for s in men.children] == [("Topwear", 3), ("Bottomwear", 1)]
    assert [(a.name, a.count) for a in men.children[0].children] == [("Tshirts", 2), ("Shirts", 1)]
    assert selectors.nav_genders() == ["Men", "Women"]


def test_taxonomy_tree_is_cached_until_the_catalog_changes(catalog, django_assert_num_queries):
    selectors.taxonomy_tree()
    with django_assert_num_queries(0):
        assert "Boys" not in selectors.nav_genders()
    make(catalog["red_tee"].seller, gender="Boys")  # recounted, as main.services does on every write

    assert "Boys" in selectors.nav_genders()


def test_a_flushed_cache_never_brings_back_this_processs_old_tree(catalog, monkeypatch):
    assert "Boys" not in selectors.nav_genders()
    with monkeypatch.context() as patched:  # a change whose new version the cache then loses
        patched.setattr("main.facets.catalog_changed", lambda: None)
        make(catalog["red_tee"].seller, gender="Boys")
    assert "Boys" not in selectors.nav_genders()
    cache.clear()
    forget_catalog_version_here()  # as the half second a process keeps the version does
    assert "Boys" in selectors.nav_genders()


def test_category_path_finds_nodes_or_none(catalog):
    path = selectors.category_path("Men", "Bottomwear", "Track Pants")

    assert [node.name for node in path] == ["Men", "Bottomwear", "Track Pants"]
    assert selectors.category_path("Men", "Shoes") is None
    assert selectors.category_path("Girls") is None  # only an inactive product
    assert selectors.category_path("men") is None


def test_empty_catalog_has_an_empty_tree_and_no_featured_categories():
    assert selectors.taxonomy_tree() == ()
    assert selectors.featured_categories() == []
    assert selectors.new_arrivals() == []


# --- Home ---------------------------------------------------------------------------


def test_new_arrivals_are_active_products_with_a_photo_newest_first(seller):
    old = make(seller, image="products/old.jpg")
    new = make(seller, image="products/new.jpg")
    make(seller)  # no photo
    make(seller, image="products/gone.jpg", is_active=False)

    assert selectors.new_arrivals() == [new, old]


def test_featured_categories_show_the_largest_article_types_with_a_photo(catalog, seller):
    pictured = make(seller, article_type="Tshirts", sub_category="Topwear", image="products/tee.jpg")

    featured = selectors.featured_categories(per_gender=1)

    assert [(f.gender, f.article_type, f.count) for f in featured] == [("Men", "Tshirts", 3), ("Women", "Heels", 1)]
    assert featured[0].product == pictured
    assert featured[1].product is None  # no photographed heels: the page shows a placeholder


# --- Listings -----------------------------------------------------------------------


def test_listing_without_filters_shows_active_products_with_counts(catalog):
    listing = selectors.product_listing(ProductFilter())

    assert listing.total == 6
    assert catalog["hidden"] not in listing.page.object_list
    assert facet(listing, "gender") == {"Men": 4, "Women": 2}
    assert facet(listing, "base_colour") == {"Red": 3, "Black": 2, "Blue": 1}


def test_each_facet_is_counted_with_the_other_filters_applied(catalog):
    listing = selectors.product_listing(ProductFilter(values={"base_colour": ("Red",), "gender": ("Men",)}))

    assert listing.total == 2
    # Gender counts apply the colour filter but not the gender filter, and vice versa.
    assert facet(listing, "gender") == {"Men": 2, "Women": 1}
    assert facet(listing, "base_colour") == {"Red": 2, "Black": 1, "Blue": 1}
    assert facet(listing, "article_type") == {"Tshirts": 2}
    selected = {v.value for f in listing.facets for v in f.values if v.selected}
    assert selected == {"Red", "Men"}


def test_values_of_one_facet_are_alternatives(catalog):
    listing = selectors.product_listing(ProductFilter(values={"base_colour": ("Red", "Blue")}))

    assert listing.total == 4


def test_price_range_filters_and_price_bands_count_with_other_filters(catalog):
    listing = selectors.product_listing(
        ProductFilter(values={"gender": ("Men",)}, min_price=Decimal("500"), max_price=Decimal("1000"))
    )

    assert {p.sku for p in listing.page} == {catalog["red_tee_2"].sku, catalog["track"].sku}
    bands = {(b.low, b.high): (b.count, b.selected) for b in listing.price_bands}
    assert bands[(None, 500)] == (1, False)
    assert bands[(500, 1000)] == (2, True)
    assert bands[(1000, 2000)] == (1, False)
    assert bands[(2000, 5000)] == (0, False)  # the heels are Women's
    # The other facets count within the price range.
    assert facet(listing, "gender") == {"Men": 2, "Women": 1}


def test_a_chosen_value_with_no_results_stays_listed_so_it_can_be_unticked(catalog):
    listing = selectors.product_listing(ProductFilter(values={"gender": ("Women",), "article_type": ("Track Pants",)}))

    assert listing.total == 0
    assert list(listing.page) == []
    track = next(v for f in listing.facets if f.field == "article_type" for v in f.values if v.value == "Track Pants")
    assert (track.count, track.selected) == (0, True)


def test_scope_fixes_facets_and_ignores_filters_on_them(catalog):
    listing = selectors.product_listing(
        ProductFilter(values={"gender": ("Women",)}),
        scope={"gender": "Men", "sub_category": "Topwear"},
    )

    assert listing.total == 3
    assert {f.field for f in listing.facets} == {"article_type", "base_colour", "season", "usage"}
    assert facet(listing, "article_type") == {"Tshirts": 2, "Shirts": 1}


def test_empty_taxonomy_values_are_not_offered_as_filters(seller):
    make(seller, season="", usage="")

    listing = selectors.product_listing(ProductFilter())

    assert facet(listing, "season") == {}


@pytest.mark.parametrize("sort, expected", [
    ("price_asc", ["red_tee", "top", "track", "red_tee_2", "blue_shirt", "heels"]),
    ("price_desc", ["heels", "blue_shirt", "red_tee_2", "track", "top", "red_tee"]),
    ("name", ["blue_shirt", "heels", "red_tee_2", "track", "red_tee", "top"]),
    ("newest", ["heels", "top", "track", "blue_shirt", "red_tee_2", "red_tee"]),
    ("unknown", ["heels", "top", "track", "blue_shirt", "red_tee_2", "red_tee"]),
])
def test_sort_orders(catalog, sort, expected):
    listing = selectors.product_listing(ProductFilter(), sort=sort)

    assert [p.sku for p in listing.page] == [catalog[key].sku for key in expected]


def test_pagination_counts_without_an_extra_count_query(catalog, django_assert_num_queries):
    # The facets in one statement, 1 aggregate (bands and total), 1 page; no COUNT(*) for the paginator.
    with django_assert_num_queries(3):
        listing = selectors.product_listing(ProductFilter(), page_number=2, per_page=4)
        page = list(listing.page)

    assert len(page) == 2
    assert listing.page.paginator.num_pages == 2
    assert listing.page.number == 2


def test_facets_without_a_chosen_value_are_counted_in_one_statement(catalog, django_assert_num_queries):
    with django_assert_num_queries(3):  # the 5 facets, bands and total, the page
        assert len(list(selectors.product_listing(ProductFilter(), scope={"gender": "Men"}).page)) == 4
    with django_assert_num_queries(4):  # the colour's own counts leave its filter out
        narrowed = selectors.product_listing(ProductFilter(values={"base_colour": ("Red",)}), scope={"gender": "Men"})
        assert narrowed.total == 2 and len(list(narrowed.page)) == 2


@pytest.mark.parametrize("product_filter", [
    ProductFilter(), ProductFilter(min_price=Decimal("300"), max_price=Decimal("1500")),
    ProductFilter(values={"base_colour": ("Red",)}), ProductFilter(values={"gender": ("Nobody",)}),
])
@pytest.mark.parametrize("maintained", [True, False])
def test_one_statement_counts_what_one_query_per_facet_counts(catalog, product_filter, maintained):
    base = Product.objects.active()
    source = selectors._CountSource.for_listing(base, {}, product_filter, searched=not maintained)
    fields = [field for field, _, _ in selectors.FACETS]
    together = selectors._counts_of_unchosen_facets(source, product_filter, fields)
    for field in fields:
        if not product_filter.chosen(field):  # a chosen facet's own counts leave its filter out
            assert sorted(together[field]) == sorted(selectors._facet_counts(source, product_filter, field))
    assert any(together.values()) == (product_filter.chosen("gender") != ("Nobody",))


def test_landing_counts_are_kept_apart_per_scope(catalog, seller):
    other = SellerFactory()
    make(other)

    assert selectors.product_listing(ProductFilter(), scope={"seller": seller}).total == 6
    assert selectors.product_listing(ProductFilter(), scope={"seller": other}).total == 1
    assert selectors.product_listing(ProductFilter(), scope={"gender": "Women"}).total == 2


def test_a_page_past_the_end_shows_the_last_page(catalog):
    listing = selectors.product_listing(ProductFilter(), page_number=99, per_page=4)

    assert listing.page.number == 2


# --- Single products ----------------------------------------------------------------


def test_product_for_page_only_finds_active_products(catalog):
    assert selectors.product_for_page(catalog["track"].sku) == catalog["track"]
    assert selectors.product_for_page(catalog["hidden"].sku) is None
    assert selectors.product_for_page("nope") is None


def test_purchasable_in_order_keeps_the_order_and_drops_what_cannot_be_bought(catalog, seller):
    sold_out = make(seller, stock=0)
    skus = [catalog["heels"].sku, "unknown", sold_out.sku, catalog["hidden"].sku, catalog["red_tee"].sku]

    assert selectors.purchasable_in_order(skus) == [catalog["heels"], catalog["red_tee"]]


# --- The filter form ----------------------------------------------------------------


def test_filter_form_turns_parameters_into_a_filter():
    form = ProductFilterForm({"q": " red  ", "colour": ["Red", "Blue", "Red"], "min_price": "100", "sort": "price_asc"})

    product_filter = form.product_filter()

    assert product_filter.text == "red"
    assert product_filter.chosen("base_colour") == ("Red", "Blue")
    assert product_filter.min_price == Decimal("100")
    assert form.sort_order() == "price_asc"
    assert form.problems() == []


@pytest.mark.parametrize("params, problem", [
    ({"min_price": "abc"}, "Lowest price"),
    ({"max_price": "-5"}, "Highest price"),
    ({"sort": "cheapest"}, "Sort by"),
    ({"page": "zero"}, "Page"),
    ({"colour": ["x" * 51]}, "Colour"),
    ({"type": [str(i) for i in range(60)]}, "Product type"),
    ({"q": "x" * 201}, "Search"),
])
def test_filter_form_ignores_bad_parameters_and_says_why(params, problem):
    form = ProductFilterForm({**params, "season": "Summer"})

    product_filter = form.product_filter()

    assert product_filter.chosen("season") == ("Summer",)  # the good parameters still apply
    assert any(p.startswith(problem) for p in form.problems())
    assert form.page_number() >= 1
    assert form.sort_order() == "newest"


def test_filter_form_ignores_an_inverted_price_range():
    form = ProductFilterForm({"min_price": "900", "max_price": "100"})

    product_filter = form.product_filter()

    assert (product_filter.min_price, product_filter.max_price) == (None, None)
    assert "price range was ignored" in form.problems()[0]


def test_filter_form_sorts_a_search_by_relevance_unless_told_otherwise():
    assert ProductFilterForm({"q": "shirt"}).sort_order() == selectors.RELEVANCE
    assert ProductFilterForm({"q": "shirt", "sort": "name"}).sort_order() == "name"
    assert ProductFilterForm({"sort": selectors.RELEVANCE}).sort_order() == "newest"
