"""Sellers move their own order lines through the fulfilment and payment pipelines."""
import pytest
from django.urls import reverse

from cart.models import Order, OrderItem
from seller_accounts import services
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

F = OrderItem.Fulfilment
P = OrderItem.Payment


def _post(client, line, action, status):
    url = reverse(f"seller_accounts:line_{action}", args=[line.order.number, line.pk])
    return client.post(url, {"status": status}, follow=True)


def _messages(response):
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_order_detail_shows_only_the_sellers_lines_and_share(client_a, shared_order, line_a):
    response = client_a.get(reverse("seller_accounts:order_detail", args=[shared_order.number]))
    order = response.context["order"]
    assert [line.pk for line in order.seller_lines] == [line_a.pk]
    assert order.seller_subtotal == line_a.unit_price * line_a.quantity
    html = response.content.decode()
    assert "Mark shipped" in html and "Cancel line" in html and "Mark paid" in html
    assert "Mark delivered" not in html  # not a legal move from pending


def test_order_list_filters_by_line_status(client_a, seller_a, product_a, shared_order):
    shipped = OrderFactory(buyer=shared_order.buyer)
    OrderItemFactory(order=shipped, product=product_a, fulfilment_status=F.SHIPPED)
    url = reverse("seller_accounts:order_list")
    numbers = lambda **q: [o.number for o in client_a.get(url, q).context["page"].object_list]  # noqa: E731
    assert set(numbers()) == {shared_order.number, shipped.number}
    assert numbers(fulfilment="shipped") == [shipped.number]
    assert numbers(fulfilment="pending") == [shared_order.number]
    assert set(numbers(fulfilment="nonsense")) == {shared_order.number, shipped.number}


def test_ship_then_deliver(client_a, line_a, line_b):
    response = _post(client_a, line_a, "fulfilment", F.SHIPPED)
    assert ("success", f"{line_a.product_name}: fulfilment is now “Shipped”.") in _messages(response)
    line_a.refresh_from_db()
    assert line_a.fulfilment_status == F.SHIPPED
    line_a.order.refresh_from_db()
    assert line_a.order.status == Order.Status.PROCESSING

    _post(client_a, line_a, "fulfilment", F.DELIVERED)
    line_a.refresh_from_db()
    line_b.refresh_from_db()
    assert line_a.fulfilment_status == F.DELIVERED and line_b.fulfilment_status == F.PENDING


@pytest.mark.parametrize("current,target", [
    (F.PENDING, F.DELIVERED), (F.SHIPPED, F.PENDING), (F.SHIPPED, F.CANCELLED),
    (F.DELIVERED, F.SHIPPED), (F.CANCELLED, F.PENDING), (F.PENDING, F.PENDING),
])
def test_illegal_fulfilment_moves_show_an_error_not_a_500(client_a, line_a, current, target):
    OrderItem.objects.filter(pk=line_a.pk).update(fulfilment_status=current)
    response = _post(client_a, line_a, "fulfilment", target)
    assert response.status_code == 200
    assert any(level == "error" and "cannot move" in text for level, text in _messages(response))
    line_a.refresh_from_db()
    assert line_a.fulfilment_status == current


def test_cancelling_a_line_restocks_the_product(client_a, line_a, product_a):
    assert (product_a.stock, line_a.quantity) == (7, 2)
    _post(client_a, line_a, "fulfilment", F.CANCELLED)
    product_a.refresh_from_db()
    line_a.refresh_from_db()
    assert line_a.fulfilment_status == F.CANCELLED and product_a.stock == 9


def test_cancelling_every_line_cancels_the_order(client_a, client_b, line_a, line_b):
    _post(client_a, line_a, "fulfilment", F.CANCELLED)
    _post(client_b, line_b, "fulfilment", F.CANCELLED)
    line_a.order.refresh_from_db()
    assert line_a.order.status == Order.Status.CANCELLED


@pytest.mark.parametrize("path", [
    [P.PAID], [P.FAILED], [P.FAILED, P.PAID], [P.PAID, P.REFUNDED],
])
def test_legal_payment_moves(client_a, line_a, path):
    for status in path:
        response = _post(client_a, line_a, "payment", status)
        assert all(level == "success" for level, _ in _messages(response))
    line_a.refresh_from_db()
    assert line_a.payment_status == path[-1]


@pytest.mark.parametrize("current,target", [
    (P.PENDING, P.REFUNDED), (P.PAID, P.FAILED), (P.PAID, P.PENDING), (P.REFUNDED, P.PAID), (P.FAILED, P.REFUNDED),
])
def test_illegal_payment_moves_show_an_error(client_a, line_a, current, target):
    OrderItem.objects.filter(pk=line_a.pk).update(payment_status=current)
    response = _post(client_a, line_a, "payment", target)
    assert response.status_code == 200
    assert any(level == "error" for level, _ in _messages(response))
    line_a.refresh_from_db()
    assert line_a.payment_status == current


@pytest.mark.parametrize("action", ["fulfilment", "payment"])
@pytest.mark.parametrize("status", ["bogus", ""])
def test_unknown_statuses_are_refused(client_a, line_a, action, status):
    response = _post(client_a, line_a, action, status)
    assert any(level == "error" for level, _ in _messages(response))
    line_a.refresh_from_db()
    assert (line_a.fulfilment_status, line_a.payment_status) == (F.PENDING, P.PENDING)


def test_line_under_the_wrong_order_number_is_404(client_a, line_a, seller_a, product_a, buyer):
    other = OrderFactory(buyer=buyer)
    OrderItemFactory(order=other, product=product_a)
    url = reverse("seller_accounts:line_fulfilment", args=[other.number, line_a.pk])
    assert client_a.post(url, {"status": F.SHIPPED}).status_code == 404


def test_services_refuse_another_sellers_line(seller_a, line_b):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.update_line_fulfilment(seller_a, line_b, F.SHIPPED)
    with pytest.raises(PermissionDenied):
        services.update_line_payment(seller_a, line_b, P.PAID)
    line_b.refresh_from_db()
    assert (line_b.fulfilment_status, line_b.payment_status) == (F.PENDING, P.PENDING)


def test_order_list_query_count_is_flat(client_a, seller_a, product_a, buyer, django_assert_max_num_queries):
    for _ in range(15):
        OrderItemFactory(order=OrderFactory(buyer=buyer), product=product_a)
    with django_assert_max_num_queries(12):
        client_a.get(reverse("seller_accounts:order_list"))
