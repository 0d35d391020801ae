"""Rankings become sections of purchasable products: in ranking order, no product twice,
and (nearly always) one query for every section of a page."""
import pytest

from main import recommendations
from main.recommendations import PER_SECTION, SPARE, _sections
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db


def ranking(products, reason="alike"):
    return [(p.sku, 1.0 - i / 100, reason) for i, p in enumerate(products)]


@pytest.fixture
def catalog():
    seller = SellerFactory()
    return [ProductFactory(seller=seller) for _ in range(40)]


def skus(section):
    return [p.sku for p in section.products]


def test_sections_in_stock_take_one_query_and_never_repeat_a_product(catalog, django_assert_num_queries):
    similar, visual = ranking(catalog[:24]), ranking(catalog[4:28])  # they overlap, as the hybrid's do
    with django_assert_num_queries(1):
        first, second = _sections([("Similar", similar), ("Visual", visual)], PER_SECTION,
                                  exclude={catalog[0].sku})
    assert skus(first) == [p.sku for p in catalog[1:9]]
    assert skus(second) == [p.sku for p in catalog[9:17]]
    assert first.items[0][1] == "alike"


def test_a_section_left_short_by_sold_out_candidates_asks_again_and_fills(catalog, django_assert_num_queries):
    for product in catalog[:PER_SECTION + SPARE]:
        product.stock = 0
        product.save(update_fields=["stock"])
    with django_assert_num_queries(2):
        (section,) = _sections([("Similar", ranking(catalog))], PER_SECTION)
    assert skus(section) == [p.sku for p in catalog[PER_SECTION + SPARE:2 * PER_SECTION + SPARE]]


def test_the_answer_is_the_same_as_asking_about_every_candidate(catalog, monkeypatch):
    for product in catalog[2:30:3]:  # sold out here and there
        product.stock = 0
        product.save(update_fields=["stock"])
    titled = [("Similar", ranking(catalog[:24])), ("Visual", ranking(catalog[10:34])),
              ("Bought", ranking(catalog[::-1][:24]))]
    narrowed = [skus(s) for s in _sections(titled, PER_SECTION)]
    monkeypatch.setattr(recommendations, "SPARE", 1000)  # every candidate in the first query
    assert narrowed == [skus(s) for s in _sections(titled, PER_SECTION)]


def test_empty_sections_are_dropped_and_unknown_skus_ignored(catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        sections = _sections([("Nothing", []), ("Ghosts", [("no-such-sku", 1.0, "x")]),
                              ("Real", ranking(catalog[:3]))], PER_SECTION)
    assert [s.title for s in sections] == ["Real"] and len(sections[0].items) == 3
