"""Nearest-neighbour search over unit-norm vectors keyed by product sku.

Two backends behind one class, chosen by catalog size:

* ``exact``: a float32 matrix and one matrix-vector product per query. For
  catalogs up to tens of thousands of products this is both exact and fast
  (11k x 1333 dims is ~3 ms on one core), with memory equal to the raw vectors.
* ``hnsw``: a usearch HNSW graph over float16 vectors. usearch is a single
  pip wheel with no system dependencies, supports adding and removing
  single vectors without a rebuild, stores f16 to halve memory, and saves to
  one file. Memory is ~0.6x the raw float32 vectors and recall@10 against
  exact is measured by ``bench/vision.py``.

Both support adding an item without a rebuild, removing items, and filtering
at query time (`allowed` set or `exclude` predicate) so deleted and
out-of-stock products are never returned.

Scores are cosine similarities (vectors are stored normalised).
"""
import json
from pathlib import Path

import numpy as np

from ml.artifacts import ArtifactError, write_atomic

EXACT_MAX = 20_000          # "auto" switches to HNSW above this many items
SKUS_FILE = "skus.json"
VECTORS_FILE = "vectors.npy"
HNSW_FILE = "index.usearch"
META_FILE = "index.json"


def _normalise(vectors):
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _make_filter(allowed, exclude):
    """One predicate sku -> bool from an `allowed` collection and/or an `exclude` predicate."""
    if allowed is not None and not isinstance(allowed, (set, frozenset, dict)):
        allowed = set(allowed)
    if allowed is None and exclude is None:
        return None

    def ok(sku):
        if allowed is not None and sku not in allowed:
            return False
        return not (exclude is not None and exclude(sku))
    return ok


