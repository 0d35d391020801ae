"""The words shoppers use, mapped to the catalog's labels.

Two sources, merged into one phrase table:

* mined from the catalog: every gender, category, article type, colour, usage and
  season value the active products carry, with its singular and its spelling
  without spaces ("Casual Shoes" → "casual shoes", "casual shoe"; "Tshirts" →
  "tshirts", "tshirt");
* curated in ``search/data/vocabulary.csv``: everyday words the labels do not
  use ("sneakers", "ladies", "hoodie", ...), and filler words ("for", "wear").

Plain Python: the catalog's values are passed in, so the table is testable alone.
"""
import csv
import re
from dataclasses import dataclass
from pathlib import Path

CURATED_FILE = Path(__file__).resolve().parent / "data" / "vocabulary.csv"
# Model fields a phrase may stand for, from the most specific kind of product to the
# least; a phrase naming several (e.g. "watches": a sub-category and an article type)
# keeps only the most specific.
KIND_FIELDS = ("article_type", "sub_category", "master_category")
FIELDS = KIND_FIELDS + ("gender", "base_colour", "usage", "season")
FILLER = "filler"
MAX_PHRASE_WORDS = 3
# Values the catalog uses for "not labelled".
UNLABELLED = {"", "NA"}
MAX_QUERY_WORDS = 10
_WORD = re.compile(r"[a-z0-9]+")


def words_of(text):
    """Lower-case words of `text`, apostrophes dropped ("Men's" → "mens") and every
    other non-alphanumeric character a separator, so no query syntax survives."""
    return _WORD.findall(str(text).lower().replace("'", "").replace("’", ""))


def _singular(word):
    if word.endswith("sses"):  # "sunglasses" → "sunglass"
        return word[:-2]
    if word.endswith(("ches", "shes", "xes")):  # "watches" → "watch"
        return word[:-2]
    if word.endswith("ies") and len(word) > 4:  # "accessories" → "accessory"
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def label_forms(value):
    """The phrases a catalog label is found by: itself, its singular, both without spaces."""
    words = words_of(value)
    if not words:
        return set()
    singular = words[:-1] + [_singular(words[-1])]
    forms = {" ".join(words), " ".join(singular)}
    if len(words) > 1:
        forms |= {"".join(words), "".join(singular)}
    return {form for form in forms if form}


def part_forms(value):
    """"Perfume and Body Mist" is also found by "perfume" and "body mist", unless another
    label has that name ("Ties and Cufflinks" is no answer to "ties")."""
    words = words_of(value)
    if "and" not in words:
        return set()
    return {form for part in " ".join(words).split(" and ") for form in label_forms(part)}


@dataclass(frozen=True)
class Meaning:
    field: str  # a Product field, or FILLER
    values: tuple  # catalog values, alternatives
    # A curated everyday word ("loafers", "sneakers"): the products it names also rank
    # by the word itself, which a label's own name ("tshirts") would not change.
    everyday: bool = False


def read_curated(path=CURATED_FILE):
    """{phrase: Meaning} from the curated file (comment lines start with #)."""
    curated = {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in rows:
            phrase = " ".join(words_of(row["phrase"]))
            field = row["field"].strip()
            if field != FILLER and field not in FIELDS:
                raise ValueError(f"{path}: {row['phrase']!r} names unknown field {field!r}")
            values = tuple(v.strip() for v in (row["values"] or "").split("|") if v.strip())
            curated[phrase] = Meaning(field, values, everyday=field != FILLER)
    return curated


class Vocabulary:
    """Phrase → Meaning, and the words of its meaningful phrases (for spelling correction)."""

    def __init__(self, catalog_values, curated):
        """`catalog_values`: {field: iterable of values the catalog holds}."""
        self.phrases = {}
        labels = [(field, value) for field in reversed(FIELDS)  # the broadest field first
                  for value in catalog_values.get(field, ()) if value not in UNLABELLED]
        for field, value in labels:
            for form in label_forms(value):
                self._add_label(form, field, value)
        for field, value in labels:
            for form in part_forms(value) - set(self.phrases):
                self.phrases[form] = Meaning(field, (value,))
        present = {field: set(values) for field, values in catalog_values.items()}
        for phrase, meaning in curated.items():
            if meaning.field == FILLER:
                self.phrases.setdefault(phrase, meaning)
                continue
            # A curated value the catalog lacks (yet) is left out rather than matching nothing.
            values = tuple(v for v in meaning.values if v in present.get(meaning.field, ()))
            if values:
                self.phrases[phrase] = Meaning(meaning.field, values, everyday=True)
        # What a typo may be corrected to: never a filler ("nike" is not "nice").
        self.words = {word for phrase, meaning in self.phrases.items() if meaning.field != FILLER
                      for word in phrase.split()}

    def _add_label(self, form, field, value):
        """Fields arrive broadest first, so a later field is more specific and wins,
        except over a broader category of the same name ("Accessories" is a master
        category and a small sub-category): the broader one is what shoppers mean."""
        known = self.phrases.get(form)
        if known is not None and known.field == field:
            self.phrases[form] = Meaning(field, known.values + (value,))
        elif known is None or not (known.field in KIND_FIELDS and value.lower() in {
                v.lower() for v in known.values}):
            self.phrases[form] = Meaning(field, (value,))

    def parse(self, words):
        """Split `words` into ([(position, phrase words, Meaning)] found, the words no
        phrase explains), matching the longest phrase first, left to right; fillers are
        dropped."""
        found, rest, i = [], [], 0
        while i < len(words):
            for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                meaning = self.phrases.get(" ".join(words[i:i + n]))
                if meaning is not None:
                    if meaning.field != FILLER:
                        found.append((i, tuple(words[i:i + n]), meaning))
                    i += n
                    break
            else:
                rest.append(words[i])
                i += 1
        return found, rest

    def is_filler(self, word):
        meaning = self.phrases.get(word)
        return meaning is not None and meaning.field == FILLER
