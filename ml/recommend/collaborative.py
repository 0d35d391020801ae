"""Collaborative filtering from implicit feedback, co-purchases and popularity.

Interaction rows are dicts: {"user": id or "", "session": key or "", "sku",
"kind": view | add_to_cart | purchase, "ts": datetime}. A shopper is the
signed-in user when there is one, else the anonymous session.

Weights: a view says little (people browse), putting something in the cart is a
clear intent, buying is the strongest signal: view 1, add_to_cart 3, purchase
5. Repeats add up and the sum goes through log1p (Hu, Koren & Volinsky's log
scaling), so twenty views do not outweigh a purchase.

The ALS model (`implicit`, CPU, one thread by default: the machine is shared)
is kept only as item factors plus their Gram matrix. A shopper's vector is
computed on request from their history ("fold-in", one small f x f solve), so
a signed-in user, an anonymous session and a shopper seen after training are
all handled the same way, with the history they have now.
"""
import time
from collections import defaultdict

import numpy as np
import scipy.sparse as sp

from .catalog import SEGMENT_KEYS, UNISEX, make_allowed

EVENT_WEIGHTS = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
INTENT_KINDS = ("add_to_cart", "purchase")
REASON_COLLABORATIVE = "shoppers with similar taste liked this"
REASON_ALSO_BOUGHT = "customers who bought this also bought"
REASON_ALSO_LIKED = "customers who liked this also liked"


def shopper_of(row):
    user = row.get("user")
    if user not in (None, ""):
        return f"u:{user}"
    session = row.get("session")
    return f"s:{session}" if session else None


def weight_of(kind):
    return EVENT_WEIGHTS.get(kind, 0.0)


def aggregate(history):
    """{sku: summed event weight} of an iterable of (sku, kind) or interaction rows."""
    totals = defaultdict(float)
    for item in history:
        sku, kind = (item["sku"], item["kind"]) if isinstance(item, dict) else item
        totals[str(sku)] += weight_of(kind)
    return dict(totals)


def interaction_matrix(rows, items=None):
    """(shoppers, items, csr shopper x item of summed weights) from interaction rows."""
    shopper_index, item_index = {}, {} if items is None else {s: i for i, s in enumerate(items)}
    r, c, v = [], [], []
    for row in rows:
        shopper = shopper_of(row)
        weight = weight_of(row["kind"])
        if shopper is None or weight == 0:
            continue
        sku = str(row["sku"])
        if sku not in item_index:
            if items is not None:
                continue
            item_index[sku] = len(item_index)
        r.append(shopper_index.setdefault(shopper, len(shopper_index)))
        c.append(item_index[sku])
        v.append(weight)
    matrix = sp.csr_matrix((np.array(v, dtype=np.float32), (r, c)),
                           shape=(len(shopper_index), len(item_index)), dtype=np.float32)
    matrix.sum_duplicates()
    return list(shopper_index), list(item_index), matrix


def _matvec(matrix, vector):
    """matrix @ vector without BLAS threads: on a busy machine a multithreaded BLAS call
    for one small product waits for its threads (9 ms measured against 0.7 ms here)."""
    return np.einsum("ij,j->i", matrix, vector.astype(matrix.dtype, copy=False))


def _sparse_row_topk(matrix, k):
    """Keep the k largest entries of each row of a sparse matrix (diagonal dropped)."""
    matrix = sp.csr_matrix(matrix)
    matrix.setdiag(0)
    matrix.eliminate_zeros()
    indptr, indices, data = [0], [], []
    for i in range(matrix.shape[0]):
        start, stop = matrix.indptr[i], matrix.indptr[i + 1]
        cols, vals = matrix.indices[start:stop], matrix.data[start:stop]
        if len(vals) > k:
            keep = np.argpartition(-vals, k - 1)[:k]
            cols, vals = cols[keep], vals[keep]
        order = np.lexsort((cols, -vals))
        indices.extend(cols[order].tolist())
        data.extend(vals[order].tolist())
        indptr.append(len(indices))
    return sp.csr_matrix((np.array(data, dtype=np.float32), np.array(indices, dtype=np.int32),
                          np.array(indptr)), shape=matrix.shape)


