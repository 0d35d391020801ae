"""Split, train, calibrate, evaluate, save and load the categorizers.

Everything is chosen on the training data's own validation split
(`split_rows`): softmax temperatures, the cascade's routing threshold and the
consistency mode. Nothing else is ever used for tuning.
"""
import logging
import time
import zlib

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from ml.artifacts import ArtifactError, library_versions, load_joblib, save_joblib

from .base import StackedTextModel
from .cascade import BRANCH_PREFIX, NBCascade
from .linear import CONSISTENCY_MODES, LinearCategorizer
from .taxonomy import Taxonomy

log = logging.getLogger("ml")

MODEL_CLASSES = {"cascade": NBCascade, "default": LinearCategorizer}
ARTIFACT_NAMES = {"cascade": "categorizer-cascade", "default": "categorizer-default"}
VAL_PERCENT = 15
LEVELS = ("gender", "masterCategory", "subCategory", "articleType", "baseColour", "season", "usage")
_TEMPERATURES = np.logspace(-3, 3, 61)
# Answers whose subCategory follows from the articleType are worth this much
# mean accuracy (of subCategory and articleType) on validation: within it,
# the consistent setting is kept even if an inconsistent one scores higher.
CONSISTENCY_TOLERANCE = 0.001
# Features a trained categorizer keeps (`StackedTextModel.compact`, int8 weights):
# ~20-23 MB on disk instead of 110-125 MB, for under 0.1 point of validation
# accuracy on any field (the card records the cost it measured).
COMPACT_FEATURES = 80_000


# -- data -------------------------------------------------------------------------
def usable_rows(rows):
    """Rows that can teach the models: a name and the three taxonomy levels."""
    return [r for r in rows if (r.get("productDisplayName") or "").strip()
            and r.get("gender") and r.get("subCategory") and r.get("articleType")]


def is_validation(row, percent=VAL_PERCENT):
    """Deterministic and stable: a row's side depends only on its id."""
    return zlib.crc32(str(row["id"]).encode("utf-8")) % 100 < percent


def split_rows(rows, percent=VAL_PERCENT):
    """(train_rows, validation_rows), split by a hash of the id."""
    train, val = [], []
    for row in rows:
        (val if is_validation(row, percent) else train).append(row)
    return train, val


def _names(rows):
    return [r["productDisplayName"] for r in rows]


# -- calibration --------------------------------------------------------------------
def _batched_scores(model, names, batch=8192):
    return np.vstack([model.scores(names[i:i + batch]) for i in range(0, len(names), batch)])


