"""Maintained facet counts: every write through main.services leaves them equal to a recount,
and listings read the same numbers from them as from the products."""
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Q

from main import facets, selectors
from main.models import FacetCount, Product
from main.selectors import ProductFilter
from main.services import (create_product, delete_product, recount_facets, set_product_price,
                           set_product_stock, update_product)
from tests.factories import OrderItemFactory, ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db(transaction=True)  # recounts run on commit

NEW_LISTING = {"name": "Roadster Men Grey Hoodie", "price": Decimal("1000"), "stock": 3,
               "gender": "Men", "master_category": "Apparel", "sub_category": "Topwear",
               "article_type": "Sweatshirts", "base_colour": "Grey", "season": "Winter",
               "usage": "Casual"}


def maintained():
    return sorted((row.seller_id, row.gender, row.sub_category, row.article_type, row.base_colour,
                   row.season, row.usage, row.price_class, row.products, row.newest_photographed)
                  for row in FacetCount.objects.all())


def recounted():
    recount_facets()
    return maintained()


@pytest.mark.parametrize("price, expected", [
    ("0.01", 0), ("499.99", 0), ("500", 1), ("500.01", 2), ("999", 2), ("1000", 3), ("1500", 4),
    ("2000", 5), ("4999.99", 6), ("5000", 7), ("5000.01", 8), ("99999", 8),
])
def test_price_classes_keep_each_band_edge_apart(price, expected):
    assert facets.price_class(Decimal(price)) == expected


def test_the_database_and_python_agree_on_price_classes():
    seller = SellerFactory()
    prices = ["1", "500", "750", "1000", "2000", "3000", "5000", "7000"]
    for price in prices:
        ProductFactory(seller=seller, price=Decimal(price))
    in_database = dict(Product.objects.annotate(price_class=facets.price_class_expression())
                       .values_list("price", "price_class"))
    assert {str(p.normalize()): c for p, c in in_database.items()} == {
        str(Decimal(p).normalize()): facets.price_class(Decimal(p)) for p in prices}


@pytest.mark.parametrize("low, high, first, last", [
    (None, 500, 0, 1), (500, 1000, 1, 3), (Decimal("5000.00"), None, 7, 8), (None, None, 0, 8),
])
def test_a_band_is_a_range_of_classes(low, high, first, last):
    assert facets.classes_q(low, high) == Q(price_class__gte=first, price_class__lte=last)


def test_a_price_limit_between_edges_cannot_be_read_from_the_counts():
    assert facets.classes_q(Decimal("600"), None) is None
    assert facets.classes_q(None, Decimal("999.99")) is None


def test_every_write_through_the_services_keeps_the_counts_equal_to_a_recount(tmp_path):
    seller, other = SellerFactory(), SellerFactory()
    shirt = ProductFactory(seller=seller, price=Decimal("499"), image="products/a.jpg")
    jeans = ProductFactory(seller=seller, price=Decimal("1000"))
    sold = ProductFactory(seller=other, price=Decimal("2500"))
    OrderItemFactory(product=sold)

    hoodie = create_product(seller, NEW_LISTING)
    assert maintained() == recounted()
    update_product(Product.objects.get(pk=shirt.pk), {"base_colour": "Green", "usage": "Sports"})
    assert maintained() == recounted()
    set_product_price(Product.objects.get(pk=jeans.pk), Decimal("1999"))
    assert maintained() == recounted()
    set_product_stock(Product.objects.get(pk=hoodie.pk), 0)  # stock is not a facet
    assert maintained() == recounted()
    delete_product(Product.objects.get(pk=jeans.pk))
    assert maintained() == recounted()
    delete_product(Product.objects.get(pk=sold.pk))  # ordered once: deactivated, not deleted
    assert maintained() == recounted()
    assert not FacetCount.objects.filter(seller=other).exists()
    assert FacetCount.objects.get(base_colour="Green").newest_photographed == shirt.pk


def test_listings_count_the_same_from_the_maintained_counts_and_from_the_products():
    seller = SellerFactory()
    for colour, price, gender in [("Red", "499", "Men"), ("Red", "500", "Men"), ("Blue", "1000", "Men"),
                                  ("Blue", "5000", "Women"), ("Black", "750", "Men")]:
        ProductFactory(seller=seller, base_colour=colour, price=Decimal(price), gender=gender)
    ProductFactory(seller=seller, base_colour="Red", is_active=False)
    for product_filter, scope in [
        (ProductFilter(), {}),
        (ProductFilter(), {"gender": "Men"}),
        (ProductFilter(values={"base_colour": ("Red", "Blue")}), {"gender": "Men"}),
        (ProductFilter(min_price=Decimal(500), max_price=Decimal(1000)), {}),
        (ProductFilter(values={"gender": ("Women",)}, min_price=Decimal(5000)), {"seller": seller}),
    ]:
        from_counts = selectors.product_listing(product_filter, scope=scope)
        # a limit between band edges is counted over the products themselves
        shifted = ProductFilter(values=product_filter.values,
                                min_price=None if product_filter.min_price is None else product_filter.min_price - Decimal("0.001"),
                                max_price=None if product_filter.max_price is None else product_filter.max_price + Decimal("0.001"))
        from_products = selectors.product_listing(shifted, scope=scope)
        assert from_counts.total == from_products.total == len(list(from_counts.page))
        assert [(f.field, [(v.value, v.count) for v in f.values]) for f in from_counts.facets] == \
            [(f.field, [(v.value, v.count) for v in f.values]) for f in from_products.facets]
        assert [b.count for b in from_counts.price_bands] == [b.count for b in from_products.price_bands]


def test_a_new_price_moves_the_price_band_counts_at_once():
    product = ProductFactory(price=Decimal("499"))
    bands = lambda: [b.count for b in selectors.product_listing(ProductFilter()).price_bands]  # noqa: E731
    assert bands() == [1, 0, 0, 0, 0]
    set_product_price(Product.objects.get(pk=product.pk), Decimal("2500"))
    assert bands() == [0, 0, 0, 1, 0]


def test_recount_command_rebuilds_counts_written_around_the_services(capsys):
    product = ProductFactory(gender="Men")
    Product.objects.filter(pk=product.pk).update(gender="Women")  # e.g. SQL by hand
    assert selectors.nav_genders() == ["Men"]
    call_command("recount_facets")
    assert "1 combinations counted" in capsys.readouterr().out
    assert selectors.nav_genders() == ["Women"]
