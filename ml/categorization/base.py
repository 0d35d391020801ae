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
from scipy import sparse

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
        self.classes = np.asarray([str(c) for c in classes], dtype=object)
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
        # Set by `compact`: W is then int8 and column c means W[:, c] * scale[c].
        self.scale = None
        self.heads = {}

    # -- scoring --------------------------------------------------------------
    def scores(self, names):
        """Dense (len(names) x n_columns) raw scores of all heads."""
        if len(names) == 1:
            idx, val = self.featurizer.transform_one(names[0])
            row = val @ self._weights(idx) if len(idx) else np.zeros(self.W.shape[1], np.float32)
            return (row + self.b)[None, :]
        X = self.featurizer.transform(names)
        # Only the rows of W the batch uses, dequantized once.
        used = np.unique(X.indices)
        X = sparse.csr_matrix((X.data, np.searchsorted(used, X.indices), X.indptr),
                              shape=(X.shape[0], len(used)))
        return np.asarray(X @ self._weights(used)) + self.b

    def _weights(self, rows):
        """Rows of W as float32."""
        weights = self.W[rows].astype(np.float32)
        return weights if self.scale is None else weights * self.scale

    def compact(self, names, n_features):
        """Keep the `n_features` features that move the scores most over `names` and
        store the weights as int8 with one float32 scale per column: the artifact
        shrinks five times for a small accuracy cost, which training measures on
        validation (docs/ml/categorization.md).

        Adding one constant to all of a feature's weights within a head shifts every
        class of that head equally and leaves its softmax unchanged, so the weights
        are first centred per head; what is left is what the feature decides.
        """
        W = self.W.astype(np.float32)
        presence = np.asarray(self.featurizer.transform(names).sum(axis=0)).ravel()
        importance = np.zeros(W.shape[0], np.float32)
        for head in self.heads.values():
            block = W[:, head.start:head.stop]
            block -= block.mean(axis=1, keepdims=True)
            # each head's share of its own total, so small heads keep their features too
            effect = presence * np.abs(block).max(axis=1)
            importance = np.maximum(importance, effect / max(effect.sum(), 1e-12))
        keep = np.sort(np.argsort(-importance, kind="stable")[:n_features])
        self.featurizer.keep_columns(keep)
        W = W[keep]
        self.scale = np.maximum(np.abs(W).max(axis=0), 1e-12) / 127
        self.W = np.ascontiguousarray(np.round(W / self.scale), dtype=np.int8)
        return self

    def probabilities(self, scores):
        """{head name: (N x classes) probabilities}: every head's softmax in a few numpy calls."""
        def layout():
            heads = sorted(self.heads.values(), key=lambda h: h.start)
            starts = np.asarray([h.start for h in heads])
            temps = np.concatenate([np.full(h.stop - h.start, h.temperature, np.float32)
                                    for h in heads])
            widths = np.asarray([h.stop - h.start for h in heads])
            return starts, temps, widths
        starts, temps, widths = self._cached("softmax_layout", layout)
        z = scores * temps
        z -= np.repeat(np.maximum.reduceat(z, starts, axis=1), widths, axis=1)
        np.exp(z, out=z)
        z /= np.repeat(np.add.reduceat(z, starts, axis=1), widths, axis=1)
        return {name: z[:, head.start:head.stop] for name, head in self.heads.items()}

    # -- the shared API -------------------------------------------------------
    def predict(self, names):
        """One dict per name, in order; never raises on odd text."""
        if isinstance(names, str):
            names = [names]
        cleaned = [clean_name(n) for n in names]
        if not cleaned:
            return []
        return self.describe(names, cleaned, *self._decide(self.scores(cleaned)))

    def describe(self, names, cleaned, labels, probs, top):
        """The `predict` dicts of decided rows (the fused categorizer answers with them too)."""
        label_rows = zip(*[[str(v) for v in labels[field]] for field in FIELDS])
        prob_rows = zip(*[np.round(np.asarray(probs[field], np.float64), 4).tolist()
                          for field in FIELDS])
        out = []
        for i, (name, values, confidences, candidates) in enumerate(
                zip(names, label_rows, prob_rows, top)):
            item = {"name": name if isinstance(name, str) else cleaned[i]}
            item.update(zip(FIELDS, values))
            item["confidence"] = dict(zip(FIELDS, confidences))
            item["candidates"] = [{"articleType": str(a), "probability": p} for a, p in candidates]
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
        if proba.shape[1] > k:
            part = np.argpartition(-proba, k - 1, axis=1)[:, :k]
        else:
            part = np.tile(np.arange(proba.shape[1]), (proba.shape[0], 1))
        rows = np.arange(proba.shape[0])[:, None]
        order = np.take_along_axis(part, np.argsort(-proba[rows, part], axis=1), axis=1)
        values = np.round(proba[rows, order].astype(np.float64), 4).tolist()
        names = classes[order].tolist()
        return [list(zip(n, v)) for n, v in zip(names, values)]

    def _cached(self, key, build):
        """Small derived arrays (parent maps), built on first use and kept."""
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def _parent_matrix(self, key, classes, parent_of, parents):
        """One-hot (len(classes) x len(parents)) map of each class to its parent."""
        def build():
            index = {p: j for j, p in enumerate(parents)}
            matrix = np.zeros((len(classes), len(parents)), np.float32)
            for i, c in enumerate(classes):
                j = index.get(parent_of.get(c, ""))
                if j is not None:
                    matrix[i, j] = 1.0
            return matrix
        return self._cached(key, build)

    def _sub_from_articles(self, p_art, articles):
        """P(subCategory) implied by articleType probabilities, over the sub head's classes."""
        subs = self.heads["subCategory"].classes
        matrix = self._parent_matrix("sub_of_article", articles, self.taxonomy.sub_of_article,
                                     list(subs))
        return p_art @ matrix

    def _masters(self, p_sub, sub_idx):
        """(labels, probabilities) of masterCategory, summed over its subCategories."""
        subs = self.heads["subCategory"].classes
        masters = self._cached("masters", lambda: np.asarray(
            sorted(set(self.taxonomy.master_of_sub.values())) or [""], dtype=object))
        matrix = self._parent_matrix("master_of_sub", subs, self.taxonomy.master_of_sub,
                                     list(masters))
        master_idx = self._cached("master_idx", lambda: matrix.argmax(axis=1))
        known = self._cached("master_known", lambda: matrix.sum(axis=1) > 0)
        p_master = p_sub @ matrix
        idx = master_idx[sub_idx]
        labels = np.where(known[sub_idx], masters[idx], "")
        probs = np.where(known[sub_idx], p_master[np.arange(len(idx)), idx], 0.0)
        return labels.astype(object), probs

    def card_info(self):
        return {
            "kind": self.kind,
            "n_features": int(self.W.shape[0]),
            "heads": {name: {"classes": [str(c) for c in head.classes],
                             "temperature": head.temperature}
                      for name, head in self.heads.items()},
        }
