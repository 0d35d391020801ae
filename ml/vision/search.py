"""Photo search as one self-contained artifact: encoder + embeddings + index.

The `image-embeddings` artifact (in MODELS_DIR, through ml/artifacts.py)
holds everything a query needs, so the query side always uses the very
encoder that embedded the catalog:

    encoder.onnx       the exported encoder used (ONNX Runtime runs it; no torch)
    embeddings.npy     float32 (n, dim), unit rows, keyed by
    skus.json          product skus, in the same order
    index/             the usearch HNSW graph, for catalogs above ann.EXACT_MAX
    added/<sku>.npz    products added after the build (index_product), no rebuild
    card.json          encoder, colour weight, counts, failures, metrics

Plain Python: no Django here.
"""
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from ml.ann import EXACT_MAX, VectorIndex
from ml.artifacts import (ArtifactError, current_folder, library_versions, load_card, save_version,
                          write_atomic)
from ml.fusion.evidence import CACHE_DIR, cached_evidence

from .extract import encoder_fingerprint
from .runtime import EncoderUnavailable, OnnxEncoder

log = logging.getLogger("ml")

ARTIFACT = "image-embeddings"
ENCODER_FILE = "encoder.onnx"
EMBEDDINGS_FILE = "embeddings.npy"
SKUS_FILE = "skus.json"
INDEX_DIR = "index"
ADDED_DIR = "added"

# Weight of the colour histogram next to the CNN features, chosen on the
# validation split (queries = val photos, catalog = train photos); see
# docs/ml/vision.md for the sweep.
DEFAULT_COLOUR_WEIGHT = 0.4


def build(models_dir, items, encoder, backend="auto", progress=True, extra_card=None,
          workers=1, cache_root=None):
    """Embed `items` [(sku, image)] (resumably) and save a new `image-embeddings` version.

    `encoder` is an OnnxEncoder; its .onnx file is copied into the artifact.
    The photos go through the photo evidence cache (`ml/fusion/evidence.py`,
    MODELS_DIR/cache/photo-evidence by default), which keeps finished chunks
    across an interruption and lets the fused categorizer reuse every photo's
    forward pass; each vector is `encoder.vectors(features, histogram)` of it.
    """
    fingerprint = encoder_fingerprint(encoder)
    cache_root = Path(models_dir) / CACHE_DIR if cache_root is None else Path(cache_root)
    skus, evidence, failed = cached_evidence(items, encoder, encoder.path, cache_root,
                                             progress=progress, workers=workers,
                                             desc="embedding photos")
    if not skus:
        raise ArtifactError("no product photo could be embedded")
    vectors = encoder.vectors(evidence["features"], evidence["histogram"])
    if backend == "auto":
        backend = "exact" if len(skus) <= EXACT_MAX else "hnsw"

    def write(folder):
        np.save(folder / EMBEDDINGS_FILE, vectors.astype(np.float32))
        (folder / SKUS_FILE).write_text(json.dumps(skus), encoding="utf-8")
        shutil.copyfile(encoder.path, folder / ENCODER_FILE)
        if backend == "hnsw":
            VectorIndex.build(skus, vectors, backend="hnsw").save(folder / INDEX_DIR)

    card = {
        "data": f"{len(skus)} product photos",
        "count": len(skus),
        "failed": failed[:200],
        "failed_count": len(failed),
        "encoder": {**encoder.describe(), "kind": encoder.name, "file": ENCODER_FILE,
                    "fingerprint": fingerprint},
        "backend": backend,
        "versions": library_versions("onnxruntime", "usearch", "numpy"),
        **(extra_card or {}),
    }
    return save_version(models_dir, ARTIFACT, card, write)


