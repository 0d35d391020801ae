"""The default categorizer: TF-IDF word/char/pair features + linear SVMs.

One LinearSVC per attribute over one shared feature matrix. Confidences are
a softmax of the decision scores at a per-attribute temperature fitted on
the validation split. subCategory and masterCategory are made consistent with
the predicted articleType through the taxonomy (the mode that is most
accurate on validation is kept; see `CONSISTENCY_MODES`).
"""
import numpy as np
from joblib import Parallel, delayed
from sklearn.svm import LinearSVC

from .base import HeadStack, StackedTextModel
from .features import TextFeaturizer
from .taxonomy import Taxonomy

HEAD_FIELDS = ("gender", "subCategory", "articleType", "baseColour", "season", "usage")
CONSISTENCY_MODES = ("joint", "article", "independent")  # most consistent first
DEFAULT_PARAMS = {"C": 0.5, "tol": 1e-3, "consistency": "joint"}
_EPS = 1e-9


def _fit_svc(X, y, C, tol):
    classes = sorted(set(y))
    if len(classes) == 1:
        return classes, np.zeros((X.shape[1], 1), np.float32), np.zeros(1, np.float32)
    clf = LinearSVC(C=C, tol=tol, random_state=0).fit(X, y)
    coef, bias = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # binary SVC has one score: expand to two columns
        coef = np.vstack([-coef[0], coef[0]]) / 2
        bias = np.array([-bias[0], bias[0]]) / 2
    return list(clf.classes_), coef.T, bias


class LinearCategorizer(StackedTextModel):
    kind = "default"

    def __init__(self, featurizer, taxonomy, consistency="joint"):
        super().__init__(featurizer, taxonomy)
        self.consistency = consistency

    @classmethod
    def fit(cls, rows, params=None, featurizer=None, n_jobs=2):
        params = {**DEFAULT_PARAMS, **(params or {})}
        rows = list(rows)
        names = [r["productDisplayName"] for r in rows]
        featurizer = featurizer or TextFeaturizer()
        X = featurizer.fit_transform(names)
        model = cls(featurizer, Taxonomy.from_rows(rows), params["consistency"])
        jobs = []
        for field in HEAD_FIELDS:
            keep = np.asarray([i for i, r in enumerate(rows) if r.get(field)])
            y = [rows[i][field] for i in keep]
            jobs.append((field, keep, y))
        # liblinear releases the GIL: threads train the heads in parallel
        fitted = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fit_svc)(X[keep], y, params["C"], params["tol"]) for _, keep, y in jobs)
        stack = HeadStack(featurizer.n_features_)
        for (field, _, _), (classes, weights, bias) in zip(jobs, fitted):
            stack.add(field, classes, weights, bias)
        model.W, model.b, model.heads = stack.freeze()
        return model

    def _decide(self, scores):
        return self.decide(self.probabilities(scores))

    def decide(self, P):
        """(labels, probs, top) from per-head probabilities `P`, consistent with the
        taxonomy as `consistency` says (the fused categorizer decides through it too)."""
        tax = self.taxonomy
        art_head, sub_head = self.heads["articleType"], self.heads["subCategory"]
        subs = sub_head.classes
        p_art = P["articleType"]
        p_sub = P["subCategory"]
        if self.consistency != "independent":
            from_art = self._sub_from_articles(p_art, art_head.classes)
            if self.consistency == "article":
                p_sub = from_art
            else:
                p_sub = p_sub * from_art + _EPS
                p_sub /= p_sub.sum(axis=1, keepdims=True)
        sub_idx = p_sub.argmax(axis=1)
        labels, probs = {}, {}
        labels["subCategory"] = subs[sub_idx]
        probs["subCategory"] = p_sub[np.arange(len(sub_idx)), sub_idx]
        if self.consistency != "independent":
            in_sub = self._parent_matrix("sub_of_article", art_head.classes,
                                         tax.sub_of_article, list(subs))
            mask = in_sub[:, sub_idx].T > 0
            masked = np.where(mask, p_art, -1.0)
            # a subCategory no article maps to keeps the unrestricted choice
            art_idx = np.where(mask.any(axis=1), masked.argmax(axis=1), p_art.argmax(axis=1))
        else:
            art_idx = p_art.argmax(axis=1)
        rows = np.arange(len(art_idx))
        labels["articleType"] = art_head.classes[art_idx]
        probs["articleType"] = p_art[rows, art_idx]
        labels["masterCategory"], probs["masterCategory"] = self._masters(p_sub, sub_idx)
        for field in ("gender", "baseColour", "season", "usage"):
            idx = P[field].argmax(axis=1)
            labels[field] = self.heads[field].classes[idx]
            probs[field] = P[field][rows, idx]
        return labels, probs, self._top(art_head.classes, p_art)
