from datetime import date
from decimal import Decimal

import pytest

from dashboards import selectors
from dashboards.selectors import DELETED_LISTING
from tests.dashboards.orders import order_at, utc
from tests.factories import ProductFactory

MARCH_1, MARCH_2 = date(2025, 3, 1), date(2025, 3, 2)


@pytest.mark.django_db
def test_revenue_orders_and_units_per_day(sales):
    report = selectors.sales_report(MARCH_1, MARCH_2, "day")
    assert [(row["period"], row["revenue"], row["orders"], row["units"]) for row in report["series"]] == [
        (MARCH_1, Decimal("280.50"), 2, 6),
        (MARCH_2, Decimal("110.00"), 2, 2),
    ]
    assert report["totals"]["revenue"] == Decimal("390.50")
    assert report["totals"]["orders"] == 4
    assert report["totals"]["average_order"] == Decimal("97.625")


@pytest.mark.django_db
def test_revenue_per_gender_per_day_keeps_deleted_products(sales):
    report = selectors.sales_report(MARCH_1, MARCH_2, "day")
    assert report["by_gender_over_time"] == {
        "Men": [Decimal("230.00"), Decimal("10.00")],
        DELETED_LISTING: [0, Decimal("100.00")],
        "Women": [Decimal("50.50"), 0],
    }
    assert {row["group"]: row["revenue"] for row in report["by_gender"]} == {
        "Men": Decimal("240.00"), DELETED_LISTING: Decimal("100.00"), "Women": Decimal("50.50"),
    }
    assert sum(row["revenue"] for row in report["by_article_type"]) == report["totals"]["revenue"]


@pytest.mark.django_db
def test_breakdowns_by_sub_category_and_article_type(sales):
    report = selectors.sales_report(MARCH_1, MARCH_2, "day")
    assert [(r["group"], r["revenue"], r["units"]) for r in report["by_sub_category"]] == [
        ("Bottomwear", Decimal("200.00"), 2),
        (DELETED_LISTING, Decimal("100.00"), 1),
        ("Topwear", Decimal("50.50"), 1),
        ("Shoes", Decimal("40.00"), 4),
    ]
    assert report["by_article_type"][0] == {"group": "Jeans", "revenue": Decimal("200.00"), "units": 2}


@pytest.mark.django_db
def test_days_are_those_of_the_shop_time_zone(settings, sales):
    # 23:30 UTC on 1 March is already 2 March in Kolkata (UTC+5:30).
    settings.TIME_ZONE = "Asia/Kolkata"
    report = selectors.sales_report(MARCH_1, MARCH_2, "day")
    assert [row["revenue"] for row in report["series"]] == [Decimal("250.50"), Decimal("140.00")]


@pytest.mark.django_db
def test_weeks_start_on_monday_and_include_empty_weeks(sales):
    report = selectors.sales_report(date(2025, 2, 20), date(2025, 3, 12), "week")
    assert [(row["period"], row["revenue"]) for row in report["series"]] == [
        (date(2025, 2, 17), 0),
        (date(2025, 2, 24), Decimal("490.50")),  # 28 Feb, 1 and 2 March
        (date(2025, 3, 3), 0),
        (date(2025, 3, 10), 0),
    ]


@pytest.mark.django_db
def test_seller_report_holds_only_that_sellers_lines(sales, seller_a, seller_b):
    report = selectors.sales_report(MARCH_1, MARCH_2, "day", seller=seller_b)
    assert report["totals"]["revenue"] == Decimal("40.00")
    assert [(r["sku"], r["revenue"], r["units"]) for r in report["top_products"]] == [
        ("B-SNEAK", Decimal("40.00"), 4)]
    report = selectors.sales_report(MARCH_1, MARCH_2, "day", seller=seller_a)
    assert [r["sku"] for r in report["top_products"]] == ["A-JEANS", "A-GONE", "A-KURTA"]
    assert "by_gender" not in report


@pytest.mark.django_db
def test_small_groups_are_folded_into_other():
    products = [ProductFactory(article_type=f"Type {i:02d}") for i in range(selectors.TOP_GROUPS + 3)]
    order_at(utc(2025, 3, 1, 12), *[(p, 1, f"{i + 1}.00") for i, p in enumerate(products)])
    rows = selectors.sales_report(MARCH_1, MARCH_1, "day")["by_article_type"]
    assert len(rows) == selectors.TOP_GROUPS
    assert rows[0]["group"] == f"Type {selectors.TOP_GROUPS + 2:02d}"
    # The four smallest (1 + 2 + 3 + 4) make up "Other".
    assert rows[-1] == {"group": selectors.OTHER, "revenue": Decimal("10.00"), "units": 4}


@pytest.mark.django_db
def test_catalog_report_counts_active_products_and_stock_health():
    ProductFactory(gender="Men", master_category="Apparel", sub_category="Topwear", stock=0)
    ProductFactory(gender="Men", master_category="Apparel", sub_category="Topwear", stock=3)
    ProductFactory(gender="Women", master_category="Apparel", sub_category="Bottomwear", stock=50)
    ProductFactory(gender="Women", master_category="Footwear", sub_category="Shoes", stock=5)
    ProductFactory(gender="Women", master_category="Footwear", sub_category="Shoes", is_active=False)
    report = selectors.catalog_report()
    assert report["by_gender"] == [{"gender": "Men", "products": 2}, {"gender": "Women", "products": 2}]
    assert report["by_master"] == [
        {"master_category": "Apparel", "products": 3, "sold_out": 1, "low": 1},
        {"master_category": "Footwear", "products": 1, "sold_out": 0, "low": 1},
    ]
    assert report["stock"] == {"products": 4, "sold_out": 1, "low": 2, "in_stock": 1}
    assert report["inactive"] == 1
