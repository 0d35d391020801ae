"""Fit, evaluate, save and load the fused categorizer (`categorizer-fused`).

Which rows teach what (no model is fitted or tuned on rows it is judged on):

* the name model's probabilities come from a categorizer trained on the name
  model's own train split (`ml.categorization.training.split_rows`);
* the image encoder was fine-tuned on its own train split (`ml.vision.data`);
* the **fusion split** is the rows on the validation side of both: neither
  base model saw them. The photo heads are fitted on every other row; the
  pooling weights are fitted on the fusion split, and the figures reported
  for them are out-of-fold (each fold's weights fitted on the other folds).

The artifact carries a copy of the encoder it was fitted with, so the photo
heads always read the features they were fitted on; `train_models` refits it
whenever the encoder changes.
"""
import logging
import shutil
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from ml.artifacts import ArtifactError, current_folder, library_versions, load_card, save_version
from ml.categorization import training as name_training
from ml.categorization.features import clean_name
from ml.vision import data as photo_data

from .evidence import default_workers, encoder_hash
from .model import FIELDS, NAME_ONLY, FusedCategorizer, PhotoHeads, pool

log = logging.getLogger("ml")

ARTIFACT = "categorizer-fused"
MODEL_FILE = "fused.joblib"
ENCODER_FILE = "encoder.onnx"
PROJECTION = 128            # encoder features are projected to this many dimensions
# Inverse regularisation of the photo heads; colour (43 classes, many near neighbours)
# was 3 points better at 0.1 than at 0.5 on the fusion split.
HEAD_C = {"baseColour": 0.1}
DEFAULT_HEAD_C = 0.5
# Pooling weights (a, a', b, b') start from the name alone and stay within these bounds.
WEIGHT_BOUNDS = ((0.0, 4.0), (-4.0, 4.0), (0.0, 4.0), (-4.0, 4.0))
WEIGHT_PENALTY = 1e-3      # a little L2 pull towards the name alone
WEIGHT_START = (1.0, 0.0, 0.25, 0.0)
FOLDS = 5
MIN_GENDER_ROWS = 2         # a (gender, articleType) pair seen this often is allowed
CONFUSION_TOP = 15
# Decided on their own (not through the taxonomy), so pooling them can be judged per field.
INDEPENDENT_FIELDS = ("gender", "baseColour", "season", "usage")


def is_fusion_validation(row):
    return (name_training.is_validation(row)
            and photo_data.split_of(row["id"]) == "val")


def gender_articles(rows):
    counts = Counter((r["articleType"], r["gender"]) for r in rows
                     if r.get("articleType") and r.get("gender"))
    allowed = defaultdict(list)
    for (article, gender), n in counts.items():
        if n >= MIN_GENDER_ROWS:
            allowed[article].append(gender)
    return {a: sorted(g) for a, g in allowed.items()}


