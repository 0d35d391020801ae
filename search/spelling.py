"""Typo tolerance: a query word the catalog does not know becomes the closest word it does.

Candidates come from trigram similarity against the `SearchTerm` vocabulary: pg_trgm's
GIN index on PostgreSQL, the same trigrams counted in Python elsewhere (SQLite, for
`make run`). The candidates are then ranked by edit distance (a swap of two letters
counts once, which trigrams punish), then by how many products use the word.
"""
import time
from collections import defaultdict

from django.db import connection

from search.models import SearchTerm

MIN_SIMILARITY = 0.2  # below pg_trgm's 0.3 default: "tshrit" ~ "tshirt" is 0.27
CANDIDATES = 20
MIN_LENGTH = 3  # shorter words are sizes, initials or too ambiguous to correct
# A word of up to seven letters keeps its first letter: "nose" is not "rose", and
# "lowers" is not "flowers".
SAME_FIRST_LETTER_UP_TO = 7
# A word only one or two product names use ("whit") is a typo when a word one edit
# away is used a hundred times as often ("white").
RARE = 2
RARE_RATIO = 100
RELOAD_SECONDS = 300


def trigrams(word):
    """pg_trgm's trigrams of one word: padded with two spaces before and one after."""
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def edit_distance(a, b):
    """Levenshtein distance counting a swap of adjacent letters as one edit."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(word):
    """One slip in a short word, two from seven letters ("sandles"), three from ten."""
    return 1 if len(word) <= 6 else 2 if len(word) <= 9 else 3


class _Terms:
    """The vocabulary with its frequencies, loaded once per process and reloaded every
    few minutes; with the trigram index the non-PostgreSQL path searches."""

    def __init__(self):
        self.loaded_at = None
        self.frequency = {}
        self._by_trigram = None

    def get(self):
        if self.loaded_at is None or time.monotonic() - self.loaded_at > RELOAD_SECONDS:
            self.frequency = dict(SearchTerm.objects.values_list("word", "frequency"))
            self._by_trigram = None
            self.loaded_at = time.monotonic()
        return self

    def forget(self):
        self.loaded_at = None

    def similar(self, word):
        """Up to CANDIDATES (word, similarity) pairs, as pg_trgm's similarity() ranks them."""
        if self._by_trigram is None:
            index = defaultdict(list)
            for term in self.frequency:
                for gram in trigrams(term):
                    index[gram].append(term)
            self._by_trigram = index
        grams = trigrams(word)
        shared = defaultdict(int)
        for gram in grams:
            for term in self._by_trigram.get(gram, ()):
                shared[term] += 1
        scored = [(term, n / (len(grams) + len(trigrams(term)) - n)) for term, n in shared.items()]
        scored = [pair for pair in scored if pair[1] >= MIN_SIMILARITY]
        return sorted(scored, key=lambda pair: -pair[1])[:CANDIDATES]


terms = _Terms()


def _similar_in_postgres(word):
    """pg_trgm's similar words through the GIN index (search migration 0001), at a
    threshold below its default."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_limit(%s)", [MIN_SIMILARITY])
        cursor.execute(
            "SELECT word, similarity(word, %s) AS score FROM search_searchterm "
            "WHERE word %% %s ORDER BY score DESC LIMIT %s",
            [word, word, CANDIDATES],
        )
        return cursor.fetchall()


def correction(word, known):
    """The known word closest to `word`, or None when nothing is close enough.

    `known` is the vocabulary's {word: frequency}; a rare known word is only
    replaced by a far more common one a single edit away."""
    if len(word) < MIN_LENGTH or word.isdigit():
        return None
    if connection.vendor == "postgresql":
        candidates = _similar_in_postgres(word)
    else:
        candidates = terms.similar(word)
    seen = known.get(word, 0)
    best, best_key = None, None
    for candidate, _ in candidates:
        distance = edit_distance(word, candidate)
        if candidate == word or distance > (1 if seen else allowed_edits(word)):
            continue
        if seen and known.get(candidate, 0) < RARE_RATIO * seen:
            continue
        if len(word) <= SAME_FIRST_LETTER_UP_TO and candidate[0] != word[0]:
            continue
        key = (distance, -known.get(candidate, 0), candidate)
        if best_key is None or key < best_key:
            best, best_key = candidate, key
    return best


def correct(words):
    """[(word, correction or None)] for each word: words the vocabulary lacks, or uses
    only rarely, are corrected."""
    known = terms.get().frequency
    return [(word, None if not known or known.get(word, 0) > RARE else correction(word, known))
            for word in words]
