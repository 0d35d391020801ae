"""The served image encoder: an exported ONNX graph run by ONNX Runtime.

The web process embeds query photos, answers the seller form's article-type
second opinion and embeds the catalog through this class only: numpy, Pillow
and onnxruntime, never torch (torch costs ~670 MB per process and is only
needed to train; `encoders.export_onnx` writes the graph at training time).

The graph takes the uint8 pixels of `preprocess.to_uint8` and returns the
pooled features (and the article-type logits when it has a head). Its
metadata carries the preprocessing, the classes and a name, so one .onnx file
is a complete encoder.
"""
import json
from pathlib import Path

import numpy as np

from ml.categorization.base import softmax

from .colour import DIM as COLOUR_DIM
from .colour import colour_histograms
from .preprocess import Preprocess, to_uint8

METADATA_KEY = "fashionshop-image-encoder"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_ONNX = REPO_ROOT / "data" / "weights" / "lite0-articletype.onnx"


class EncoderUnavailable(RuntimeError):
    """The .onnx file is missing, unreadable or not one of ours."""


def write_metadata(model, name, preprocess, classes, dim, source=""):
    """Store what serving needs inside an onnx ModelProto (called by the exporter)."""
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps({"name": name, "preprocess": preprocess.to_dict(),
                              "classes": list(classes), "dim": int(dim), "source": str(source)})


class OnnxEncoder:
    """Photo -> unit-norm float32 embedding (CNN features + optional colour histogram).

    `colour_weight` > 0 appends the colour histogram scaled by it, then
    renormalises: [f, w·h] / sqrt(1 + w²).
    """

    def __init__(self, path, colour_weight=0.0, threads=1):
        import onnxruntime  # here: exporting a graph (training) needs write_metadata, not the runtime

        self.path = Path(path)
        options = onnxruntime.SessionOptions()
        # One thread: on shared cores two spin-waiting threads were several times slower.
        # Batch jobs use more cores by running several photos' passes at once
        # (ml/fusion/evidence.py), each on its calling thread.
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), options,
                                                        providers=["CPUExecutionProvider"])
            meta = json.loads(self.session.get_modelmeta().custom_metadata_map[METADATA_KEY])
            self.preprocess = Preprocess.from_dict(meta["preprocess"])
            self.name = str(meta["name"])
            self.classes = list(meta.get("classes") or [])
            self.feature_dim = int(meta["dim"])
        except Exception as exc:   # onnxruntime raises its own exception types for bad files
            raise EncoderUnavailable(f"cannot load image encoder {self.path}: {exc}") from exc
        self.source = str(meta.get("source") or "")
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.colour_weight = float(colour_weight)
        self.threads = int(threads)

    @property
    def dim(self):
        return self.feature_dim + (COLOUR_DIM if self.colour_weight > 0 else 0)

    @property
    def can_classify(self):
        return bool(self.classes) and "logits" in self.outputs

    def describe(self):
        return {"encoder": self.name, "dim": self.dim, "feature_dim": self.feature_dim,
                "colour_weight": self.colour_weight, "preprocess": self.preprocess.to_dict(),
                "weights": str(self.path), "runtime": "onnxruntime"}

    def load_uint8(self, images):
        """Decode, reduce and letterbox a list of images -> uint8 NCHW. Raises ImageError."""
        return np.stack([to_uint8(image, self.preprocess) for image in images])

    def run(self, batch_uint8):
        """{output name: float32 array} of the graph for a uint8 NCHW batch."""
        values = self.session.run(None, {"images": np.ascontiguousarray(batch_uint8)})
        return dict(zip(self.outputs, values))

    def combine(self, features, batch_uint8):
        """Unit CNN features (+ weighted colour histogram) as float32 rows of unit norm."""
        histograms = colour_histograms(batch_uint8) if self.colour_weight > 0 else None
        return self.vectors(unit_rows(features), histograms)

    def vectors(self, unit_features, histograms):
        """The embedding [f, w·h] / sqrt(1 + w²) of unit features f and colour histograms h
        (ignored when the colour weight is 0): what the photo index stores and queries."""
        features = unit_features
        if self.colour_weight > 0:
            colour = histograms * self.colour_weight
            features = np.concatenate([features, colour], axis=1) / np.sqrt(1 + self.colour_weight ** 2)
        return features.astype(np.float32)

    def embed_uint8(self, batch_uint8):
        return self.combine(self.run(batch_uint8)["features"], batch_uint8)

    def embed(self, images):
        return self.embed_uint8(self.load_uint8(images))

    def embed_and_classify(self, images):
        """(embeddings, article-type probabilities over `classes` or None), one forward pass."""
        batch = self.load_uint8(images)
        outputs = self.run(batch)
        probabilities = softmax(outputs["logits"]) if self.can_classify else None
        return self.combine(outputs["features"], batch), probabilities

    def predict_uint8(self, batch_uint8, top=3):
        """Top-`top` [(class, probability)] per image from the classifier head."""
        if not self.can_classify:
            return [[] for _ in range(len(batch_uint8))]
        return top_classes(self.run(batch_uint8)["logits"], self.classes, top)

    def predict(self, images, top=3):
        return self.predict_uint8(self.load_uint8(images), top=top)


def unit_rows(features):
    """Rows scaled to unit L2 norm (an all-zero row stays zero)."""
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)


def top_classes(logits, classes, top=3):
    """[(class, probability)] of the `top` most likely classes per row of logits."""
    probs = softmax(logits)
    order = np.argsort(-probs, axis=1)[:, :min(top, probs.shape[1])]
    return [[(classes[i], round(float(row[i]), 4)) for i in idx] for row, idx in zip(probs, order)]
