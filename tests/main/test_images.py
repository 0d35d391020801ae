"""The upload gate's pixel budget is read from the header, before any pixel is decoded."""
import io

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from PIL import Image, ImageFile, JpegImagePlugin

from main.images import ANALYSIS_SIDE, FULL_SIDE, decode_upload
from tests.seller_accounts.conftest import image_bytes, png_claiming, upload


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel data is decoded."""
    def refuse(self):
        raise AssertionError("pixels were decoded before the budget was checked")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def _refusal(data, content_type="image/png", **kwargs):
    with pytest.raises(ValidationError) as refused:
        decode_upload(upload("photo", data, content_type), **kwargs)
    return refused.value


def test_a_png_over_the_decoded_budget_is_refused_from_its_header(settings, no_decoding):
    settings.MAX_DECODED_PIXELS = 100 * 100
    refusal = _refusal(image_bytes("PNG", size=(101, 100)))
    assert refusal.code == "too_many_pixels" and "101×100" in refusal.messages[0]


def test_a_header_past_the_whole_budget_is_refused_without_decoding(settings, no_decoding):
    refusal = _refusal(png_claiming(5000, 5001))  # 25,005,000 pixels: just over 25 MP
    assert refusal.code == "too_many_pixels"


def test_a_header_far_past_pillows_own_limit_is_refused_as_too_many_pixels(no_decoding):
    refusal = _refusal(png_claiming(100_000, 100_000))
    assert refusal.code == "too_many_pixels"


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_never_below_the_side(settings):
    settings.MAX_DECODED_PIXELS = 1_000_000  # a PNG of this size would be refused
    image = decode_upload(upload("big.jpg", image_bytes("JPEG", size=(4000, 3000))), side=ANALYSIS_SIDE)
    assert image.mode == "RGB"
    assert image.size == (480, 360)
    assert max(image.size) == ANALYSIS_SIDE  # then reduced to the side, keeping the aspect


def test_a_large_jpeg_is_drafted_before_decoding(monkeypatch):
    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft",
                        lambda self, mode, size: drafts.append(size) or real_draft(self, mode, size))
    image = decode_upload(upload("big.jpg", image_bytes("JPEG", size=(3000, 2600))), side=FULL_SIDE)
    assert drafts[0] == (FULL_SIDE, FULL_SIDE) and image.size == (FULL_SIDE, 1040)


def test_a_small_png_within_both_budgets_decodes_in_full():
    image = decode_upload(upload("small.png", image_bytes("PNG", size=(300, 200))))
    assert image.size == (300, 200) and image.mode == "RGB"


def test_pillow_refuses_past_the_budget_in_every_other_decode_too():
    # The ML side decodes through Pillow alone; main.apps gives Pillow the same budget.
    assert Image.MAX_IMAGE_PIXELS == django_settings.MAX_IMAGE_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(png_claiming(10_000, 6_000)))
