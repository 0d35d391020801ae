"""Photo search as one self-contained artifact: encoder + embeddings + index.

The `image-embeddings` artifact (in MODELS_DIR, through ml/artifacts.py)
holds everything a query needs, so the query side always uses the very
encoder that embedded the catalog:

    encoder.onnx       the exported encoder used (ONNX Runtime runs it; no torch)
    embeddings.npy     float32 (n, dim), unit rows, keyed by
    skus.json          product skus, in the same order
    index/             the usearch HNSW graph, for catalogs above ann.EXACT_MAX
    labels.json        each product's article type and colour, for the ranking
    added/<sku>.npz    products added after the build (index_product), no rebuild
    card.json          encoder, colour weight, counts, failures, metrics

Ranking: the nearest photos are re-ranked by how well each one's labels
agree with what the query most likely is (`rank`; docs/ml/vision.md,
"Ranking"): a shopper photographing a heel wants heels first, then the
closest in look and colour.

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
LABELS_FILE = "labels.json"
LABEL_FIELDS = ("articleType", "baseColour")

# Weight of the colour histogram next to the CNN features, chosen on the
# validation split (queries = val photos, catalog = train photos); see
# docs/ml/vision.md for the sweep.
DEFAULT_COLOUR_WEIGHT = 0.4

# The ranking (`rank`), chosen on the same validation split (docs/ml/vision.md):
# how many nearest photos a photo query re-ranks, how sharply their votes favour
# the closest (a softmax temperature on the cosine), how much the classifier's
# article-type probabilities count next to the neighbours' votes, and the bonus
# for agreeing with the likely article type and colour.
PHOTO_CANDIDATES = 100
VOTE_TEMPERATURE = 0.02
CLASSIFIER_SHARE = 0.5
AGREEMENT_BONUS = {"articleType": 0.5, "baseColour": 0.1}


class Labels:
    """The article type and colour of every indexed product, as small integers per field."""

    def __init__(self, by_field=None):
        self.classes = {field: [] for field in LABEL_FIELDS}
        self._class_id = {field: {} for field in LABEL_FIELDS}
        self._of = {field: {} for field in LABEL_FIELDS}
        for field, by_sku in (by_field or {}).items():
            for sku, label in by_sku.items():
                self.set(field, sku, label)

    def set(self, field, sku, label):
        if field not in self._of or not label:
            return
        ids = self._class_id[field]
        if label not in ids:
            ids[label] = len(self.classes[field])
            self.classes[field].append(label)
        self._of[field][str(sku)] = ids[label]

    def ids(self, field, skus):
        """int array of the skus' class ids, -1 where a product has no label."""
        of = self._of[field]
        return np.fromiter((of.get(sku, -1) for sku in skus), dtype=np.int64, count=len(skus))

    def type_probabilities(self, classes, probabilities):
        """A classifier's probabilities over its `classes`, as `rank` takes them: an array
        over `self.classes["articleType"]` (0 for a type the classifier does not know)."""
        by_label = dict(zip(classes, np.asarray(probabilities).tolist()))
        return np.asarray([by_label.get(label, 0.0) for label in self.classes["articleType"]])

    def to_json(self):
        return {field: {sku: self.classes[field][i] for sku, i in of.items()}
                for field, of in self._of.items()}

    def __bool__(self):
        return any(self._of.values())


def rank(matches, labels, k, type_probabilities=None):
    """The `k` best of `matches` [(sku, cosine)], re-ranked by label agreement.

    Each candidate's rank is its cosine plus, per field, AGREEMENT_BONUS times
    how likely the query is to have that candidate's label. The likelihood is
    the candidates' own vote (each weighted by exp(cosine / VOTE_TEMPERATURE),
    so the closest photos count most); for the article type it is mixed with
    `type_probabilities` (an array over `labels.classes["articleType"]`, from the
    query photo's classifier or a catalog product's own label). The pairs keep
    their cosine.
    """
    if len(matches) < 2 or not labels:
        return matches[:k]
    skus = [sku for sku, _ in matches]
    cosine = np.asarray([score for _, score in matches], dtype=np.float64)
    weight = np.exp((cosine - cosine.max()) / VOTE_TEMPERATURE)
    ranking = cosine.copy()
    for field, bonus in AGREEMENT_BONUS.items():
        ids = labels.ids(field, skus)
        known = ids >= 0
        if not known.any():
            continue
        likely = np.bincount(ids[known], weights=weight[known],
                             minlength=len(labels.classes[field])) / weight[known].sum()
        if field == "articleType" and type_probabilities is not None:
            likely = (1 - CLASSIFIER_SHARE) * likely + CLASSIFIER_SHARE * type_probabilities
        # A product without a label gets the benefit of the doubt: the likeliest label's share.
        ranking += bonus * np.where(known, likely[ids], likely.max())
    order = np.argsort(-ranking, kind="stable")[:k]
    return [matches[i] for i in order]


