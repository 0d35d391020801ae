import pytest
from django.db import connection

from main.models import Product
from main.selectors import ProductFilter
from search import selectors, understanding
from search.understanding import understand
from search.vocabulary import Meaning

pytestmark = pytest.mark.django_db


def found(query, **options):
    filters = options.pop("values", {})
    return selectors.search(understand(query, **options), ProductFilter(text=query, values=filters))


def skus(results):
    """Page 1 in order: the listing, then what fills a short one."""
    return selectors.page_skus(results)


def listed(results):
    return [p.sku for p in results.listing.page]


def test_a_typo_is_corrected_and_sneakers_are_shoes_not_tshirts(shop):
    results = found("sneekers")
    assert results.understanding.corrections == (("sneekers", "sneakers"),)
    assert set(listed(results)) == {shop["men_casual_shoes"].sku, shop["men_sports_shoes"].sku}
    # Other shoes fill the page after them, never the "Sneaker Print Tshirt".
    assert shop["men_tee"].sku not in skus(results)


def test_gender_words_filter_and_broader_products_fill_a_short_page(shop):
    results = found("boys t shirt")
    assert [p.sku for p in results.listing.page] == [shop["boys_tee"].sku]
    assert results.understood == {"gender": ("Boys",), "article_type": ("Tshirts",)}
    # Fewer than a page: other T-shirts follow, never an empty space.
    assert [p.sku for p in results.more] == [shop["men_tee"].sku]


def test_everyday_words_find_what_they_mean(shop):
    assert skus(found("girls dress"))[0] == shop["girls_dress"].sku
    assert skus(found("ladies handbag"))[0] == shop["handbag"].sku
    assert skus(found("hoodie"))[0] == shop["sweatshirt"].sku
    assert set(skus(found("kids tee"))[:1]) == {shop["boys_tee"].sku}


def test_an_occasion_ranks_first_but_does_not_hide_the_rest(shop):
    results = found("party wear heels")
    assert listed(results) == [shop["women_party_heels"].sku, shop["women_heels"].sku]


def test_words_nothing_explains_must_match_the_products_text(shop):
    results = found("nike")
    assert results.level == "exact"
    assert set(listed(results)) == {shop["men_casual_shoes"].sku, shop["men_tee"].sku}
    assert set(skus(found("levis jeans women"))) >= {shop["women_jeans"].sku}
    assert skus(found("levis jeans women"))[0] == shop["women_jeans"].sku


def test_a_word_no_product_has_falls_back_to_the_understood_kind(shop):
    results = found("gucci heels")
    assert results.level == "understood"
    assert set(listed(results)) == {shop["women_heels"].sku, shop["women_party_heels"].sku}


def test_removed_chips_and_searching_as_typed_change_the_reading(shop):
    results = found("boys t shirt", ignored=("gender",))
    assert "gender" not in results.understood
    assert set(p.sku for p in results.listing.page) == {shop["boys_tee"].sku, shop["men_tee"].sku}
    as_typed = understand("sneekers", exact=True)
    assert as_typed.corrections == () and as_typed.words == ("sneekers",)


def test_understood_values_are_facet_selections_the_shopper_can_override(shop):
    results = found("jeans for men")
    gender = next(f for f in results.listing.facets if f.field == "gender")
    assert {v.value for v in gender.values if v.selected} == {"Men"}
    assert [p.sku for p in results.listing.page] == [shop["men_jeans"].sku]  # never the inactive one
    mine = found("jeans for men", values={"gender": ("Women",)})
    assert [p.sku for p in mine.listing.page] == [shop["women_jeans"].sku]
    assert "gender" not in mine.understood


def test_nothing_at_all_is_an_empty_page_with_ideas(shop):
    results = found("xyzzy")
    assert results.level == "" and skus(results) == []
    assert selectors.popular_searches()[0] in {"Men Tshirts", "Men Jeans", "Women Heels", "Women Dresses"}


