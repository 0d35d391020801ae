"""What the photo models read from a photo, computed once and cached on disk.

For each photo: the image encoder's pooled features (unit norm), its
article-type logits, and the colour statistics of `colour.py`, all from the
one uint8 batch the encoder's own preprocessing makes (the reduced
resolution the serving path uses).

Embedding the whole catalog is the slow part of training, so `cached_evidence`
keeps it in chunk files under a folder named after the encoder's file hash:
an interrupted run carries on where it stopped, and a new encoder starts a
new folder (the old one is removed).
"""
import hashlib
import json
import logging
import shutil
import zipfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ml.artifacts import write_atomic
from ml.vision.preprocess import ImageError, to_uint8

from . import colour

log = logging.getLogger("ml")

CHUNK = 512
FORWARD_BATCH = 32
PARTS = ("features", "logits", "colour")


def encoder_hash(path):
    """sha1 of the encoder file plus the colour statistics' layout: names a cache folder."""
    digest = hashlib.sha1(f"colour-{colour.DIM}".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def read_batch(encoder, items):
    """(uint8 NCHW batch, skus read, skus whose photo is unreadable) of [(sku, photo)]."""
    arrays, ok, failed = [], [], []
    for sku, photo in items:
        try:
            arrays.append(to_uint8(photo, encoder.preprocess))
            ok.append(sku)
        except (ImageError, OSError) as exc:
            log.warning("photo of %s not read: %s", sku, exc)
            failed.append(sku)
    return (np.stack(arrays) if arrays else None), ok, failed


def evidence_of_batch(encoder, batch_uint8):
    """{features (n, F) unit rows, logits (n, K), colour (n, D)} of a uint8 NCHW batch."""
    # Small forward passes: the runtime's memory grows with the batch, not its speed.
    runs = [encoder.run(batch_uint8[i:i + FORWARD_BATCH])
            for i in range(0, len(batch_uint8), FORWARD_BATCH)]
    outputs = {key: np.concatenate([run[key] for run in runs]) for key in runs[0]}
    features = outputs["features"].astype(np.float32)
    features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    logits = outputs.get("logits")
    if logits is None:
        logits = np.zeros((len(features), 0), np.float32)
    return {"features": features, "logits": logits.astype(np.float32),
            "colour": colour.colour_statistics(batch_uint8)}


def cached_evidence(items, encoder, encoder_path, cache_root, progress=True):
    """(skus, {part: array}, failed skus) for `items` [(sku, photo path or bytes)].

    Photos already in the cache for this encoder are not embedded again.
    """

    folder = Path(cache_root) / encoder_hash(encoder_path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in Path(cache_root).iterdir():
        if stale.is_dir() and stale != folder:
            log.info("removing photo evidence of an older encoder: %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    done = _read(folder)
    known = set(done["skus"]) | set(done["failed"])
    todo = [(str(sku), photo) for sku, photo in items if str(sku) not in known]
    number = len(list(folder.glob("part-*.npz")))
    with tqdm(total=len(todo), desc="photo evidence", unit="photo", disable=not progress,
              mininterval=5) as bar:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            batch, ok, failed = read_batch(encoder, chunk)
            parts = (evidence_of_batch(encoder, batch) if ok else
                     {p: np.zeros((0, 0), np.float32) for p in PARTS})
            number += 1
            _write_part(folder / f"part-{number:05d}.npz", ok, failed, parts)
            bar.update(len(chunk))
    done = _read(folder)
    wanted = {str(sku) for sku, _ in items}
    rows = {}
    for i, sku in enumerate(done["skus"]):
        if sku in wanted:
            rows[sku] = i
    order = sorted(rows, key=rows.get)
    index = np.asarray([rows[s] for s in order], dtype=np.int64)
    evidence = {p: done[p][index].astype(np.float32) if len(index) else done[p][:0] for p in PARTS}
    (folder / "meta.json").write_text(json.dumps({"encoder": str(encoder_path)}), encoding="utf-8")
    return order, evidence, sorted(set(done["failed"]) & wanted)


def _write_part(path, skus, failed, parts):
    write_atomic(path, lambda tmp: np.savez(
        tmp, skus=np.asarray(skus, dtype=str), failed=np.asarray(failed, dtype=str),
        **{p: parts[p].astype(np.float16) for p in PARTS}))


def _read(folder):
    skus, failed, parts = [], [], {p: [] for p in PARTS}
    for path in sorted(Path(folder).glob("part-*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                chunk = {p: data[p] for p in PARTS}
                skus.extend(str(s) for s in data["skus"])
                failed.extend(str(s) for s in data["failed"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # redone, not trusted
            log.warning("discarding unreadable photo evidence %s: %s", path, exc)
            path.unlink(missing_ok=True)
            continue
        for p in PARTS:
            if len(chunk[p]):
                parts[p].append(chunk[p])
    return {"skus": skus, "failed": failed,
            **{p: np.concatenate(parts[p]) if parts[p] else np.zeros((0, 0), np.float16)
               for p in PARTS}}
