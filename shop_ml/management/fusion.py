"""Name + photo categorization against the database: train, evaluate, find mislabels.

`train_models` runs STEPS["categorizer-fused"] (after the categorizer and the
image encoder it builds on), `evaluate_models --fusion` calls `evaluate`, and
`find_mislabels` calls `find_mislabels`. Model-side code is plain Python in
ml/fusion/; this module reads products, photos and settings.

The photo evidence of every catalog photo (encoder features, article-type
logits, colour statistics) is cached under MODELS_DIR/cache/photo-evidence,
per encoder, so a re-run embeds only new or changed photos and a new encoder
re-embeds. The `image-embeddings` step, which runs first, fills the same
cache, so on `make setup` this step embeds nothing.
"""
import json
import logging
from pathlib import Path

from django.utils import timezone

from main.models import Product
from ml.artifacts import ArtifactError, current_folder, load_card, write_atomic
from ml.categorization import training as name_training
from ml.fusion import mislabels, training
from ml.fusion.evidence import CACHE_DIR, cached_evidence, default_workers, encoder_hash
from ml.fusion.training import ARTIFACT
from ml.vision.runtime import EncoderUnavailable, OnnxEncoder
from shop_ml import facade
from shop_ml.management import say
from shop_ml.management.categorization import catalog_rows, product_rows, served_or_fresh

log = logging.getLogger("ml")

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL_IMAGES = REPO_ROOT / "data" / "images_small"
LARGE_IMAGES = REPO_ROOT / "data" / "images"
EVIDENCE_CACHE = CACHE_DIR
REPORT = Path("reports") / "fusion.json"
MISLABELS = Path("reports") / "mislabels.json"
TARGETS = {"fused": {"articleType": 0.988, "subCategory": 0.995, "gender": 0.998,
                     "baseColour": 0.94},
           "photo": {"baseColour": 0.75}}


def listing_photos(rows):
    """{sku: photo} for the rows: product photos from the database, else the shipped
    photos (the 60x80 one first: the serving path reduces every photo to that size)."""

    wanted = {str(r["id"]) for r in rows}
    photos = {}
    for sku, image in Product.objects.exclude(image="").values_list("sku", "image").iterator(
            chunk_size=5000):
        if sku in wanted:
            photos[sku] = str(Path(Product._meta.get_field("image").storage.path(image)))
    for sku in wanted - set(photos):
        for folder in (SMALL_IMAGES, LARGE_IMAGES):
            path = folder / f"{sku}.jpg"
            if path.is_file():
                photos[sku] = str(path)
                break
    return photos


def _encoder():
    """(OnnxEncoder, its path) the photo models are fitted on: the served image encoder."""

    path = facade.encoder_file()
    if path is None:
        raise EncoderUnavailable("no image encoder: run `manage.py train_image_model`")
    return OnnxEncoder(path, threads=1), path


def photo_evidence(rows, encoder, encoder_path, progress=True):
    """(skus, evidence, failed) of the rows' photos, through the on-disk cache."""

    photos = listing_photos(rows)
    return cached_evidence(sorted(photos.items()), encoder, encoder_path,
                           facade.models_dir() / EVIDENCE_CACHE, progress=progress,
                           workers=default_workers())


def train_fused(stdout=None, csv=None, progress=True, rows=None, **options):
    """train_models step "categorizer-fused": fit the photo models and the name + photo
    fusion on the served image encoder, and save them with a copy of that encoder."""

    try:
        encoder, encoder_path = _encoder()
    except EncoderUnavailable as exc:
        say(stdout, f"[fused] skipped: {exc}")
        return None
    if rows is None:
        rows, source = catalog_rows(csv, stdout)
    else:
        source = f"{len(rows)} given rows"
    say(stdout, f"[fused] {source}; photos through {encoder_path}")
    skus, evidence, failed = photo_evidence(rows, encoder, encoder_path, progress=progress)
    if failed:
        say(stdout, f"[fused] {len(failed)} unreadable photos left out")
    train_rows, val_rows = name_training.split_rows(rows)
    name_model, origin = served_or_fresh("default", train_rows, val_rows, stdout)
    say(stdout, f"[fused] name model: {origin}")
    model, card, comparison = training.train_and_evaluate(
        rows, skus, evidence, name_model, encoder.classes, say=lambda m: say(stdout, m))
    card["data"]["source"] = source
    card["data"]["unreadable_photos"] = len(failed)
    card["name_model"] = origin
    card["targets"] = TARGETS
    folder = training.save(facade.models_dir(), model, card, encoder_path)
    _write_report(facade.models_dir() / REPORT, {
        "evaluated_at": timezone.now().isoformat(), "version": folder.name,
        "data": card["data"], "targets": TARGETS, **comparison})
    facade.reload()
    say(stdout, f"[fused] saved {folder}")
    return folder


