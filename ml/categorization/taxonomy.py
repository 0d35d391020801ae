"""The catalog taxonomy, read from training rows rather than written by hand.

masterCategory -> subCategory -> articleType is a tree in principle, but the
catalog has a few stray labels (e.g. 3 "Belts" filed under Topwear). Each
child gets its parent by majority vote, so predictions can be made
consistent (a predicted articleType implies its subCategory and
masterCategory).

The NB cascade sends each product to one of a few level-3 branches. The
branch rules only name taxonomy nodes; which article types a branch covers
is whatever the training data puts there:

* masterCategory ``Footwear``                         -> ``footwear``
* subCategory Topwear/Bottomwear with a gendered label -> ``men-topwear``,
  ``women-bottomwear``, ... (Boys go with Men, Girls with Women)
* everything else (accessories, innerwear, personal care, unisex apparel,
  ...)                                                 -> ``extra``
"""
from collections import Counter, defaultdict

FIELDS = ("gender", "masterCategory", "subCategory", "articleType",
          "baseColour", "season", "usage")
GENDER_GROUPS = {"Men": "men", "Boys": "men", "Women": "women", "Girls": "women"}
GENDER_SPLIT_SUBCATEGORIES = ("Topwear", "Bottomwear")
OWN_BRANCH_MASTERS = ("Footwear",)
EXTRA = "extra"


def branch_of(gender, master, sub):
    """Level-3 branch of a (gender, masterCategory, subCategory) triple."""
    if master in OWN_BRANCH_MASTERS:
        return master.lower()
    group = GENDER_GROUPS.get(gender)
    if sub in GENDER_SPLIT_SUBCATEGORIES and group:
        return f"{group}-{sub.lower()}"
    return EXTRA


def _majority(pairs):
    votes = defaultdict(Counter)
    for child, parent in pairs:
        if child and parent:
            votes[child][parent] += 1
    # ties break alphabetically so the result never depends on row order
    return {child: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for child, c in votes.items()}


class Taxonomy:
    """Parents of labels and level-3 branches, as seen in training rows."""

    def __init__(self, master_of_sub, sub_of_article, branch_articles):
        self.master_of_sub = dict(master_of_sub)
        self.sub_of_article = dict(sub_of_article)
        self.branch_articles = {b: sorted(a) for b, a in branch_articles.items()}

    @classmethod
    def from_rows(cls, rows):
        rows = list(rows)
        master_of_sub = _majority((r["subCategory"], r["masterCategory"]) for r in rows)
        sub_of_article = _majority((r["articleType"], r["subCategory"]) for r in rows)
        branch_articles = defaultdict(set)
        for r in rows:
            branch_articles[cls.branch_of_row(r)].add(r["articleType"])
        return cls(master_of_sub, sub_of_article, branch_articles)

    @staticmethod
    def branch_of_row(row):
        return branch_of(row["gender"], row["masterCategory"], row["subCategory"])

    @property
    def branches(self):
        return sorted(self.branch_articles)

    def branch(self, gender, sub):
        return branch_of(gender, self.master_of_sub.get(sub, ""), sub)

    def master(self, sub):
        return self.master_of_sub.get(sub, "")

    def sub(self, article):
        return self.sub_of_article.get(article, "")
