"""Content-based similar items.

Each product becomes one sparse vector made of weighted blocks:

* the text of its name and description, through a CountVectorizer (the
  baseline) or a TfidfVectorizer (`text="tfidf"`), L2-normalised;
* one one-hot column per structured attribute value (gender, categories,
  colour, season, usage), each field with its own weight.

The blocks are scaled by the square roots of their weights before the final
L2 normalisation, so the cosine of two products is (close to) the weighted
average of "how alike is the text" and "which attributes agree": two jeans in
the same colour beat two blue things of different kinds.

Training computes every product's top-k neighbours (sparse X @ X.T one chunk
of rows at a time, `argpartition` per chunk), so the N x N similarity matrix
never exists: what is stored is (N, k) indices and scores, and a product page
asks for a row of it. Filtering (self, stock, activity, gender), light
diversification and the reasons happen at query time, on those k candidates.
"""
import time

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from .catalog import ATTRIBUTES, gender_compatible, make_allowed, normalise_product

DEFAULT_K = 50
TEXT_WEIGHT = 1.0
# How much agreeing on one attribute counts, next to TEXT_WEIGHT for the text.
ATTRIBUTE_WEIGHTS = {
    "article_type": 1.0, "base_colour": 0.6, "sub_category": 0.4, "gender": 0.4,
    "master_category": 0.2, "usage": 0.2, "season": 0.1,
}
# Light diversification: at most this many results share (article type, colour)
# before the others get a turn; the rest fill in if there are not enough.
MAX_PER_TYPE_COLOUR = 3

REASON_TYPE_COLOUR = "same article type and colour"
REASON_TYPE = "same article type"
REASON_STYLE = "similar style"


def _text(product):
    return f"{product['name']} {product['description']}"


