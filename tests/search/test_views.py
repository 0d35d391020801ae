import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db
SEARCH = reverse("search:results")
SUGGEST = reverse("search:suggestions")


def skus_on(response):
    return [p.sku for p in response.context["page_obj"].object_list]


def test_a_corrected_search_says_so_and_offers_the_words_as_typed(client, shop):
    response = client.get(SEARCH, {"q": "sneekers"})
    html = response.content.decode()
    assert "Showing results for <strong>sneakers</strong>" in html
    link = re.search(r'search instead for <a href="([^"]+)">sneekers</a>', html)
    assert link and "exact=1" in link.group(1)
    as_typed = client.get(SEARCH + link.group(1).replace("&amp;", "&"))
    assert "Showing results for" not in as_typed.content.decode()


def test_understood_filters_are_chips_that_can_be_removed(client, shop):
    response = client.get(SEARCH, {"q": "boys t shirt"})
    html = response.content.decode()
    assert skus_on(response) == [shop["boys_tee"].sku]
    chips = re.findall(r'class="badge rounded-pill text-bg-primary text-decoration-none chip" href="([^"]+)"', html)
    assert len(chips) == 2
    removed = next(href for href in chips if "ignore=gender" in href)
    wider = client.get(SEARCH + removed.replace("&amp;", "&"))
    assert set(skus_on(wider)) == {shop["boys_tee"].sku, shop["men_tee"].sku}
    # The filter panel keeps the removal when it is submitted.
    assert '<input type="hidden" name="ignore" value="gender">' in wider.content.decode()


def test_a_short_result_is_followed_by_more_products(client, shop):
    html = client.get(SEARCH, {"q": "boys t shirt"}).content.decode()
    assert "More you may like" in html and shop["men_tee"].name in html


def test_a_search_finding_nothing_suggests_what_to_try(client, shop):
    html = client.get(SEARCH, {"q": "xyzzy"}).content.decode()
    assert "No products match." in html
    assert re.search(r'href="/search/\?q=Men(\+|%20)', html)


def test_the_shoppers_own_facets_still_narrow_a_search(client, shop):
    response = client.get(SEARCH, {"q": "jeans", "gender": "Women"})
    assert skus_on(response) == [shop["women_jeans"].sku]
    assert '<input type="hidden" name="q" value="jeans">' in response.content.decode()


def test_an_empty_search_lists_everything(client, shop):
    response = client.get(SEARCH, {"q": ""})
    assert response.context["listing"].total == 12
    assert "All products" in response.content.decode()


@pytest.mark.parametrize("params", [
    {"q": "'; DROP TABLE--"}, {"q": "a:* & !b"}, {"q": "%_%"}, {"q": "x" * 500},
    {"q": "jeans", "ignore": ["bogus", "gender", "gender"]}, {"q": "jeans", "exact": "maybe"},
    {"q": "jeans", "page": "-1"}, {"q": "jeans", "sort": "nonsense"},
])
def test_hostile_parameters_never_break_the_page(client, shop, params):
    assert client.get(SEARCH, params).status_code == 200


def test_suggestions_list_categories_with_counts_and_top_products(client, shop):
    response = client.get(SUGGEST, {"q": "jea"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="listbox"' in html and html.count('role="option"') == 4
    assert re.search(r'href="/c/Men/Bottomwear/Jeans/".*Men · Jeans.*>1<', html, re.S)
    assert shop["men_jeans"].get_absolute_url() in html


@pytest.mark.parametrize("query", ["", "   ", "%", "'\"<script>", "x" * 1000])
def test_suggestions_for_nothing_useful_are_empty(client, shop, query):
    response = client.get(SUGGEST, {"q": query})
    assert response.status_code == 200 and "option" not in response.content.decode()


def test_the_search_box_asks_for_suggestions_as_the_shopper_types(client, shop):
    html = client.get(reverse("main:home")).content.decode()
    assert f'hx-get="{SUGGEST}"' in html
    assert 'role="combobox"' in html and 'aria-controls="search-suggestions"' in html


def test_a_cached_results_page_reads_no_query_until_the_catalog_changes(client, shop, monkeypatch):
    from main.facets import catalog_changed
    from search import views

    read = []
    understand = views.understand
    monkeypatch.setattr(views, "understand", lambda *args, **kwargs: read.append(args) or understand(*args, **kwargs))
    first = client.get(SEARCH, {"q": "party heels"}).content.decode()
    again = client.get(SEARCH, {"q": "party heels"}).content.decode()
    assert len(read) == 1
    csrf = re.compile(r'"X-CSRFToken": "[^"]+"')  # the only part per request
    assert csrf.sub("", again) == csrf.sub("", first)
    assert "<title>Results for “party heels”" in again and shop["women_party_heels"].name in again
    catalog_changed()
    client.get(SEARCH, {"q": "party heels"})
    assert len(read) == 2
