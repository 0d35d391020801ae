"""A paid line that is cancelled is refunded, whoever cancels it: the buyer (whole
order), the seller (their line) or staff (the admin), all through cart.pipeline."""
import pytest
from django.test import Client
from django.urls import reverse

from cart.models import Order, OrderItem
from main.models import Product
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
F, P = OrderItem.Fulfilment, OrderItem.Payment


@pytest.fixture
def order():
    """One order, two sellers: a paid line and an unpaid one, both pending shipment."""
    order = OrderFactory(buyer=UserFactory())
    OrderItemFactory(order=order, product=ProductFactory(stock=1), quantity=2, payment_status=P.PAID)
    OrderItemFactory(order=order, product=ProductFactory(stock=1), quantity=1, payment_status=P.PENDING)
    return order


def _lines(order):
    return list(order.items.order_by("pk"))


def _signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_buyer_cancelling_refunds_the_paid_line(order):
    response = _signed_in(order.buyer).post(reverse("accounts:order_cancel", args=[order.number]))
    assert response.status_code == 302
    paid, unpaid = _lines(order)
    assert (paid.fulfilment_status, paid.payment_status) == (F.CANCELLED, P.REFUNDED)
    assert (unpaid.fulfilment_status, unpaid.payment_status) == (F.CANCELLED, P.PENDING)
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED


def test_the_seller_cancelling_a_paid_line_refunds_it_and_restocks(order):
    paid, unpaid = _lines(order)
    url = reverse("seller_accounts:line_fulfilment", args=[order.number, paid.pk])
    response = _signed_in(paid.seller.user).post(url, {"status": F.CANCELLED})
    assert response.status_code == 302
    paid.refresh_from_db()
    assert (paid.fulfilment_status, paid.payment_status) == (F.CANCELLED, P.REFUNDED)
    assert Product.objects.get(pk=paid.product_id).stock == 3
    # The other seller's line is untouched, so the order stays open.
    unpaid.refresh_from_db()
    assert (unpaid.fulfilment_status, unpaid.payment_status) == (F.PENDING, P.PENDING)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED


def test_the_seller_cancelling_an_unpaid_line_refunds_nothing(order):
    _, unpaid = _lines(order)
    url = reverse("seller_accounts:line_fulfilment", args=[order.number, unpaid.pk])
    _signed_in(unpaid.seller.user).post(url, {"status": F.CANCELLED})
    unpaid.refresh_from_db()
    assert (unpaid.fulfilment_status, unpaid.payment_status) == (F.CANCELLED, P.PENDING)


def _admin_change(client, line, **changes):
    data = {"order": line.order_id, "product": line.product_id, "seller": line.seller_id, "sku": line.sku,
            "product_name": line.product_name, "unit_price": line.unit_price, "quantity": line.quantity,
            "fulfilment_status": line.fulfilment_status, "payment_status": line.payment_status, **changes}
    return client.post(reverse("admin:cart_orderitem_change", args=[line.pk]), data)


@pytest.mark.parametrize("payment_sent", [P.PAID, P.REFUNDED])
def test_staff_cancelling_a_paid_line_in_the_admin_refunds_it(order, payment_sent):
    staff = _signed_in(UserFactory(is_staff=True, is_superuser=True))
    paid, _ = _lines(order)
    # Staff may leave the payment as it was or mark it refunded in the same edit.
    response = _admin_change(staff, paid, fulfilment_status=F.CANCELLED, payment_status=payment_sent)
    assert response.status_code == 302, response.content.decode()[:2000]
    paid.refresh_from_db()
    assert (paid.fulfilment_status, paid.payment_status) == (F.CANCELLED, P.REFUNDED)
    assert Product.objects.get(pk=paid.product_id).stock == 3


def test_a_shipped_paid_line_cannot_be_cancelled_so_stays_paid(order):
    from cart.pipeline import IllegalTransition, set_line_fulfilment

    paid, _ = _lines(order)
    set_line_fulfilment(paid, F.SHIPPED)
    with pytest.raises(IllegalTransition):
        set_line_fulfilment(paid, F.CANCELLED)
    paid.refresh_from_db()
    assert (paid.fulfilment_status, paid.payment_status) == (F.SHIPPED, P.PAID)


def test_sellers_see_the_refund_promised_before_they_cancel(order):
    paid, _ = _lines(order)
    html = _signed_in(paid.seller.user).get(reverse("seller_accounts:order_detail", args=[order.number]))
    assert "a paid line is refunded" in html.content.decode()