def build(models_dir, items, encoder, backend="auto", progress=True, extra_card=None,
          workers=1, cache_root=None, labels=None):
    """Embed `items` [(sku, image)] (resumably) and save a new `image-embeddings` version.

    `labels` {sku: {"articleType": ..., "baseColour": ...}} are what the ranking
    agrees with (products without are ranked by their photo alone).

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
    by_field = {field: {sku: (labels or {}).get(sku, {}).get(field) for sku in skus}
                for field in LABEL_FIELDS}

    def write(folder):
        np.save(folder / EMBEDDINGS_FILE, vectors.astype(np.float32))
        (folder / SKUS_FILE).write_text(json.dumps(skus), encoding="utf-8")
        (folder / LABELS_FILE).write_text(json.dumps(Labels(by_field).to_json()), encoding="utf-8")
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

    def __init__(self, encoder, index, card, folder=None, labels=None):
        self.encoder = encoder
        self.index = index
        self.card = card
        self.labels = labels or Labels()
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
            labels_file = folder / LABELS_FILE
            # Built before the ranking: photos alone rank it until the next build.
            labels = Labels(json.loads(labels_file.read_text(encoding="utf-8"))
                            if labels_file.exists() else None)
        except ArtifactError:
            raise
        except Exception as exc:
            raise ArtifactError(f"{ARTIFACT}: cannot load embeddings from {folder}: {exc}") from exc
        if index.dim != encoder.dim:
            raise ArtifactError(f"{ARTIFACT}: index dim {index.dim} != encoder dim {encoder.dim}")
        search = cls(encoder, index, card, folder, labels)
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
                    sku = str(data["sku"])
                    self.index.add([sku], data["vector"][None, :])
                    for field in LABEL_FIELDS:
                        if field in data:
                            self.labels.set(field, sku, str(data[field]))
                self._added_files[path.name] = mtime
            except Exception as exc:
                log.warning("ignoring unreadable added embedding %s: %s", path, exc)

    # ----------------------------------------------------------------- queries

    def embed(self, image):
        """Embedding of one image (path, file, bytes or PIL). Raises ImageError."""
        return self.encoder.embed([image])[0]

    def similar_to_image(self, image, k=10, allowed=None, exclude=None):
        """[(sku, cosine)] of the k products whose photos look most like `image`,
        ranked by `rank` with the photo's article-type probabilities."""
        vectors, probabilities = self.encoder.embed_and_classify([image])
        matches = self.index.search(vectors[0], max(k, PHOTO_CANDIDATES), allowed=allowed,
                                    exclude=exclude)
        type_probabilities = None if probabilities is None else \
            self.labels.type_probabilities(self.encoder.classes, probabilities[0])
        return rank(matches, self.labels, k, type_probabilities)

    def similar_to_sku(self, sku, k=10, allowed=None):
        """[(sku, cosine)] of the k products that look most like product `sku`, those
        of its own article type first (`rank`)."""
        vector = self.index.vector(sku)
        if vector is None:
            return []
        sku = str(sku)
        # One more than asked, the product itself dropped after: a predicate would make
        # the index fetch four times as many candidates. Its own article type is known,
        # so the ranking needs no wider pool than the answer: a product page stays cheap.
        matches = self.index.search(vector, k + 1, allowed=allowed)
        own_type = self.labels.ids("articleType", [sku])[0]
        type_probabilities = None
        if own_type >= 0:
            type_probabilities = np.zeros(len(self.labels.classes["articleType"]))
            type_probabilities[own_type] = 1.0
        return rank([(other, score) for other, score in matches if other != sku], self.labels, k,
                    type_probabilities)

    def predict(self, image, top=3):
        return self.encoder.predict([image], top=top)[0]

    def add(self, sku, image, labels=None):
        """Embed one product photo and add it to the index without a rebuild.

        `labels` {"articleType": ..., "baseColour": ...} join the ranking. The
        vector and labels are also written to added/<sku-hash>.npz inside the
        served version, so processes that load later see them too.
        """
        sku = str(sku)
        vector = self.embed(image)
        self.index.add([sku], vector[None, :])
        labels = {field: str(value) for field, value in (labels or {}).items()
                  if field in LABEL_FIELDS and value}
        for field, value in labels.items():
            self.labels.set(field, sku, value)
        folder = self._added_dir()
        if folder:
            folder.mkdir(exist_ok=True)
            name = hashlib.sha1(sku.encode()).hexdigest()[:20] + ".npz"
            write_atomic(folder / name, lambda tmp: np.savez(
                tmp, sku=np.asarray(sku), vector=vector.astype(np.float32),
                **{field: np.asarray(value) for field, value in labels.items()}))
            self._added_files[name] = (folder / name).stat().st_mtime_ns
        return vector

    def status(self):
        return {"version": self.card.get("version"), "count": len(self.index),
                "encoder": self.card.get("encoder", {}).get("kind"),
                "backend": self.index.backend, "dim": self.index.dim}
