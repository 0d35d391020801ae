import pytest

from search import selectors, services
from tests.factories import ProductFactory, SellerFactory


@pytest.fixture(autouse=True)
def fresh_vocabulary():
    """The vocabulary is kept per process for minutes; each test reads its own catalog."""
    selectors.forget_vocabulary()
    yield
    selectors.forget_vocabulary()


def make(seller, name, gender, master, sub, article, colour, usage="Casual", season="Summer", **fields):
    return ProductFactory(seller=seller, name=name, gender=gender, master_category=master,
                          sub_category=sub, article_type=article, base_colour=colour, usage=usage,
                          season=season, **fields)


@pytest.fixture
def shop(db):
    """A small catalog covering the words the tests search for, with its vocabulary built."""
    seller = SellerFactory()
    products = {
        "men_casual_shoes": make(seller, "Nike Men White Sneaker", "Men", "Footwear", "Shoes",
                                 "Casual Shoes", "White"),
        "men_sports_shoes": make(seller, "Puma Men Black Running Shoes", "Men", "Footwear", "Shoes",
                                 "Sports Shoes", "Black", usage="Sports"),
        "women_heels": make(seller, "Catwalk Women Red Heels", "Women", "Footwear", "Shoes", "Heels",
                            "Red"),
        "women_party_heels": make(seller, "Catwalk Women Gold Party Heels", "Women", "Footwear",
                                  "Shoes", "Heels", "Gold", usage="Party"),
        "boys_tee": make(seller, "Gini and Jony Boys Blue Tshirt", "Boys", "Apparel", "Topwear",
                         "Tshirts", "Blue"),
        "men_tee": make(seller, "Nike Men Sneaker Print Tshirt", "Men", "Apparel", "Topwear",
                        "Tshirts", "Black"),
        "men_jeans": make(seller, "Levis Men Blue Jeans", "Men", "Apparel", "Bottomwear", "Jeans",
                          "Blue"),
        "women_jeans": make(seller, "Levis Women Blue Jeans", "Women", "Apparel", "Bottomwear",
                            "Jeans", "Blue"),
        "girls_dress": make(seller, "Doodle Girls Pink Dress", "Girls", "Apparel", "Dress",
                            "Dresses", "Pink"),
        "women_dress": make(seller, "Vero Moda Women Pink Dress", "Women", "Apparel", "Dress",
                            "Dresses", "Pink"),
        "handbag": make(seller, "Baggit Women Brown Handbag", "Women", "Accessories", "Bags",
                        "Handbags", "Brown"),
        "sweatshirt": make(seller, "Wrangler Men Grey Sweatshirt", "Men", "Apparel", "Topwear",
                           "Sweatshirts", "Grey", season="Winter"),
        "hidden": make(seller, "Hidden Men Blue Jeans", "Men", "Apparel", "Bottomwear", "Jeans", "Blue",
                       is_active=False),
    }
    services.rebuild_vocabulary()
    return products