@pytest.mark.parametrize("query", ["'", "&", "|", "!", ":*", "()", "\\", "%", "_", "<>", "%%%", "____", "🙂"])
def test_query_syntax_and_like_wildcards_alone_find_nothing(shop, query):
    results = found(query)
    assert results.understanding.words == () and skus(results) == []


@pytest.mark.parametrize("query", [
    "a & | b", "'; DROP TABLE main_product; --", "red:* & !blue", "jeans%", "t_shirt", "💥 tshirt",
    "x" * 200, "ü",
])
def test_query_syntax_mixed_with_words_is_read_as_words(shop, query):
    results = found(query)
    assert set(skus(results)) <= set(Product.objects.active().values_list("sku", flat=True))
    assert Product.objects.count() == 13


def test_the_categorizer_names_the_kind_when_confident(shop, monkeypatch):
    def categorize(text):
        confident = text == "kitten"
        return [{"gender": "Women", "articleType": "Heels",
                 "confidence": {"gender": 0.95, "articleType": 0.9 if confident else 0.3},
                 "candidates": [{"articleType": "Heels", "probability": 0.9}]}]
    monkeypatch.setattr(understanding.facade, "categorize", categorize)
    sure = understand("kitten")
    assert sure.filters == {"article_type": ("Heels",)} and sure.boosts == {"gender": ("Women",)}
    assert sure.from_model == {"article_type", "gender"}
    assert set(listed(found("kitten"))) == {shop["women_heels"].sku, shop["women_party_heels"].sku}
    unsure = understand("mules")
    assert "article_type" not in unsure.filters
    # The categorizer's guesses still keep a query from a dead end ("similar products").
    results = found("qwerty")
    assert results.level == "similar" and set(listed(results)) == {
        shop["women_heels"].sku, shop["women_party_heels"].sku}


def test_the_words_win_over_the_categorizer(shop, monkeypatch):
    monkeypatch.setattr(understanding.facade, "categorize", lambda text: [
        {"gender": "Men", "articleType": "Heels", "confidence": {"gender": 1.0, "articleType": 1.0},
         "candidates": []}])
    reading = understand("girls dress")
    assert reading.filters == {"gender": ("Girls",), "article_type": ("Dresses",)}


def test_suggestions_complete_the_last_word(shop):
    assert selectors.complete("snea") in {"sneaker", "sneakers"}
    assert selectors.complete("levis je") == "levis jeans"
    assert selectors.complete("  ") == ""
    suggestions = selectors.suggestions(understand("jeans"))
    assert [c[:3] for c in suggestions.categories] == [("Men", "Bottomwear", "Jeans"),
                                                        ("Women", "Bottomwear", "Jeans")]
    assert {p.sku for p in suggestions.products} == {shop["men_jeans"].sku, shop["women_jeans"].sku}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full-text search")
def test_the_stored_document_follows_renames_and_uses_the_gin_index(shop):
    tee = shop["men_tee"]
    tee.name = "Nike Men Graphic Tshirt"
    tee.save()
    assert skus(found("graphic")) == [tee.sku]
    Product.objects.filter(pk=tee.pk).update(name="Nike Men Plain Tshirt")
    assert skus(found("graphic"))[:1] != [tee.sku]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = selectors.with_words(Product.objects.all(), ["plain"]).explain()
    assert "product_search_document_gin" in plan


def test_the_last_kind_named_is_the_product_and_earlier_ones_describe_it(shop):
    jeans, jackets = Meaning("article_type", ("Jeans",), everyday=True), Meaning("article_type", ("Jackets",))
    found = [(0, ("denim",), jeans), (1, ("jacket",), jackets), (2, ("men",), Meaning("gender", ("Men",)))]
    assert understanding._read_phrases(found) == (
        {"article_type": ("Jackets",), "gender": ("Men",)}, ["denim"])
    # Parted by other words, the first is the product: "jacket to go with denim".
    parted = [(0, ("jacket",), jackets), (4, ("denim",), jeans)]
    assert understanding._read_phrases(parted) == ({"article_type": ("Jackets",)}, ["denim"])
    assert understand("loafers").ranking == ("loafers",)
    assert understand("tshirt").ranking == ()  # a label's own name adds nothing to rank by
