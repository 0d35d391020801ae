"""Text features for product names, shared by every categorization model.

One vectorizer feeds all the classifiers of a model, so a name is turned into
features once per prediction, not once per attribute. The features are
TF-IDF (sublinear tf, smoothed idf) in three groups, each L2-normalised on its
own and then weighted:

* ``word``: lower-cased word unigrams and bigrams;
* ``char``: character 2..5-grams inside each whitespace-separated word, padded
  with a space on each side (like scikit-learn's ``char_wb``), which copes with
  typos, plurals and glued words ("tshirt", "t-shirt", "tshirts");
* ``pair``: unordered pairs of words anywhere in the name ("catwalk|sandals"),
  which lets a linear model learn brand x article interactions.

The char n-grams of a word depend only on the word, so they are cached per
word: most names reuse a small vocabulary, and this is what makes the
single-name path fast without scikit-learn's per-call overhead.
"""
import math
import re
from collections import Counter

import numpy as np
from scipy import sparse

MAX_NAME_CHARS = 300
MAX_WORDS = 40
_WORD_RE = re.compile(r"\w+")
GROUPS = ("word", "char", "pair")


def clean_name(name):
    """The text the models see: a str, stripped, at most MAX_NAME_CHARS long."""
    if name is None:
        return ""
    if not isinstance(name, str):
        name = str(name)
    return name[:MAX_NAME_CHARS].strip()


