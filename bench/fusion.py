"""Fused categorization speed: one listing (name + photo, forward pass included).

    .venv/bin/python bench/fusion.py [--models-dir models] [--listings 300] [--rounds 3] [--no-write]

Plain Python (no database), one core: ONNX Runtime with one thread, BLAS
threads pinned to 1. Loads the served `categorizer-fused` (with its copy of
the image encoder) and `categorizer-default` from --models-dir. Listings are
the fusion split's rows (held out of every model), each with its best photo
file (the 180x240 one where it exists, else the 60x80 one), read from disk
on every call as a request would.

Timed per listing, in the same run: the name alone (the baseline every
suggestion already pays), the photo's forward pass alone (decode, reduce,
encoder), and the fused suggestion (both, plus the photo heads and the
pooling). Each keeps its best of --rounds interleaved rounds.

Figures go into docs/benchmarks.md under "## Fused categorization".
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import percentiles, time_each, write_section
from ml.categorization import training as name_training
from ml.fusion import training as fusion_training
from ml.fusion.listing import ListingCategorizer
from ml.styles_csv import load_rows
from ml.vision.runtime import OnnxEncoder

HEADING = "## Fused categorization"
PHOTO_DIRS = (ROOT / "data" / "images", ROOT / "data" / "images_small")


def listings(limit):
    rows, _ = load_rows(ROOT / "data" / "styles.csv")
    out = []
    for row in name_training.usable_rows(rows):
        if not fusion_training.is_fusion_validation(row):
            continue
        photo = next((d / f"{row['id']}.jpg" for d in PHOTO_DIRS if (d / f"{row['id']}.jpg").is_file()),
                     None)
        if photo is not None:
            out.append((row["productDisplayName"], str(photo)))
        if len(out) >= limit:
            break
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", default=str(ROOT / "models"))
    parser.add_argument("--listings", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    models = Path(args.models_dir)
    name_model, name_card = name_training.load_model(models, "default")
    fused, encoder_path, card = fusion_training.load(models)
    encoder = OnnxEncoder(encoder_path, threads=1)
    listing = ListingCategorizer(fused, encoder, card)
    items = listings(args.listings)
    if not items:
        sys.exit("no fusion-split listing with a photo in data/")
    runs = {
        "name alone (default categorizer)": lambda item: name_model.predict([item[0]]),
        "photo forward pass alone (decode + encoder)": lambda item: encoder.run(
            encoder.load_uint8([item[1]])),
        "fused suggestion (name + photo, forward pass included)": lambda item: listing.predict(
            name_model, [item]),
    }
    for call in runs.values():   # warm-up: first calls allocate
        time_each(call, items[:5])
    best = {}
    for _ in range(args.rounds):
        for label, call in runs.items():
            figures = percentiles(time_each(call, items))
            if label not in best or figures["p50"] < best[label]["p50"]:
                best[label] = figures
    baseline = best["name alone (default categorizer)"]["p50"]
    lines = [(f"`.venv/bin/python bench/fusion.py` — {date.today()}, Python {platform.python_version()}, "
             f"one core (ONNX Runtime 1 thread, BLAS threads 1), {len(items)} listings of the fusion "
             f"split, each photo read from its file; best of {args.rounds} interleaved rounds. "
             f"Load average {os.getloadavg()[0]:.1f} while measuring."),
             "", "| What | p50 | p99 | p50 vs the name alone |", "|---|---|---|---|"]
    for label, figures in best.items():
        lines.append(f"| {label} | {figures['p50']:.2f} ms | {figures['p99']:.2f} ms | "
                     f"x{figures['p50'] / baseline:.1f} |")
    lines += ["", (f"Models: categorizer-fused {card.get('version')} (encoder "
                  f"{encoder.name}, input {encoder.preprocess.height}x{encoder.preprocess.width}), "
                  f"categorizer-default {name_card.get('version')}. Target: fused suggestion "
                  "<= 30 ms p50 on one core.")]
    print("\n".join(lines))
    if not args.no_write:
        write_section(ROOT / "docs" / "benchmarks.md", HEADING, "\n".join(lines))


if __name__ == "__main__":
    main()
