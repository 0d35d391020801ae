import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, UserFactory


def image_bytes(fmt="JPEG", size=(48, 32), colour=(200, 40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name="photo.jpg", data=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type=content_type)


def png_claiming(width, height):
    """A tiny PNG whose header claims width×height pixels (a decompression bomb's shape)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def buyer(db):
    return UserFactory(username="buyer")


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_a(seller_a):
    return _client_for(seller_a.user)


@pytest.fixture
def client_b(seller_b):
    return _client_for(seller_b.user)


@pytest.fixture
def buyer_client(buyer):
    return _client_for(buyer)


@pytest.fixture
def product_a(seller_a):
    return ProductFactory(seller=seller_a, sku="A-1", name="Alpha Kurta", stock=7)


@pytest.fixture
def product_b(seller_b):
    return ProductFactory(seller=seller_b, sku="B-1", name="Beta Sneakers", stock=9)


@pytest.fixture
def shared_order(buyer, product_a, product_b):
    """One order with a line from each seller."""
    order = OrderFactory(buyer=buyer)
    OrderItemFactory(order=order, product=product_a, quantity=2)
    OrderItemFactory(order=order, product=product_b, quantity=3)
    return order


@pytest.fixture
def line_a(shared_order, seller_a):
    return shared_order.items.get(seller=seller_a)


@pytest.fixture
def line_b(shared_order, seller_b):
    return shared_order.items.get(seller=seller_b)


@pytest.fixture
def order_b(buyer, product_b):
    """An order with only seller B's line."""
    order = OrderFactory(buyer=buyer)
    OrderItemFactory(order=order, product=product_b)
    return order
