"""The hierarchical Naive Bayes cascade (8 models).

Level 1 predicts gender, level 2 subCategory, and level 3 the articleType
with a model specialised for the product's branch (see `taxonomy.branch_of`):
men's/women's topwear and bottomwear, footwear, and "extra" for the rest.
Separate small NB heads give baseColour, season and usage; masterCategory
follows from the subCategory through the taxonomy.

Routing is probabilistic: P(branch) is the sum of P(gender) * P(subCategory)
over the (gender, subCategory) pairs that lead to the branch. When the best
branch is sure enough (P >= `route_threshold`) its model alone decides;
when level 1 or 2 is unsure the articleType is the mixture
sum_b P(b) * P(article | b) over all branches, so an unsure product still
gets the best joint answer, never an error.

All heads share one featurizer and are stacked in one matrix, so the whole
cascade costs one sparse product per batch.
"""
import numpy as np
from sklearn.naive_bayes import ComplementNB, MultinomialNB

from .base import HeadStack, StackedTextModel
from .features import TextFeaturizer
from .taxonomy import Taxonomy

ATTRIBUTE_FIELDS = ("baseColour", "season", "usage")
DEFAULT_PARAMS = {"nb": "complement", "alpha": 0.01, "route_threshold": 0.5,
                  "sub_from_article": False}
BRANCH_PREFIX = "branch:"


def _fit_nb(X, y, kind, alpha):
    classes = sorted(set(y))
    if len(classes) == 1:
        return classes, np.zeros((X.shape[1], 1), np.float32), np.zeros(1, np.float32)
    if kind == "complement":
        nb = ComplementNB(alpha=alpha).fit(X, y)
        # ComplementNB decides without the prior; a tiny share of it only breaks
        # ties, so a name with no known word gets the most common class.
        bias = nb.class_log_prior_ * 1e-3
    else:
        nb = MultinomialNB(alpha=alpha).fit(X, y)
        bias = nb.class_log_prior_
    return list(nb.classes_), nb.feature_log_prob_.T, bias


class NBCascade(StackedTextModel):
    kind = "cascade"

    def __init__(self, featurizer, taxonomy, route_threshold=0.5, sub_from_article=False):
        super().__init__(featurizer, taxonomy)
        self.route_threshold = route_threshold
        self.sub_from_article = sub_from_article

    @property
    def model_names(self):
        """The 8 (or, on small data, fewer) cascade models: levels 1, 2 and branches."""
        return ["gender", "subCategory"] + [n for n in self.heads if n.startswith(BRANCH_PREFIX)]

    @classmethod
    def fit(cls, rows, params=None, featurizer=None):
        params = {**DEFAULT_PARAMS, **(params or {})}
        rows = list(rows)
        names = [r["productDisplayName"] for r in rows]
        featurizer = featurizer or TextFeaturizer()
        X = featurizer.fit_transform(names)
        taxonomy = Taxonomy.from_rows(rows)
        model = cls(featurizer, taxonomy, params["route_threshold"], params["sub_from_article"])
        stack = HeadStack(featurizer.n_features_)

        def add(head, keep, field):
            keep = np.asarray(keep, dtype=np.int64)
            y = [rows[i][field] for i in keep]
            classes, weights, bias = _fit_nb(X[keep], y, params["nb"], params["alpha"])
            stack.add(head, classes, weights, bias)

        everything = [i for i, r in enumerate(rows)]
        add("gender", everything, "gender")
        add("subCategory", everything, "subCategory")
        by_branch = {}
        for i, r in enumerate(rows):
            by_branch.setdefault(taxonomy.branch_of_row(r), []).append(i)
        for branch in sorted(by_branch):
            add(BRANCH_PREFIX + branch, by_branch[branch], "articleType")
        for field in ATTRIBUTE_FIELDS:
            add(field, [i for i, r in enumerate(rows) if r.get(field)], field)
        model.W, model.b, model.heads = stack.freeze()
        model._build_routing()
        return model

    def _build_routing(self):
        """Precompute (gender, subCategory) -> branch and article index maps."""
        genders = self.heads["gender"].classes
        subs = self.heads["subCategory"].classes
        self.branch_names_ = [n[len(BRANCH_PREFIX):] for n in self.heads
                              if n.startswith(BRANCH_PREFIX)]
        branch_index = {b: j for j, b in enumerate(self.branch_names_)}
        extra = branch_index.get("extra", 0)
        route = np.zeros((len(genders) * len(subs), len(self.branch_names_)), np.float32)
        for gi, g in enumerate(genders):
            for si, s in enumerate(subs):
                b = branch_index.get(self.taxonomy.branch(g, s), extra)
                route[gi * len(subs) + si, b] = 1.0
        self.route_ = route
        articles = sorted({a for n in self.branch_names_
                           for a in self.heads[BRANCH_PREFIX + n].classes})
        self.articles_ = np.asarray(articles, dtype=object)
        art_index = {a: j for j, a in enumerate(articles)}
        self.branch_cols_ = [np.asarray([art_index[a] for a in
                                         self.heads[BRANCH_PREFIX + n].classes])
                             for n in self.branch_names_]

    def branch_proba(self, p_gender, p_sub):
        joint = (p_gender[:, :, None] * p_sub[:, None, :]).reshape(len(p_gender), -1)
        return joint @ self.route_

    def _decide(self, scores):
        P = self.probabilities(scores)
        n = scores.shape[0]
        rows = np.arange(n)
        p_branch = self.branch_proba(P["gender"], P["subCategory"])
        best = p_branch.argmax(axis=1)
        sure = p_branch[rows, best] >= self.route_threshold
        # sure rows keep only their best branch; unsure rows mix every branch
        weight = np.where(sure[:, None], p_branch * (best[:, None] == np.arange(p_branch.shape[1])),
                          p_branch)
        p_art = np.zeros((n, len(self.articles_)), np.float32)
        for j, name in enumerate(self.branch_names_):
            p_art[:, self.branch_cols_[j]] += weight[:, j:j + 1] * P[BRANCH_PREFIX + name]
        art_idx = p_art.argmax(axis=1)
        labels, probs = {}, {}
        labels["articleType"] = self.articles_[art_idx]
        probs["articleType"] = p_art[rows, art_idx]
        subs = self.heads["subCategory"].classes
        if self.sub_from_article:
            # the subCategory of the chosen articleType, with the probability of all its articles
            p_sub = self._sub_from_articles(p_art, self.articles_)
            p_sub /= np.maximum(p_sub.sum(axis=1, keepdims=True), 1e-12)
            parent = self._parent_matrix("sub_of_article", self.articles_,
                                         self.taxonomy.sub_of_article, list(subs))
            has_parent = parent[art_idx].any(axis=1)
            sub_idx = np.where(has_parent, parent[art_idx].argmax(axis=1), p_sub.argmax(axis=1))
        else:
            p_sub = P["subCategory"]
            sub_idx = p_sub.argmax(axis=1)
        labels["subCategory"] = subs[sub_idx]
        probs["subCategory"] = p_sub[rows, sub_idx]
        labels["masterCategory"], probs["masterCategory"] = self._masters(p_sub, sub_idx)
        for field in ("gender",) + ATTRIBUTE_FIELDS:
            idx = P[field].argmax(axis=1)
            labels[field] = self.heads[field].classes[idx]
            probs[field] = P[field][rows, idx]
        return labels, probs, self._top(self.articles_, p_art)
