"""Browser journeys: Playwright driving Debian's Chromium against the live test server.

The shop is seeded with a slice of the real catalog (and its photos) and with
models trained on it in the test's temporary MODELS_DIR, so every page shows
what a user would see. Screenshots go to test-artifacts/e2e/.
"""
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "e2e"
CATALOG_ROWS = 1500

pytestmark = pytest.mark.browser


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between browser steps are still plain synchronous code. Only
    # while the browser runs, so no other test inherits the switch.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def import_slice():
    call_command("import_catalog", styles=str(ROOT / "data" / "styles.csv"),
                 images=[str(ROOT / "data" / "images"), str(ROOT / "data" / "images_small")],
                 limit=CATALOG_ROWS, verbosity=0)


def train_on_slice(tmp_path_factory, django_db_blocker, name, commands):
    """A MODELS_DIR trained on the catalog slice by `commands` ((name, options) pairs run
    in turn); the database is left empty (skus are stable across imports)."""
    models = tmp_path_factory.mktemp(name)
    with django_db_blocker.unblock(), override_settings(
            MODELS_DIR=models, MEDIA_ROOT=tmp_path_factory.mktemp(f"{name}-media")):
        import_slice()
        for command, options in commands:
            call_command(command, **options, stdout=open(os.devnull, "w"))
        call_command("flush", interactive=False, verbosity=0)
    return models


@pytest.fixture(scope="package")
def trained_models(tmp_path_factory, django_db_setup, django_db_blocker):
    """Every model trained once on the catalog slice, for all journeys."""
    return train_on_slice(tmp_path_factory, django_db_blocker, "e2e-models", [
        ("simulate_shoppers", {"shoppers": 60, "days": 20}), ("train_models", {"verbosity": 0})])


@pytest.fixture
def shop(transactional_db, settings, trained_models):
    """A slice of the real catalog with photos, demo accounts and trained models."""
    settings.MODELS_DIR = trained_models
    import_slice()
    call_command("create_demo_accounts", stdout=open(os.devnull, "w"))
    return settings


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    return take


def real_photo():
    """A real catalog photo of jeans, as a seller would upload it."""
    rows = (ROOT / "data" / "styles.csv").read_text().splitlines()
    for row in rows[1:]:
        sku, article = row.split(",")[0], row.split(",")[4]
        photo = ROOT / "data" / "images" / f"{sku}.jpg"
        if article == "Jeans" and photo.exists():
            return photo
    raise AssertionError("no jeans photo in the shipped catalog")


def sign_in(page, username, password="demo-pass-2026"):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
