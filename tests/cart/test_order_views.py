"""The buyer's order pages (cart/views.py), still under /accounts/orders/."""
import pytest
from django.urls import reverse

from cart.models import Order, OrderItem
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _messages(response):
    return [str(m) for m in response.context["messages"]]


def test_the_order_pages_keep_their_paths_and_names():
    assert reverse("accounts:order_list") == "/accounts/orders/"
    assert reverse("accounts:order_detail", args=["FS-1"]) == "/accounts/orders/FS-1/"
    assert reverse("accounts:order_cancel", args=["FS-1"]) == "/accounts/orders/FS-1/cancel/"


def test_order_list_shows_only_my_orders(client):
    mine, theirs = OrderFactory(), OrderFactory()
    OrderItemFactory(order=mine)
    OrderItemFactory(order=theirs)
    client.force_login(mine.buyer)
    body = client.get(reverse("accounts:order_list")).content.decode()
    assert mine.number in body and theirs.number not in body


def test_another_buyers_order_is_404(client):
    order = OrderFactory()
    OrderItemFactory(order=order)
    client.force_login(UserFactory())
    assert client.get(order.get_absolute_url()).status_code == 404
    assert client.post(reverse("accounts:order_cancel", args=[order.number])).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED


def test_order_detail_shows_each_lines_status(client):
    order = OrderFactory(status=Order.Status.PROCESSING)
    OrderItemFactory(order=order, product_name="Shipped Thing", fulfilment_status="shipped")
    OrderItemFactory(order=order, product_name="Waiting Thing")
    client.force_login(order.buyer)
    response = client.get(order.get_absolute_url())
    body = response.content.decode()
    assert "Shipped Thing" in body and "Shipped" in body and "Awaiting shipment" in body
    assert response.context["can_cancel"] is False
    assert "Cancel order" not in body


def test_buyer_cancels_a_pending_order(client):
    product = ProductFactory(stock=0)
    order = OrderFactory()
    OrderItemFactory(order=order, product=product, quantity=2)
    client.force_login(order.buyer)
    assert "Cancel order" in client.get(order.get_absolute_url()).content.decode()
    response = client.post(reverse("accounts:order_cancel", args=[order.number]), follow=True)
    assert f"Order {order.number} is cancelled." in _messages(response)
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and product.stock == 2
    assert set(OrderItem.objects.values_list("fulfilment_status", flat=True)) == {"cancelled"}


def test_cancel_after_shipping_is_refused_with_a_message(client):
    order = OrderFactory(status=Order.Status.PROCESSING)
    OrderItemFactory(order=order, fulfilment_status="shipped")
    client.force_login(order.buyer)
    response = client.post(reverse("accounts:order_cancel", args=[order.number]), follow=True)
    assert any("can no longer be cancelled" in m for m in _messages(response))
    order.refresh_from_db()
    assert order.status == Order.Status.PROCESSING
