import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from cart.models import OrderItem
from tests.factories import OrderItemFactory, UserFactory

PROJECT_APPS = ("main", "accounts", "seller_accounts", "cart")


def project_models():
    return [model for app in PROJECT_APPS for model in apps.get_app_config(app).get_models()]


@pytest.mark.parametrize("model", project_models(), ids=lambda m: m._meta.label)
def test_every_model_is_registered(model):
    assert admin.site.is_registered(model)


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="staff", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", project_models(), ids=lambda m: m._meta.label)
def test_changelists_render_with_search(staff_client, model):
    OrderItemFactory()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert staff_client.get(url, {"q": "blue"}).status_code == 200


@pytest.mark.django_db
def test_order_change_page_shows_lines_inline(staff_client):
    line = OrderItemFactory()
    response = staff_client.get(reverse("admin:cart_order_change", args=[line.order.pk]))
    assert response.status_code == 200
    assert line.product_name in response.content.decode()


@pytest.mark.django_db
def test_admin_refuses_an_illegal_fulfilment_move(staff_client):
    line = OrderItemFactory(fulfilment_status=OrderItem.Fulfilment.DELIVERED)
    url = reverse("admin:cart_orderitem_change", args=[line.pk])
    page = staff_client.get(url)
    data = {key: value for key, value in page.context["adminform"].form.initial.items() if value is not None}
    data.update(fulfilment_status=OrderItem.Fulfilment.PENDING, order=line.order.pk,
                seller=line.seller.pk, product=line.product.pk)
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "cannot move from" in response.content.decode()
    line.refresh_from_db()
    assert line.fulfilment_status == OrderItem.Fulfilment.DELIVERED


@pytest.mark.django_db
def test_admin_status_change_goes_through_the_order_services(staff_client):
    line = OrderItemFactory(quantity=2, product__stock=5)
    url = reverse("admin:cart_orderitem_change", args=[line.pk])
    page = staff_client.get(url)
    data = {key: value for key, value in page.context["adminform"].form.initial.items() if value is not None}
    data.update(fulfilment_status=OrderItem.Fulfilment.CANCELLED, order=line.order.pk,
                seller=line.seller.pk, product=line.product.pk)
    assert staff_client.post(url, data).status_code == 302
    line.refresh_from_db()
    line.product.refresh_from_db()
    line.order.refresh_from_db()
    assert line.fulfilment_status == OrderItem.Fulfilment.CANCELLED
    assert line.product.stock == 7  # the cancelled units went back to stock
    assert line.order.status == "cancelled"


@pytest.mark.django_db
def test_a_staff_edit_in_the_admin_moves_the_facet_counts(staff_client):
    from main import selectors
    from tests.factories import ProductFactory

    product = ProductFactory(gender="Men")
    url = reverse("admin:main_product_changelist")
    response = staff_client.post(url, {
        "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 1, "form-0-id": product.pk,
        "form-0-price": "999", "form-0-stock": 10, "_save": "Save"})  # is_active left unticked
    assert response.status_code == 302
    assert selectors.nav_genders() == []
