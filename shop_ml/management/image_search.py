"""Photo search against the database: build the index, train the encoder, evaluate.

The commands build_image_index, train_image_model and similar_images call
these; `train_models` can run STEPS["image-embeddings"] and `evaluate_models
--images` can call `evaluate`. Everything model-side is plain Python in
ml/vision/ and ml/ann.py; this module only reads products and settings.
"""
import json
import logging
import shutil
import tempfile
from pathlib import Path

from django.utils import timezone

from main.models import Product
from ml.artifacts import ArtifactError, current_folder, library_versions, load_card, save_version
from ml.fusion.evidence import CACHE_DIR, default_workers, encoder_hash
from ml.styles_csv import load_rows
from ml.vision import search as image_search
from ml.vision.data import photo_rows, split_of
from ml.vision.preprocess import ImageError
from ml.vision.runtime import OnnxEncoder
from ml.vision.search import ARTIFACT, ENCODER_FILE, LABELS_FILE, ImageSearch
from shop_ml import facade
from shop_ml.management import say

log = logging.getLogger("ml")

REPORT = Path("reports") / "images.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STYLES = REPO_ROOT / "data" / "styles.csv"
# Best first: the 180x240 photos, then the 60x80 ones (as `make setup` imports them).
DEFAULT_IMAGES = (REPO_ROOT / "data" / "images", REPO_ROOT / "data" / "images_small")



def _product_photo(product):
    """A path if the storage has one, else a lazy opener (remote storages)."""
    try:
        return product.image.path
    except NotImplementedError:
        name, storage = product.image.name, product.image.storage

        def opener():
            with storage.open(name, "rb") as handle:
                return handle.read()
        return opener


def catalog_items():
    """[(sku, photo)] of every product with a photo (inactive ones too: filtering is at query time).

    An empty shop (no products at all) falls back to the shipped photos, keyed
    by their dataset id, which is also the sku the importer gives them.
    """

    products = Product.objects.exclude(image="").order_by("id").only("sku", "image")
    items = [(p.sku, _product_photo(p)) for p in products.iterator(chunk_size=2000)]
    if items or Product.objects.exists():
        return items, "Product table (products with a photo)"
    best = {}
    for folder in reversed(DEFAULT_IMAGES):     # a better folder's photo overwrites
        best.update((p.stem, str(p)) for p in folder.glob("*.jpg"))
    return (sorted(best.items()),
            f"{', '.join(str(d) for d in DEFAULT_IMAGES)} (no products in the database)")


def catalog_labels():
    """{sku: {"articleType": ..., "baseColour": ...}} for the photo index's ranking: the
    Product table, or styles.csv for the shipped photos of an empty shop."""
    names = facade.PHOTO_LABEL_FIELDS
    rows = Product.objects.values_list("sku", *names.values())
    labels = {sku: dict(zip(names, values)) for sku, *values in rows.iterator(chunk_size=5000)}
    if labels:
        return labels
    rows, _ = load_rows(DEFAULT_STYLES)
    return {r["id"]: {field: r[field] for field in names} for r in rows}


def build_index(stdout=None, progress=True, workers=None, **options):
    """train_models step "image-embeddings": embed every product photo, then index them.

    Resumable: an interrupted run keeps its finished chunks and the next run
    embeds only what is left. Embedding runs on ONNX Runtime (no torch), on
    `workers` threads (default: every core). What each photo's forward pass
    gives is kept in the photo evidence cache, which `categorizer-fused` then
    reads instead of embedding the photos again.
    """

    items, source = catalog_items()
    if not items:
        say(stdout, "image-embeddings: no product photos, nothing to index")
        return None
    path = facade.encoder_file()
    if path is None:
        say(stdout, "image-embeddings: no image encoder (data/weights/*.onnx), nothing to index")
        return None
    encoder = OnnxEncoder(path, colour_weight=facade.colour_weight(), threads=1)
    folder = image_search.build(facade.models_dir(), items, encoder, progress=progress,
                                workers=workers or default_workers(),
                                cache_root=facade.models_dir() / CACHE_DIR,
                                extra_card={"data": source}, labels=catalog_labels())
    facade.reload()
    card = load_card(folder)
    say(stdout, f"image-embeddings: {card['count']} photos embedded with {encoder.name} "
                f"(colour weight {encoder.colour_weight}), {card['failed_count']} unreadable, "
                f"{card['backend']} index -> {folder}")
    return folder


def is_stale():
    """Whether the served image index misses photos, or was built by another encoder, an
    older encoder format or before the ranking's labels.

    `train_models --if-missing` rebuilds a stale index, so an existing install
    picks up newly imported photos and a newly shipped encoder on its next `make run`.
    """

    try:
        folder = current_folder(facade.models_dir(), ARTIFACT)
        card = load_card(folder)
    except ArtifactError:
        return True
    if (card.get("encoder") or {}).get("file") != ENCODER_FILE:
        return True
    if not (folder / LABELS_FILE).is_file():
        return True
    path = facade.encoder_file()
    if path is not None and encoder_hash(path) != encoder_hash(folder / ENCODER_FILE):
        return True
    with_photo = Product.objects.exclude(image="").count()
    return with_photo > card.get("count", 0) + card.get("failed_count", 0)


