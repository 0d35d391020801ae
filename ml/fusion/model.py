"""The photo heads and the fused categorizer.

`PhotoHeads` are softmax regressions over a photo's evidence (a projection of
the encoder features, the encoder's article-type log-probabilities and the
colour statistics): one per field, so the photo answers every field the name
model does, baseColour included (the colour model from the photo alone).

`FusedCategorizer` pools the name model's and the photo heads' probabilities
per field as a weighted product of experts whose weights grow or shrink with
how sure each expert is of its own best answer (m_name, m_photo):

    log p(c) = (a + a' m_name) log p_name(c) + (b + b' m_photo) log p_photo(c)   (renormalised),

with (a, a', b, b') fitted per field on a split neither base model learnt from
(`training.py`), then decides through the name model's own taxonomy-consistent
decision (the article type fits the subcategory), and finally keeps the
gender one the catalog has seen with that article type.
"""
import re

import numpy as np

from ml.categorization.features import clean_name

FIELDS = ("gender", "subCategory", "articleType", "baseColour", "season", "usage")
FLOOR = 1e-6          # probability of a class one model has never seen
# Both opinions at least this sure and different: the seller form says so in words.
DISAGREEMENT_CONFIDENCE = 0.6
DISAGREEMENT_FIELDS = ("articleType", "baseColour", "gender")
FIELD_WORDS = {"articleType": "", "baseColour": "", "gender": "for "}


def log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class PhotoHeads:
    """Per-field softmax regressions over photo evidence (see `design`)."""

    def __init__(self, mean, components, centre, scale, heads):
        self.mean = mean                  # (F,) feature mean
        self.components = components      # (F, k) projection
        self.centre, self.scale = centre, scale   # standardisation of the design matrix
        self.heads = heads                # field -> (classes array, coef (d, c), intercept (c,))

    @staticmethod
    def raw_design(evidence, mean, components):
        parts = [(evidence["features"] - mean) @ components, evidence["colour"]]
        if evidence["logits"].shape[1]:
            parts.insert(1, log_softmax(evidence["logits"]))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def design(self, evidence):
        return (self.raw_design(evidence, self.mean, self.components) - self.centre) / self.scale

    def probabilities(self, evidence):
        """{field: (n, classes) probabilities, columns in `self.heads[field][0]` order}."""
        X = self.design(evidence)
        out = {}
        for field, (_, coef, intercept) in self.heads.items():
            z = X @ coef + intercept
            out[field] = np.exp(log_softmax(z))
        return out

    @property
    def input_dim(self):
        return self.components.shape[0]


