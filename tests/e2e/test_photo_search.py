import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import real_photo

pytestmark = pytest.mark.browser


def test_search_by_photo_finds_look_alikes(page, shop, screenshot):
    photo = real_photo()
    page.goto("/search/photo/")
    page.get_by_label(re.compile("photo", re.I)).first.set_input_files(str(photo))
    page.get_by_role("button", name="Find similar products").click()
    results = page.locator("article.product-card")
    expect(results.first).to_be_visible(timeout=30_000)
    assert results.count() >= 6
    screenshot("20-photo-search")


def test_a_file_that_is_not_a_photo_is_refused(page, shop, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a photo")
    page.goto("/search/photo/")
    page.get_by_label(re.compile("photo", re.I)).first.set_input_files(str(fake))
    page.get_by_role("button", name="Find similar products").click()
    expect(page.get_by_text(re.compile("not an image", re.I))).to_be_visible()