class ImageSearch:
    """A loaded `image-embeddings` version: search, add, predict."""

    def __init__(self, encoder, index, card, folder=None):
        self.encoder = encoder
        self.index = index
        self.card = card
        self.folder = Path(folder) if folder else None
        self._added_files = {}  # added/ file name -> the mtime it had when read

    @classmethod
    def load(cls, models_dir, threads=1):
        """The served version; ArtifactError if it is missing or corrupt."""
        folder = current_folder(models_dir, ARTIFACT)
        card = load_card(folder)
        try:
            info = card["encoder"]
            if info.get("file") != ENCODER_FILE:
                raise ValueError("built before the encoder was served with ONNX Runtime: rebuild it")
            encoder = OnnxEncoder(folder / ENCODER_FILE, colour_weight=float(info["colour_weight"]),
                                  threads=threads)
        except (KeyError, TypeError, ValueError, EncoderUnavailable) as exc:
            raise ArtifactError(f"{ARTIFACT}: cannot load its encoder: {exc}") from exc
        try:
            if card.get("backend") == "hnsw":
                index = VectorIndex.load(folder / INDEX_DIR)
            else:
                skus = json.loads((folder / SKUS_FILE).read_text(encoding="utf-8"))
                vectors = np.load(folder / EMBEDDINGS_FILE, allow_pickle=False)
                index = VectorIndex.build(skus, vectors, backend="exact")
        except ArtifactError:
            raise
        except Exception as exc:
            raise ArtifactError(f"{ARTIFACT}: cannot load embeddings from {folder}: {exc}") from exc
        if index.dim != encoder.dim:
            raise ArtifactError(f"{ARTIFACT}: index dim {index.dim} != encoder dim {encoder.dim}")
        search = cls(encoder, index, card, folder)
        search.load_added()
        return search

    def _added_dir(self):
        return self.folder / ADDED_DIR if self.folder else None

    def load_added(self):
        """Add the vectors written to added/ that this process has not read yet.

        Another process (the Celery worker) indexes a seller's new photo; each web
        worker calls this to find it without reloading the whole index. A rewritten
        file (a product's new photo) is read again.
        """
        folder = self._added_dir()
        if not folder or not folder.is_dir():
            return
        for path in sorted(folder.glob("*.npz")):
            try:
                mtime = path.stat().st_mtime_ns
                if self._added_files.get(path.name) == mtime:
                    continue
                with np.load(path, allow_pickle=False) as data:
                    self.index.add([str(data["sku"])], data["vector"][None, :])
                self._added_files[path.name] = mtime
            except Exception as exc:
                log.warning("ignoring unreadable added embedding %s: %s", path, exc)

    # ----------------------------------------------------------------- queries

    def embed(self, image):
        """Embedding of one image (path, file, bytes or PIL). Raises ImageError."""
        return self.encoder.embed([image])[0]

    def similar_to_image(self, image, k=10, allowed=None, exclude=None):
        return self.index.search(self.embed(image), k, allowed=allowed, exclude=exclude)

    def similar_to_sku(self, sku, k=10, allowed=None):
        vector = self.index.vector(sku)
        if vector is None:
            return []
        sku = str(sku)
        # One more than asked, the product itself dropped after: a predicate would make
        # the index fetch four times as many candidates to be sure of k.
        matches = self.index.search(vector, k + 1, allowed=allowed)
        return [(other, score) for other, score in matches if other != sku][:k]

    def predict(self, image, top=3):
        return self.encoder.predict([image], top=top)[0]

    def add(self, sku, image):
        """Embed one product photo and add it to the index without a rebuild.

        The vector is also written to added/<sku-hash>.npz inside the served
        version, so processes that load later see it too.
        """
        vector = self.embed(image)
        self.index.add([str(sku)], vector[None, :])
        folder = self._added_dir()
        if folder:
            folder.mkdir(exist_ok=True)
            name = hashlib.sha1(str(sku).encode()).hexdigest()[:20] + ".npz"
            write_atomic(folder / name, lambda tmp: np.savez(
                tmp, sku=np.asarray(str(sku)), vector=vector.astype(np.float32)))
            self._added_files[name] = (folder / name).stat().st_mtime_ns
        return vector

    def status(self):
        return {"version": self.card.get("version"), "count": len(self.index),
                "encoder": self.card.get("encoder", {}).get("kind"),
                "backend": self.index.backend, "dim": self.index.dim}
