"""Under the Content-Security-Policy the vendored scripts still work in a real browser:
htmx swaps a listing row in place, Chart.js draws the sales charts, the cancel button
asks first (static/js/confirm.js), and the browser reports no violation."""
import pytest
from playwright.sync_api import expect

from cart.models import OrderItem
from main.models import Product
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, OrderFactory, OrderItemFactory, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def violations(page):
    """Console errors about the policy, and uncaught script errors, as they happen."""
    seen = []
    page.on("console", lambda message: "Content Security Policy" in message.text and seen.append(message.text))
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def test_htmx_chartjs_and_the_confirm_script_run_under_the_policy(page, transactional_db, violations):
    seller = SellerFactory(user=UserFactory(username="csp-seller", is_staff=True))
    product = ProductFactory(seller=seller, name="Policy Kurta", price="999.00")
    line = OrderItemFactory(order=OrderFactory(buyer=UserFactory()), product=product)
    sign_in(page, "csp-seller", PASSWORD)

    page.goto("/sell/products/")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("spinbutton", name="Price of Policy Kurta").fill("1099")
    page.get_by_role("button", name="Save price of Policy Kurta").click()
    expect(page.get_by_text("Saved")).to_be_visible()
    assert page.evaluate("window.notReloaded === true")  # htmx swapped the row in place
    assert str(Product.objects.get(pk=product.pk).price) == "1099.00"

    page.goto("/dashboards/sales/")
    page.wait_for_function("() => document.querySelector('canvas[data-chart]') && "
                           "Chart.getChart(document.querySelector('canvas[data-chart]'))")

    page.goto(f"/sell/orders/{line.order.number}/")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Cancel line").click()
    assert asked and "refunded" in asked[0]
    assert OrderItem.objects.get(pk=line.pk).fulfilment_status == OrderItem.Fulfilment.PENDING  # dismissed

    assert violations == []
