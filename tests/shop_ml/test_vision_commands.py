"""Photo-search glue: the commands and the facade, with a tiny random encoder set in settings."""
import io
import json

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from main.selectors import purchasable_in_order
from ml.artifacts import current_folder
from ml.vision.data import split_of
from ml.vision.preprocess import Preprocess
from shop_ml import facade
from shop_ml.management import image_search as glue
from tests.factories import ProductFactory
from tests.tiny_cnn import TinyCNN
from tests.ml.test_vision import tiny_onnx

pytestmark = pytest.mark.django_db

COLOURS = [(200, 30, 30), (30, 30, 200), (30, 160, 30), (230, 200, 20), (20, 20, 20),
           (140, 60, 160), (250, 130, 20), (120, 120, 120)]
TYPES = ["Shirts", "Jeans", "Watches"]


def jpeg(colour, seed=0):
    rng = np.random.default_rng(seed)
    image = np.full((40, 30, 3), 255, dtype=np.int16)
    image[10:30, 7:23] = colour
    image += rng.integers(-10, 10, image.shape)
    buffer = io.BytesIO()
    Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def val_and_train_skus(n_val, n_train):
    val, train, i = [], [], 500000
    while len(val) < n_val or len(train) < n_train:
        sku = str(i)
        (val if split_of(sku) == "val" else train).append(sku)
        i += 1
    return val[:n_val] + train[:n_train]


@pytest.fixture
def tiny_encoder(settings, tmp_path):
    path = tiny_onnx(tmp_path / "tiny.onnx", classes=TYPES, spec=Preprocess(height=32, width=24))
    settings.IMAGE_ENCODER = str(path)
    settings.IMAGE_COLOUR_WEIGHT = 0.5
    facade.reload()
    yield path
    facade.reload()


@pytest.fixture
def products(tiny_encoder):
    skus = val_and_train_skus(2, 6)
    made = []
    for i, (sku, colour) in enumerate(zip(skus, COLOURS)):
        product = ProductFactory(sku=sku, article_type=TYPES[i % 3], base_colour=str(colour),
                                 stock=0 if i == 6 else 5, is_active=i != 7)
        product.image.save(f"{sku}.jpg", ContentFile(jpeg(colour, seed=i)))
        made.append(product)
    return made


def query_file(tmp_path, colour, seed=0, name="query.jpg"):
    path = tmp_path / name
    path.write_bytes(jpeg(colour, seed=seed))
    return str(path)


