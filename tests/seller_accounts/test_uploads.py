"""Product photos pass the upload gate (main.images.clean_upload): what is stored is
always a fresh JPEG under a random name; a refused upload stores nothing at all."""
import io
import re

import pytest
from django.urls import reverse
from PIL import Image

from main import services
from main.models import Product
from tests.seller_accounts.conftest import image_bytes, png_claiming, stored_files, upload
from tests.seller_accounts.test_products import VALID

pytestmark = pytest.mark.django_db

RANDOM_NAME = re.compile(r"products/(thumbs/)?[0-9a-f]{32}\.jpg")
POLYGLOT_TAIL = b"PK\x03\x04\x14\x00\x00\x00" + b"<html><script>alert('owned')</script></html>" + b"PK\x05\x06" + b"\x00" * 18


def _create(client, photo, **extra):
    return client.post(reverse("seller_accounts:product_create"), {**VALID, "photo": photo, **extra})


def _stored_bytes(field):
    field.open("rb")
    try:
        return field.read()
    finally:
        field.close()


@pytest.mark.parametrize("fmt,name,content_type", [
    ("JPEG", "holiday snap.jpg", "image/jpeg"),
    ("PNG", "../../etc/evil.png", "image/png"),
    ("WEBP", "photo.webp", "image/webp"),
])
def test_a_real_photo_is_stored_re_encoded_under_a_random_name(client_a, settings, fmt, name, content_type):
    data = image_bytes(fmt, size=(90, 120))
    response = _create(client_a, upload(name, data, content_type))
    assert response.status_code == 302
    product = Product.objects.get()
    assert RANDOM_NAME.fullmatch(product.image.name) and RANDOM_NAME.fullmatch(product.thumbnail.name)
    assert "snap" not in product.image.name and "evil" not in product.image.name
    stored = _stored_bytes(product.image)
    assert stored[:3] == b"\xff\xd8\xff" and stored != data
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (90, 120)
    assert sorted(stored_files(settings)) == sorted([product.image.name, product.thumbnail.name])


def _assert_refused(response, settings, message):
    assert response.status_code == 200
    errors = response.context["form"].errors["photo"]
    assert any(message in error for error in errors), errors
    assert b'id="id_photo_error"' in response.content
    assert not Product.objects.exists()
    assert stored_files(settings) == []


def test_a_text_file_named_jpg_is_refused(client_a, settings):
    response = _create(client_a, upload("photo.jpg", b"just some text, honest\n" * 20))
    _assert_refused(response, settings, "not an image")


def test_an_html_file_named_jpg_is_refused(client_a, settings):
    response = _create(client_a, upload("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"))
    _assert_refused(response, settings, "not an image")


def test_a_too_large_file_is_refused(client_a, settings):
    data = image_bytes("PNG", size=(200, 200))
    settings.MAX_UPLOAD_BYTES = len(data) - 1
    response = _create(client_a, upload("big.png", data, "image/png"))
    _assert_refused(response, settings, "limit")


def test_a_header_claiming_huge_dimensions_is_refused(client_a, settings):
    response = _create(client_a, upload("bomb.png", png_claiming(100_000, 100_000), "image/png"))
    assert response.status_code == 200
    assert not Product.objects.exists() and stored_files(settings) == []
    assert response.context["form"].errors["photo"]


def test_a_photo_over_the_pixel_limit_is_refused(client_a, settings):
    settings.MAX_IMAGE_PIXELS = 1_000
    response = _create(client_a, upload("wide.png", image_bytes("PNG", size=(100, 100)), "image/png"))
    _assert_refused(response, settings, "pixels")


