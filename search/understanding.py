"""Reading a query the way a shopper means it.

1. Words: lower-case letters and digits only, so no query syntax reaches a database.
2. Spelling: each word the vocabulary lacks is corrected (search/spelling.py).
3. Vocabulary: phrases naming catalog labels ("ladies" → Women, "sneakers" → Casual or
   Sports Shoes) become filters; usage and season words ("gym", "winter") only boost,
   since shoppers saying "party wear heels" want heels, party or not.
4. The shop's categorizer reads what is left. Where it is confident it names the
   article type ("loafers" → Casual Shoes) as a filter, and the gender as a boost.
5. Words nothing explains ("nike") must match the product's text.

The thresholds were chosen on the validation queries of search/data/queries.csv
(`evaluate_models --search`, docs/search.md).
"""
from dataclasses import dataclass, field

from search import selectors, services, spelling
from search.vocabulary import KIND_FIELDS, MAX_QUERY_WORDS, words_of
from shop_ml import facade

# Fields a vocabulary phrase filters on; the others boost.
FILTER_FIELDS = KIND_FIELDS + ("gender", "base_colour")
# The categorizer's confidence needed to name the article type (a filter) and the
# gender (a boost) when the words did not.
MODEL_ARTICLE_CONFIDENCE = 0.6
MODEL_GENDER_CONFIDENCE = 0.9
_MODEL_FIELDS = {"gender": "gender", "article_type": "articleType"}


@dataclass(frozen=True)
class Understanding:
    query: str  # as typed
    words: tuple  # after spelling correction
    corrections: tuple = ()  # (typed, corrected) pairs
    filters: dict = field(default_factory=dict)  # Product field → values (alternatives)
    boosts: dict = field(default_factory=dict)  # Product field → values ranked first
    unexplained: tuple = ()  # words to find in the products' text
    terms: tuple = ()  # the words that are not filler
    ranking: tuple = ()  # words the matches rank by: unexplained and everyday ones
    from_model: frozenset = frozenset()  # fields the categorizer filled in
    guesses: tuple = ()  # the categorizer's likeliest article types, however unsure

    @property
    def corrected_query(self):
        """The query as searched, when spelling changed it."""
        return " ".join(self.words) if self.corrections else ""

    @property
    def understood(self):
        return bool(self.filters or self.boosts)


def _the_product(found, kinds):
    """Which of several kinds of product named is the product: the last of a run of
    words ("denim jacket" is a jacket), the first when other words part them ("shoes
    to go with jeans" are shoes)."""
    adjacent = all(found[a][0] + len(found[a][1]) == found[b][0] for a, b in zip(kinds, kinds[1:]))
    return kinds[-1] if adjacent else kinds[0]


def _read_phrases(found):
    """({field: values} the phrases mean, alternatives united; the words the matches
    rank by). One kind of product (`_the_product`); the others describe it and rank
    ("denim"), as do words of everyday phrases ("loafers" first among casual and
    formal shoes)."""
    kinds = [i for i, (_, _, meaning) in enumerate(found) if meaning.field in KIND_FIELDS]
    described = set(kinds) - {_the_product(found, kinds)} if kinds else set()
    merged, ranking = {}, []
    for i, (_, words, meaning) in enumerate(found):
        if meaning.everyday or i in described:
            ranking += words
        if i in described:
            continue
        values = merged.setdefault(meaning.field, ())
        merged[meaning.field] = values + tuple(v for v in meaning.values if v not in values)
    return merged, ranking


def _read_with_model(text, meanings, ignored):
    """What the categorizer adds: ({field: values} of filters, of boosts, and its
    likeliest article types)."""
    filters, boosts = {}, {}
    predictions = facade.categorize(text) if text else []
    if not predictions:
        return filters, boosts, ()
    prediction = predictions[0]
    guesses = tuple(c["articleType"] for c in prediction.get("candidates", ()))
    confidence = prediction.get("confidence", {})

    def confident(model_field, threshold):
        value = prediction.get(_MODEL_FIELDS[model_field])
        return value if value and confidence.get(_MODEL_FIELDS[model_field], 0) >= threshold else None

    article_type = confident("article_type", MODEL_ARTICLE_CONFIDENCE)
    if article_type and not any(f in meanings for f in KIND_FIELDS) and "article_type" not in ignored:
        filters["article_type"] = (article_type,)
    gender = confident("gender", MODEL_GENDER_CONFIDENCE)
    if gender and "gender" not in meanings and "gender" not in ignored:
        boosts["gender"] = (gender,)
    return filters, boosts, guesses


def understand(query, ignored=(), exact=False):
    """The Understanding of `query`. `ignored`: fields the shopper removed (their chips);
    `exact`: search the words as typed, without correcting them."""
    typed = words_of(query)[:MAX_QUERY_WORDS]
    vocabulary = selectors.vocabulary()
    if not spelling.terms.get().frequency:
        services.rebuild_vocabulary()  # a catalog loaded without import_catalog
    corrections, words = [], []
    for word, corrected in (((w, None) for w in typed) if exact else spelling.correct(typed)):
        if corrected and corrected != word:
            corrections.append((word, corrected))
        words.append(corrected or word)
    found, rest = vocabulary.parse(words)
    meanings, ranking = _read_phrases(found)
    meant = {f: v for f, v in meanings.items() if f not in ignored}
    filters = {f: v for f, v in meant.items() if f in FILTER_FIELDS}
    boosts = {f: v for f, v in meant.items() if f not in FILTER_FIELDS}
    # A lone letter ("t" of "t shirt" aside, which a phrase takes) says nothing.
    terms = tuple(w for w in words if not vocabulary.is_filler(w) and len(w) > 1)
    model_filters, model_boosts, guesses = _read_with_model(" ".join(terms), meant, set(ignored))
    return Understanding(
        query=query.strip(),
        words=tuple(words),
        corrections=tuple(corrections),
        filters={**filters, **model_filters},
        boosts={**boosts, **model_boosts},
        unexplained=tuple(w for w in rest if len(w) > 1),
        terms=terms,
        ranking=tuple(w for w in rest + ranking if len(w) > 1),
        from_model=frozenset(model_filters) | frozenset(model_boosts),
        guesses=guesses,
    )