def sparse_topk(X, k, chunk_size=512, exclude_self=True, progress=None):
    """Top-k cosine neighbours of every row of the L2-normalised sparse `X`.

    Returns (indices int32 (N, k), scores float32 (N, k)), best first. Works
    one chunk of rows at a time: only a (chunk_size, N) block of similarities
    exists at once, never the (N, N) matrix.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    n = X.shape[0]
    k = max(0, min(k, n - 1 if exclude_self else n))
    indices = np.zeros((n, k), dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    if k == 0:
        return indices, scores
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        # sparse (N, V) @ dense (V, chunk) is several times faster than sparse @ sparse
        # here: the shared attribute columns make the product nearly dense anyway.
        block = np.ascontiguousarray((X @ X[start:stop].T.toarray()).T)
        rows = np.arange(stop - start)
        if exclude_self:
            block[rows, rows + start] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        indices[start:stop] = np.take_along_axis(top, order, axis=1)
        scores[start:stop] = np.take_along_axis(top_scores, order, axis=1)
        if progress:
            progress(stop, n)
    return indices, scores


def _encode(values):
    """(codes int32, vocabulary list) of a list of strings."""
    vocabulary = sorted(set(values))
    lookup = {value: i for i, value in enumerate(vocabulary)}
    return np.array([lookup[v] for v in values], dtype=np.int32), vocabulary


class ContentModel:
    """Precomputed similar items for a catalog; see the module docstring."""

    def __init__(self, text="count", k=DEFAULT_K, text_weight=TEXT_WEIGHT,
                 attribute_weights=None, min_df=1):
        if text not in ("count", "tfidf"):
            raise ValueError(f"text must be 'count' or 'tfidf', not {text!r}")
        self.text = text
        self.k = k
        self.text_weight = text_weight
        self.attribute_weights = dict(ATTRIBUTE_WEIGHTS if attribute_weights is None
                                      else attribute_weights)
        self.min_df = min_df
        self.vectorizer = None
        self.attribute_vocabulary = {}
        self.X = None
        self.skus = []
        self.index = {}
        self.neighbours = None
        self.scores = None
        self.codes = {}
        self.vocabularies = {}
        self.train_seconds = None

    # ---- training -------------------------------------------------------
    def fit(self, products, progress=None):
        started = time.perf_counter()
        products = [normalise_product(p) for p in products]
        if not products:
            raise ValueError("cannot train a content model on an empty catalog")
        self.skus = [p["sku"] for p in products]
        if len(set(self.skus)) != len(self.skus):
            raise ValueError("duplicate skus in the catalog")
        self.index = {sku: i for i, sku in enumerate(self.skus)}
        vectorizer_class = CountVectorizer if self.text == "count" else TfidfVectorizer
        options = {"sublinear_tf": True} if self.text == "tfidf" else {}
        self.vectorizer = vectorizer_class(
            lowercase=True, token_pattern=r"(?u)\b[^\W\d_]{2,}\b", min_df=self.min_df,
            dtype=np.float32, **options)
        texts = [_text(p) for p in products]
        try:
            self.vectorizer.fit(texts)
        except ValueError:  # no usable word anywhere: the attributes carry it alone
            self.vectorizer = None
        vocabulary = {}
        for p in products:
            for token in self._attribute_tokens(p):
                vocabulary.setdefault(token, len(vocabulary))
        self.attribute_vocabulary = vocabulary
        self.X = self.transform(products)
        for attribute in ("gender", "article_type", "base_colour", "sub_category"):
            self.codes[attribute], self.vocabularies[attribute] = _encode(
                [p[attribute] for p in products])
        self.neighbours, self.scores = sparse_topk(self.X, self.k, progress=progress)
        self.train_seconds = time.perf_counter() - started
        return self

    def _attribute_tokens(self, product):
        return [f"{field}={product[field].lower()}" for field in ATTRIBUTES
                if product.get(field) and self.attribute_weights.get(field)]

    def transform(self, products):
        """Sparse L2-normalised vectors of product rows (known to the model or not)."""
        products = [normalise_product(p) for p in products]
        blocks = []
        if self.vectorizer is not None:
            text = normalize(self.vectorizer.transform([_text(p) for p in products]))
            blocks.append(text * np.float32(np.sqrt(self.text_weight)))
        rows, cols, values = [], [], []
        for r, p in enumerate(products):
            for token in self._attribute_tokens(p):
                col = self.attribute_vocabulary.get(token)
                if col is not None:
                    field = token.split("=", 1)[0]
                    rows.append(r)
                    cols.append(col)
                    values.append(np.sqrt(self.attribute_weights[field]))
        blocks.append(sp.csr_matrix((values, (rows, cols)),
                                    shape=(len(products), max(1, len(self.attribute_vocabulary))),
                                    dtype=np.float32))
        return normalize(sp.hstack(blocks, format="csr", dtype=np.float32))

    # ---- queries --------------------------------------------------------
    def __contains__(self, sku):
        return str(sku) in self.index

    def __len__(self):
        return len(self.skus)

    def attribute(self, i, name):
        return self.vocabularies[name][self.codes[name][i]]

    def reason(self, i, j):
        """Why product j is shown next to product i, from their attributes."""
        same_type = self.codes["article_type"][i] == self.codes["article_type"][j]
        if same_type and self.codes["base_colour"][i] == self.codes["base_colour"][j]:
            return REASON_TYPE_COLOUR
        if same_type:
            return REASON_TYPE
        return REASON_STYLE

    def _select(self, i, candidates, scores, k, allowed, diversify, gender=None):
        """Filter and diversify candidates for query product i (or a gender when i is None)."""
        allowed = make_allowed(allowed)
        genders = self.codes["gender"]
        query_gender = self.vocabularies["gender"][genders[i]] if i is not None else gender
        kept = []
        for j, score in zip(candidates.tolist(), scores.tolist()):
            if j == i:
                continue
            sku = self.skus[j]
            if not gender_compatible(query_gender, self.vocabularies["gender"][genders[j]]):
                continue
            if not allowed(sku):
                continue
            kept.append((j, score))
        if diversify:
            first, rest, seen = [], [], {}
            for j, score in kept:
                key = (self.codes["article_type"][j], self.codes["base_colour"][j])
                seen[key] = seen.get(key, 0) + 1
                (first if seen[key] <= MAX_PER_TYPE_COLOUR else rest).append((j, score))
            kept = first + rest
        return kept[:k]

    def similar(self, sku, k=8, allowed=None, diversify=True):
        """[(sku, score, reason)] for a product page: O(k) from the stored neighbours.

        `allowed` (a container of skus or a predicate) says what may be shown:
        the caller's in-stock, active products. The product itself and other
        genders (unless either is Unisex) are always left out.
        """
        i = self.index.get(str(sku))
        if i is None:
            return []
        kept = self._select(i, self.neighbours[i], self.scores[i], k, allowed, diversify)
        return [(self.skus[j], float(score), self.reason(i, j)) for j, score in kept]

    def similar_to_product(self, product, k=8, allowed=None, diversify=True):
        """Similar items of a product the model has not seen (a new listing).

        Scores the product's vector against the whole catalog (sparse, one
        request's worth of work), so a new product has neighbours at once.
        """
        product = normalise_product(product)
        if product["sku"] in self.index:
            return self.similar(product["sku"], k, allowed, diversify)
        scores = self.score_vector(self.transform([product]))
        candidates = self._top(scores, max(self.k, k))
        kept = self._select(None, candidates, scores[candidates], k, allowed, diversify,
                            gender=product["gender"])
        return [(self.skus[j], float(score), self._reason_for_product(product, j))
                for j, score in kept]

    def _reason_for_product(self, product, j):
        if product["article_type"] == self.attribute(j, "article_type"):
            if product["base_colour"] == self.attribute(j, "base_colour"):
                return REASON_TYPE_COLOUR
            return REASON_TYPE
        return REASON_STYLE

    def score_vector(self, vector):
        """Cosine of one sparse query vector against every product (dense (N,)).
        The query made dense: sparse @ dense is several times faster than sparse @ sparse."""
        return np.asarray(self.X @ vector.toarray().ravel()).ravel()

    @staticmethod
    def _top(scores, k):
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        return top[np.argsort(-scores[top], kind="stable")]

    def naive_similar(self, sku, k=8, allowed=None, diversify=True):
        """The per-request baseline: cosine of the product against the whole catalog."""
        i = self.index[str(sku)]
        scores = self.score_vector(self.X[i])
        candidates = self._top(scores, self.k + 1)
        kept = self._select(i, candidates, scores[candidates], k, allowed, diversify)
        return [(self.skus[j], float(score), self.reason(i, j)) for j, score in kept]

    def neighbour_scores(self, sku):
        """{neighbour index: cosine} of the stored top-k of `sku` (empty if unknown)."""
        i = self.index.get(str(sku))
        if i is None:
            return {}
        return dict(zip(self.neighbours[i].tolist(), self.scores[i].tolist()))

    def product_attributes(self, sku):
        i = self.index.get(str(sku))
        if i is None:
            return None
        return {name: self.attribute(i, name) for name in self.codes}

    def stored_bytes(self):
        """Bytes of the arrays a query needs (the top-k table, the codes)."""
        total = self.neighbours.nbytes + self.scores.nbytes
        total += sum(codes.nbytes for codes in self.codes.values())
        return total

    def summary(self):
        same_type = self.codes["article_type"][self.neighbours[:, :10]] == \
            self.codes["article_type"][:, None]
        return {
            "products": len(self.skus), "k": self.k, "text": self.text,
            "text_features": len(self.vectorizer.vocabulary_) if self.vectorizer else 0,
            "attribute_features": len(self.attribute_vocabulary),
            "nnz": int(self.X.nnz),
            "train_seconds": round(self.train_seconds or 0.0, 2),
            # intrinsic check, not a quality metric: how often the top 10 share the article type
            "top10_same_article_type": round(float(same_type.mean()), 4) if same_type.size else None,
        }