def test_a_truncated_image_is_refused(client_a, settings):
    data = image_bytes("PNG", size=(300, 300))
    response = _create(client_a, upload("cut.png", data[: len(data) // 2], "image/png"))
    assert response.status_code == 200
    assert not Product.objects.exists() and stored_files(settings) == []


def test_a_polyglot_is_stored_only_as_re_encoded_output(client_a, settings):
    data = image_bytes("JPEG", size=(64, 64)) + POLYGLOT_TAIL
    response = _create(client_a, upload("photo.jpg", data))
    assert response.status_code == 302
    product = Product.objects.get()
    for field in (product.image, product.thumbnail):
        stored = _stored_bytes(field)
        assert b"PK\x03\x04" not in stored and b"<script>" not in stored and b"owned" not in stored
        assert stored.rstrip(b"\x00").endswith(b"\xff\xd9")


def test_a_refused_photo_on_edit_keeps_the_product_and_its_photo(client_a, seller_a, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = services.create_product(seller_a, _data(), photo=upload())
    before = (product.image.name, product.thumbnail.name)
    url = reverse("seller_accounts:product_edit", args=[product.sku])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(url, {**VALID, "name": "Changed", "photo": upload("x.jpg", b"not an image")})
    assert response.status_code == 200 and response.context["form"].errors["photo"]
    product.refresh_from_db()
    assert product.name != "Changed" and (product.image.name, product.thumbnail.name) == before
    assert sorted(stored_files(settings)) == sorted(before)


def test_replacing_a_photo_deletes_the_old_files_after_commit(client_a, seller_a, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = services.create_product(seller_a, _data(), photo=upload())
    old = sorted([product.image.name, product.thumbnail.name])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.update_product(product, {}, photo=upload("new.png", image_bytes("PNG"), "image/png"))
    assert set(old) <= set(stored_files(settings))  # not before the commit
    for callback in callbacks:
        callback()
    product.refresh_from_db()
    new = sorted([product.image.name, product.thumbnail.name])
    assert new != old and stored_files(settings) == new


def test_files_written_for_a_failed_save_are_removed(seller_a, settings, monkeypatch):
    def failing_insert(product):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_insert_with_new_sku", failing_insert)
    with pytest.raises(RuntimeError):
        services.create_product(seller_a, _data(), photo=upload())
    assert stored_files(settings) == [] and not Product.objects.exists()


def test_service_refuses_a_bad_photo_before_writing(seller_a, settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.create_product(seller_a, _data(), photo=upload("a.jpg", b"GIF89a nope"))
    assert stored_files(settings) == [] and not Product.objects.exists()


def _data():
    from tests.seller_accounts.test_products import _data as data

    return data()


def test_a_file_another_listing_still_uses_is_kept(seller_a, settings, django_capture_on_commit_callbacks):
    """Imported listings use one catalog file as photo and thumbnail; never delete a file in use."""
    (settings.MEDIA_ROOT / "catalog").mkdir(parents=True)
    (settings.MEDIA_ROOT / "catalog" / "1163.jpg").write_bytes(image_bytes())
    first = Product.objects.create(seller=seller_a, sku="1163", image="catalog/1163.jpg", thumbnail="catalog/1163.jpg",
                                   **{k: v for k, v in _data().items()})
    Product.objects.create(seller=seller_a, sku="1163-copy", image="catalog/1163.jpg", thumbnail="catalog/1163.jpg",
                           **{k: v for k, v in _data().items()})
    with django_capture_on_commit_callbacks(execute=True):
        services.update_product(first, {}, photo=upload())
    assert "catalog/1163.jpg" in stored_files(settings)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_product(Product.objects.get(sku="1163-copy"))
    assert "catalog/1163.jpg" not in stored_files(settings)


def test_edit_page_shows_the_current_photo(client_a, seller_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = services.create_product(seller_a, _data(), photo=upload())
    Product.objects.filter(pk=product.pk).update(thumbnail="")  # a photo without a thumbnail still renders
    html = client_a.get(reverse("seller_accounts:product_edit", args=[product.sku])).content.decode()
    assert f'src="{product.image.url}"' in html and "Current photo" in html
