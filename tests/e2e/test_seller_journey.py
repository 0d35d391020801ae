import re

import pytest
from playwright.sync_api import expect

from cart.checkout import place_order
from cart.models import Cart, OrderItem
from cart.services import add_to_cart
from main.models import Product
from tests.e2e.conftest import real_photo
from tests.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.browser


def buy(product):
    """A shopper orders the listing (cash on delivery) through the checkout service."""
    buyer = UserFactory(username="shopper")
    cart = Cart.objects.create(user=buyer)
    add_to_cart(cart, product, 1, user=buyer)
    return place_order(cart, AddressFactory(user=buyer), "cod")


def test_seller_signs_up_lists_with_suggestions_and_ships_the_order(page, shop, screenshot):
    page.goto("/sell/signup/")
    page.get_by_label("Username").fill("denimdeals")
    page.get_by_label("Email").fill("denim@example.com")
    page.get_by_label("Store name").fill("Denim Deals")
    page.locator("#id_password1").fill("a-Strong-passw0rd!")
    page.locator("#id_password2").fill("a-Strong-passw0rd!")
    page.get_by_role("button", name="Create account and store").click()
    expect(page.get_by_text("Denim Deals").first).to_be_visible()

    page.goto("/sell/products/new/")
    page.get_by_label("Name").first.fill("Roadster Men Blue Slim Fit Denim Jeans")
    # The categorizer's suggestions arrive and fill the empty taxonomy fields.
    expect(page.locator("#id_article_type")).to_have_value("Jeans", timeout=20_000)
    expect(page.locator("#id_gender")).to_have_value("Men")
    expect(page.locator("#id_sub_category")).to_have_value("Bottomwear")
    expect(page.locator("#suggestions")).to_contain_text("%")
    page.locator("#id_photo").set_input_files(str(real_photo()))
    expect(page.locator("#photo-opinion")).to_contain_text(re.compile(r"\d+%"), timeout=30_000)
    page.get_by_label("Price").fill("1499")
    page.get_by_label("Stock").fill("5")
    screenshot("10-seller-new-listing")
    page.get_by_role("button", name="List product").click()

    product = Product.objects.get(seller__store_name="Denim Deals")
    assert (product.gender, product.sub_category, product.article_type) == ("Men", "Bottomwear", "Jeans")
    assert product.image.name.endswith(".jpg") and "Roadster" not in product.image.name

    order = buy(product)
    page.goto("/sell/orders/")
    page.get_by_role("link", name=re.compile(order.number)).click()
    screenshot("11-seller-order")
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.get_by_text("Shipped").first).to_be_visible()
    line = OrderItem.objects.get(order=order)
    assert line.fulfilment_status == OrderItem.Fulfilment.SHIPPED
    screenshot("12-seller-order-shipped")
