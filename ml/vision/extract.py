"""Batched, resumable embedding extraction.

Embeddings are written in small chunk files (`part-NNNNN.npz`, each renamed
into place once complete) inside a work folder named after the encoder's
fingerprint. An interrupted run leaves only complete chunks behind; the next
run with the same encoder skips every sku already in a chunk and carries on.
Photos that cannot be read are recorded as failures in their chunk, so they
are reported rather than retried forever.
"""
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ml.artifacts import write_atomic

from .preprocess import ImageError, to_uint8

log = logging.getLogger("ml")

META = "meta.json"


def encoder_fingerprint(encoder):
    """Changes whenever the embedding would change (graph and weights, preprocessing, colour weight)."""
    description = encoder.describe()
    weights = Path(description.get("weights") or "")
    if weights.is_file():
        digest = hashlib.sha1()
        with open(weights, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        description["weights"] = digest.hexdigest()
    return hashlib.sha1(json.dumps(description, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _parts(work_dir):
    return sorted(Path(work_dir).glob("part-*.npz"))


def read_parts(work_dir):
    """(skus, vectors, failed) from the complete chunks in `work_dir`."""
    skus, vectors, failed = [], [], []
    for part in _parts(work_dir):
        try:
            with np.load(part, allow_pickle=False) as data:
                skus.extend(str(s) for s in data["skus"])
                vectors.append(data["vectors"])
                failed.extend(str(s) for s in data["failed"])
        except Exception as exc:  # a damaged chunk is redone, not trusted
            log.warning("discarding unreadable embedding chunk %s: %s", part, exc)
            part.unlink(missing_ok=True)
    dim = vectors[0].shape[1] if vectors else 0
    matrix = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return skus, matrix, failed


def _write_part(work_dir, number, skus, vectors, failed):
    write_atomic(Path(work_dir) / f"part-{number:05d}.npz", lambda tmp: np.savez(
        tmp, skus=np.asarray(skus, dtype=str), vectors=vectors.astype(np.float32),
        failed=np.asarray(failed, dtype=str)))


def extract(items, encoder, work_dir, batch_size=64, progress=True, stop_after=None):
    """Embed every (sku, image) in `items` not already in `work_dir`.

    `items` is a list of (sku, path | file | PIL image | callable returning one). Returns
    (skus, vectors float32 (n, dim), failed skus) over everything in the work
    folder that is still asked for. `stop_after` (batches) simulates an
    interruption in tests.
    """
    items = list(items)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = encoder_fingerprint(encoder)
    meta_path = work_dir / META
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
        if meta.get("fingerprint") != fingerprint:
            log.warning("embedding work folder %s was made by another encoder: starting over", work_dir)
            for part in _parts(work_dir):
                part.unlink()
    meta_path.write_text(json.dumps({"fingerprint": fingerprint, **encoder.describe()},
                                    default=str), encoding="utf-8")

    done_skus, _, done_failed = read_parts(work_dir)
    done = set(done_skus) | set(done_failed)
    todo = [(str(sku), image) for sku, image in items if str(sku) not in done]
    number = len(_parts(work_dir))
    bar = tqdm(total=len(todo), desc="embedding photos", unit="img", disable=not progress,
               mininterval=2)
    for batch_no, start in enumerate(range(0, len(todo), batch_size)):
        if stop_after is not None and batch_no >= stop_after:
            break
        batch = todo[start:start + batch_size]
        tensors, ok, failed = [], [], []
        for sku, image in batch:
            try:
                if callable(image):   # lazy opener, e.g. a storage file
                    image = image()
                tensors.append(to_uint8(image, encoder.preprocess))
                ok.append(sku)
            except (ImageError, OSError) as exc:
                log.warning("image of %s not embedded: %s", sku, exc)
                failed.append(sku)
        if tensors:
            vectors = encoder.embed_uint8(np.stack(tensors))
        else:
            vectors = np.zeros((0, encoder.dim), dtype=np.float32)
        number += 1
        _write_part(work_dir, number, ok, vectors, failed)
        bar.update(len(batch))
    bar.close()

    wanted = {str(sku) for sku, _ in items}
    skus, vectors, failed = read_parts(work_dir)
    keep = [i for i, sku in enumerate(skus) if sku in wanted]
    # A sku embedded twice (re-run after a crash between rename and bookkeeping) keeps its last row.
    last = {}
    for i in keep:
        last[skus[i]] = i
    rows = sorted(last.values())
    return ([skus[i] for i in rows], vectors[rows] if rows else vectors[:0],
            sorted({f for f in failed if f in wanted}))


def clear(work_dir):
    shutil.rmtree(work_dir, ignore_errors=True)
