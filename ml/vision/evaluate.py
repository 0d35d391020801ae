"""Offline metrics for photo search on the validation split, per photo size.

Queries are validation products' photos, galleries are the training
products' photos: the shape of the held-out evaluation (unseen photos
searched against the shipped catalog), measured on data we may tune on.

The catalog mixes 180x240 and 60x80 photos, so `resolution_report` measures
every (query size, gallery) pair: the shipped catalog shape (each product's
best photo), a 180x240-only and a 60x80-only gallery. If embeddings were
driven by resolution, a query would prefer neighbours of its own size; the
report also gives the share of 180x240 photos among each query size's
neighbours next to that share in the gallery. Against the catalog gallery
it measures both the nearest photos by cosine and the served ranking
(`search.rank`: the nearest PHOTO_CANDIDATES re-ranked by label agreement).
"""
import logging
import random
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ml.categorization.base import softmax

from .colour import DIM as COLOUR_DIM
from .colour import colour_histograms
from .preprocess import ImageError
from .search import LABEL_FIELDS, PHOTO_CANDIDATES, Labels, rank

log = logging.getLogger("ml")

# Colour-descriptor weights tried; the chosen one is the best type+colour
# precision whose article-type precision stays within TOLERANCE of the best.
COLOUR_WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
TOLERANCE = 0.005
LABELS = {
    "articleType": lambda r: r["articleType"],
    "articleType+baseColour": lambda r: f"{r['articleType']}|{r.get('baseColour') or ''}",
    "gender": lambda r: r["gender"],
}


def topk_neighbours(queries, catalog, k, chunk=1024):
    """Indices (n_queries, k) of the most similar catalog rows (exact inner product)."""
    k = min(k, catalog.shape[0])
    out = []
    for start in range(0, len(queries), chunk):
        sims = queries[start:start + chunk] @ catalog.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
        out.append(np.take_along_axis(part, order, axis=1))
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


def precision_at_k(neighbours, query_labels, catalog_labels):
    """Mean fraction of each query's neighbours with the query's label."""
    catalog_labels = np.asarray(catalog_labels, dtype=object)
    query_labels = np.asarray(query_labels, dtype=object)
    return float((catalog_labels[neighbours] == query_labels[:, None]).mean())


def with_colour(features, hists, weight):
    """The served embedding: unit features, plus the colour histogram at `weight`."""
    if weight <= 0:
        return features
    return np.concatenate([features, weight * hists], axis=1) / np.sqrt(1 + weight ** 2)


def embed_photos(encoder, paths, batch_size=128, progress=True, desc="embedding"):
    """Unit features, colour histograms and logits (or None) of readable photos, and their indices."""
    feats, hists, logits, kept = [], [], [], []
    for start in tqdm(range(0, len(paths), batch_size), desc=desc, disable=not progress,
                      mininterval=10):
        images = []
        for i, path in enumerate(paths[start:start + batch_size], start):
            try:
                images.append(encoder.load_uint8([path])[0])
                kept.append(i)
            except ImageError as exc:
                log.warning("not evaluated: %s: %s", path, exc)
        if not images:
            continue
        batch = np.stack(images)
        out = encoder.run(batch)
        f = out["features"]
        feats.append(f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12))
        hists.append(colour_histograms(batch))
        if "logits" in out:
            logits.append(out["logits"])
    if not feats:
        return (np.zeros((0, encoder.feature_dim), np.float32),
                np.zeros((0, COLOUR_DIM), np.float32), None, kept)
    return (np.concatenate(feats).astype(np.float32), np.concatenate(hists),
            np.concatenate(logits) if logits else None, kept)


class _Photos:
    """Embedded photos of one size for a list of rows (features, colour, logits, rows)."""

    def __init__(self, encoder, rows, pick, progress, desc):
        chosen = [(r, pick(r)) for r in rows]
        chosen = [(r, p) for r, p in chosen if p]
        self.feats, self.hists, self.logits, kept = embed_photos(
            encoder, [p for _, p in chosen], progress=progress, desc=desc)
        self.rows = [chosen[i][0] for i in kept]
        self.paths = [chosen[i][1] for i in kept]

    def vectors(self, weight):
        return with_colour(self.feats, self.hists, weight)