def is_stale():
    """Whether the served fused model was fitted on another encoder than the served one
    (`train_models --if-missing` refits it then)."""

    try:
        card = load_card(current_folder(facade.models_dir(), ARTIFACT))
    except ArtifactError:
        return True
    path = facade.encoder_file()
    return path is not None and card.get("encoder", {}).get("hash") != encoder_hash(path)


STEPS = {"categorizer-fused": train_fused}
STALE = {"categorizer-fused": is_stale}


def _write_report(path, report):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1), encoding="utf-8"))


def evaluate(stdout=None, **options):
    """evaluate_models --fusion: the served fused model's card figures (name-only,
    photo-only and fused on the fusion split) as reports/fusion.json."""

    try:
        card = load_card(current_folder(facade.models_dir(), ARTIFACT))
    except ArtifactError as exc:
        say(stdout, f"[fused] no fused model to evaluate ({exc}); run `train_models --only "
                    "categorizer-fused`")
        return None
    report = {"evaluated_at": timezone.now().isoformat(), "version": card.get("version"),
              "data": card.get("data"), "targets": TARGETS,
              "accuracy": card.get("metrics", {}).get("fusion_split", {}),
              "name_or_photo_right": card.get("metrics", {}).get("name_or_photo_right", {}),
              "fixed": card.get("fixed_by_fusion", [])}
    for source, values in report["accuracy"].items():
        say(stdout, f"[fused] {source:5s} " + ", ".join(f"{f} {a:.4f}" for f, a in values.items()))
    _write_report(facade.models_dir() / REPORT, report)
    say(stdout, f"Wrote {facade.models_dir() / REPORT}")
    return report


# -- likely mislabels --------------------------------------------------------------------
def find_mislabels(stdout=None, threshold=None, progress=True, **options):
    """Write MODELS_DIR/reports/mislabels.json: the catalog products whose stored label the
    served name model and the fused model's photo heads both contradict (ml/fusion/mislabels.py).

    Returns the report; raises ArtifactError when either model is not available.
    """

    listing, name_model = facade.fused_categorizer(), facade.categorizer("default")
    if listing is None or name_model is None:
        raise ArtifactError("finding mislabels needs the default categorizer and the fused "
                            "categorizer: run `train_models --only categorizer,categorizer-fused`")
    threshold = mislabels.THRESHOLD if threshold is None else threshold
    rows = name_training.usable_rows(product_rows())
    say(stdout, f"[mislabels] {len(rows)} catalog products")
    skus, evidence, failed = photo_evidence(rows, listing.encoder, listing.encoder.path,
                                            progress=progress)
    by_sku = {str(r["id"]): r for r in rows}
    found = mislabels.find([by_sku[s] for s in skus], evidence, listing.fused, name_model,
                           threshold=threshold)
    report = {"evaluated_at": timezone.now().isoformat(), "threshold": threshold,
              "fused_version": listing.card.get("version"), "products": len(rows),
              "with_photo": len(skus), "unreadable_photos": len(failed),
              "count": len(found), "items": found}
    _write_report(facade.models_dir() / MISLABELS, report)
    say(stdout, f"[mislabels] {len(found)} likely mislabels among {len(skus)} products with a "
                f"photo -> {facade.models_dir() / MISLABELS}")
    return report
