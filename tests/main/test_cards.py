"""Product cards: what they show, in the order given, escaped, and current after a change."""
from decimal import Decimal

import pytest
from django.template.loader import render_to_string

from main.models import Product
from main.services import set_product_price, set_product_stock, update_product
from main.templatetags.storefront import product_cards, recommendation_cards
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def grid(*products):
    return render_to_string("main/partials/product_grid.html", {"products": list(products)})


def fresh(product):
    return Product.objects.get(pk=product.pk)


def test_a_card_shows_photo_name_price_and_links_to_the_product():
    product = ProductFactory(name="Roadster Men Blue Jeans", price=Decimal("999.50"),
                             image="products/a.jpg", thumbnail="products/thumbs/a.jpg")
    card = grid(product)
    assert "Roadster Men Blue Jeans" in card and "₹999.50" in card
    assert f'href="{product.get_absolute_url()}"' in card and 'src="/media/products/thumbs/a.jpg"' in card
    assert "Out of stock" not in card and "recommendation-reason" not in card


def test_a_recommendation_card_shows_its_reason_and_links_through_the_click_tracker():
    from main.recommendations import Section

    product = ProductFactory(name="Nike Men Black Tshirts")
    product.click_url = "/x/click/42/?next=%3Cscript%3E"
    section = Section("Similar items", [(product, "same article type & <colour>")])
    (card,) = recommendation_cards(section)
    assert 'href="/x/click/42/?next=%3Cscript%3E"' in card
    assert "Same article type &amp; &lt;colour&gt;" in card


def test_cards_keep_the_order_given_and_escape_names():
    a = ProductFactory(name="<b>Alpha</b> Shirt")
    b = ProductFactory(name="Beta Shirt")
    cards = product_cards([b, a, b])
    assert "Beta Shirt" in cards[0] and "Alpha" in cards[1] and cards[2] == cards[0]
    assert "<b>Alpha</b>" not in cards[1] and "&lt;b&gt;Alpha&lt;/b&gt;" in cards[1]


@pytest.mark.parametrize("change, shows", [
    (lambda p: set_product_price(p, Decimal("1499")), "₹1,499"),
    (lambda p: set_product_stock(p, 0), "Out of stock"),
    (lambda p: update_product(p, {"name": "Renamed Blue Jeans"}), "Renamed Blue Jeans"),
])
def test_a_sellers_change_shows_on_the_next_render(change, shows):
    product = ProductFactory(name="Roadster Men Blue Jeans", price=Decimal("999"), stock=5)
    assert shows not in grid(fresh(product))
    change(fresh(product))
    assert shows in grid(fresh(product))


def test_a_stock_change_at_checkout_without_updated_at_still_changes_the_card():
    product = ProductFactory(stock=1)
    assert "Out of stock" not in grid(fresh(product))
    Product.objects.filter(pk=product.pk).update(stock=0)  # as a checkout decrement does
    assert "Out of stock" in grid(fresh(product))


def test_cached_recommendation_sections_show_a_new_price_at_once(client, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    from main import recommendations

    shown = ProductFactory(price=Decimal("1599"))
    neighbour = ProductFactory(name="Neighbour Jeans", price=Decimal("999"))
    monkeypatch.setattr(recommendations, "product_page_sections", lambda product, request, variant=None: [
        recommendations.Section(recommendations.SIMILAR, [(fresh(neighbour), "similar")])])
    assert "₹999" in client.get(shown.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_product_price(fresh(neighbour), Decimal("1299"))
    page = client.get(shown.get_absolute_url()).content.decode()
    assert "₹1,299" in page and "₹999" not in page


def test_the_cached_shop_window_on_home_shows_a_new_price_at_once(client, django_capture_on_commit_callbacks):
    arrival = ProductFactory(name="Fresh Arrival Tee", price=Decimal("599"), image="products/tee.jpg",
                             thumbnail="products/thumbs/tee.jpg")
    assert "₹599" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        set_product_price(fresh(arrival), Decimal("649"))
    page = client.get("/").content.decode()
    assert "₹649" in page and "₹599" not in page


def test_a_cached_listing_page_shows_a_new_price_at_once(client, django_capture_on_commit_callbacks):
    product = ProductFactory(gender="Men", sub_category="Topwear", article_type="Shirts", price=Decimal("799"))
    url = "/c/Men/Topwear/?colour=Blue&sort=price_asc"
    assert "₹799" in client.get(url).content.decode()
    assert "₹799" in client.get(url).content.decode()  # from the cache now
    with django_capture_on_commit_callbacks(execute=True):
        set_product_price(fresh(product), Decimal("899"))
    page = client.get(url).content.decode()
    assert "₹899" in page and "₹799" not in page
