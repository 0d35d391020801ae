"""The fused categorizer through Django: the train_models step, `categorize --with-photos`,
`find_mislabels`, `evaluate_models --fusion` and the facade, on a temporary MODELS_DIR
with a tiny encoder (tests/fusion_world.py)."""
import json
import shutil
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from main.models import Product
from ml.artifacts import current_folder, current_version, load_card
from ml.categorization import training as name_training
from ml.categorization.taxonomy import FIELDS
from ml.fusion import evidence
from shop_ml import facade
from shop_ml.management import fusion
from tests.factories import SellerFactory
from tests.fusion_world import fit_fused, tiny_encoder_file, world_rows

pytestmark = pytest.mark.django_db

KEYS = ["name", *FIELDS, "confidence"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A models folder with the default categorizer (trained on the name train split,
    so the fused step reuses it) and a fitted fused categorizer."""
    folder = tmp_path_factory.mktemp("fused-commands")
    rows = world_rows()
    encoder = tiny_encoder_file(folder / "tiny.onnx")
    models = folder / "models"
    name_model, *_ = fit_fused(models, rows, encoder)
    name_training.save_model(models, name_model, {
        "model": "default", "data": {"served_model_trained_on": "train rows"}})
    return {"rows": rows, "encoder": encoder, "models": models}


@pytest.fixture
def catalog(trained):
    seller = SellerFactory()
    Product.objects.bulk_create([
        Product(seller=seller, sku=r["id"], name=r["productDisplayName"], price=Decimal(999),
                gender=r["gender"], master_category=r["masterCategory"],
                sub_category=r["subCategory"], article_type=r["articleType"],
                base_colour=r["baseColour"], season=r["season"], year=r["year"] or None,
                usage=r["usage"])
        for r in trained["rows"]])
    return trained["rows"]


@pytest.fixture
def served(trained, settings):
    """MODELS_DIR holds the trained models and the tiny encoder is the served one."""
    shutil.copytree(trained["models"], settings.MODELS_DIR)
    settings.IMAGE_ENCODER = str(trained["encoder"])
    facade.reload()
    return trained


def with_photos(lines):
    out, err = StringIO(), StringIO()
    call_command("categorize", "--with-photos", stdin=StringIO("".join(l + "\n" for l in lines)),
                 stdout=out, stderr=err)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


# -- categorize --with-photos -------------------------------------------------------------------
def test_each_line_is_answered_in_order_with_todays_fields(served, catalog):
    photo = catalog[0]["photo"]
    lines = [json.dumps({"name": catalog[0]["productDisplayName"], "photo": photo}),
             json.dumps({"photo": photo}), json.dumps({"name": "Men Blue Jeans"}), "{}",
             json.dumps({"name": "Männer 男士 🙂", "photo": None})]
    results, err = with_photos(lines)
    assert len(results) == len(lines) and err == ""
    for result in results:
        assert list(result) == KEYS
        assert all(isinstance(result[f], str) for f in FIELDS)
        assert all(0.0 <= p <= 1.0 for p in result["confidence"].values())
    assert [r["name"] for r in results] == [catalog[0]["productDisplayName"], "", "Men Blue Jeans",
                                            "", "Männer 男士 🙂"]
    assert results[1]["articleType"]  # a photo alone is answered from the photo
    plain = StringIO()
    call_command("categorize", stdin=StringIO("Men Blue Jeans\n"), stdout=plain)
    assert json.loads(plain.getvalue()) == results[2]


def test_an_unreadable_photo_falls_back_to_the_name_with_a_warning(served, catalog, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    lines = [json.dumps({"name": "Men Blue Jeans", "photo": str(broken)}),
             json.dumps({"name": "Men Blue Jeans", "photo": str(tmp_path / "missing.jpg")}),
             json.dumps({"name": "Men Blue Jeans", "photo": str(tmp_path)})]
    results, err = with_photos(lines)
    plain = StringIO()
    call_command("categorize", stdin=StringIO("Men Blue Jeans\n"), stdout=plain)
    assert results == [json.loads(plain.getvalue())] * 3
    assert err.count("warning: line") == 3 and "answered from the name" in err
    assert "line 1" in err and "line 3" in err


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "line 1: not JSON"),
    ("[1, 2]", "line 1: expected a JSON object"),
    ('"a string"', "line 1: expected a JSON object"),
    ('{"name": 5}', 'line 1: "name" must be a string'),
    ('{"photo": ["a.jpg"]}', 'line 1: "photo" must be a string'),
    ('{"name": "x", "colour": "red"}', "line 1: unknown key(s) 'colour'"),
    ('{"photo": "a\\u0000b.jpg"}', 'line 1: "photo" is not a usable path'),
    ('{"name": "x"', "line 1: not JSON"),
])
def test_a_bad_line_gets_a_clear_error_line_and_the_run_goes_on(served, catalog, line, message):
    results, _ = with_photos([line, json.dumps({"name": "Men Blue Jeans"})])
    assert len(results) == 2
    assert list(results[0]) == ["error"] and results[0]["error"].startswith(message)
    assert results[1]["articleType"]


def test_without_a_fused_model_names_are_answered_and_photos_warned(trained, catalog, settings):
    shutil.copytree(trained["models"], settings.MODELS_DIR)
    shutil.rmtree(settings.MODELS_DIR / "categorizer-fused")
    results, err = with_photos([json.dumps({"name": "Men Blue Jeans", "photo": catalog[0]["photo"]})])
    assert results[0]["name"] == "Men Blue Jeans" and list(results[0]) == KEYS
    assert "no fused categorizer is trained" in err


# -- the train_models step ----------------------------------------------------------------------
def test_the_step_fits_on_the_served_encoder_and_goes_stale_when_it_changes(served, catalog, settings,
                                                                            tmp_path):
    shutil.rmtree(settings.MODELS_DIR / "categorizer-fused")
    assert fusion.is_stale()
    out = StringIO()
    call_command("train_models", "--only", "categorizer-fused", stdout=out)
    card = load_card(current_folder(settings.MODELS_DIR, "categorizer-fused"))
    assert card["data"]["fusion_rows"] == 30 and card["name_model"].startswith("served version")
    assert set(card["metrics"]["fusion_split"]) == {"name", "photo", "fused"}
    assert (settings.MODELS_DIR / "reports" / "fusion.json").is_file()
    assert not fusion.is_stale()
    call_command("train_models", "--only", "categorizer-fused", "--if-missing", stdout=out)
    assert "already trained, skipped" in out.getvalue()
    settings.IMAGE_ENCODER = str(tiny_encoder_file(tmp_path / "new.onnx", classes=("a", "b")))
    assert fusion.is_stale()
    call_command("train_models", "--only", "categorizer-fused", "--if-missing", stdout=out)
    assert not fusion.is_stale()
    assert facade.fused_categorizer().encoder.classes == ["a", "b"]


def test_after_the_photo_index_the_fused_step_embeds_no_photo_again(served, catalog, settings,
                                                                    monkeypatch):
    """make setup: `image-embeddings` sends each product photo through the encoder and
    fills the evidence cache; `categorizer-fused` then reads every photo from it."""
    media = Path(settings.MEDIA_ROOT) / "products"
    media.mkdir(parents=True)
    for row in catalog:
        shutil.copyfile(row["photo"], media / f"{row['id']}.jpg")
        Product.objects.filter(sku=row["id"]).update(image=f"products/{row['id']}.jpg")
    shutil.rmtree(settings.MODELS_DIR / "categorizer-fused")
    call_command("train_models", "--only", "image-embeddings", stdout=StringIO())

    def no_second_pass(*args):
        raise AssertionError("a photo went through the encoder twice")
    monkeypatch.setattr(evidence, "evidence_of_batch", no_second_pass)
    out = StringIO()
    call_command("train_models", "--only", "categorizer-fused", stdout=out)
    card = load_card(current_folder(settings.MODELS_DIR, "categorizer-fused"))
    assert card["data"]["photo_rows"] == len(catalog) and "unreadable" not in out.getvalue()


def test_evaluate_models_reports_name_photo_and_fused(served, catalog, settings):
    out = StringIO()
    call_command("evaluate_models", "--fusion", stdout=out)
    report = json.loads((settings.MODELS_DIR / "reports" / "fusion.json").read_text())
    assert set(report["accuracy"]) == {"name", "photo", "fused"}
    assert report["targets"]["photo"]["baseColour"] == 0.75
    assert "[fused] fused" in out.getvalue()


def test_evaluate_models_without_a_fused_model_says_so(catalog, settings):
    out = StringIO()
    call_command("evaluate_models", "--fusion", stdout=out)
    assert "no fused model to evaluate" in out.getvalue()


# -- find_mislabels -----------------------------------------------------------------------------
def test_find_mislabels_writes_a_ranked_report(served, catalog, settings):
    out = StringIO()
    call_command("find_mislabels", "--threshold", "0.5", stdout=out)
    report = json.loads((settings.MODELS_DIR / "reports" / "mislabels.json").read_text())
    assert report["products"] == len(catalog) and report["with_photo"] == len(catalog)
    assert report["count"] == len(report["items"])
    confidences = [item["confidence"] for item in report["items"]]
    assert confidences == sorted(confidences, reverse=True)
    for item in report["items"]:
        assert item["stored"] != item["suggested"] and min(
            item["name_probability"], item["photo_probability"]) >= 0.5
    assert "likely mislabels among" in out.getvalue()


@pytest.mark.parametrize("threshold", ["2", "0.1", "nan", "abc"])
def test_find_mislabels_refuses_a_threshold_that_is_not_a_probability(served, threshold):
    with pytest.raises(CommandError):
        call_command("find_mislabels", "--threshold", threshold)


def test_find_mislabels_without_models_is_a_command_error(catalog):
    with pytest.raises(CommandError, match="train_models"):
        call_command("find_mislabels")


# -- the facade ------------------------------------------------------------------------------------
def test_the_facade_answers_listings_and_says_which_source(served, catalog):
    photo = catalog[0]["photo"]
    results = facade.categorize_listings([("Men Blue Jeans", photo), ("", photo), ("Men Blue Jeans", None),
                                          ("Men Blue Jeans", b"garbage")])
    assert [r["source"] for r in results] == ["fused", "photo", "name", "name"]
    assert results[3]["photo_error"]
    assert current_version(facade.models_dir(), "categorizer-fused") is not None


def test_the_facade_without_a_name_model_answers_nothing(settings):
    assert facade.categorize_listings([("Men Blue Jeans", None)]) == []


def test_the_step_is_skipped_without_an_image_encoder(catalog, settings, monkeypatch):
    monkeypatch.setattr(facade, "encoder_file", lambda: None)
    out = StringIO()
    call_command("train_models", "--only", "categorizer-fused", stdout=out)
    assert "[fused] skipped: no image encoder" in out.getvalue()
    assert current_version(settings.MODELS_DIR, "categorizer-fused") is None
