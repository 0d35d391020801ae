import json

import pytest
from django.urls import reverse

from dashboards.selectors import DELETED_LISTING
from experiments import services as experiment_services
from tests.dashboards.conftest import client_for
from tests.dashboards.orders import order_at, utc
from tests.factories import ProductFactory

STAFF_PAGES = ["dashboards:index", "dashboards:sales", "dashboards:catalog", "dashboards:models",
               "dashboards:registry"]
MARCH = {"start": "2025-03-01", "end": "2025-03-02", "period": "day"}


def chart_config(response, name):
    """The Chart.js configuration a page hands to charts.js through json_script."""
    html = response.content.decode()
    marker = f'<script id="chart-{name}" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.django_db
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_buyers_and_sellers_are_refused_staff_dashboards(buyer_client, seller_a, page):
    for client in (buyer_client, client_for(seller_a.user)):
        response = client.get(reverse(page))
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", STAFF_PAGES)
def test_staff_dashboards_render_with_no_data(staff_client, page):
    response = staff_client.get(reverse(page), follow=True)
    assert response.status_code == 200


@pytest.mark.django_db
def test_sales_page_shows_exact_numbers_and_chart_data(staff_client, sales):
    response = staff_client.get(reverse("dashboards:sales"), MARCH)
    assert response.status_code == 200
    assert response.context["report"]["totals"]["revenue"] == 390.5
    revenue = chart_config(response, "revenue")
    assert revenue["data"]["labels"] == ["2025-03-01", "2025-03-02"]
    assert revenue["data"]["datasets"][0]["data"] == [280.5, 110.0]
    by_gender = chart_config(response, "by_gender_over_time")
    assert {d["label"]: d["data"] for d in by_gender["data"]["datasets"]} == {
        "Men": [230.0, 10.0], DELETED_LISTING: [0.0, 100.0], "Women": [50.5, 0.0]}


@pytest.mark.django_db
def test_product_names_cannot_break_out_of_the_chart_data(client, seller_a):
    product = ProductFactory(seller=seller_a, name='</script><script>alert(1)</script>')
    order_at(utc(2025, 3, 1, 12), (product, 1, "5.00"))
    response = client_for(seller_a.user).get(reverse("dashboards:seller_sales"), MARCH)
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert chart_config(response, "top_products")["data"]["labels"] == [product.name]


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"start": "2025-13-45"},
    {"start": "yesterday", "end": "2025-03-01"},
    {"start": "2025-03-05", "end": "2025-03-01"},
    {"start": "1900-01-01", "end": "2025-03-01"},
    {"period": "century"},
])
def test_bad_date_ranges_are_ignored_with_a_message(staff_client, params):
    response = staff_client.get(reverse("dashboards:sales"), params)
    assert response.status_code == 200
    assert "That date range was ignored" in response.content.decode()
    assert len(response.context["report"]["series"]) == 30


@pytest.mark.django_db
def test_a_control_character_in_a_date_is_refused(staff_client):
    response = staff_client.get(reverse("dashboards:sales"), {"start": "2025-03-01\x00"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_start_date_alone_runs_to_today(staff_client):
    response = staff_client.get(reverse("dashboards:sales"), {"start": "2025-01-01", "end": ""})
    assert response.status_code == 200
    assert response.context["start"].isoformat() == "2025-01-01"
    assert response.context["period"] == "week"


@pytest.mark.django_db
def test_staff_pages_make_a_bounded_number_of_queries(staff_client, sales, django_assert_max_num_queries):
    more = [ProductFactory(article_type=f"Type {i}") for i in range(20)]
    for i, product in enumerate(more):
        order_at(utc(2025, 3, 1 + i % 2, 8), (product, 1, "1.00"))
    # Session, user, navbar genders and cart count, then the page's own aggregates.
    with django_assert_max_num_queries(10):
        staff_client.get(reverse("dashboards:sales"), MARCH)
    with django_assert_max_num_queries(8):
        staff_client.get(reverse("dashboards:catalog"))
    with django_assert_max_num_queries(8):
        staff_client.get(reverse("dashboards:models"))


@pytest.mark.django_db
def test_seller_sees_only_own_sales(sales, seller_a, seller_b):
    response = client_for(seller_b.user).get(reverse("dashboards:seller_sales"), MARCH)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Beta Sneakers" in html
    assert "Alpha Jeans" not in html and "Alpha Kurta" not in html
    assert response.context["report"]["totals"]["revenue"] == 40


@pytest.mark.django_db
def test_seller_page_sends_anonymous_to_login_and_buyers_to_onboarding(client, buyer_client):
    url = reverse("dashboards:seller_sales")
    assert "login" in client.get(url)["Location"]
    assert buyer_client.get(url)["Location"] == reverse("seller_accounts:dashboard")


@pytest.mark.django_db
def test_seller_page_query_count_is_bounded(sales, seller_a, django_assert_max_num_queries):
    client = client_for(seller_a.user)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("dashboards:seller_sales"), MARCH).status_code == 200


@pytest.mark.django_db
def test_catalog_page_counts(staff_client):
    ProductFactory(stock=0)
    ProductFactory(stock=2)
    response = staff_client.get(reverse("dashboards:catalog"))
    assert response.context["report"]["stock"] == {"products": 2, "sold_out": 1, "low": 1, "in_stock": 0}
    assert chart_config(response, "stock")["data"]["datasets"][0]["data"] == [0, 1, 1]


@pytest.mark.django_db
def test_model_health_shows_override_rates_and_click_through(staff_client):
    product = ProductFactory()
    experiment_services.record_suggestion_outcomes(
        product, {"article_type": "Jeans", "gender": "Men"}, {"article_type": "Shorts", "gender": "Men"}, "m")
    response = staff_client.get(reverse("dashboards:models"))
    assert {row["field"]: row["rate"] for row in response.context["overrides"]} == {
        "article_type": 1.0, "gender": 0.0}


@pytest.mark.django_db
def test_long_daily_ranges_are_shown_per_week(staff_client):
    response = staff_client.get(reverse("dashboards:sales"),
                                {"start": "2024-01-01", "end": "2024-12-31", "period": "day"})
    assert response.status_code == 200
    assert response.context["period"] == "week"
    assert "shown per week" in response.content.decode()