# -- photo heads -------------------------------------------------------------------------
def fit_photo_heads(evidence, rows, say=None, projection=PROJECTION, workers=None):
    """PhotoHeads fitted on `evidence` (aligned with `rows`), one head per field.

    The heads are independent: they are fitted on `workers` threads at once (default
    one per core), each with a one-thread BLAS, which on the 2-core machine beat one
    head at a time on a two-thread BLAS (most of L-BFGS's time is single-threaded numpy).
    """

    features = evidence["features"]
    mean = features.mean(axis=0)
    # The projection: the top principal directions of the encoder features, as the
    # eigenvectors of their scatter matrix (the SVD of the 20,000 x 1,280 sample gives
    # the same directions up to sign in 15 s; this takes under 1 s).
    sample = features[:: max(1, len(features) // 20000)] - mean
    _, vectors = np.linalg.eigh((sample.T @ sample).astype(np.float64))
    components = vectors[:, ::-1][:, :projection].astype(np.float32)
    X = PhotoHeads.raw_design(evidence, mean, components)
    centre, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    X = (X - centre) / scale

    def fit(field):
        keep = np.asarray([i for i, r in enumerate(rows) if r.get(field)], dtype=np.int64)
        y = np.asarray([rows[i][field] for i in keep])
        if len(set(y)) < 2:
            return None
        started = time.perf_counter()
        clf = LogisticRegression(C=HEAD_C.get(field, DEFAULT_HEAD_C), max_iter=300,
                                 tol=1e-3).fit(X[keep], y)
        return clf, time.perf_counter() - started

    heads = {}
    with threadpool_limits(1, user_api="blas"), \
            ThreadPoolExecutor(max(1, workers or default_workers())) as threads:
        for field, fitted in zip(FIELDS, threads.map(fit, FIELDS)):
            if fitted is None:
                continue
            clf, seconds = fitted
            heads[field] = (np.asarray(clf.classes_, dtype=object), clf.coef_.T.astype(np.float32),
                            clf.intercept_.astype(np.float32))
            if say:
                say(f"[fused] photo head {field}: {len(clf.classes_)} classes, {seconds:.0f}s")
    return PhotoHeads(mean.astype(np.float32), components, centre.astype(np.float32),
                      scale.astype(np.float32), heads)


# -- pooling weights ---------------------------------------------------------------------
def _truth_index(classes, labels):
    index = {c: i for i, c in enumerate(classes)}
    return np.asarray([index.get(label, -1) for label in labels])


def fit_weights(p_name, p_photo, truth):
    """Per field, the pooling weights (a, a', b, b') with the lowest log-loss on `truth`
    ({field: true class index per row, -1 = unknown}), by L-BFGS within WEIGHT_BOUNDS."""

    weights = {}
    for field, photo in p_photo.items():
        known = truth[field] >= 0
        if not known.any():
            weights[field] = NAME_ONLY
            continue
        rows, y = np.flatnonzero(known), truth[field][known]
        name_rows, photo_rows = p_name[field][rows], photo[rows]

        def loss(w, name_rows=name_rows, photo_rows=photo_rows, y=y):
            p = pool(name_rows, photo_rows, w)
            nll = -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean()
            return nll + WEIGHT_PENALTY * float(np.sum((np.asarray(w) - NAME_ONLY) ** 2))

        # Start with some photo weight: at none, the clipping at 0 leaves no gradient.
        found = minimize(loss, np.asarray(WEIGHT_START), method="L-BFGS-B", bounds=WEIGHT_BOUNDS)
        weights[field] = tuple(round(float(v), 4) for v in found.x)
    return weights


# -- training ----------------------------------------------------------------------------
def split_for_fusion(rows, skus):
    """(head rows, fusion rows) of the rows that have photo evidence (`skus`)."""
    have = set(skus)
    rows = [r for r in rows if str(r["id"]) in have]
    fusion = [r for r in rows if is_fusion_validation(r)]
    heads = [r for r in rows if not is_fusion_validation(r)]
    return heads, fusion


def _take(evidence, index):
    return {part: values[index] for part, values in evidence.items()}


def fit_pooling(model, fusion_rows, fusion_evidence, name_model_split, say):
    """Fit `model`'s pooling weights on the fusion split and return the comparison of
    name, photo and fused answers there (the fused ones out-of-fold).

    A field whose out-of-fold fused accuracy is below the name's alone keeps the name
    alone (gender, colour, season and usage each; articleType and subCategory together)."""
    names = [r["productDisplayName"] for r in fusion_rows]
    colourless = model.colourless(name_model_split, [clean_name(n) for n in names])
    every = np.ones(len(fusion_rows), bool)
    p_name = model.name_probabilities(name_model_split, names)
    p_photo = model.photo_probabilities(name_model_split, fusion_evidence)
    truth = {f: _truth_index(name_model_split.heads[f].classes, [r.get(f, "") for r in fusion_rows])
             for f in p_photo}

    # Out-of-fold: each fold is decided with weights fitted on the other folds.
    fold = np.asarray([i % FOLDS for i in range(len(fusion_rows))])
    fused = {f: np.zeros_like(p) for f, p in p_name.items()}
    for k in range(FOLDS):
        train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model.weights = fit_weights({f: p[train_idx] for f, p in p_name.items()},
                                    {f: p[train_idx] for f, p in p_photo.items()},
                                    {f: t[train_idx] for f, t in truth.items()})
        part = model.fused_probabilities({f: p[test_idx] for f, p in p_name.items()},
                                         {f: p[test_idx] for f, p in p_photo.items()},
                                         every[test_idx], colourless[test_idx])
        for f, values in fused.items():
            values[test_idx] = part[f]
    model.weights = fit_weights(p_name, p_photo, truth)
    for field in INDEPENDENT_FIELDS:
        known = truth[field] >= 0
        right = {source: (p[field].argmax(axis=1) == truth[field])[known].mean()
                 for source, p in (("name", p_name), ("fused", fused))}
        if right["fused"] < right["name"]:
            say(f"[fused] {field}: the name alone is better out-of-fold; the photo is not pooled")
            model.weights[field] = NAME_ONLY
            fused[field] = model.fused_probabilities(p_name, p_photo, every, colourless)[field]
    # The taxonomy fields are decided together: judged by the article type they decide.
    name_right = _accuracy(name_model_split.decide({f: p.copy() for f, p in p_name.items()})[0],
                           fusion_rows, "articleType")
    if _accuracy(model.decide(name_model_split, fused)[0], fusion_rows, "articleType") < name_right:
        say("[fused] articleType: the name alone is better out-of-fold; the photo is not pooled")
        for field in ("articleType", "subCategory"):
            model.weights[field] = NAME_ONLY
            fused[field] = p_name[field]
    say("[fused] weights (name, name by confidence, photo, photo by confidence): " + ", ".join(
        f"{f} {'/'.join(f'{v:g}' for v in w)}" for f, w in model.weights.items()))

    decided = {
        "name": name_model_split.decide({f: p.copy() for f, p in p_name.items()})[0],
        "photo": model.decide(name_model_split, {**p_name, **p_photo})[0],
        "fused": model.decide(name_model_split, fused)[0],
    }
    comparison = compare(fusion_rows, decided)
    for source, values in comparison["accuracy"].items():
        say(f"[fused] {source:5s} " + ", ".join(f"{f} {a:.4f}" for f, a in values.items()))
    say("[fused] name or photo right (what choosing between them can reach) " + ", ".join(
        f"{f} {a:.4f}" for f, a in comparison["name_or_photo_right"].items()))
    return comparison


def train_and_evaluate(rows, skus, evidence, name_model_split, encoder_classes=(), say=None):
    """(FusedCategorizer, card, comparison) from catalog `rows`, photo `evidence`
    (rows aligned with `skus`) and a name model trained on the name train split."""
    say = say or (lambda *_: None)
    started = time.perf_counter()
    position = {str(s): i for i, s in enumerate(skus)}
    head_rows, fusion_rows = split_for_fusion(rows, skus)
    if len(fusion_rows) < FOLDS * 2 or not head_rows:
        raise ValueError(f"too few rows to fit the fusion: {len(head_rows)} for the photo heads, "
                         f"{len(fusion_rows)} in the fusion split")
    say(f"[fused] photo heads on {len(head_rows)} photos; fusion split {len(fusion_rows)} rows")
    heads = fit_photo_heads(_take(evidence, [position[str(r["id"])] for r in head_rows]),
                            head_rows, say=say)
    model = FusedCategorizer(heads, {}, gender_articles(rows), encoder_classes)
    fusion_evidence = _take(evidence, [position[str(r["id"])] for r in fusion_rows])
    comparison = fit_pooling(model, fusion_rows, fusion_evidence, name_model_split, say)
    card = {
        "model": "fused",
        "task": "product name + photo -> " + ", ".join(FIELDS),
        "data": {"rows": len(rows), "photo_rows": len(skus), "head_rows": len(head_rows),
                 "fusion_rows": len(fusion_rows),
                 "split": "fusion split = validation side of both the name split "
                          f"(crc32(id) % 100 < {name_training.VAL_PERCENT}) and the photo split "
                          f"(sha1 bucket >= {100 - photo_data.VAL_PERCENT}); photo heads fitted "
                          "on every other row; figures out-of-fold over "
                          f"{FOLDS} folds of the fusion split"},
        "metrics": {"fusion_split": comparison["accuracy"],
                    "name_or_photo_right": comparison["name_or_photo_right"]},
        "fixed_by_fusion": comparison["fixed"],
        "model_info": model.card_info(),
        "training_seconds": round(time.perf_counter() - started, 1),
        "libraries": library_versions("numpy", "scikit-learn", "onnxruntime"),
    }
    return model, card, comparison


def _accuracy(labels, rows, field):
    return np.mean([str(labels[field][i]) == r[field] for i, r in enumerate(rows)])


def compare(rows, decided, top=CONFUSION_TOP):
    """Accuracy per source and field, the share of rows where the name or the photo is
    right, and the (true, name said) pairs fusion fixes most.

    "name or photo right" bounds what any choice between the two opinions can reach:
    a row both get wrong is fixed only by a third label, which pooling rarely finds.
    """
    accuracy, either = {}, {}
    for source, labels in decided.items():
        accuracy[source] = {}
        for field in FIELDS:
            pairs = [(str(labels[field][i]), r[field]) for i, r in enumerate(rows) if r.get(field)]
            if pairs:
                accuracy[source][field] = round(sum(p == t for p, t in pairs) / len(pairs), 4)
    for field in FIELDS:
        known = [i for i, r in enumerate(rows) if r.get(field)]
        if known:
            either[field] = round(sum(
                rows[i][field] in (str(decided["name"][field][i]), str(decided["photo"][field][i]))
                for i in known) / len(known), 4)
    fixed, broken = Counter(), Counter()
    for field in ("articleType", "baseColour", "subCategory", "gender"):
        for i, r in enumerate(rows):
            truth = r.get(field)
            if not truth:
                continue
            name, fused = str(decided["name"][field][i]), str(decided["fused"][field][i])
            if name != truth and fused == truth:
                fixed[(field, truth, name)] += 1
            elif name == truth and fused != truth:
                broken[(field, truth, fused)] += 1
    return {"accuracy": accuracy, "name_or_photo_right": either,
            "fixed": [{"field": f, "true": t, "name_said": n, "rows": c}
                      for (f, t, n), c in fixed.most_common(top)],
            "broken": [{"field": f, "true": t, "fused_said": n, "rows": c}
                       for (f, t, n), c in broken.most_common(top)],
            "n": len(rows)}


# -- persistence -------------------------------------------------------------------------
def save(models_dir, model, card, encoder_path):
    """A new `categorizer-fused` version with a copy of the encoder it was fitted on."""

    def write(folder):
        joblib.dump(model, folder / MODEL_FILE, compress=3)
        shutil.copyfile(encoder_path, folder / ENCODER_FILE)

    card = {**card, "encoder": {"file": ENCODER_FILE, "source": str(encoder_path),
                                "hash": encoder_hash(encoder_path)}}
    return save_version(models_dir, ARTIFACT, card, write)


def load(models_dir):
    """(FusedCategorizer, encoder path, card) of the served version; ArtifactError if unusable."""

    folder = current_folder(models_dir, ARTIFACT)
    card = load_card(folder)
    try:
        model = joblib.load(folder / MODEL_FILE)
    except Exception as exc:   # joblib/pickle raise many types for damaged files
        raise ArtifactError(f"{ARTIFACT}: cannot load {folder / MODEL_FILE}: {exc}") from exc
    if not isinstance(model, FusedCategorizer):
        raise ArtifactError(f"{ARTIFACT}: {folder / MODEL_FILE} is not a fused categorizer")
    encoder = folder / ENCODER_FILE
    if not encoder.is_file():
        raise ArtifactError(f"{ARTIFACT}: {encoder} is missing")
    return model, Path(encoder), card