class TextFeaturizer:
    """Fit on training names, then `transform(names)` -> CSR float32 matrix."""

    def __init__(self, char_range=(2, 5), min_df=None, weights=None, use_pairs=True,
                 max_word_cache=100_000):
        self.char_range = tuple(char_range)
        self.min_df = {"word": 1, "char": 2, "pair": 2, **(min_df or {})}
        self.weights = {"word": 1.0, "char": 1.0, "pair": 1.0, **(weights or {})}
        self.use_pairs = use_pairs
        self.max_word_cache = max_word_cache
        self._word_cache = {}

    # -- analysis -------------------------------------------------------------
    def _char_grams(self, word):
        padded = f" {word} "
        lo, hi = self.char_range
        n_chars = len(padded)
        grams = []
        for n in range(lo, hi + 1):
            if n > n_chars:
                break
            grams.extend(padded[i:i + n] for i in range(n_chars - n + 1))
        return grams

    @staticmethod
    def _split(text):
        """(regex word tokens, whitespace chunks) of one cleaned name."""
        lowered = text.lower()
        return _WORD_RE.findall(lowered)[:MAX_WORDS], lowered.split()[:MAX_WORDS]

    def _word_keys(self, ids):
        """Integer keys of unigrams, bigrams and pairs from token ids (-1 = unknown).

        Keys are ints (not strings) so building them is cheap: unigram t -> t,
        bigram (a, b) -> n + a*n + b, pair {a, b} -> n + n*n + min*n + max.
        """
        n = self.n_tokens_
        keys = [t for t in ids if t >= 0]
        keys.extend(n + a * n + b for a, b in zip(ids, ids[1:]) if a >= 0 and b >= 0)
        if self.use_pairs:
            known = sorted({t for t in ids if t >= 0})
            base = n + n * n
            keys.extend(base + a * n + b for i, a in enumerate(known) for b in known[i + 1:])
        return keys

    # -- fitting --------------------------------------------------------------
    def fit(self, names):
        split = [self._split(clean_name(name)) for name in names]
        token_ids = {}
        for tokens, _ in split:
            for token in tokens:
                if token not in token_ids:
                    token_ids[token] = len(token_ids)
        self.token_ids_ = token_ids
        self.n_tokens_ = len(token_ids)
        n = self.n_tokens_
        df_word, df_char = Counter(), Counter()
        for tokens, chunks in split:
            df_word.update(set(self._word_keys([token_ids[t] for t in tokens])))
            grams = set()
            for chunk in set(chunks):
                grams.update(self._char_grams(chunk))
            df_char.update(grams)
        n_docs = len(split)
        self.n_docs_ = n_docs
        pair_base = n + n * n

        def group_of_key(key):
            return "pair" if key >= pair_base else "word"

        df = {"word": {}, "char": df_char, "pair": {}}
        for key, count in df_word.items():
            df[group_of_key(key)][key] = count
        self.vocab_, self.offsets_ = {}, {}
        idf = []
        offset = 0
        for group in GROUPS:
            kept = sorted(term for term, count in df[group].items() if count >= self.min_df[group])
            self.vocab_[group] = {term: offset + i for i, term in enumerate(kept)}
            self.offsets_[group] = (offset, offset + len(kept))
            idf.extend(math.log((1 + n_docs) / (1 + df[group][t])) + 1.0 for t in kept)
            offset += len(kept)
        # unigram/bigram/pair keys share one lookup table
        self.key_cols_ = {**self.vocab_["word"], **self.vocab_["pair"]}
        self.n_features_ = offset
        self.idf_ = np.asarray(idf, dtype=np.float32)
        group_of = np.zeros(offset, dtype=np.int8)
        for g, group in enumerate(GROUPS):
            start, stop = self.offsets_[group]
            group_of[start:stop] = g
        self.group_of_ = group_of
        self.group_weight_ = np.asarray([self.weights[g] for g in GROUPS], dtype=np.float32)
        self._word_cache = {}
        return self

    def fit_transform(self, names):
        names = list(names)
        return self.fit(names).transform(names)

    # -- transforming -------------------------------------------------------
    def _char_columns(self, chunk):
        cols = self._word_cache.get(chunk)
        if cols is None:
            vocab = self.vocab_["char"]
            cols = [vocab[g] for g in self._char_grams(chunk) if g in vocab]
            if len(self._word_cache) >= self.max_word_cache:
                self._word_cache.clear()
            self._word_cache[chunk] = cols
        return cols

    def columns(self, name):
        """Column indices (with repeats) of the features of one name."""
        tokens, chunks = self._split(clean_name(name))
        get = self.token_ids_.get
        key_cols = self.key_cols_
        cols = [key_cols[k] for k in self._word_keys([get(t, -1) for t in tokens]) if k in key_cols]
        for chunk in chunks:
            cols.extend(self._char_columns(chunk))
        return cols

    def transform(self, names):
        """CSR matrix (len(names) x n_features), float32."""
        indptr = [0]
        indices = []
        for name in names:
            indices.extend(self.columns(name))
            indptr.append(len(indices))
        n_rows = len(indptr) - 1
        indices = np.asarray(indices, dtype=np.int32)
        indptr = np.asarray(indptr, dtype=np.int32)
        counts = sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                   shape=(n_rows, self.n_features_))
        counts.sum_duplicates()
        return self._weigh(counts)

    def _weigh(self, counts):
        """Counts -> sublinear tf-idf, L2-normalised per group, times group weights."""
        data = np.log(counts.data) + 1.0
        data *= self.idf_[counts.indices]
        rows = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
        groups = self.group_of_[counts.indices].astype(np.int64)
        slot = rows * len(GROUPS) + groups
        norms = np.sqrt(np.bincount(slot, weights=data * data,
                                    minlength=counts.shape[0] * len(GROUPS)))
        data = data / norms[slot] * self.group_weight_[groups]
        return sparse.csr_matrix((data.astype(np.float32), counts.indices, counts.indptr),
                                 shape=counts.shape)

    def transform_one(self, name):
        """(indices, values) of one name's feature vector, without building a matrix."""
        counts = Counter(self.columns(name))
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        data = (np.log(tf) + 1.0) * self.idf_[idx]
        groups = self.group_of_[idx]
        norms = np.sqrt(np.bincount(groups, weights=data * data, minlength=len(GROUPS)))
        data = data / norms[groups] * self.group_weight_[groups]
        return idx, data.astype(np.float32)

    # -- pickling: the word cache is rebuilt on demand ------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_word_cache"] = {}
        return state
