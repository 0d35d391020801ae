import re

import pytest
from playwright.sync_api import expect

from search import selectors
from tests.e2e.conftest import import_slice, train_on_slice

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def categorizer(tmp_path_factory, django_db_setup, django_db_blocker):
    """Search needs only the categorizer: trained once on the catalog slice."""
    return train_on_slice(tmp_path_factory, django_db_blocker, "search-models",
                          [("train_models", {"only": "categorizer", "verbosity": 0})])


@pytest.fixture
def shop(transactional_db, settings, categorizer):
    settings.MODELS_DIR = categorizer
    import_slice()
    selectors.forget_vocabulary()  # this catalog, not an earlier journey's
    return settings


def test_suggestions_come_as_the_shopper_types_and_the_keyboard_reaches_them(page, shop, screenshot):
    page.goto("/")
    box = page.get_by_role("combobox", name="Search products")
    box.press_sequentially("tshi", delay=40)
    suggestions = page.get_by_role("listbox")
    expect(suggestions).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    first = suggestions.get_by_role("option").first
    expect(first).to_contain_text("Tshirts")
    screenshot("search-01-suggestions")

    # Arrow keys walk the list and back to the box; Escape closes it.
    box.press("ArrowDown")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    box.press("Escape")
    expect(suggestions).to_have_count(0)
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("r", delay=40)
    expect(page.get_by_role("listbox")).to_be_visible()
    box.press("ArrowDown")
    target = page.get_by_role("listbox").get_by_role("option").first.get_attribute("href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def test_a_misspelt_search_is_corrected_and_understood_filters_can_be_removed(page, shop, screenshot):
    page.goto("/")
    box = page.get_by_role("combobox", name="Search products")
    box.fill("tshrit for men")
    box.press("Enter")
    expect(page.locator("#spelling")).to_contain_text("Showing results for tshirt for men")
    chips = page.get_by_role("list", name="What we understood from your search")
    expect(chips.get_by_role("link")).to_have_count(2)
    screenshot("search-02-corrected-and-understood")

    chips.get_by_role("link", name=re.compile("gender")).click()
    expect(page).to_have_url(re.compile(r"ignore=gender"))
    expect(page.get_by_role("list", name="What we understood from your search").get_by_role("link")).to_have_count(1)
    page.get_by_role("link", name="tshrit for men").click()
    expect(page.locator("#spelling")).to_have_count(0)
