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
        """(regex word tokens, whitespace chunks) of one cleaned name.

        `\\w+` never spans whitespace, so the tokens are those of each chunk in
        turn; `_chunk` relies on it to cache them per chunk.
        """
        chunks = text.lower().split()[:MAX_WORDS]
        return [t for chunk in chunks for t in _WORD_RE.findall(chunk)][:MAX_WORDS], chunks

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
    def _chunk(self, chunk):
        """(token ids, char n-gram columns) of one whitespace chunk, cached per chunk."""
        entry = self._word_cache.get(chunk)
        if entry is None:
            vocab, get = self.vocab_["char"], self.token_ids_.get
            entry = ([get(t, -1) for t in _WORD_RE.findall(chunk)],
                     [vocab[g] for g in self._char_grams(chunk) if g in vocab])
            if len(self._word_cache) >= self.max_word_cache:
                self._word_cache.clear()
            self._word_cache[chunk] = entry
        return entry

    def _ids_and_chars(self, name):
        """(token ids, char columns) of one name, as `_split` would tokenise it."""
        ids, chars = [], []
        for chunk in clean_name(name).lower().split()[:MAX_WORDS]:
            chunk_ids, chunk_chars = self._chunk(chunk)
            ids.extend(chunk_ids)
            chars.extend(chunk_chars)
        return ids[:MAX_WORDS], chars

    def columns(self, name):
        """Column indices (with repeats) of the features of one name."""
        ids, cols = self._ids_and_chars(name)
        key_cols = self.key_cols_
        cols.extend(key_cols[k] for k in self._word_keys(ids) if k in key_cols)
        return cols

    def _key_table(self):
        """Sorted word/pair keys and their columns, for vectorised batch lookups."""
        table = self.__dict__.get("_keys_sorted")
        if table is None:
            keys = np.fromiter(self.key_cols_.keys(), dtype=np.int64, count=len(self.key_cols_))
            cols = np.fromiter(self.key_cols_.values(), dtype=np.int64, count=len(self.key_cols_))
            order = np.argsort(keys)
            table = self._keys_sorted = (keys[order], cols[order])
        return table

    def _batch_word_keys(self, ids, lengths, uniq, uniq_lengths):
        """(rows, keys) of unigrams, bigrams and pairs for a batch, in numpy.

        Same keys as `_word_keys` name by name: `ids` are the token ids of all
        names end to end (-1 = unknown) and `lengths` the tokens per name;
        `uniq`/`uniq_lengths` the same for each name's distinct known tokens.
        """
        n = self.n_tokens_
        lengths = np.asarray(lengths, dtype=np.int64)
        row_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        known = ids >= 0
        rows, keys = [row_of[known]], [ids[known]]
        if len(ids) > 1:
            a, b = ids[:-1], ids[1:]
            ok = (row_of[:-1] == row_of[1:]) & (a >= 0) & (b >= 0)
            rows.append(row_of[:-1][ok])
            keys.append(n + a[ok] * n + b[ok])
        if self.use_pairs:
            base = n + n * n
            uniq_lengths = np.asarray(uniq_lengths, dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(uniq_lengths)[:-1]]).astype(np.int64)
            for length in np.unique(uniq_lengths[uniq_lengths >= 2]):
                members = np.flatnonzero(uniq_lengths == length)
                tokens = uniq[starts[members, None] + np.arange(length)]
                first, second = np.triu_indices(length, 1)
                lo = np.minimum(tokens[:, first], tokens[:, second])
                hi = np.maximum(tokens[:, first], tokens[:, second])
                rows.append(np.repeat(members, len(first)))
                keys.append((base + lo * n + hi).ravel())
        return np.concatenate(rows), np.concatenate(keys)

    def transform(self, names):
        """CSR matrix (len(names) x n_features), float32.

        Per name only the tokens are looked up in Python; word keys are built
        and found in the vocabulary with numpy for the whole batch.
        """
        ids, lengths, uniq, uniq_lengths, chars, n_chars = [], [], [], [], [], []
        ids_and_chars = self._ids_and_chars
        for name in names:
            name_ids, name_chars = ids_and_chars(name)
            ids.extend(name_ids)
            lengths.append(len(name_ids))
            known = [t for t in dict.fromkeys(name_ids) if t >= 0]
            uniq.extend(known)
            uniq_lengths.append(len(known))
            chars.extend(name_chars)
            n_chars.append(len(name_chars))
        n_rows = len(lengths)
        key_rows, keys = self._batch_word_keys(np.asarray(ids, dtype=np.int64), lengths,
                                               np.asarray(uniq, dtype=np.int64), uniq_lengths)
        sorted_keys, sorted_cols = self._key_table()
        if len(sorted_keys):
            pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
            hit = sorted_keys[pos] == keys
        else:
            pos = hit = np.zeros(len(keys), dtype=bool)
        char_rows = np.repeat(np.arange(n_rows, dtype=np.int64), n_chars)
        rows = np.concatenate([key_rows[hit], char_rows])
        cols = np.concatenate([sorted_cols[pos[hit]] if len(sorted_keys) else
                               np.empty(0, np.int64), np.asarray(chars, dtype=np.int64)])
        counts = sparse.coo_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)),
                                   shape=(n_rows, self.n_features_)).tocsr()
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

    def keep_columns(self, keep):
        """Forget every feature but the columns `keep` (sorted), renumbered in order, so
        each group stays one contiguous range and the kept columns keep their order."""
        keep = np.asarray(keep, dtype=np.int64)
        renumbered = np.full(self.n_features_, -1, dtype=np.int64)
        renumbered[keep] = np.arange(len(keep))
        for group in GROUPS:
            self.vocab_[group] = {term: int(renumbered[col]) for term, col in self.vocab_[group].items()
                                  if renumbered[col] >= 0}
            start, stop = self.offsets_[group]
            self.offsets_[group] = (int(np.searchsorted(keep, start)), int(np.searchsorted(keep, stop)))
        self.key_cols_ = {**self.vocab_["word"], **self.vocab_["pair"]}
        self.idf_ = self.idf_[keep]
        self.group_of_ = self.group_of_[keep]
        self.n_features_ = len(keep)
        self._word_cache = {}
        self.__dict__.pop("_keys_sorted", None)
        return self

    # -- pickling: the word cache is rebuilt on demand ------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_word_cache"] = {}
        state.pop("_keys_sorted", None)
        return state