def run_similar_images(*args):
    out = io.StringIO()
    call_command("similar_images", *args, stdout=out, stderr=io.StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_similar_images_builds_the_index_when_missing_and_keeps_the_contract(products, tmp_path):
    first = query_file(tmp_path, COLOURS[0], seed=0, name="a.jpg")
    sold_out = query_file(tmp_path, COLOURS[6], seed=6, name="b.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    lines = run_similar_images(first, sold_out, str(broken), "--k", "3")
    assert [line["query"] for line in lines] == [first, sold_out, str(broken)]
    assert lines[0]["results"][0]["sku"] == products[0].sku
    assert all(set(r) == {"sku", "score"} for line in lines[:2] for r in line["results"])
    assert all(len(line["results"]) == 3 for line in lines[:2])
    hidden = {products[6].sku, products[7].sku}     # sold out, inactive
    assert not hidden & {r["sku"] for line in lines for r in line["results"]}
    assert lines[2]["results"] == [] and "error" in lines[2]


def test_similar_images_rejects_bad_k(products, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        run_similar_images(query_file(tmp_path, COLOURS[0]), "--k", "0")


def test_build_image_index_is_resumable_and_writes_a_card(products, settings):
    out = io.StringIO()
    call_command("build_image_index", "--no-progress", stdout=out)
    assert "8 photos embedded" in out.getvalue()
    card = json.loads(next((settings.MODELS_DIR / "image-embeddings").glob("*/card.json")).read_text())
    assert card["count"] == 8 and card["encoder"]["kind"] == "tiny"
    assert card["encoder"]["colour_weight"] == 0.5


def test_facade_search_predict_and_add_without_rebuild(products, tmp_path):
    glue.build_index(progress=False)
    results = facade.similar_to_image(query_file(tmp_path, COLOURS[1], seed=1), k=3)
    assert results[0][0] == products[1].sku
    # Rankings are unfiltered; the one purchasable rule is the caller's selector.
    ranked = [s for s, _ in facade.similar_to_image(query_file(tmp_path, COLOURS[6], seed=6), k=8)]
    assert ranked[0] == products[6].sku
    unavailable = {products[6].sku, products[7].sku}   # sold out, inactive
    assert unavailable <= set(ranked)
    assert [p.sku for p in purchasable_in_order(ranked)] == [s for s in ranked if s not in unavailable]
    raw = [s for s, _ in facade.visual_neighbours(products[0].sku, 7)]
    assert products[0].sku not in raw and len(raw) == 7

    top = facade.predict_article_type_from_image(query_file(tmp_path, COLOURS[0]))
    assert len(top) == 3 and {t for t, _ in top} <= set(TYPES)

    new = ProductFactory(sku="NEW-1", stock=3)
    new.image.save("new.jpg", ContentFile(jpeg((10, 240, 240), seed=42)))
    assert facade.index_product(new) is True
    found = facade.similar_to_image(query_file(tmp_path, (10, 240, 240), seed=42), k=1)
    assert found[0][0] == "NEW-1"
    assert facade.visual_search_status()["image-embeddings"]["count"] == 9
    facade.reload()   # a fresh process sees the added product too
    assert facade.similar_to_image(query_file(tmp_path, (10, 240, 240), seed=42), k=1)[0][0] == "NEW-1"
    assert facade.index_product(ProductFactory(sku="NO-PHOTO")) is False


def test_a_seller_relabelling_a_product_relabels_its_photo_in_the_index(
        products, django_capture_on_commit_callbacks):
    from main.services import update_product

    glue.build_index(progress=False)
    product = products[2]
    labels = lambda: facade._image_search.get().labels.to_json()  # noqa: E731
    assert labels()["baseColour"][product.sku] == product.base_colour != "Maroon"
    with django_capture_on_commit_callbacks(execute=True):   # the index task runs eagerly
        update_product(product, {"base_colour": "Maroon", "article_type": "Kurtis"})
    assert labels()["baseColour"][product.sku] == "Maroon"
    assert labels()["articleType"][product.sku] == "Kurtis"
    facade.reload()   # a process that loads the index later reads the new labels too
    assert labels()["baseColour"][product.sku] == "Maroon"
    assert facade.visual_search_status()["image-embeddings"]["count"] == len(products)


def test_a_photo_another_process_indexed_is_found_by_every_worker(products, tmp_path, monkeypatch):
    """The Celery worker embeds a seller's new photo; a web worker that loaded the index
    before finds it without a reload."""
    from ml.vision.search import ImageSearch

    glue.build_index(progress=False)
    query = query_file(tmp_path, (10, 240, 240), seed=42)
    assert facade.similar_to_image(query, k=1)[0][0] != "CELERY-1"   # loaded, without it
    celery_worker = ImageSearch.load(facade.models_dir())
    celery_worker.add("CELERY-1", jpeg((10, 240, 240), seed=42))
    monkeypatch.setattr(facade, "ADDED_PHOTOS_CHECK_SECONDS", 0.0)
    assert facade.similar_to_image(query, k=1)[0][0] == "CELERY-1"
    assert facade.visual_search_status()["image-embeddings"]["count"] == 9
    # A rewritten file (the product's new photo) replaces the vector, never duplicates it.
    celery_worker.add("CELERY-1", jpeg((240, 240, 10), seed=7))
    assert facade.similar_to_image(query_file(tmp_path, (240, 240, 10), seed=7), k=1)[0][0] == "CELERY-1"
    assert facade.visual_search_status()["image-embeddings"]["count"] == 9


def test_facade_never_raises_on_missing_or_corrupt_artifacts(tiny_encoder, settings, tmp_path, caplog):
    photo = query_file(tmp_path, COLOURS[0])
    assert facade.similar_to_image(photo, k=3) == []
    assert facade.visual_neighbours("123", k=3) == []
    status = facade.visual_search_status()
    assert status["image-embeddings"]["loaded"] is False and "error" in status["image-embeddings"]
    # The classifier still answers from the configured encoder.
    assert len(facade.predict_article_type_from_image(photo)) == 3
    assert facade.predict_article_type_from_image(b"not an image") == []

    folder = settings.MODELS_DIR / "image-embeddings" / "v1"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text("{broken")
    (settings.MODELS_DIR / "image-embeddings" / "CURRENT").write_text("v1\n")
    facade.reload()
    assert facade.similar_to_image(photo, k=3) == []
    assert facade.index_product(ProductFactory(sku="X")) is False


def test_evaluate_images_reports_precision_on_the_held_out_split(products, settings):
    glue.build_index(progress=False)
    report = glue.evaluate(k=3)
    saved = json.loads((settings.MODELS_DIR / "reports" / "images.json").read_text())
    assert saved["queries"] == report["queries"] == 2
    assert set(saved["metrics"]) == {"p@3 articleType", "p@3 articleType+baseColour", "p@3 gender"}
    assert all(0 <= v <= 1 for v in saved["metrics"].values())


@pytest.mark.usefixtures("tiny_architecture")
def test_train_encoder_saves_an_artifact_that_the_index_build_then_uses(settings, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    lines = ["id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,"
             "productDisplayName"]
    for i, sku in enumerate(val_and_train_skus(3, 12)):
        (images / f"{sku}.jpg").write_bytes(jpeg(COLOURS[i % 3], seed=i))
        lines.append(f"{sku},Men,Apparel,Topwear,{TYPES[i % 3]},Red,Summer,2012,Casual,Item {i}")
    styles = tmp_path / "styles.csv"
    styles.write_text("\n".join(lines) + "\n")
    folder = glue.train_encoder(styles=styles, images=images, epochs=1, progress=False,
                                network_factory=lambda n: TinyCNN(num_classes=n))
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == "image-encoder" and card["data"]["train_products"] == 12
    assert "val 180x240 queries p@10 articleType" in card["metrics"]
    assert {"encoder.pth", "encoder.onnx"} <= {p.name for p in folder.iterdir()}
    settings.IMAGE_ENCODER = ""
    assert facade.encoder_file() == folder / "encoder.onnx"
    glue.build_index(progress=False)
    built = json.loads(next((settings.MODELS_DIR / "image-embeddings").glob("*/card.json")).read_text())
    assert built["encoder"]["kind"] == "tiny-articletype"


def test_an_index_missing_new_photos_or_built_for_torch_is_rebuilt_by_make_run(products, settings,
                                                                               tmp_path):
    assert glue.is_stale()                       # nothing built yet
    glue.build_index(progress=False)
    assert not glue.is_stale()
    out = io.StringIO()
    call_command("train_models", "--only", "image-embeddings", "--if-missing", stdout=out)
    assert "already trained, skipped" in out.getvalue()

    extra = ProductFactory(sku="LATE-PHOTO")     # the next import gave one more product a photo
    extra.image.save("late.jpg", ContentFile(jpeg((10, 240, 240), seed=7)))
    assert glue.is_stale()
    call_command("train_models", "--only", "image-embeddings", "--if-missing", stdout=io.StringIO())
    assert not glue.is_stale()
    assert facade.visual_search_status()["image-embeddings"]["count"] == 9

    # So is an index built before the ranking's labels, or by another encoder than the
    # one now shipped or configured.
    folder = current_folder(settings.MODELS_DIR, "image-embeddings")
    labels = (folder / "labels.json").read_bytes()
    (folder / "labels.json").unlink()
    assert glue.is_stale()
    (folder / "labels.json").write_bytes(labels)
    assert not glue.is_stale()
    settings.IMAGE_ENCODER = str(tiny_onnx(tmp_path / "other.onnx", classes=TYPES, seed=1,
                                           spec=Preprocess(height=32, width=24)))
    assert glue.is_stale()
    call_command("train_models", "--only", "image-embeddings", "--if-missing", stdout=io.StringIO())
    assert not glue.is_stale()

    # An index built before the ONNX encoder (a torch checkpoint inside) is stale too.
    folder = current_folder(settings.MODELS_DIR, "image-embeddings")
    card = json.loads((folder / "card.json").read_text())
    card["encoder"] = {**card["encoder"], "file": None, "checkpoint": "encoder.pth"}
    (folder / "card.json").write_text(json.dumps(card))
    assert glue.is_stale()
