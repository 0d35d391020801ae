import pytest
from django.test import Client

from tests.dashboards.orders import order_at, utc
from tests.factories import ProductFactory, UserFactory


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(db):
    return client_for(UserFactory(username="staff", is_staff=True))


@pytest.fixture
def buyer_client(db):
    return client_for(UserFactory(username="buyer"))


@pytest.fixture
def sales(seller_a, seller_b):
    """Hand-made sales, 1–2 March 2025 (UTC):

    1 March: Alpha jeans (Men)  2 × 100.00 = 200.00
             Alpha kurta (Women) 1 × 50.50 = 50.50   (same order)
             Beta sneakers (Men) 3 × 10.00 = 30.00
    2 March: Beta sneakers (Men) 1 × 10.00 = 10.00
             Alpha kurta (Women) 4 × 50.50 = 202.00, but cancelled: not a sale
             Alpha jeans (Men)   1 × 100.00 = 100.00, product since deleted
    28 Feb:  Alpha jeans 1 × 100.00, outside the range used by the tests
    """
    jeans = ProductFactory(seller=seller_a, sku="A-JEANS", name="Alpha Jeans", gender="Men",
                           sub_category="Bottomwear", article_type="Jeans")
    kurta = ProductFactory(seller=seller_a, sku="A-KURTA", name="Alpha Kurta", gender="Women",
                           master_category="Apparel", sub_category="Topwear", article_type="Kurtas")
    sneakers = ProductFactory(seller=seller_b, sku="B-SNEAK", name="Beta Sneakers", gender="Men",
                              master_category="Footwear", sub_category="Shoes", article_type="Casual Shoes")
    gone = ProductFactory(seller=seller_a, sku="A-GONE", name="Alpha Gone Jeans", gender="Men",
                          sub_category="Bottomwear", article_type="Jeans")
    order_at(utc(2025, 3, 1, 10), (jeans, 2, "100.00"), (kurta, 1, "50.50"))
    order_at(utc(2025, 3, 1, 23, 30), (sneakers, 3, "10.00"))
    order_at(utc(2025, 3, 2, 9), (sneakers, 1, "10.00"))
    order_at(utc(2025, 3, 2, 12), (kurta, 4, "50.50", {"fulfilment_status": "cancelled"}))
    order_at(utc(2025, 3, 2, 13), (gone, 1, "100.00"))
    order_at(utc(2025, 2, 28, 12), (jeans, 1, "100.00"))
    gone.delete()
    return {"jeans": jeans, "kurta": kurta, "sneakers": sneakers}
