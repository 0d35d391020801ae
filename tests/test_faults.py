"""Model artifacts that vanish or rot while the shop is serving: pages still render,
one log line says why, and /healthz reports it."""
import logging
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from main.models import Product
from ml.artifacts import current_folder
from shop_ml import facade
from tests.factories import SellerFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def serving(db, settings):
    call_command("import_catalog", styles=str(ROOT / "data" / "styles.csv"), limit=400, verbosity=0)
    call_command("train_models", "--only", "categorizer,recommender-content", verbosity=0,
                 stdout=open("/dev/null", "w"))
    product = Product.objects.filter(gender="Men", article_type="Tshirts").first()
    return product


def similar_section(response):
    return [s for s in response.context["recommendation_sections"] if s.title == "Similar items"]


def test_a_corrupt_recommender_degrades_to_no_section_with_one_log_line(client, serving, settings, caplog):
    assert similar_section(client.get(serving.get_absolute_url()))  # served while healthy

    model_file = current_folder(settings.MODELS_DIR, "recommender-content") / "model.joblib"
    model_file.write_bytes(b"\x80\x04 this is not a pickle")
    facade.reload()  # what a worker restart (or a new version check) does
    with caplog.at_level(logging.ERROR, logger="ml"):
        first = client.get(serving.get_absolute_url())
        second = client.get(serving.get_absolute_url())
    assert first.status_code == second.status_code == 200
    assert not similar_section(first)
    assert caplog.text.count("ml artifact recommender-content unavailable") == 1

    health = client.get(reverse("healthz")).json()
    assert health["status"] == "ok"  # the shop itself is up
    assert health["models"]["recommender-content"]["loaded"] is False
    assert "cannot load" in health["models"]["recommender-content"]["error"]


def test_a_deleted_categorizer_leaves_the_seller_form_working(client, serving, settings, caplog):
    seller = SellerFactory(user=UserFactory(username="maker"))
    client.force_login(seller.user)
    shutil.rmtree(settings.MODELS_DIR / "categorizer-default")
    facade.reload()
    with caplog.at_level(logging.ERROR, logger="ml"):
        answer = client.post(reverse("api:categorize"), {"name": "Blue Denim Jeans for Men"},
                             content_type="application/json")
    assert answer.status_code == 200 and answer.json()["available"] is False
    assert "categorizer-default unavailable" in caplog.text
    assert client.get(reverse("seller_accounts:product_create")).status_code == 200
    health = client.get(reverse("healthz")).json()
    assert health["models"]["categorizer-default"]["loaded"] is False
