"""Reading catalog photos into the encoder's input, and the fingerprint of an embedding.

`read_batch` is the one place a list of photos becomes the uint8 NCHW batch
the encoder reads (through `preprocess.to_uint8`, as queries are): the photo
evidence cache (`ml/fusion/evidence.py`), from which both the photo index and
the fused categorizer are built, reads every catalog photo through it. A photo
that cannot be read is reported, not raised, so one bad file does not stop a
41k-photo run.
"""
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .preprocess import ImageError, to_uint8

log = logging.getLogger("ml")


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


def read_batch(encoder, items):
    """(uint8 NCHW batch or None, skus read, skus whose photo is unreadable) of [(sku, photo)].

    A photo is a path, bytes, a file, a PIL image or a callable returning one
    (a lazy opener, e.g. a remote storage's file).
    """
    arrays, ok, failed = [], [], []
    for sku, photo in items:
        try:
            if callable(photo):
                photo = photo()
            arrays.append(to_uint8(photo, encoder.preprocess))
            ok.append(sku)
        except (ImageError, OSError) as exc:
            log.warning("photo of %s not read: %s", sku, exc)
            failed.append(sku)
    return (np.stack(arrays) if arrays else None), ok, failed
