"""What the photo models read from a photo, computed once per photo and cached on disk.

For each photo, from the one uint8 batch the encoder's own preprocessing makes
(the reduced resolution the serving path uses) and one forward pass:

* `features`: the encoder's pooled features, unit norm (float32);
* `logits`: its article-type logits;
* `colour`: the colour statistics of `colour.py` (the fused photo heads read them);
* `histogram`: the search colour histogram of `ml/vision/colour.py`.

The photo index's vectors (`OnnxEncoder.vectors(features, histogram)`) and the
fused categorizer's photo heads both derive from this evidence, so a
`make setup` sends each catalog photo through the encoder once: the
`image-embeddings` step fills the cache, `categorizer-fused` reads it.

`cached_evidence` keeps it in chunk files under a folder named after the
encoder's file hash: an interrupted run carries on where it stopped, a
damaged chunk is redone, a photo whose file changed (size, time or name) is
read again, and a new encoder starts a new folder (the old one is removed).
Batch jobs read chunks on several threads (each forward pass on one ONNX
Runtime thread, numpy and Pillow release the GIL), one per core by default.
"""
import hashlib
import json
import logging
import os
import shutil
import zipfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ml.artifacts import write_atomic
from ml.vision.colour import DIM as HISTOGRAM_DIM
from ml.vision.colour import colour_histograms
from ml.vision.extract import read_batch
from ml.vision.runtime import unit_rows

from . import colour

log = logging.getLogger("ml")

# Where MODELS_DIR keeps it.
CACHE_DIR = Path("cache") / "photo-evidence"
CHUNK = 512
# ONNX Runtime was fastest at 32 photos a pass (318 photos/s against 265 at 64 and 128);
# the colour statistics' temporary arrays stay in cache at 64.
FORWARD_BATCH = 32
COLOUR_BATCH = 64
PARTS = ("features", "logits", "colour", "histogram")
# Stored at full precision: the index's vectors are computed from them.
FLOAT32_PARTS = ("features", "histogram")
# Changes whenever what a chunk holds changes; part of the cache folder's name.
LAYOUT = f"v2-colour-{colour.DIM}-histogram-{HISTOGRAM_DIM}"