def ensure_index(stdout=None, progress=True):
    """The served ImageSearch, building it first if there is none (or it is unreadable)."""

    try:
        return ImageSearch.load(facade.models_dir())
    except ArtifactError as exc:
        say(stdout, f"image-embeddings: {exc}; building it now")
    build_index(stdout=stdout, progress=progress)
    return ImageSearch.load(facade.models_dir())


def train_encoder(stdout=None, styles=None, images=None, epochs=5, progress=True,
                  network_factory=None, **options):
    """Fine-tune Lite0 on article types (train split) and save it as `image-encoder`:
    the torch checkpoint (for further training) and its ONNX export (what is served)."""
    from ml.vision.train import train  # here: training loads torch (~600 MB), which nothing else here needs

    rows = photo_rows(styles or DEFAULT_STYLES, images or DEFAULT_IMAGES)
    if not rows:
        say(stdout, "image-encoder: no labelled photos found, nothing to train")
        return None
    work = Path(tempfile.mkdtemp(prefix="image-encoder-"))
    try:
        checkpoint = work / "encoder.pth"
        command = f"python manage.py train_image_model --epochs {epochs}"
        card = train(rows, checkpoint, epochs=epochs, progress=progress,
                     network_factory=network_factory, command=command,
                     **{k: v for k, v in options.items()
                        if k in ("batch_size", "lr", "threads", "train_from_block")})

        def write(folder):
            shutil.copyfile(checkpoint, folder / checkpoint.name)
            shutil.copyfile(checkpoint.with_suffix(".onnx"), folder / facade.ENCODER_FILE)
        folder = save_version(facade.models_dir(), facade.ENCODER_ARTIFACT,
                              {k: v for k, v in card.items() if k not in ("name", "created_at")},
                              write)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(stdout, f"image-encoder: {json.dumps(card['metrics'])} -> {folder}")
    return folder


STEPS = {"image-embeddings": build_index}
STALE = {"image-embeddings": is_stale}


def evaluate(stdout=None, k=10, limit=None, **options):
    """evaluate_models --images: precision@k of photo search on the validation split.

    Validation products (sku hash, ml/vision/data.py) are the queries: each
    photo is re-embedded from its file and searched against the served index
    with every validation product excluded, i.e. unseen photos against the
    rest of the catalog. Written to MODELS_DIR/reports/images.json.
    """

    search = ImageSearch.load(facade.models_dir())
    fields = ("sku", "article_type", "base_colour", "gender")
    attributes = {row["sku"]: row for row in Product.objects.values(*fields).iterator()}
    source = "Product table"
    if not attributes:

        rows, _ = load_rows(DEFAULT_STYLES)
        attributes = {r["id"]: {"sku": r["id"], "article_type": r["articleType"],
                                "base_colour": r["baseColour"], "gender": r["gender"]} for r in rows}
        source = str(DEFAULT_STYLES)
    indexed = set(search.index.skus)
    held_out = sorted(s for s in indexed if split_of(s) == "val" and s in attributes)
    if limit:
        held_out = held_out[:limit]
    held_set = set(held_out)
    photos = dict(catalog_items()[0])
    hits = {"articleType": 0, "articleType+baseColour": 0, "gender": 0}
    total = queries = 0
    for sku in held_out:
        try:
            results = search.similar_to_image(photos.get(sku) or search_photo(sku), k=k,
                                              exclude=lambda s: s in held_set)
        except (ImageError, OSError):
            continue
        query = attributes[sku]
        queries += 1
        for found, _ in results:
            other = attributes.get(found)
            if other is None:
                continue
            same_type = other["article_type"] == query["article_type"]
            hits["articleType"] += same_type
            hits["articleType+baseColour"] += same_type and other["base_colour"] == query["base_colour"]
            hits["gender"] += other["gender"] == query["gender"]
        total += k
    metrics = {f"p@{k} {name}": round(n / total, 4) if total else None for name, n in hits.items()}
    report = {"created_at": timezone.now().isoformat(), "artifact": search.card.get("version"),
              "encoder": search.card.get("encoder"),
              "split": "validation skus (sha1 bucket, ml/vision/data.py) as queries; the rest of "
                       "the served index as the catalog",
              "queries": queries, "catalog": len(indexed) - len(held_set), "labels": source,
              "metrics": metrics, "versions": library_versions("onnxruntime", "usearch")}
    path = facade.models_dir() / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    say(stdout, f"images: {queries} held-out photos, " +
         ", ".join(f"{name} {value}" for name, value in metrics.items()) + f" -> {path}")
    return report


def search_photo(sku):
    """The shipped photo of `sku`: the best one there is."""
    for folder in DEFAULT_IMAGES:
        if (folder / f"{sku}.jpg").is_file():
            return folder / f"{sku}.jpg"
    return DEFAULT_IMAGES[-1] / f"{sku}.jpg"
