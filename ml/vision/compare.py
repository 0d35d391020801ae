"""Compare photo-search embeddings on the validation split and tune the colour weight.

Queries are the validation photos, the catalog the training photos (see
ml/vision/data.py). For each encoder the colour-descriptor weight is swept;
the chosen default is the best articleType+baseColour precision whose
articleType precision stays within TOLERANCE of that encoder's best (colour
must not cost type precision beyond noise).

    .venv/bin/python -m ml.vision.compare --checkpoint data/weights/lite0-articletype.pth
"""
import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .colour import colour_histograms
from .data import photo_rows, split_rows
from .encoders import load_checkpoint, load_encoder
from .evaluate import search_metrics
from .train import DEFAULT_CSV, DEFAULT_IMAGES, load_batch_uint8

log = logging.getLogger("ml")

TOLERANCE = 0.001
WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def features(encoder, images, batch_size=128, flip=False):
    """Normalised pooled features; `flip` averages each photo with its mirror image."""
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        f = encoder._features(batch)
        if flip:
            f = torch.nn.functional.normalize(f, dim=1) + torch.nn.functional.normalize(
                encoder._features(batch.flip(-1)), dim=1)
        out.append(torch.nn.functional.normalize(f, dim=1))
    return torch.cat(out).numpy()


def histograms(images, batch_size=512):
    return torch.cat([colour_histograms(images[i:i + batch_size])
                      for i in range(0, len(images), batch_size)]).numpy()


def with_colour(feats, hists, weight):
    if weight <= 0:
        return feats
    return np.concatenate([feats, weight * hists], axis=1) / np.sqrt(1 + weight ** 2)


def compare(encoders, train_x, train_rows, val_x, val_rows, cache_dir=None):
    hist_train, hist_val = histograms(train_x), histograms(val_x)
    table = []
    for name, encoder in encoders:
        cached = Path(cache_dir) / f"features-{name}.npz" if cache_dir else None
        if cached and cached.is_file():
            data = np.load(cached)
            f_train, f_val = data["train"], data["val"]
        else:
            t0 = time.time()
            flip = name.endswith("+flip")
            f_train, f_val = features(encoder, train_x, flip=flip), features(encoder, val_x, flip=flip)
            log.info("%s: features of %d photos in %.0f s", name, len(train_x) + len(val_x),
                     time.time() - t0)
            if cached:
                np.savez(cached, train=f_train, val=f_val)
        for weight in WEIGHTS:
            metrics = search_metrics(with_colour(f_val, hist_val, weight), val_rows,
                                     with_colour(f_train, hist_train, weight), train_rows)
            table.append({"encoder": name, "colour_weight": weight, **metrics})
            log.info("%s", table[-1])
    return table


def choose(table):
    best = {}
    for name in {r["encoder"] for r in table}:
        rows = [r for r in table if r["encoder"] == name]
        top_type = max(r["p@10 articleType"] for r in rows)
        ok = [r for r in rows if r["p@10 articleType"] >= top_type - TOLERANCE]
        best[name] = max(ok, key=lambda r: r["p@10 articleType+baseColour"])
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(DEFAULT_CSV))
    parser.add_argument("--images", default=str(DEFAULT_IMAGES))
    parser.add_argument("--checkpoint", default=None, help="fine-tuned checkpoint to compare")
    parser.add_argument("--cache", default="bench/out/photos")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--flip", action="store_true", help="also try mirror-averaged features")
    parser.add_argument("--out", default="bench/out/vision-compare.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    train_rows, val_rows = split_rows(photo_rows(args.csv, args.images))
    encoders = [("lite0-imagenet", load_encoder("lite0"))]
    if args.checkpoint:
        encoders.append(("lite0-finetuned", load_checkpoint(args.checkpoint)))
        if args.flip:
            encoders.append(("lite0-finetuned+flip", load_checkpoint(args.checkpoint)))
    spec = encoders[0][1].preprocess
    train_x, train_rows = load_batch_uint8(train_rows, spec, cache=f"{args.cache}-train.pt")
    val_x, val_rows = load_batch_uint8(val_rows, spec, cache=f"{args.cache}-val.pt")
    cache_dir = Path(args.out).parent
    cache_dir.mkdir(parents=True, exist_ok=True)
    table = compare(encoders, train_x, train_rows, val_x, val_rows, cache_dir=cache_dir)
    result = {"queries": f"{len(val_rows)} validation photos",
              "catalog": f"{len(train_rows)} training photos", "table": table,
              "chosen": choose(table)}
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result["chosen"], indent=2))


if __name__ == "__main__":
    main()
