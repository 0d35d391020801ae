"""Helpers shared by the photo-search view tests (the stand-in model is the
`visual_model` fixture in tests/main/conftest.py)."""
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image


def png_bytes(size=(40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client, data, name="photo.png"):
    return client.post(reverse("main:photo_search"), {"photo": SimpleUploadedFile(name, data)})