def _search(queries, gallery, weight, k):
    neighbours = topk_neighbours(queries.vectors(weight), gallery.vectors(weight), k)
    out = {f"p@{k} {name}": round(precision_at_k(neighbours, [fn(r) for r in queries.rows],
                                                 [fn(r) for r in gallery.rows]), 4)
           for name, fn in LABELS.items()}
    return out, neighbours


def _ranked(queries, gallery, weight, k, classes):
    """precision@k of the served ranking: each query's PHOTO_CANDIDATES nearest gallery
    photos re-ranked by `search.rank` with the gallery's labels and the query's
    classifier probabilities (when the encoder has a head)."""
    labels = Labels({field: {str(i): r.get(field) for i, r in enumerate(gallery.rows)}
                     for field in LABEL_FIELDS})
    query_vectors, gallery_vectors = queries.vectors(weight), gallery.vectors(weight)
    candidates = topk_neighbours(query_vectors, gallery_vectors, PHOTO_CANDIDATES)
    probabilities = softmax(queries.logits) if queries.logits is not None and classes else None
    neighbours = []
    for q, row in enumerate(candidates):
        cosine = gallery_vectors[row] @ query_vectors[q]
        type_probabilities = None if probabilities is None else \
            labels.type_probabilities(classes, probabilities[q])
        ranked = rank([(str(i), float(c)) for i, c in zip(row, cosine)], labels, k,
                      type_probabilities)
        neighbours.append([int(i) for i, _ in ranked])
    neighbours = np.asarray(neighbours, dtype=np.int64)
    return {f"p@{k} {name}": round(precision_at_k(neighbours, [fn(r) for r in queries.rows],
                                                  [fn(r) for r in gallery.rows]), 4)
            for name, fn in LABELS.items()}