def _fit_temperature(z, y):
    """Temperature minimising the negative log-likelihood of labels y (column ids)."""
    best, best_nll = 1.0, np.inf
    rows = np.arange(len(y))
    for t in _TEMPERATURES:
        s = z * t
        s = s - s.max(axis=1, keepdims=True)
        nll = -(s[rows, y] - np.log(np.exp(s).sum(axis=1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def _is_consistent(option):
    """Does this setting make subCategory follow from the predicted articleType?"""
    return option.get("consistency", "independent") != "independent" or \
        option.get("sub_from_article", False)


def calibrate(model, val_rows):
    """Fit temperatures and decision settings of `model` on validation rows."""
    val_rows = usable_rows(val_rows)
    if not val_rows:
        return model
    scores = _batched_scores(model, [r["productDisplayName"] for r in val_rows])
    tax = model.taxonomy
    for name, head in model.heads.items():
        field = "articleType" if name.startswith(BRANCH_PREFIX) else name
        index = {c: j for j, c in enumerate(head.classes)}
        keep, y = [], []
        for i, r in enumerate(val_rows):
            if name.startswith(BRANCH_PREFIX) and \
                    Taxonomy.branch_of_row(r) != name[len(BRANCH_PREFIX):]:
                continue
            if r.get(field) in index:
                keep.append(i)
                y.append(index[r[field]])
        if len(head.classes) > 1 and len(keep) >= 5:
            head.temperature = _fit_temperature(scores[keep, head.start:head.stop], np.asarray(y))
    truth = {f: np.asarray([r[f] for r in val_rows], dtype=object) for f in ("subCategory", "articleType")}

    def score_settings():
        labels, _, _ = model._decide(scores)
        return sum((labels[f] == truth[f]).mean() for f in truth)

    if isinstance(model, LinearCategorizer):
        options = [{"consistency": mode} for mode in CONSISTENCY_MODES]
    else:
        options = [{"route_threshold": t, "sub_from_article": s}
                   for s in (True, False) for t in (0.0, 0.5, 0.7, 0.9, 1.01)]
    results = []
    for option in options:
        for key, value in option.items():
            setattr(model, key, value)
        results.append((score_settings(), option))
    # the best consistent option wins unless it costs more than CONSISTENCY_TOLERANCE
    best_score, best = max(results, key=lambda item: item[0])
    consistent = [item for item in results if _is_consistent(item[1])]
    if consistent:
        score, option = max(consistent, key=lambda item: item[0])
        if score >= best_score - 2 * CONSISTENCY_TOLERANCE:  # scores sum two accuracies
            best = option
    for key, value in best.items():
        setattr(model, key, value)
    model.calibration_ = {"options": [(round(float(s) / 2, 5), o) for s, o in results],
                          "chosen": best, "n_rows": len(val_rows)}
    del tax
    return model


# -- training -----------------------------------------------------------------------
def train(rows, kind="default", params=None, val_rows=None, n_features=COMPACT_FEATURES):
    """Fit a categorizer of `kind` on `rows`, compact it to `n_features` features
    (None keeps them all) and calibrate on `val_rows` if given."""
    if kind not in MODEL_CLASSES:
        raise ValueError(f"unknown categorizer kind {kind!r}; use one of {sorted(MODEL_CLASSES)}")
    rows = usable_rows(rows)
    if not rows:
        raise ValueError("no usable training rows (need name, gender, subCategory, articleType)")
    model = MODEL_CLASSES[kind].fit(rows, params=params)
    if val_rows:
        calibrate(model, val_rows)
    if n_features:
        _compact(model, rows, val_rows, n_features)
    return model


def _compact(model, rows, val_rows, n_features):
    # Compaction ranks features with the calibrated temperatures' heads; the
    # temperatures are then refitted for the features that are left.
    model.compact(_names(rows), n_features)
    if val_rows:
        calibrate(model, val_rows)


def _copy_calibration(source, target):
    for name, head in source.heads.items():
        if name in target.heads:
            target.heads[name].temperature = head.temperature
    for key, value in getattr(source, "calibration_", {}).get("chosen", {}).items():
        setattr(target, key, value)
    target.calibration_ = getattr(source, "calibration_", None)


def train_and_evaluate(rows, kind="default", params=None, refit=True, progress=print):
    """Split, train, calibrate and evaluate; optionally refit on all rows.

    Returns (model, card). The card's metrics are always those of the model
    trained without the validation rows; with `refit` the served model is
    retrained on every row with the settings chosen on validation.
    """
    say = progress or (lambda *_: None)
    rows = usable_rows(rows)
    train_rows, val_rows = split_rows(rows)
    if not train_rows or not val_rows:
        raise ValueError(f"need rows on both sides of the split, got {len(train_rows)} "
                         f"train / {len(val_rows)} validation")
    started = time.perf_counter()
    say(f"[{kind}] training on {len(train_rows)} rows, validating on {len(val_rows)}")
    model = train(train_rows, kind, params, val_rows=val_rows, n_features=None)
    split_seconds = time.perf_counter() - started
    say(f"[{kind}] trained in {split_seconds:.1f}s; evaluating")
    full = evaluate(model, val_rows)
    n_total = model.W.shape[0]
    _compact(model, train_rows, val_rows, COMPACT_FEATURES)
    metrics = evaluate(model, val_rows, seen_names={r["productDisplayName"] for r in train_rows})
    say(f"[{kind}] validation " + ", ".join(
        f"{f} {metrics[f]['accuracy']:.4f}" for f in LEVELS if f in metrics))
    compaction = {"features_kept": int(model.W.shape[0]), "features_trained": int(n_total),
                  "weights": "int8, one float32 scale per column",
                  "validation_accuracy_cost": {f: round(full[f]["accuracy"] - metrics[f]["accuracy"], 5)
                                               for f in LEVELS if f in metrics}}
    say(f"[{kind}] compacted to {compaction['features_kept']} of {n_total} features; accuracy cost "
        + ", ".join(f"{f} {cost:+.4f}" for f, cost in compaction["validation_accuracy_cost"].items()))
    served = model
    if refit:
        say(f"[{kind}] refitting on all {len(rows)} rows")
        served = MODEL_CLASSES[kind].fit(rows, params=params)
        _copy_calibration(model, served)
        served.compact(_names(rows), COMPACT_FEATURES)
    seconds = time.perf_counter() - started
    card = build_card(served, kind, rows, train_rows, val_rows, metrics, seconds, refit, params)
    card["compaction"] = compaction
    say(f"[{kind}] done in {seconds:.1f}s")
    return served, card


def build_card(model, kind, rows, train_rows, val_rows, metrics, seconds, refit, params):
    return {
        "model": kind,
        "task": "product name -> gender, masterCategory, subCategory, articleType, "
                "baseColour, season, usage",
        "data": {"rows": len(rows), "train_rows": len(train_rows),
                 "validation_rows": len(val_rows),
                 "split": f"crc32(id) % 100 < {VAL_PERCENT} is validation",
                 "served_model_trained_on": "all rows" if refit else "train rows"},
        "params": params or {},
        "calibration": getattr(model, "calibration_", None),
        "metrics": {"validation": {f: {k: metrics[f][k] for k in ("accuracy", "macro_f1", "n")}
                                   for f in LEVELS if f in metrics},
                    "validation_unseen_names": {f: metrics[f].get("unseen_accuracy")
                                                for f in LEVELS if f in metrics}},
        "per_class": {f: metrics[f]["per_class"] for f in ("gender", "subCategory", "articleType")
                      if f in metrics},
        "classes": {f: sorted({str(r[f]) for r in rows if r.get(f)}) for f in LEVELS},
        "model_info": model.card_info(),
        "training_seconds": round(seconds, 2),
        "libraries": library_versions(),
    }


# -- evaluation ---------------------------------------------------------------------
def evaluate(model, rows, seen_names=None):
    """{field: {accuracy, macro_f1, n, per_class: {label: {precision, recall, f1, support}}}}.

    With `seen_names` (the training names) each field also gets
    `unseen_accuracy`: accuracy on the rows whose exact name was not trained on.
    """
    rows = usable_rows(rows)
    if not rows:
        return {}
    predicted = model.predict_labels(_names(rows))
    metrics = {}
    for field in LEVELS:
        keep = [i for i, r in enumerate(rows) if r.get(field)]
        if not keep:
            continue
        y_true = np.asarray([rows[i][field] for i in keep], dtype=object)
        y_pred = np.asarray([predicted[field][i] for i in keep], dtype=object)
        labels = sorted(set(y_true))
        p, r, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0)
        entry = {
            "accuracy": round(float((y_true == y_pred).mean()), 5),
            "macro_f1": round(float(f1.mean()), 5),
            "n": len(keep),
            "per_class": {str(label): {"precision": round(float(p[j]), 4),
                                       "recall": round(float(r[j]), 4),
                                       "f1": round(float(f1[j]), 4),
                                       "support": int(support[j])}
                          for j, label in enumerate(labels)},
        }
        if seen_names is not None:
            unseen = np.asarray([rows[i]["productDisplayName"] not in seen_names for i in keep])
            if unseen.any():
                entry["unseen_accuracy"] = round(float((y_true == y_pred)[unseen].mean()), 5)
                entry["unseen_n"] = int(unseen.sum())
        metrics[field] = entry
    return metrics


def confusion(model, rows, field="articleType", top=20):
    """(labels, matrix) of the `top` most frequent true classes of `field`."""
    rows = [r for r in usable_rows(rows) if r.get(field)]
    predicted = model.predict_labels(_names(rows))[field]
    counts = {}
    for r in rows:
        counts[r[field]] = counts.get(r[field], 0) + 1
    labels = sorted(counts, key=lambda c: (-counts[c], c))[:top]
    index = {c: j for j, c in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for r, p in zip(rows, predicted):
        if r[field] in index and p in index:
            matrix[index[r[field]], index[p]] += 1
    return labels, matrix


# -- artifacts ----------------------------------------------------------------------
def save_model(models_dir, model, card):
    """Save as a new version of `categorizer-<kind>`; returns the version folder."""
    return save_joblib(models_dir, ARTIFACT_NAMES[model.kind], model, card)


def load_model(models_dir, kind="default"):
    """(model, card) of the served version; ArtifactError if missing or corrupt."""
    if kind not in ARTIFACT_NAMES:
        raise ArtifactError(f"unknown categorizer kind {kind!r}")
    model, card = load_joblib(models_dir, ARTIFACT_NAMES[kind])
    expected = MODEL_CLASSES[kind]
    if not isinstance(model, expected) or not isinstance(model, StackedTextModel):
        raise ArtifactError(f"{ARTIFACT_NAMES[kind]}: artifact holds {type(model).__name__}, "
                            f"expected {expected.__name__}")
    return model, card
