"""Product-name categorization against the database: train, ensure, evaluate.

The commands register what is here: `train_models` runs STEPS["categorizer"],
`categorize` calls `ensure_categorizer`, and `evaluate_models --categorization`
calls `evaluate`. Everything model-side is plain Python in ml/categorization/;
this module only reads products, files and settings.

Training data is the catalog in the database (so sellers' saved corrections
count), or a styles.csv when asked or when the database has no products.
"""
import json
import logging
from pathlib import Path

from django.utils import timezone
from PIL import Image, ImageDraw

from main.models import Product
from ml.artifacts import ArtifactError, current_version
from ml.categorization import training
from ml.styles_csv import load_rows
from shop_ml import facade
from shop_ml.management import say

log = logging.getLogger("ml")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STYLES = REPO_ROOT / "data" / "styles.csv"
KINDS = ("cascade", "default")
REPORT_NAME = "categorization"
CONFUSION_TOP = 20
# Database column -> the catalog field name the models are trained on.
PRODUCT_FIELDS = {"sku": "id", "name": "productDisplayName", "gender": "gender",
                  "master_category": "masterCategory", "sub_category": "subCategory",
                  "article_type": "articleType", "base_colour": "baseColour",
                  "season": "season", "usage": "usage"}
TARGETS = {"cascade": {"articleType": 0.95},
           "default": {"articleType": 0.98, "subCategory": 0.993, "gender": 0.997}}



# -- data ---------------------------------------------------------------------------
def product_rows():
    """Every product of the catalog as a training row (streamed from the database)."""
    columns = list(PRODUCT_FIELDS)
    return [dict(zip(PRODUCT_FIELDS.values(), values))
            for values in Product.objects.order_by("pk").values_list(*columns).iterator(chunk_size=2000)]


def catalog_rows(csv=None, stdout=None):
    """(rows, source description): the CSV if given, else the database, else styles.csv."""
    if not csv:
        rows = training.usable_rows(product_rows())
        if rows:
            return rows, f"database ({len(rows)} products)"
        say(stdout, "No products in the database: training from the catalog CSV.")
        csv = DEFAULT_STYLES
    rows, errors = load_rows(csv)
    if errors:
        say(stdout, f"{csv}: skipped {len(errors)} unreadable rows")
    return training.usable_rows(rows), f"{csv} ({len(rows)} rows)"


# -- training -----------------------------------------------------------------------------
def train_categorizers(stdout=None, csv=None, refit=False, kinds=KINDS, rows=None, **options):
    """train_models step "categorizer": train, validate and save both categorizers.

    With `refit` the served models are retrained on every row after
    validation (same settings); the cards keep the validation metrics.
    """
    if rows is None:
        rows, source = catalog_rows(csv, stdout)
    else:
        source = f"{len(rows)} given rows"
    say(stdout, f"Categorizer: training on {source}")
    saved = {}
    for kind in kinds:
        model, card = training.train_and_evaluate(
            rows, kind, refit=refit, progress=lambda message: say(stdout, message))
        card["data"]["source"] = source
        folder = training.save_model(facade.models_dir(), model, card)
        say(stdout, f"Saved {folder.parent.name} version {folder.name}")
        saved[kind] = model
    facade.reload()
    return saved


def ensure_categorizer(kind="default", stdout=None):
    """The served categorizer of `kind`, training (and saving) one when none is usable.

    A missing artifact is trained silently; a corrupt one is logged as an
    error first. Training reads the database catalog, or styles.csv when the
    database has no products.
    """
    try:
        return training.load_model(facade.models_dir(), kind)[0]
    except ArtifactError as exc:
        if current_version(facade.models_dir(), training.ARTIFACT_NAMES[kind]) is not None:
            log.error("categorizer %s unusable, training a new one: %s", kind, exc)
        else:
            log.info("no categorizer %s yet, training one", kind)
    return train_categorizers(stdout=stdout, kinds=(kind,))[kind]


STEPS = {"categorizer": train_categorizers}


