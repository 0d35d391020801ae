"""The categorization commands and facade, through Django, on a temporary MODELS_DIR.

The catalog is a few hundred real rows of data/styles.csv saved as products,
so the models train in seconds.
"""
import json
import logging
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from main.models import Product
from ml.artifacts import current_folder, current_version, load_card
from ml.categorization.taxonomy import FIELDS
from ml.styles_csv import load_rows
from shop_ml import facade
from shop_ml.management import categorization
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db

CSV = Path(__file__).resolve().parents[2] / "data" / "styles.csv"
CATALOG_ROWS = 1500
KEYS = ["name", *FIELDS, "confidence"]
NAMES = ["Blue Denim Jeans for Men", "", "Lakme Red Lipstick", "x" * 10_000,
         "Männer Blaue Jeans 男士 🙂", "!!!"]


@pytest.fixture(autouse=True)
def fresh_facade():
    facade.reload()
    yield
    facade.reload()


@pytest.fixture(scope="module")
def csv_rows():
    rows, _ = load_rows(CSV)
    return rows[:CATALOG_ROWS]


@pytest.fixture
def catalog(csv_rows):
    seller = SellerFactory()
    Product.objects.bulk_create([
        Product(seller=seller, sku=r["id"], name=r["productDisplayName"], price=Decimal("999"),
                gender=r["gender"], master_category=r["masterCategory"],
                sub_category=r["subCategory"], article_type=r["articleType"],
                base_colour=r["baseColour"], season=r["season"], year=r["year"], usage=r["usage"])
        for r in csv_rows])


