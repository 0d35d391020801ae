"""The staff page of likely mislabels and its one-click correction (reports/mislabels.json
on a temporary MODELS_DIR, written here as find_mislabels writes it)."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from main.models import Product
from tests.factories import ProductFactory, UserFactory

PAGE = reverse("dashboards:mislabels")
ACCEPT = reverse("dashboards:accept_mislabel")


def entry(product, field="articleType", stored="Jeans", suggested="Tshirts", confidence=0.97,
          changes=None):
    return {"sku": product.sku, "name": product.name, "field": field, "stored": stored,
            "suggested": suggested, "name_probability": confidence, "photo_probability": confidence,
            "confidence": confidence,
            "changes": changes or {"articleType": "Tshirts", "subCategory": "Topwear"}}


def write_report(settings, items, **extra):
    folder = settings.MODELS_DIR / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    report = {"evaluated_at": "2026-11-30T09:00:00", "threshold": 0.9, "products": 10,
              "with_photo": 10, "count": len(items), "items": items, **extra}
    (folder / "mislabels.json").write_text(json.dumps(report), encoding="utf-8")


@pytest.fixture
def jeans(db):
    return ProductFactory(sku="1001", name="Roadster Men Printed T-shirt")


@pytest.fixture
def shoes(db):
    return ProductFactory(sku="1002", name="Catwalk Women Black Heels", gender="Women",
                          master_category="Footwear", sub_category="Shoes", article_type="Flats",
                          base_colour="Black")


def test_the_page_lists_open_entries_surest_first_with_the_photo(staff_client, settings, jeans, shoes):
    write_report(settings, [
        entry(jeans, confidence=0.99),
        entry(shoes, stored="Flats", suggested="Heels", confidence=0.93,
              changes={"articleType": "Heels"}),
        entry(shoes, field="baseColour", stored="Brown", suggested="Black", confidence=0.91,
              changes={"baseColour": "Black"}),   # already Black: corrected meanwhile
    ])
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    items = response.context["mislabels"]["items"]
    assert [(i["sku"], i["field"]) for i in items] == [("1001", "articleType"), ("1002", "articleType")]
    html = response.content.decode()
    assert "Roadster Men Printed T-shirt" in html and "Tshirts" in html and "subCategory → Topwear" in html
    assert html.count('name="csrfmiddlewaretoken"') >= 2 and "Accept" in html


@pytest.mark.parametrize("content", [None, "not json", "[]", '{"items": "x"}'])
def test_a_missing_or_unreadable_report_is_said_not_crashed(staff_client, settings, content):
    if content is not None:
        (settings.MODELS_DIR / "reports").mkdir(parents=True)
        (settings.MODELS_DIR / "reports" / "mislabels.json").write_text(content)
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    assert "find_mislabels" in response.content.decode()


def test_malformed_entries_are_skipped(staff_client, settings, jeans):
    good = entry(jeans)
    write_report(settings, [good, "x", {**good, "field": "price"}, {**good, "changes": {"price": "1"}},
                            {**good, "sku": 5}, {**good, "changes": {"articleType": ["x"]}}])
    response = staff_client.get(PAGE)
    assert [i["sku"] for i in response.context["mislabels"]["items"]] == ["1001"]


def test_accept_corrects_the_product_through_the_catalog_service(staff_client, settings, jeans):
    write_report(settings, [entry(jeans)])
    response = staff_client.post(ACCEPT, {"sku": "1001", "field": "articleType"}, follow=True)
    jeans.refresh_from_db()
    assert (jeans.article_type, jeans.sub_category) == ("Tshirts", "Topwear")
    assert "corrected" in response.content.decode()
    assert response.context["mislabels"]["items"] == []   # no longer open


def test_accept_refuses_what_the_report_does_not_list_or_what_changed_meanwhile(staff_client, settings,
                                                                               jeans):
    write_report(settings, [entry(jeans)])
    for data in ({"sku": "1001", "field": "baseColour"}, {"sku": "9999", "field": "articleType"},
                 {"sku": "", "field": ""}, {"sku": "1001\x00", "field": "articleType"}, {}):
        response = staff_client.post(ACCEPT, data)
        assert response.status_code in (302, 400)
    jeans.refresh_from_db()
    assert jeans.article_type == "Jeans"
    Product.objects.filter(pk=jeans.pk).update(article_type="Shorts")
    response = staff_client.post(ACCEPT, {"sku": "1001", "field": "articleType"}, follow=True)
    jeans.refresh_from_db()
    assert jeans.article_type == "Shorts" and "changed meanwhile" in response.content.decode()


def test_accept_of_a_deleted_product_is_refused(staff_client, settings, jeans):
    write_report(settings, [entry(jeans)])
    Product.objects.filter(pk=jeans.pk).delete()
    response = staff_client.post(ACCEPT, {"sku": "1001", "field": "articleType"}, follow=True)
    assert "no longer exists" in response.content.decode()


def test_accept_is_post_only_and_needs_the_csrf_token(settings, jeans):
    staff = UserFactory(username="staff-csrf", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    write_report(settings, [entry(jeans)])
    assert client.get(ACCEPT).status_code == 405
    assert client.post(ACCEPT, {"sku": "1001", "field": "articleType"}).status_code == 403
    jeans.refresh_from_db()
    assert jeans.article_type == "Jeans"


def test_only_staff_see_the_page_or_correct(buyer_client, settings, jeans):
    write_report(settings, [entry(jeans)])
    assert buyer_client.get(PAGE).status_code == 302
    buyer_client.post(ACCEPT, {"sku": "1001", "field": "articleType"})
    jeans.refresh_from_db()
    assert jeans.article_type == "Jeans"