class VectorIndex:
    """Maps sku -> vector; `search(query, k)` returns [(sku, cosine)], best first."""

    def __init__(self, dim, backend="exact", connectivity=16, expansion_add=128,
                 expansion_search=96, dtype="f16"):
        if backend not in ("exact", "hnsw"):
            raise ValueError(f"unknown backend {backend!r}")
        self.dim = int(dim)
        self.backend = backend
        self.params = {"connectivity": connectivity, "expansion_add": expansion_add,
                       "expansion_search": expansion_search, "dtype": dtype}
        self._skus = []             # key (row number / hnsw label) -> sku, None once removed
        self._key_of = {}           # sku -> key
        if backend == "exact":
            self._matrix = np.zeros((0, self.dim), dtype=np.float32)
            self._pending = []
            self._alive = np.zeros(0, dtype=bool)
        else:
            from usearch.index import Index  # here: only an index past EXACT_MAX loads usearch (0.24 s, 39 MB)
            self._hnsw = Index(ndim=self.dim, metric="ip", dtype=dtype,
                               connectivity=connectivity, expansion_add=expansion_add,
                               expansion_search=expansion_search)

    # ----------------------------------------------------------------- building

    @classmethod
    def build(cls, skus, vectors, backend="auto", **params):
        vectors = _normalise(vectors)
        if len(skus) != len(vectors):
            raise ValueError("skus and vectors differ in length")
        if backend == "auto":
            backend = "exact" if len(skus) <= EXACT_MAX else "hnsw"
        index = cls(vectors.shape[1], backend=backend, **params)
        index.add(skus, vectors)
        return index

    def __len__(self):
        return len(self._key_of)

    def __contains__(self, sku):
        return sku in self._key_of

    @property
    def skus(self):
        return list(self._key_of)

    def add(self, skus, vectors):
        """Add or replace items; no rebuild. Replacing a sku removes its old vector."""
        if isinstance(skus, str) or not hasattr(skus, "__len__"):
            skus = [skus]
        skus = [str(s) for s in skus]
        vectors = _normalise(vectors)
        if vectors.shape != (len(skus), self.dim):
            raise ValueError(f"expected {len(skus)} vectors of dim {self.dim}, got {vectors.shape}")
        if len(set(skus)) != len(skus):
            raise ValueError("duplicate skus in one add")
        self.remove([s for s in skus if s in self._key_of])
        keys = np.arange(len(self._skus), len(self._skus) + len(skus), dtype=np.uint64)
        self._skus.extend(skus)
        for sku, key in zip(skus, keys):
            self._key_of[sku] = int(key)
        if self.backend == "exact":
            self._pending.append(vectors)
            self._alive = np.concatenate([self._alive, np.ones(len(skus), dtype=bool)])
        elif len(skus):
            self._hnsw.add(keys, vectors, threads=1)

    def remove(self, skus):
        """Remove items (unknown skus are ignored). Returns how many were removed."""
        if isinstance(skus, str):
            skus = [skus]
        removed = 0
        for sku in skus:
            key = self._key_of.pop(str(sku), None)
            if key is None:
                continue
            self._skus[key] = None
            removed += 1
            if self.backend == "exact":
                self._alive[key] = False
            else:
                self._hnsw.remove(key)
        if self.backend == "exact" and removed and (~self._alive).sum() > 0.2 * len(self._alive):
            self._compact()
        return removed

    def _materialise(self):
        if self._pending:
            self._matrix = np.concatenate([self._matrix] + self._pending)
            self._pending = []
        return self._matrix

    def _compact(self):
        matrix = self._materialise()
        keep = np.flatnonzero(self._alive)
        self._matrix = np.ascontiguousarray(matrix[keep])
        self._skus = [self._skus[i] for i in keep]
        self._alive = np.ones(len(keep), dtype=bool)
        self._key_of = {sku: i for i, sku in enumerate(self._skus)}

    def vector(self, sku):
        """The stored (normalised) vector of `sku`, or None."""
        key = self._key_of.get(str(sku))
        if key is None:
            return None
        if self.backend == "exact":
            return self._materialise()[key].copy()
        return np.asarray(self._hnsw.get(np.uint64(key)), dtype=np.float32).reshape(-1)

    # ----------------------------------------------------------------- search

    def search(self, query, k=10, allowed=None, exclude=None, exact=False):
        """Top-`k` [(sku, cosine)] for one query vector.

        `allowed`: only these skus may be returned (e.g. active and in stock).
        `exclude`: predicate sku -> True to drop (e.g. the query product itself).
        `exact=True` forces brute force on the HNSW backend (for recall checks).
        """
        if k <= 0 or not len(self):
            return []
        query = _normalise(query)[0]
        if query.shape[0] != self.dim:
            raise ValueError(f"query has dim {query.shape[0]}, index has {self.dim}")
        if allowed is not None and not isinstance(allowed, (set, frozenset, dict)):
            allowed = {str(s) for s in allowed}
        ok = _make_filter(allowed, exclude)
        if self.backend == "exact":
            return self._search_exact(query, k, ok)
        if allowed is not None and len(allowed) <= max(2000, len(self) // 20):
            return self._search_subset(query, k, allowed, ok)
        return self._search_hnsw(query, k, ok, exact)

    def _search_exact(self, query, k, ok):
        scores = np.where(self._alive, self._materialise() @ query, -np.inf)
        n = int(self._alive.sum())
        # Filter only the best candidates, widening until k pass: calling a Python
        # predicate for every item of a large catalog costs more than the scoring.
        count = k if ok is None else k * 4
        while n:
            count = min(count, n)
            top = np.argpartition(-scores, count - 1)[:count]
            top = top[np.argsort(-scores[top], kind="stable")]
            results = [(self._skus[i], float(scores[i])) for i in top
                       if ok is None or ok(self._skus[i])][:k]
            if len(results) == k or count == n:
                return results
            count *= 4
        return []

    def _search_subset(self, query, k, allowed, ok):
        """Few allowed items: score exactly those (cheaper and exact)."""
        keys = sorted(self._key_of[s] for s in allowed if s in self._key_of and ok(s))
        if not keys:
            return []
        vectors = np.asarray(self._hnsw.get(np.asarray(keys, dtype=np.uint64)), dtype=np.float32)
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self._skus[keys[i]], float(scores[i])) for i in order]

    def _search_hnsw(self, query, k, ok, exact):
        count = k if ok is None else k * 4
        while True:
            count = min(count, len(self))
            matches = self._hnsw.search(query, count, exact=exact, threads=1)
            results = []
            for key, distance in zip(matches.keys, matches.distances):
                sku = self._skus[int(key)]
                if sku is not None and (ok is None or ok(sku)):
                    results.append((sku, float(1.0 - distance)))
                    if len(results) == k:
                        return results
            if count >= len(self):
                return results
            count *= 4

    # ----------------------------------------------------------------- memory and files

    def raw_bytes(self):
        """Size of the live vectors as plain float32 (the baseline for memory ratios)."""
        return len(self) * self.dim * 4

    def memory_bytes(self):
        """Bytes the index holds: vectors plus graph (plus the sku list is not counted).

        For HNSW this is usearch's serialized size (f16 vectors + links), which
        matches the resident-memory growth measured by bench/vision.py;
        usearch's own `memory_usage` also counts reserved, untouched arena space.
        """
        if self.backend == "exact":
            return int(self._materialise().nbytes + self._alive.nbytes)
        return int(self._hnsw.serialized_length)

    def save(self, folder):
        """Write the index into `folder` (created); files are replaced atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.backend == "exact":
            self._compact()
            write_atomic(folder / VECTORS_FILE, lambda p: np.save(p, self._matrix))
        else:
            write_atomic(folder / HNSW_FILE, lambda p: self._hnsw.save(str(p)))
        meta = {"dim": self.dim, "backend": self.backend, "params": self.params,
                "count": len(self)}
        write_atomic(folder / SKUS_FILE, lambda p: Path(p).write_text(json.dumps(self._skus),
                                                                  encoding="utf-8"))
        write_atomic(folder / META_FILE, lambda p: Path(p).write_text(json.dumps(meta),
                                                                  encoding="utf-8"))

    @classmethod
    def load(cls, folder):
        """Read an index written by `save`; ArtifactError if anything is missing or corrupt."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            skus = json.loads((folder / SKUS_FILE).read_text(encoding="utf-8"))
            index = cls(meta["dim"], backend=meta["backend"], **meta.get("params", {}))
            if not isinstance(skus, list):
                raise ValueError("sku list is not a list")
            index._skus = [None if s is None else str(s) for s in skus]
            index._key_of = {s: i for i, s in enumerate(index._skus) if s is not None}
            if index.backend == "exact":
                matrix = np.load(folder / VECTORS_FILE, allow_pickle=False)
                if matrix.shape != (len(skus), index.dim) or matrix.dtype != np.float32:
                    raise ValueError(f"vectors {matrix.shape} do not match {len(skus)} skus")
                index._matrix = matrix
                index._alive = np.array([s is not None for s in index._skus], dtype=bool)
            else:
                path = folder / HNSW_FILE
                if not path.is_file():
                    raise FileNotFoundError(path)
                index._hnsw.load(str(path))
                if len(index._hnsw) != len(index._key_of):
                    raise ValueError(f"graph holds {len(index._hnsw)} vectors, "
                                     f"sku list {len(index._key_of)}")
        except ArtifactError:
            raise
        except Exception as exc:  # numpy/json/usearch raise many types on bad files
            raise ArtifactError(f"cannot load vector index from {folder}: {exc}") from exc
        return index


def exact_topk(query, matrix, k):
    """Naive baseline used by the benchmark: cosine of the query against the whole
    catalog recomputed per request (norms included), full sort."""
    norms = np.linalg.norm(matrix, axis=1)
    scores = (matrix @ query) / (norms * np.linalg.norm(query) + 1e-12)
    return np.argsort(-scores)[:k]