def align(probabilities, classes, target_classes):
    """Columns of `probabilities` (over `classes`) rearranged to `target_classes`;
    classes the model never saw get FLOOR."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.full((probabilities.shape[0], len(target_classes)), FLOOR, np.float32)
    for j, c in enumerate(target_classes):
        i = index.get(c)
        if i is not None:
            out[:, j] = np.maximum(probabilities[:, i], FLOOR)
    return out / out.sum(axis=1, keepdims=True)


NAME_ONLY = (1.0, 0.0, 0.0, 0.0)
# A name with no colour word says little about the colour: its colour is the name's and
# the photo's opinions with equal weight (on the 83 such names of the fusion split,
# 0.49 right against 0.43 for the name alone and 0.39 for the photo alone).
COLOURLESS_WEIGHTS = (1.0, 0.0, 1.0, 0.0)


def pool(p_name, p_photo, weights):
    """The weighted product of experts of two aligned probability matrices;
    `weights` = (a, a', b, b') as in the module docstring."""
    a, a_sure, b, b_sure = weights
    # An expert is trusted less or not at all, never inverted: weights stay >= 0.
    w_name = np.maximum(a + a_sure * p_name.max(axis=1, keepdims=True), 0.0)
    w_photo = np.maximum(b + b_sure * p_photo.max(axis=1, keepdims=True), 0.0)
    z = w_name * np.log(np.maximum(p_name, FLOOR)) + w_photo * np.log(np.maximum(p_photo, FLOOR))
    return np.exp(log_softmax(z))


class FusedCategorizer:
    """Name model + photo heads + per-field pooling weights."""

    def __init__(self, photo_heads, weights, gender_articles, encoder_classes=()):
        self.photo_heads = photo_heads
        self.weights = dict(weights)                 # field -> (a, a', b, b'), see `pool`
        self.gender_articles = {a: set(g) for a, g in gender_articles.items()}
        self.encoder_classes = list(encoder_classes)

    # -- probabilities ------------------------------------------------------------
    def photo_probabilities(self, name_model, evidence):
        """{field: (n, name-model classes)} from the photo alone."""
        raw = self.photo_heads.probabilities(evidence)
        return {field: align(raw[field], self.photo_heads.heads[field][0],
                             name_model.heads[field].classes)
                for field in FIELDS if field in raw and field in name_model.heads}

    @staticmethod
    def name_probabilities(name_model, names):

        return name_model.probabilities(name_model.scores([clean_name(n) for n in names]))

    def fused_probabilities(self, p_name, p_photo, has_name, colourless=None):
        """Per field: pooled where a row has a name, the photo's alone where it has none;
        the colour of a `colourless` row (a name without a colour word) pooled evenly."""
        has_name = np.asarray(has_name, bool)[:, None]
        out = dict(p_name)
        for field, photo in p_photo.items():
            pooled = pool(p_name[field], photo, self.weights.get(field, NAME_ONLY))
            if field == "baseColour" and colourless is not None:
                pooled = np.where(np.asarray(colourless, bool)[:, None],
                                  pool(p_name[field], photo, COLOURLESS_WEIGHTS), pooled)
            out[field] = np.where(has_name, pooled, photo)
        return out

    @staticmethod
    def colourless(name_model, cleaned_names):
        """Per name: True when no word of it is a word of a colour the name model knows."""
        words = name_model._cached("colour_words", lambda: frozenset(
            w for colour in name_model.heads["baseColour"].classes
            for w in re.findall(r"[a-z]+", str(colour).lower())))
        return np.asarray([not (set(re.findall(r"[a-z]+", n.lower())) & words)
                           for n in cleaned_names])

    # -- decisions --------------------------------------------------------------------
    def decide(self, name_model, P):
        """The name model's consistent decision over `P`, then a gender the article fits."""
        labels, probs, top = name_model.decide(P)
        genders = name_model.heads["gender"].classes
        p_gender = P["gender"]
        for i, article in enumerate(labels["articleType"]):
            allowed = self.gender_articles.get(str(article))
            if allowed and str(labels["gender"][i]) not in allowed:
                fits = np.asarray([g in allowed for g in genders])
                j = int(np.argmax(np.where(fits, p_gender[i], -1.0)))
                labels["gender"][i], probs["gender"][i] = genders[j], p_gender[i, j]
        return labels, probs, top

    def predict(self, name_model, names, evidence):
        """One `categorize` dict per row; `names[i]` may be "" (answered from the photo).

        Each dict also has `photo` (the photo's own answer per field with its
        probability, and its top article types as `candidates`), `name_only` (the name's, when there is a name) and
        `disagreements` (fields where both are sure and differ).
        """

        names = ["" if n is None else str(n) for n in names]
        cleaned = [clean_name(n) for n in names]
        has_name = np.asarray([bool(c.strip()) for c in cleaned])
        p_name = name_model.probabilities(name_model.scores(cleaned))
        p_photo = self.photo_probabilities(name_model, evidence)
        fused = self.fused_probabilities(p_name, p_photo, has_name,
                                         self.colourless(name_model, cleaned))
        results = name_model.describe(names, cleaned, *self.decide(name_model, fused))
        photo_top = name_model._top(name_model.heads["articleType"].classes, p_photo["articleType"])
        for i, result in enumerate(results):
            photo = _opinion(name_model, p_photo, i)
            photo["candidates"] = [{"articleType": str(a), "probability": p} for a, p in photo_top[i]]
            result["photo"] = photo
            result["name_only"] = _opinion(name_model, p_name, i) if has_name[i] else None
            result["disagreements"] = (disagreements(result["name_only"], photo)
                                       if has_name[i] else [])
        return results

    def card_info(self):
        return {"weights": {f: dict(zip(("name", "name_by_confidence", "photo",
                                         "photo_by_confidence"), map(float, w)))
                            for f, w in self.weights.items()},
                "photo_heads": {f: len(h[0]) for f, h in self.photo_heads.heads.items()},
                "photo_input": {"features": int(self.photo_heads.input_dim),
                                "projected_to": int(self.photo_heads.components.shape[1]),
                                "encoder_classes": len(self.encoder_classes)}}


def _opinion(name_model, P, i):
    out = {}
    for field, probs in P.items():
        if field in FIELDS:
            j = int(np.argmax(probs[i]))
            out[field] = {"label": str(name_model.heads[field].classes[j]),
                          "probability": round(float(probs[i, j]), 4)}
    return out


def disagreements(name_opinion, photo_opinion, threshold=DISAGREEMENT_CONFIDENCE):
    """[{field, name, photo, name_probability, photo_probability, message}] where both
    opinions are at least `threshold` sure and name different labels."""
    found = []
    for field in DISAGREEMENT_FIELDS:
        name, photo = name_opinion.get(field), photo_opinion.get(field)
        if not name or not photo or name["label"] == photo["label"]:
            continue
        if min(name["probability"], photo["probability"]) < threshold:
            continue
        words = FIELD_WORDS[field]
        found.append({"field": field, "name": name["label"], "photo": photo["label"],
                      "name_probability": name["probability"],
                      "photo_probability": photo["probability"],
                      "message": f"The photo looks like {words}{photo['label']}; "
                                 f"the name suggests {words}{name['label']}."})
    return found
