"""Writes of the search app: the vocabulary typos are corrected against."""
from collections import Counter

from django.db import transaction

from main.models import Product
from search import selectors, spelling
from search.models import SearchTerm
from search.vocabulary import words_of

MAX_WORD = 40
# The search vocabulary's own words ("sneakers", "hoodie") are what shoppers type, so a
# typo close to one of them and to a rarer word of a product name goes to them.
VOCABULARY_WEIGHT = 1000


def _spellable(word):
    return len(word) >= spelling.MIN_LENGTH and len(word) <= MAX_WORD and word.isalpha()


def rebuild_vocabulary(progress=None):
    """Replace the vocabulary with the words of the active products' names and of the
    search vocabulary. Returns the number of words. Safe to re-run."""
    counts = Counter()
    names = Product.objects.active().values_list("name", flat=True).iterator(chunk_size=5000)
    for name in progress(names) if progress else names:
        counts.update({word for word in words_of(name) if _spellable(word)})
    for word in selectors.vocabulary().words:
        if _spellable(word):
            counts[word] += VOCABULARY_WEIGHT
    with transaction.atomic():
        SearchTerm.objects.all().delete()
        SearchTerm.objects.bulk_create(
            [SearchTerm(word=word, frequency=n) for word, n in counts.items()], batch_size=2000)
    spelling.terms.forget()
    return len(counts)
