import re

import pytest
from playwright.sync_api import expect

from cart.models import Order
from main.models import Product
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.browser


def test_buyer_browses_filters_buys_and_finds_the_order(page, shop, screenshot):
    page.goto("/")
    expect(page.get_by_role("heading", name="Shop by category")).to_be_visible()
    screenshot("01-home")

    # Browse gender → category, then filter by colour.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Men", exact=True).click()
    expect(page).to_have_url(re.compile(r"/c/Men/$"))
    page.get_by_role("link", name=re.compile(r"^Topwear")).first.click()
    expect(page.get_by_role("heading", name="Men Topwear")).to_be_visible()
    page.locator("input[name=colour][value=Blue]").check()
    page.get_by_role("button", name=re.compile("Apply|Filter")).first.click()
    expect(page).to_have_url(re.compile(r"colour=Blue"))
    screenshot("02-filtered-listing")

    # A product page with its similar items and their reasons.
    product = (Product.objects.purchasable()
               .filter(gender="Men", sub_category="Topwear", base_colour="Blue").exclude(image="")
               .first())
    page.goto(product.get_absolute_url())
    expect(page.get_by_role("heading", level=1, name=product.name)).to_be_visible()
    similar = page.locator("[data-recommendations='similar-items']")
    expect(similar).to_be_visible()
    expect(similar.locator(".recommendation-reason").first).not_to_be_empty()
    screenshot("03-product-page")

    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name=re.compile(r"Cart\s*1"))).to_be_visible()
    page.goto("/cart/")
    expect(page.get_by_text(product.name).first).to_be_visible()
    page.get_by_role("link", name="Check out").click()

    # Checkout asks the anonymous shopper to sign in; the cart survives the login.
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("buyer")
    page.get_by_label("Password").fill("demo-pass-2026")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/cart/checkout/"))
    page.get_by_label("Full name").fill("Asha Rao")
    page.get_by_label("Address line 1").fill("12 MG Road")
    page.get_by_label("City").fill("Bengaluru")
    page.get_by_label("Postcode").fill("560001")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    screenshot("04-checkout")
    page.get_by_role("button", name=re.compile("Place order")).click()

    order = Order.objects.get(buyer__username="buyer")
    expect(page.get_by_text(order.number).first).to_be_visible()
    screenshot("05-confirmation")
    stock_before = product.stock
    product.refresh_from_db()
    assert product.stock == stock_before - 1

    page.goto("/accounts/orders/")
    expect(page.get_by_role("link", name=re.compile(order.number))).to_be_visible()
    screenshot("06-order-history")


def test_a_declined_card_keeps_the_cart_and_creates_nothing(page, shop):
    product = Product.objects.purchasable().first()
    sign_in(page, "buyer")
    page.goto(product.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    page.goto("/cart/checkout/")
    page.get_by_label("Full name").fill("Asha Rao")
    page.get_by_label("Address line 1").fill("12 MG Road")
    page.get_by_label("City").fill("Bengaluru")
    page.get_by_label("Postcode").fill("560001")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name=re.compile("Place order")).click()
    expect(page.get_by_text(re.compile("declined", re.I)).first).to_be_visible()
    assert not Order.objects.exists()