def resolution_report(encoder, train_rows, val_rows, k=10, progress=True, max_queries=None,
                      max_gallery=None):
    """Validation precision@k per query size x gallery, colour-weight sweep, classifier accuracy.

    Rows come from `data.photo_rows` with the 180x240 folder first: a photo
    is "180x240" when it is in the folder of the large photos (the first
    folder), "60x80" otherwise. `max_queries` keeps that many validation
    products that have both sizes (each is queried at both: the same products
    at two resolutions); `max_gallery` keeps that many training products. Both
    samples are fixed (seed 0), for machines where embedding the whole catalog
    twice over is too slow; precision then also gets measured at growing
    gallery sizes, since it rises with the number of candidates.
    """
    large_dir = _large_folder(train_rows + val_rows)
    sample = {"queries": "every validation product", "gallery": "every training product"}
    if max_queries:
        both = [r for r in val_rows if len(r["photos"]) > 1] or val_rows
        val_rows = sorted(random.Random(0).sample(both, min(max_queries, len(both))),
                          key=lambda r: int(r["id"]))
        sample["queries"] = f"{len(val_rows)} validation products with both photo sizes (seed 0)"
    if max_gallery and max_gallery < len(train_rows):
        train_rows = random.Random(0).sample(train_rows, max_gallery)
        sample["gallery"] = f"{len(train_rows)} training products (seed 0)"

    def large(r):
        return next((p for p in r["photos"] if Path(p).parent == large_dir), None)

    def small(r):
        return next((p for p in r["photos"] if Path(p).parent != large_dir), None)

    queries = {"180x240": _Photos(encoder, val_rows, large, progress, "val 180x240"),
               "60x80": _Photos(encoder, val_rows, small, progress, "val 60x80")}
    queries = {size: q for size, q in queries.items() if q.rows}
    large_gallery = _Photos(encoder, train_rows, large, progress, "train 180x240")
    small_gallery = _Photos(encoder, train_rows, small, progress, "train 60x80")
    best = _merge_best(large_gallery, small_gallery)
    galleries = {name: g for name, g in (("catalog (best photo each)", best),
                                         ("180x240 only", large_gallery),
                                         ("60x80 only", small_gallery)) if g.rows}

    sweep = []
    for weight in COLOUR_WEIGHTS:
        row = {"colour_weight": weight}
        for size, q in queries.items():
            metrics, _ = _search(q, best, weight, k)
            row.update({f"{size} {name}": value for name, value in metrics.items()})
        sweep.append(row)

    def mean_of(row, name):
        return np.mean([row[f"{size} p@{k} {name}"] for size in queries])

    best_type = max(mean_of(r, "articleType") for r in sweep)
    chosen = max((r for r in sweep if mean_of(r, "articleType") >= best_type - TOLERANCE),
                 key=lambda r: mean_of(r, "articleType+baseColour"))["colour_weight"]

    table = []
    large_paths = set(large_gallery.paths)
    for size, q in queries.items():
        for gallery_name, gallery in galleries.items():
            metrics, neighbours = _search(q, gallery, chosen, k)
            entry = {"queries": size, "gallery": gallery_name, "n_queries": len(q.rows),
                     "n_gallery": len(gallery.rows), **metrics}
            if gallery is best:
                is_large = np.array([p in large_paths for p in best.paths])
                entry["180x240 share of neighbours"] = round(float(is_large[neighbours].mean()), 4)
                entry["180x240 share of gallery"] = round(float(is_large.mean()), 4)
                entry["ranked"] = _ranked(q, gallery, chosen, k, getattr(encoder, "classes", []))
            table.append(entry)

    classifier = {}
    classes = getattr(encoder, "classes", [])
    for size, q in queries.items():
        if q.logits is None or not classes:
            continue
        index = {c: i for i, c in enumerate(classes)}
        known = [i for i, r in enumerate(q.rows) if r["articleType"] in index]
        truth = np.array([index[q.rows[i]["articleType"]] for i in known])
        top3 = np.argsort(-q.logits[known], axis=1)[:, :3]
        classifier[size] = {"accuracy": round(float((top3[:, 0] == truth).mean()), 4),
                            "top3_accuracy": round(float((top3 == truth[:, None]).any(axis=1).mean()), 4),
                            "n": len(known)}

    growth = []
    for share in (0.25, 0.5, 1.0):
        size = max(1, int(len(best.rows) * share))
        part = _subset(best, size)
        entry = {"gallery": size}
        for name, q in queries.items():
            metrics, _ = _search(q, part, chosen, k)
            entry[f"{name} p@{k} articleType"] = metrics[f"p@{k} articleType"]
            entry[f"{name} p@{k} articleType+baseColour"] = metrics[f"p@{k} articleType+baseColour"]
        growth.append(entry)

    summary = {"colour_weight": chosen}
    for entry in table:
        if entry["gallery"] == "catalog (best photo each)":
            for name in LABELS:
                summary[f"val {entry['queries']} queries p@{k} {name}"] = entry["ranked"][f"p@{k} {name}"]
                summary[f"val {entry['queries']} queries p@{k} {name} (cosine only)"] = \
                    entry[f"p@{k} {name}"]
    for size, values in classifier.items():
        summary[f"val {size} accuracy"] = values["accuracy"]
        summary[f"val {size} top3_accuracy"] = values["top3_accuracy"]
    return {"summary": summary, "sample": sample, "table": table, "colour_sweep": sweep,
            "gallery_growth": growth, "classifier": classifier, "encoder": encoder.name}


def _large_folder(rows):
    """The folder of the 180x240 photos: the first folder of any row with two photos."""
    for r in rows:
        if len(r["photos"]) > 1:
            return Path(r["photos"][0]).parent
    return Path(rows[0]["photos"][0]).parent if rows else None


def _subset(photos, size):
    """The first `size` photos of `photos` (rows arrive in random order when sampled)."""
    part = _Photos.__new__(_Photos)
    order = np.random.default_rng(0).permutation(len(photos.rows))[:size]
    part.feats, part.hists = photos.feats[order], photos.hists[order]
    part.logits = None
    part.rows = [photos.rows[i] for i in order]
    part.paths = [photos.paths[i] for i in order]
    return part


def _merge_best(large, small):
    """The shipped catalog's shape: each product's 180x240 photo if it has one, else its 60x80."""
    merged = _Photos.__new__(_Photos)
    has_large = {r["id"] for r in large.rows}
    keep_small = [i for i, r in enumerate(small.rows) if r["id"] not in has_large]
    merged.feats = np.concatenate([large.feats, small.feats[keep_small]])
    merged.hists = np.concatenate([large.hists, small.hists[keep_small]])
    merged.logits = None
    merged.rows = large.rows + [small.rows[i] for i in keep_small]
    merged.paths = large.paths + [small.paths[i] for i in keep_small]
    return merged