class Popularity:
    """Items by recency-weighted interaction weight, overall and per segment."""

    def __init__(self, half_life_days=30.0):
        self.half_life_days = half_life_days
        self.skus = []
        self.scores = np.zeros(0, dtype=np.float32)
        self.positions = {}

    def fit(self, rows, attributes=None):
        """`attributes`: {sku: product dict} for segment look-ups (gender, categories)."""
        rows = list(rows)
        totals = defaultdict(float)
        if rows:
            newest = max(row["ts"] for row in rows)
            for row in rows:
                age = (newest - row["ts"]).total_seconds() / 86400.0
                totals[str(row["sku"])] += weight_of(row["kind"]) * 0.5 ** (
                    age / self.half_life_days)
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        self.skus = [sku for sku, _ in ranked]
        self.scores = np.array([score for _, score in ranked], dtype=np.float32)
        self.positions = {}
        attributes = attributes or {}
        for key in SEGMENT_KEYS:
            groups = defaultdict(list)
            for position, sku in enumerate(self.skus):
                value = (attributes.get(sku) or {}).get(key)
                if value:
                    groups[value].append(position)
            self.positions[key] = {value: np.array(group, dtype=np.int32)
                                   for value, group in groups.items()}
        genders = self.positions.get("gender", {})
        unisex = genders.get(UNISEX, np.zeros(0, dtype=np.int32))
        # a gender's items plus the unisex ones, merged once here rather than per request
        self.positions["gender+unisex"] = {
            value: np.sort(np.concatenate([group, unisex])) if value != UNISEX else group
            for value, group in genders.items()}
        return self

    def _segment_positions(self, segment):
        selected = None
        for key, value in (segment or {}).items():
            if key not in SEGMENT_KEYS or not value:
                continue
            empty = np.zeros(0, dtype=np.int32)
            if key == "gender":
                merged = self.positions.get("gender+unisex", {})
                unisex = self.positions.get("gender", {}).get(UNISEX, empty)
                found = merged.get(value)
                if found is None:  # no items of that gender: the unisex ones (if any) still fit
                    own = self.positions.get("gender", {}).get(value, empty)
                    found = np.union1d(own, unisex)
            else:
                found = self.positions.get(key, {}).get(value, empty)
            selected = found if selected is None else np.intersect1d(selected, found,
                                                                     assume_unique=True)
        return selected

    def top(self, k, segment=None, allowed=None, exclude=()):
        """[(sku, score)] most popular first, inside `segment` when given."""
        allowed = make_allowed(allowed)
        positions = self._segment_positions(segment)
        order = range(len(self.skus)) if positions is None else positions
        results = []
        for position in order:
            sku = self.skus[position]
            if sku in exclude or not allowed(sku):
                continue
            results.append((sku, float(self.scores[position])))
            if len(results) >= k:
                break
        return results

    def scores_for(self, skus):
        lookup = dict(zip(self.skus, self.scores.tolist()))
        return [lookup.get(sku, 0.0) for sku in skus]


