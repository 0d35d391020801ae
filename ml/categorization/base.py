"""What both categorizers share: stacked linear heads and the prediction API.

A model is one `TextFeaturizer` plus any number of *heads*. Every head is a
linear scorer over the same features (a Naive Bayes log-probability matrix or
a linear classifier's weights), and all heads are stacked side by side in
one dense matrix ``W`` (n_features x n_columns). Scoring a batch is therefore
one sparse-times-dense product, ``X @ W + b``, however many heads a model
has; scoring one name is a gather of the rows of ``W`` its features hit.
Each head turns its slice of scores into probabilities with a softmax at a
temperature fitted on validation data.
"""
import numpy as np

from .features import clean_name
from .taxonomy import FIELDS

TOP_K = 3


def softmax(scores, temperature=1.0):
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class Head:
    """One classifier's columns in the stacked weight matrix."""

    def __init__(self, name, classes, start, temperature=1.0):
        self.name = name
        self.classes = np.asarray(classes, dtype=object)
        self.start = start
        self.stop = start + len(self.classes)
        self.temperature = float(temperature)

    def __repr__(self):
        return f"Head({self.name!r}, {len(self.classes)} classes, T={self.temperature:.3g})"

    def proba(self, scores):
        return softmax(scores[:, self.start:self.stop], self.temperature)


class HeadStack:
    """Collects (name, classes, weights, bias) and freezes them into W and b."""

    def __init__(self, n_features):
        self.n_features = n_features
        self.heads = {}
        self._weights, self._biases = [], []
        self._width = 0

    def add(self, name, classes, weights, bias, temperature=1.0):
        weights = np.asarray(weights, dtype=np.float32)
        if weights.shape != (self.n_features, len(classes)):
            raise ValueError(f"head {name}: weights {weights.shape}, expected "
                             f"({self.n_features}, {len(classes)})")
        self.heads[name] = Head(name, classes, self._width, temperature)
        self._weights.append(weights)
        self._biases.append(np.asarray(bias, dtype=np.float32).reshape(-1))
        self._width += len(classes)
        return self.heads[name]

    def freeze(self):
        W = np.ascontiguousarray(np.hstack(self._weights), dtype=np.float32)
        b = np.concatenate(self._biases).astype(np.float32)
        return W, b, self.heads


class StackedTextModel:
    """Base class: featurizer + stacked heads + the shared `predict` API.

    Subclasses implement `_decide(scores) -> (labels, probs, top)` where
    `labels[field]` and `probs[field]` are arrays over the rows and `top` is a
    list (one per row) of [(articleType, probability), ...].
    """

    kind = "base"

    def __init__(self, featurizer, taxonomy):
        self.featurizer = featurizer
        self.taxonomy = taxonomy
        self.W = None
        self.b = None
        self.heads = {}

    # -- scoring --------------------------------------------------------------
    def scores(self, names):
        """Dense (len(names) x n_columns) raw scores of all heads."""
        if len(names) == 1:
            idx, val = self.featurizer.transform_one(names[0])
            row = val @ self.W[idx] if len(idx) else np.zeros(self.W.shape[1], np.float32)
            return (row + self.b)[None, :]
        X = self.featurizer.transform(names)
        return np.asarray(X @ self.W) + self.b

    # -- the shared API -------------------------------------------------------
    def predict(self, names):
        """One dict per name, in order; never raises on odd text."""
        if isinstance(names, str):
            names = [names]
        cleaned = [clean_name(n) for n in names]
        if not cleaned:
            return []
        labels, probs, top = self._decide(self.scores(cleaned))
        out = []
        for i, name in enumerate(names):
            item = {"name": name if isinstance(name, str) else cleaned[i]}
            for field in FIELDS:
                item[field] = labels[field][i]
            item["confidence"] = {field: round(float(probs[field][i]), 4) for field in FIELDS}
            item["candidates"] = [{"articleType": a, "probability": round(float(p), 4)}
                                  for a, p in top[i]]
            out.append(item)
        return out

    def predict_one(self, name):
        return self.predict([name])[0]

    def predict_labels(self, names, batch_size=4096):
        """{field: list of labels} for many names (used by evaluation)."""
        result = {field: [] for field in FIELDS}
        for start in range(0, len(names), batch_size):
            chunk = [clean_name(n) for n in names[start:start + batch_size]]
            labels, _, _ = self._decide(self.scores(chunk))
            for field in FIELDS:
                result[field].extend(labels[field])
        return result

    # -- helpers for subclasses --------------------------------------------------
    @staticmethod
    def _top(classes, proba, k=TOP_K):
        k = min(k, proba.shape[1])
        order = np.argsort(-proba, axis=1)[:, :k]
        return [[(classes[j], proba[i, j]) for j in row] for i, row in enumerate(order)]

    def _aggregate(self, proba, classes, parent_of, parents):
        """Sum child probabilities into parent probabilities (N x len(parents))."""
        index = {p: j for j, p in enumerate(parents)}
        cols = np.asarray([index.get(parent_of.get(c, ""), -1) for c in classes])
        out = np.zeros((proba.shape[0], len(parents)), dtype=proba.dtype)
        for j in range(len(parents)):
            mask = cols == j
            if mask.any():
                out[:, j] = proba[:, mask].sum(axis=1)
        return out

    def card_info(self):
        return {
            "kind": self.kind,
            "n_features": int(self.W.shape[0]),
            "heads": {name: {"classes": [str(c) for c in head.classes],
                             "temperature": head.temperature}
                      for name, head in self.heads.items()},
        }
