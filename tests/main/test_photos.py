"""How product photos are sized for cards and the product page."""
import io

import pytest
from PIL import Image

from main.images import CARD_BOX, card_thumbnail, card_upscale
from main.templatetags.storefront import product_photo
from tests.factories import ProductFactory


def size_of(jpeg):
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.size


@pytest.mark.parametrize("size, scale", [
    ((60, 80), 2.0),        # the catalog's small photos: 2x, not the 3x that fills a card
    ((53, 80), 2.0),
    ((100, 100), 1.8),      # up to the card box, never past it
    ((180, 240), 1.0),
    ((1200, 1600), 1.0),
])
def test_small_photos_are_enlarged_at_most_twice_and_never_past_the_card(size, scale):
    assert card_upscale(size) == pytest.approx(scale)


def test_a_small_photo_gets_a_2x_thumbnail_and_a_large_one_is_only_reduced():
    small = card_thumbnail(Image.new("RGB", (60, 80), "red"))
    assert size_of(small) == (120, 160)
    assert size_of(card_thumbnail(Image.new("RGB", (180, 240), "red"))) == CARD_BOX
    assert max(size_of(card_thumbnail(Image.new("RGB", (1500, 2000), "red")))) == 360


@pytest.mark.django_db
def test_cards_show_the_thumbnail_and_the_product_page_the_photo_in_a_reserved_box():
    product = ProductFactory(image="products/catalog/images_small/7.jpg",
                             thumbnail="products/thumbs/catalog/7.jpg")
    assert 'src="/media/products/thumbs/catalog/7.jpg"' in product_photo(product)
    html = product_photo(product, full=True)
    assert 'src="/media/products/catalog/images_small/7.jpg"' in html
    assert 'class="photo-box rounded"' in html and 'class="product-photo"' in html
    # No width/height attributes: the browser would stretch the photo to them.
    assert "width=" not in html and "height=" not in html


@pytest.mark.django_db
def test_a_product_without_any_photo_keeps_the_placeholder():
    product = ProductFactory(image="", thumbnail="")
    html = product_photo(product)
    assert "placeholder-photo" in html and "<img" not in html