class CollaborativeModel:
    """Implicit ALS item factors, co-purchase neighbours and popularity."""

    def __init__(self, factors=48, regularization=0.05, iterations=15, alpha=4.0, threads=1,
                 seed=0, also_k=30, half_life_days=30.0):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.alpha = alpha
        self.threads = threads
        self.seed = seed
        self.also_k = also_k
        self.skus = []
        self.index = {}
        self.item_factors = None
        self.gram = None
        self.co_bought = None
        self.popularity = Popularity(half_life_days)
        self.stats = {}
        self.train_seconds = None
        # hybrid blend settings chosen on a validation split (evaluation.tune_hybrid)
        self.blend = {}

    def fit(self, rows, attributes=None):
        # Training only: implicit is a worker requirement (requirements/worker.txt); the web
        # image serves fitted models without it.
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        rows = list(rows)
        shoppers, self.skus, weights = interaction_matrix(rows)
        if weights.nnz == 0:
            raise ValueError("no usable interactions to train on")
        self.index = {sku: i for i, sku in enumerate(self.skus)}
        confidence = weights.copy()
        confidence.data = np.log1p(confidence.data)
        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS threads would fight them
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, num_threads=self.threads, random_state=self.seed)
            model.fit(confidence, show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        intent = [row for row in rows if row["kind"] in INTENT_KINDS]
        _, _, bought = interaction_matrix(intent, items=self.skus)
        bought.data[:] = 1.0
        self.co_bought = _sparse_row_topk(bought.T @ bought, self.also_k)
        self.popularity.fit(rows, attributes)
        self.stats = {"interactions": len(rows), "shoppers": len(shoppers),
                      "items": len(self.skus), "nonzeros": int(weights.nnz)}
        self.train_seconds = time.perf_counter() - started
        return self

    def __contains__(self, sku):
        return str(sku) in self.index

    def user_vector(self, history):
        """A shopper's factor vector from {sku: weight} (fold-in), or None if nothing is known."""
        known = [(self.index[sku], w) for sku, w in history.items() if sku in self.index and w > 0]
        if not known:
            return None
        rows = np.array([i for i, _ in known])
        confidence = self.alpha * np.log1p(np.array([w for _, w in known]))
        Y = self.item_factors[rows].astype(np.float64)
        A = self.gram + (Y.T * confidence) @ Y + self.regularization * np.eye(self.factors)
        b = ((1.0 + confidence)[:, None] * Y).sum(axis=0)
        return np.linalg.solve(A, b).astype(np.float32)

    def scores(self, history):
        """Dense (items,) scores for a shopper history {sku: weight}, or None."""
        vector = self.user_vector(history)
        return None if vector is None else _matvec(self.item_factors, vector)

    def recommend(self, history, k=10, allowed=None, exclude=None):
        """[(sku, score, reason)] for a shopper's history {sku: weight}; seen items left out."""
        scores = self.scores(history)
        if scores is None:
            return []
        exclude = set(history) if exclude is None else set(exclude)
        allowed = make_allowed(allowed)
        results = []
        size = min(len(scores), k + len(exclude) + 50)
        top = np.argpartition(-scores, size - 1)[:size]
        for i in top[np.argsort(-scores[top], kind="stable")]:
            sku = self.skus[i]
            if sku in exclude or not allowed(sku):
                continue
            results.append((sku, float(scores[i]), REASON_COLLABORATIVE))
            if len(results) >= k:
                break
        return results

    def also_bought(self, sku, k=8, allowed=None):
        """Items bought by the same shoppers first, then nearest item factors."""
        i = self.index.get(str(sku))
        if i is None:
            return []
        allowed = make_allowed(allowed)
        results, seen = [], {str(sku)}
        start, stop = self.co_bought.indptr[i], self.co_bought.indptr[i + 1]
        counts = self.co_bought.data[start:stop]
        top = float(counts.max()) if len(counts) else 1.0
        for j, count in zip(self.co_bought.indices[start:stop], counts):
            other = self.skus[j]
            if other not in seen and allowed(other):
                seen.add(other)
                results.append((other, float(count) / top, REASON_ALSO_BOUGHT))
                if len(results) >= k:
                    return results
        factors = self.item_factors
        norms = self._norms()
        cosine = _matvec(factors, factors[i]) / (norms * norms[i])
        size = min(len(cosine), k * 4 + 1)
        top = np.argpartition(-cosine, size - 1)[:size]
        for j in top[np.argsort(-cosine[top], kind="stable")]:
            other = self.skus[j]
            if other not in seen and allowed(other):
                seen.add(other)
                # below every co-purchase: a shared basket is stronger evidence
                results.append((other, 0.5 * max(float(cosine[j]), 0.0), REASON_ALSO_LIKED))
                if len(results) >= k:
                    break
        return results

    def _norms(self):
        norms = getattr(self, "_item_norms", None)
        if norms is None:
            norms = self._item_norms = np.linalg.norm(self.item_factors, axis=1) + 1e-9
        return norms

    def summary(self):
        return {**self.stats, "factors": self.factors, "iterations": self.iterations,
                "regularization": self.regularization, "alpha": self.alpha,
                "event_weights": EVENT_WEIGHTS, "blend": self.blend or "defaults",
                "train_seconds": round(self.train_seconds or 0.0, 2)}
