"""Who may reach what: every object view and action is scoped to the signed-in seller."""
import pytest
from django.urls import reverse

from cart.models import OrderItem
from main.models import Product

pytestmark = pytest.mark.django_db

# (url name, method, which object it needs, POST data)
OBJECT_ROUTES = [
    ("seller_accounts:product_edit", "get", "product", {}),
    ("seller_accounts:product_edit", "post", "product", {"name": "Hijacked", "price": "1", "stock": "0",
                                                         "gender": "Men", "master_category": "Apparel",
                                                         "sub_category": "Topwear", "article_type": "Tshirts"}),
    ("seller_accounts:product_delete", "get", "product", {}),
    ("seller_accounts:product_delete", "post", "product", {}),
    ("seller_accounts:product_stock", "post", "product", {"stock": "0"}),
    ("seller_accounts:product_price", "post", "product", {"price": "1.00"}),
    ("seller_accounts:order_detail", "get", "order", {}),
    ("seller_accounts:line_fulfilment", "post", "line", {"status": "cancelled"}),
    ("seller_accounts:line_payment", "post", "line", {"status": "paid"}),
]
LIST_ROUTES = ["seller_accounts:product_list", "seller_accounts:product_create", "seller_accounts:order_list"]


def _url(name, kind, product=None, order=None, line=None):
    if kind == "product":
        return reverse(name, args=[product.sku])
    if kind == "order":
        return reverse(name, args=[order.number])
    return reverse(name, args=[line.order.number, line.pk])


def _snapshot(product_b, line_b):
    product_b.refresh_from_db()
    line_b.refresh_from_db()
    return (product_b.name, product_b.price, product_b.stock, product_b.is_active,
            line_b.fulfilment_status, line_b.payment_status)


@pytest.mark.parametrize("name,method,kind,data", OBJECT_ROUTES)
def test_another_sellers_objects_answer_404_and_stay_unchanged(client_a, product_b, order_b, line_b, name, method, kind, data):
    before = _snapshot(product_b, line_b)
    response = getattr(client_a, method)(_url(name, kind, product_b, order_b, line_b), data)
    assert response.status_code == 404
    assert _snapshot(product_b, line_b) == before
    assert Product.objects.filter(pk=product_b.pk).exists()


@pytest.mark.parametrize("name,method,kind,data", [r for r in OBJECT_ROUTES if r[2] == "line"])
def test_another_sellers_line_in_a_shared_order_answers_404(client_a, line_b, name, method, kind, data):
    """The order is reachable for seller A (it holds A's line), B's line in it is not."""
    response = client_a.post(_url(name, kind, line=line_b), data)
    assert response.status_code == 404
    line_b.refresh_from_db()
    assert (line_b.fulfilment_status, line_b.payment_status) == ("pending", "pending")


@pytest.mark.parametrize("name,method,kind,data", OBJECT_ROUTES)
def test_own_objects_are_reachable(client_b, product_b, order_b, line_b, name, method, kind, data):
    response = getattr(client_b, method)(_url(name, kind, product_b, order_b, line_b), data)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("name,method,kind,data", OBJECT_ROUTES)
def test_buyer_without_store_gets_404_on_object_pages(buyer_client, product_b, order_b, line_b, name, method, kind, data):
    before = _snapshot(product_b, line_b)
    response = getattr(buyer_client, method)(_url(name, kind, product_b, order_b, line_b), data)
    assert response.status_code == 404
    assert _snapshot(product_b, line_b) == before


@pytest.mark.parametrize("name", LIST_ROUTES)
def test_buyer_without_store_is_sent_to_onboarding(buyer_client, name):
    response = buyer_client.get(reverse(name))
    assert response.status_code == 302
    assert response.url == reverse("seller_accounts:dashboard")
    page = buyer_client.get(response.url)
    assert b'action="/sell/start/"' in page.content


@pytest.mark.parametrize("name,method,kind,data", OBJECT_ROUTES)
def test_anonymous_is_sent_to_login(client, product_b, order_b, line_b, name, method, kind, data):
    before = _snapshot(product_b, line_b)
    url = _url(name, kind, product_b, order_b, line_b)
    response = getattr(client, method)(url, data)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
    assert "next=" in response.url
    assert _snapshot(product_b, line_b) == before


@pytest.mark.parametrize("name", LIST_ROUTES + ["seller_accounts:onboarding"])
def test_anonymous_is_sent_to_login_from_dashboard_pages(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_anonymous_sees_the_landing_page(client):
    response = client.get(reverse("seller_accounts:dashboard"))
    assert response.status_code == 200
    assert reverse("seller_accounts:signup").encode() in response.content


@pytest.mark.parametrize("name,kind", [
    ("seller_accounts:product_stock", "product"), ("seller_accounts:product_price", "product"),
    ("seller_accounts:line_fulfilment", "line"), ("seller_accounts:line_payment", "line"),
])
def test_actions_refuse_get(client_b, product_b, line_b, name, kind):
    response = client_b.get(_url(name, kind, product_b, line=line_b))
    assert response.status_code == 405


def test_lists_show_only_the_sellers_own_objects(client_a, product_a, product_b, shared_order, order_b):
    products = client_a.get(reverse("seller_accounts:product_list")).content.decode()
    assert "Alpha Kurta" in products and "Beta Sneakers" not in products

    orders = client_a.get(reverse("seller_accounts:order_list")).content.decode()
    assert shared_order.number in orders and order_b.number not in orders
    assert "Beta Sneakers" not in orders

    detail = client_a.get(reverse("seller_accounts:order_detail", args=[shared_order.number])).content.decode()
    assert "Alpha Kurta" in detail and "Beta Sneakers" not in detail


def test_dashboard_counts_only_own_products_and_lines(client_a, seller_a, product_a, product_b, shared_order, order_b):
    response = client_a.get(reverse("seller_accounts:dashboard"))
    assert response.context["product_count"] == 1
    assert [line.seller_id for line in response.context["recent_lines"]] == [seller_a.pk]
    assert response.context["pending_line_count"] == OrderItem.objects.filter(seller=seller_a).count()