def encoder_hash(path):
    """sha1 of the encoder file plus the colour statistics' layout: names the encoder a
    fused model was fitted on (its card) and, with LAYOUT, the cache folder."""
    digest = hashlib.sha1(f"colour-{colour.DIM}".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def cache_folder(cache_root, encoder_path):
    return Path(cache_root) / f"{encoder_hash(encoder_path)}-{LAYOUT}"


def default_workers():
    """Threads for a batch job: every core (the web process embeds on one)."""
    return max(1, os.cpu_count() or 1)


def evidence_of_batch(encoder, batch_uint8):
    """{features (n, F) unit rows, logits (n, K), colour (n, D), histogram (n, H)} of a
    uint8 NCHW batch: the one forward pass every photo model reads from."""
    runs = [encoder.run(batch_uint8[i:i + FORWARD_BATCH])
            for i in range(0, len(batch_uint8), FORWARD_BATCH)]
    outputs = {key: np.concatenate([run[key] for run in runs]) for key in runs[0]}
    features = unit_rows(outputs["features"].astype(np.float32))
    logits = outputs.get("logits")
    if logits is None:
        logits = np.zeros((len(features), 0), np.float32)
    parts = [(colour.colour_statistics(batch_uint8[i:i + COLOUR_BATCH]),
              colour_histograms(batch_uint8[i:i + COLOUR_BATCH]))
             for i in range(0, len(batch_uint8), COLOUR_BATCH)]
    return {"features": features, "logits": logits.astype(np.float32),
            "colour": np.concatenate([p[0] for p in parts]),
            "histogram": np.concatenate([p[1] for p in parts])}


def photo_stamp(photo):
    """What tells a changed photo from the one cached: a file's name, size and time,
    bytes' hash; "" for anything else (a PIL image, a lazy opener: trusted by sku)."""
    if isinstance(photo, (str, Path)):
        try:
            stat = os.stat(photo)
        except OSError:
            return f"{photo}|missing"
        return f"{photo}|{stat.st_size}|{stat.st_mtime_ns}"
    if isinstance(photo, (bytes, bytearray)):
        return hashlib.sha1(photo).hexdigest()
    return ""


def _read_chunk(encoder, chunk):
    batch, ok, failed = read_batch(encoder, [(sku, photo) for sku, photo, _ in chunk])
    parts = evidence_of_batch(encoder, batch) if ok else None
    return ok, failed, parts


def cached_evidence(items, encoder, encoder_path, cache_root, progress=True, workers=1,
                    desc="photo evidence"):
    """(skus, {part: float32 array}, failed skus) for `items` [(sku, photo)], in the
    order of `items`. A photo is a path, bytes, a PIL image or a callable returning one.

    Photos already in the cache for this encoder (unchanged since) are not read
    again; the others are read in chunks of CHUNK on `workers` threads, each
    chunk written as soon as it is done (in order), so an interruption loses at
    most the chunks in flight.
    """
    items = [(str(sku), photo) for sku, photo in items]
    folder = cache_folder(cache_root, encoder_path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in Path(cache_root).iterdir():
        if stale.is_dir() and stale != folder:
            log.info("removing photo evidence of an older encoder or layout: %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    stamps = {sku: photo_stamp(photo) for sku, photo in items}
    done = _read(folder, stamps)
    todo = [(sku, photo, stamps[sku]) for sku, photo in items
            if sku not in done["rows"] and sku not in done["failed"]]
    number = max((int(p.stem.split("-")[1]) for p in folder.glob("part-*.npz")), default=0)
    chunks = [todo[start:start + CHUNK] for start in range(0, len(todo), CHUNK)]
    workers = max(1, min(int(workers), len(chunks) or 1))
    with tqdm(total=len(todo), desc=desc, unit="photo", disable=not progress or not todo,
              mininterval=2) as bar, ThreadPoolExecutor(workers) as pool:
        pending = deque()
        for i, chunk in enumerate(chunks):
            pending.append((chunk, pool.submit(_read_chunk, encoder, chunk)))
            # Keep every thread busy, but no more chunks in memory than that.
            while pending and (len(pending) > workers or i == len(chunks) - 1):
                chunk, future = pending.popleft()
                ok, failed, parts = future.result()
                number += 1
                _write_part(folder / f"part-{number:05d}.npz", chunk, ok, failed, parts)
                bar.update(len(chunk))
    if todo:
        done = _read(folder, stamps)
    (folder / "meta.json").write_text(json.dumps({"encoder": str(encoder_path)}), encoding="utf-8")
    order = [sku for sku, _ in items if sku in done["rows"]]
    index = np.asarray([done["rows"][sku] for sku in order], dtype=np.int64)
    evidence = {p: done[p][index].astype(np.float32) for p in PARTS}
    return order, evidence, [sku for sku, _ in items if sku in done["failed"]]


def _write_part(path, chunk, ok, failed, parts):
    stamp = {sku: s for sku, _, s in chunk}
    if parts is None:
        parts = {p: np.zeros((0, 0), np.float32) for p in PARTS}
    write_atomic(path, lambda tmp: np.savez(
        tmp, skus=np.asarray(ok, dtype=str), failed=np.asarray(failed, dtype=str),
        stamps=np.asarray([stamp[s] for s in ok], dtype=str),
        failed_stamps=np.asarray([stamp[s] for s in failed], dtype=str),
        **{p: parts[p].astype(np.float32 if p in FLOAT32_PARTS else np.float16) for p in PARTS}))


def _read(folder, stamps):
    """{rows: {sku: row}, failed: set, part: array} of the cached photos whose stamp is
    the one in `stamps` (a later chunk's row wins); unreadable chunks are deleted."""
    rows, failed, parts, count = {}, set(), {p: [] for p in PARTS}, 0
    for path in sorted(Path(folder).glob("part-*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                chunk = {p: data[p] for p in PARTS}
                skus = [str(s) for s in data["skus"]]
                ok_stamps = [str(s) for s in data["stamps"]]
                bad = zip((str(s) for s in data["failed"]), (str(s) for s in data["failed_stamps"]))
                bad = list(bad)
            if any(len(chunk[p]) != len(skus) for p in PARTS if len(skus)):
                raise ValueError("parts of different lengths")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # redone
            log.warning("discarding unreadable photo evidence %s: %s", path, exc)
            path.unlink(missing_ok=True)
            continue
        for i, (sku, stamp) in enumerate(zip(skus, ok_stamps)):
            if stamps.get(sku) == stamp:
                rows[sku] = count + i
                failed.discard(sku)
        for sku, stamp in bad:
            if stamps.get(sku) == stamp:
                failed.add(sku)
                rows.pop(sku, None)
        if skus:
            for p in PARTS:
                parts[p].append(chunk[p])
            count += len(skus)
    empty = {"features": 0, "logits": 0, "colour": colour.DIM, "histogram": HISTOGRAM_DIM}
    return {"rows": rows, "failed": failed,
            **{p: np.concatenate(parts[p]) if parts[p] else np.zeros((0, empty[p]), np.float32)
               for p in PARTS}}