@pytest.fixture
def small_csv(tmp_path, csv_rows):
    path = tmp_path / "styles.csv"
    lines = CSV.read_text(encoding="utf-8").splitlines()[:CATALOG_ROWS + 1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def categorize(names, *args):
    out = StringIO()
    call_command("categorize", *args, stdin=StringIO("".join(n + "\n" for n in names)), stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def assert_contract(results, names):
    assert [r["name"] for r in results] == names
    for result in results:
        assert list(result) == KEYS
        assert all(isinstance(result[f], str) for f in FIELDS)
        assert set(result["confidence"]) == set(FIELDS)
        assert all(0.0 <= p <= 1.0 for p in result["confidence"].values())


# -- categorize ---------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["default", "cascade"])
def test_missing_artifact_is_trained_then_every_line_is_answered_in_order(catalog, settings, model):
    assert current_version(settings.MODELS_DIR, f"categorizer-{model}") is None
    results = categorize(NAMES, "--model", model)
    assert_contract(results, NAMES)
    assert current_version(settings.MODELS_DIR, f"categorizer-{model}") is not None
    assert (results[0]["subCategory"], results[0]["articleType"]) == ("Bottomwear", "Jeans")


def test_the_default_model_is_used_without_an_option(catalog, settings):
    categorize(["Puma Men Black Tshirt"])
    assert current_version(settings.MODELS_DIR, "categorizer-default") is not None
    assert current_version(settings.MODELS_DIR, "categorizer-cascade") is None


def test_no_input_no_output(catalog):
    assert categorize([]) == []


def test_windows_line_endings_and_a_last_line_without_newline(catalog):
    out = StringIO()
    call_command("categorize", stdin=StringIO("Men Blue Jeans\r\nLakme Red Lipstick"), stdout=out)
    names = [json.loads(line)["name"] for line in out.getvalue().splitlines()]
    assert names == ["Men Blue Jeans", "Lakme Red Lipstick"]


def test_corrupt_artifact_is_logged_and_replaced_without_crash(catalog, settings, caplog):
    categorize(["Men Blue Jeans"], "--model", "cascade")
    broken = current_folder(settings.MODELS_DIR, "categorizer-cascade")
    (broken / "model.joblib").write_bytes(b"\x00garbage")
    with caplog.at_level(logging.ERROR, logger="ml"):
        results = categorize(NAMES, "--model", "cascade")
    assert "categorizer cascade unusable" in caplog.text
    assert_contract(results, NAMES)
    assert current_folder(settings.MODELS_DIR, "categorizer-cascade") != broken


def test_an_empty_database_trains_from_the_catalog_csv(small_csv, settings, monkeypatch):
    monkeypatch.setattr(categorization, "DEFAULT_STYLES", small_csv)
    results = categorize(["Blue Denim Jeans for Men"], "--model", "cascade")
    assert results[0]["articleType"] == "Jeans"
    card = load_card(current_folder(settings.MODELS_DIR, "categorizer-cascade"))
    assert str(small_csv) in card["data"]["source"]


# -- train_models ---------------------------------------------------------------------------
def test_train_models_writes_versioned_artifacts_with_cards(catalog, settings):
    out = StringIO()
    call_command("train_models", "--only", "categorizer", stdout=out)
    for name in ("categorizer-cascade", "categorizer-default"):
        card = load_card(current_folder(settings.MODELS_DIR, name))
        assert card["data"]["rows"] == CATALOG_ROWS
        assert card["data"]["source"].startswith("database")
        assert 0.5 < card["metrics"]["validation"]["articleType"]["accuracy"] <= 1.0
        assert "macro_f1" in card["metrics"]["validation"]["gender"]
        assert card["libraries"]["scikit-learn"]
        assert card["training_seconds"] > 0
        assert "Jeans" in card["classes"]["articleType"]
    assert "Saved categorizer-default" in out.getvalue()


def test_sellers_corrections_in_the_database_are_learnt(catalog, settings):
    Product.objects.filter(article_type="Jeans").update(article_type="Denims")
    call_command("train_models", "--only", "categorizer", stdout=StringIO())
    assert categorize(["Blue Denim Jeans for Men"])[0]["articleType"] == "Denims"


def test_train_models_rejects_unknown_steps():
    with pytest.raises(CommandError, match="unknown step"):
        call_command("train_models", "--only", "categorizer,nonsense", stdout=StringIO())


def test_train_models_lists_its_steps():
    out = StringIO()
    call_command("train_models", "--list", stdout=out)
    assert "categorizer:" in out.getvalue()


# -- evaluate_models ---------------------------------------------------------------------------
def test_evaluate_models_writes_the_report_and_confusion_figures(catalog, settings):
    out = StringIO()
    call_command("evaluate_models", "--categorization", stdout=out)
    folder = settings.MODELS_DIR / "reports"
    report = json.loads((folder / "categorization.json").read_text())
    for kind in ("cascade", "default"):
        levels = report["levels"][kind]
        assert {"gender", "masterCategory", "subCategory", "articleType"} <= set(levels)
        assert 0.0 <= levels["articleType"]["macro_f1"] <= 1.0
        per_class = report["per_class"][kind]["articleType"]
        assert {"label", "precision", "recall", "f1", "support"} <= set(per_class[0])
        png = folder / report["figures"][kind]
        assert png.read_bytes().startswith(b"\x89PNG")
    assert set(report["comparison"]["articleType"]) == {"cascade", "default"}


# -- facade ------------------------------------------------------------------------------------
def test_facade_without_artifacts_logs_once_and_suggests_nothing(caplog):
    with caplog.at_level(logging.ERROR, logger="ml"):
        assert facade.categorize(["Men Blue Jeans"]) == []
        assert facade.categorize(["Men Blue Jeans"]) == []
    assert caplog.text.count("categorizer-default unavailable") == 1
    status = facade.artifact_status()
    assert status["categorizer-default"]["loaded"] is False
    assert "categorizer-default" in facade.artifact_status()


def test_facade_serves_trained_models_and_reloads(catalog, settings):
    call_command("train_models", "--only", "categorizer", stdout=StringIO())
    facade.reload()
    for model in ("default", "cascade"):
        results = facade.categorize(["Blue Denim Jeans for Men", ""], model=model)
        assert [r["articleType"] for r in results][:1] == ["Jeans"]
        assert len(results[0]["candidates"]) == 3
    assert facade.artifact_status()["categorizer-default"]["loaded"] is True
    assert facade.categorize([]) == []
    assert facade.categorize(["x"], model="nonsense") == []


def test_facade_with_a_corrupt_artifact_never_raises(catalog, settings, caplog):
    call_command("train_models", "--only", "categorizer", stdout=StringIO())
    (current_folder(settings.MODELS_DIR, "categorizer-default") / "model.joblib").write_text("junk")
    facade.reload()
    with caplog.at_level(logging.ERROR, logger="ml"):
        assert facade.categorize(["Men Blue Jeans"]) == []
    assert "categorizer-default" in caplog.text
    assert facade.categorize(["Men Blue Jeans"], model="cascade")[0]["articleType"] == "Jeans"
