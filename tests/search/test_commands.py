import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from search import evaluation

pytestmark = pytest.mark.django_db


def search_products(*args):
    out = StringIO()
    call_command("search_products", *args, stdout=out)
    return json.loads(out.getvalue())


def page_one(client, query):
    html = client.get(reverse("search:results"), {"q": query}).content.decode()
    return re.findall(r'href="/p/([^/]+)/"', html)


@pytest.mark.parametrize("query", ["boys t shirt", "sneekers", "nike", "xyzzy", "party wear heels"])
def test_search_products_prints_page_one_in_the_pages_order(client, shop, query):
    skus = search_products(query)
    assert skus == list(dict.fromkeys(page_one(client, query)))


def test_search_products_takes_the_page_size(shop):
    assert len(search_products("heels", "--k", "1")) == 1
    with pytest.raises(CommandError):
        search_products("heels", "--k", "0")
    with pytest.raises(CommandError):
        search_products("   ")


def test_the_search_evaluation_judges_by_labels_and_counts_empty_pages(shop, settings, tmp_path):
    queries = tmp_path / "queries.csv"
    queries.write_text("query,split,relevant\n"
                       "girls dress,validation,gender=Girls;article_type=Dresses\n"
                       "sneekers,test,article_type=Casual Shoes|Sports Shoes\n"
                       "umbrella,test,article_type=Umbrellas\n"
                       "zzzz qqqq,test,article_type=Heels\n")
    report = evaluation.evaluate(queries=evaluation.read_queries(queries))
    rows = {row["query"]: row for row in json.loads(
        (settings.MODELS_DIR / "reports" / "search.json").read_text())["queries"]}
    assert rows["girls dress"]["precision"] == 1.0  # 1 relevant product, shown
    assert rows["sneekers"]["precision"] == 1.0 and rows["sneekers"]["corrected"] == "sneakers"
    assert rows["umbrella"]["precision"] is None  # nothing relevant in the catalog
    assert rows["zzzz qqqq"]["empty_page"] is True and rows["zzzz qqqq"]["precision"] == 0.0
    assert report["test"]["empty_pages"] == 1 and report["all"]["queries"] == 4


def test_a_query_file_naming_an_unknown_label_field_is_refused(tmp_path):
    queries = tmp_path / "queries.csv"
    queries.write_text("query,split,relevant\nshoes,test,colour=Red\n")
    with pytest.raises(ValueError, match="unknown field"):
        evaluation.read_queries(queries)


def test_the_shipped_query_set_is_big_enough_and_split():
    queries = evaluation.read_queries()
    assert len(queries) >= 80
    assert {split for _, split, _ in queries} == {"validation", "test"}
    assert len({query for query, _, _ in queries}) == len(queries)