# -- evaluation ---------------------------------------------------------------------------
def served_or_fresh(kind, train_rows, val_rows, stdout):
    """A model that never saw the validation rows: the served one if so, else a new one."""
    try:
        model, card = training.load_model(facade.models_dir(), kind)
        # the split hashes ids, so a model served from "train rows" never saw these rows
        if card.get("data", {}).get("served_model_trained_on") == "train rows":
            return model, f"served version {card.get('version')}"
    except ArtifactError as exc:
        log.info("evaluate: no usable %s categorizer (%s), training one on the train split", kind, exc)
    say(stdout, f"[{kind}] training on the train split for evaluation")
    return training.train(train_rows, kind, val_rows=val_rows), "trained for this evaluation"


def _per_class_list(per_class):
    return [{"label": label, **values} for label, values in per_class.items()]


def evaluate(stdout=None, csv=None, **options):
    """evaluate_models --categorization: both models on the validation split.

    Writes MODELS_DIR/reports/categorization.json and one confusion-matrix
    PNG per model (articleType, most frequent classes); returns the report.
    """
    rows, source = catalog_rows(csv, stdout)
    train_rows, val_rows = training.split_rows(rows)
    seen = {r["productDisplayName"] for r in train_rows}
    folder = facade.models_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    report = {"evaluated_at": timezone.now().isoformat(), "levels": {}, "unseen_names": {},
              "targets": TARGETS, "comparison": {}, "data": {
                  "source": source, "train_rows": len(train_rows), "validation_rows": len(val_rows),
                  "split": f"crc32(id) % 100 < {training.VAL_PERCENT} is validation"},
              "models": {}, "figures": {}, "per_class": {}}
    for kind in KINDS:
        model, origin = served_or_fresh(kind, train_rows, val_rows, stdout)
        metrics = training.evaluate(model, val_rows, seen_names=seen)
        report["levels"][kind] = {f: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
                                  for f, m in metrics.items()}
        report["unseen_names"][kind] = {f: m.get("unseen_accuracy") for f, m in metrics.items()}
        report["models"][kind] = origin
        report["per_class"][kind] = {f: _per_class_list(m["per_class"]) for f, m in metrics.items()}
        labels, matrix = training.confusion(model, val_rows, "articleType", CONFUSION_TOP)
        png = f"confusion_categorization_{kind}.png"
        write_confusion_png(folder / png, labels, matrix)
        report["figures"][kind] = png
        for field, m in metrics.items():
            say(stdout, f"[{kind}] {field:15s} accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}")
    for field in training.LEVELS:
        report["comparison"][field] = {
            kind: report["levels"][kind].get(field, {}).get("accuracy") for kind in KINDS}
    path = folder / f"{REPORT_NAME}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
    tmp.replace(path)
    say(stdout, f"Wrote {path}")
    return report


# -- a confusion matrix as PNG (Pillow; matplotlib is not a dependency) ---------------------
def write_confusion_png(path, labels, matrix, cell=24):
    """Row-normalised confusion matrix with class names, drawn with Pillow."""
    n = len(labels)
    margin = 8 * max((len(str(label)) for label in labels), default=4) + 16
    size = margin + n * cell + 8
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    totals = matrix.sum(axis=1, keepdims=True).clip(min=1)
    share = matrix / totals
    for i in range(n):
        for j in range(n):
            shade = int(255 * (1 - share[i, j]))
            x, y = margin + j * cell, margin + i * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1],
                           fill=(shade, shade, 255) if i == j else (255, shade, shade),
                           outline=(220, 220, 220))
            if matrix[i, j]:
                draw.text((x + 2, y + 6), str(int(matrix[i, j]))[:3],
                          fill="black" if share[i, j] < 0.6 else "white")
        draw.text((4, margin + i * cell + 6), str(labels[i])[:30], fill="black")
    vertical = Image.new("RGB", (margin, n * cell), "white")
    vdraw = ImageDraw.Draw(vertical)
    for j in range(n):
        vdraw.text((4, j * cell + 6), str(labels[j])[:30], fill="black")
    image.paste(vertical.rotate(90, expand=True), (margin, 0))
    draw.text((4, 4), "true \\ predicted", fill="black")
    image.save(path, format="PNG")
    return path

