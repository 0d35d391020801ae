"""Offline evaluation of recommenders with a time-ordered split per shopper.

For every shopper with enough history, the earlier interactions are the
training data and the later ones the test: a recommender sees only the past
and is asked for the future. The relevant items of a shopper are the distinct
products of their test interactions that they had not touched before (a
recommender never shows what is already in the history). Metrics at k:

* precision@k  hits in the top k / k
* recall@k     hits in the top k / relevant items
* NDCG@k       DCG of the top k (binary gain, 1/log2(rank + 1)) / the best possible DCG
* coverage     distinct products recommended to anyone / catalog size
* novelty      mean self-information -log2(p) of what is recommended, p = share of
               training shoppers who touched the product ((count + 1) / (shoppers + 1))

Figures computed on simulated shoppers must carry `simulation.SIMULATED_LABEL`.
"""
import math
import time
from collections import defaultdict

import numpy as np

from .catalog import normalise_product
from .collaborative import CollaborativeModel, shopper_of
from .content import ContentModel
from .hybrid import HybridRecommender

K = 10
METHODS = ("popularity", "content", "collaborative", "hybrid")
SINGLE_SOURCE = {
    "popularity": {"popularity": 1.0},
    "content": {"content": 1.0},
    "collaborative": {"collaborative": 1.0},
}


def precision_at_k(recommended, relevant, k=K):
    if k <= 0:
        raise ValueError("k must be positive")
    relevant = set(relevant)
    return sum(1 for sku in recommended[:k] if sku in relevant) / k


def recall_at_k(recommended, relevant, k=K):
    relevant = set(relevant)
    if not relevant:
        return 0.0
    return sum(1 for sku in recommended[:k] if sku in relevant) / len(relevant)


def ndcg_at_k(recommended, relevant, k=K):
    relevant = set(relevant)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 2)
              for rank, sku in enumerate(recommended[:k]) if sku in relevant)
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    return dcg / ideal


def coverage(recommendation_lists, catalog_size):
    if catalog_size <= 0:
        return 0.0
    return len({sku for skus in recommendation_lists for sku in skus}) / catalog_size


def novelty(recommendation_lists, shoppers_per_item, n_shoppers):
    values = [-math.log2((shoppers_per_item.get(sku, 0) + 1) / (n_shoppers + 1))
              for skus in recommendation_lists for sku in skus]
    return sum(values) / len(values) if values else 0.0


def time_split(rows, test_fraction=0.2, min_interactions=5):
    """(train rows, {shopper: test rows}), cut per shopper by time.

    Shoppers with fewer than `min_interactions` interactions go wholly to training.
    """
    by_shopper = defaultdict(list)
    for row in rows:
        shopper = shopper_of(row)
        if shopper is not None:
            by_shopper[shopper].append(row)
    train, test = [], {}
    for shopper, items in by_shopper.items():
        items.sort(key=lambda r: r["ts"])
        if len(items) < min_interactions:
            train.extend(items)
            continue
        cut = max(1, int(round(len(items) * (1 - test_fraction))))
        train.extend(items[:cut])
        if items[cut:]:
            test[shopper] = items[cut:]
    train.sort(key=lambda r: r["ts"])
    return train, test


def evaluate(recommenders, train, test, catalog_size, k=K, max_shoppers=None, seed=0):
    """{method: metrics} for `recommenders` {name: fn(history rows, k) -> [sku]}."""
    history = defaultdict(list)
    shoppers_per_item = defaultdict(set)
    for row in train:
        shopper = shopper_of(row)
        history[shopper].append(row)
        shoppers_per_item[row["sku"]].add(shopper)
    counts = {sku: len(s) for sku, s in shoppers_per_item.items()}
    cases = []
    for shopper in sorted(test):
        seen = {row["sku"] for row in history[shopper]}
        relevant = {row["sku"] for row in test[shopper]} - seen
        if relevant:
            cases.append((shopper, relevant))
    if max_shoppers and len(cases) > max_shoppers:
        rng = np.random.default_rng(seed)
        picked = sorted(rng.choice(len(cases), max_shoppers, replace=False).tolist())
        cases = [cases[i] for i in picked]
    report = {}
    for name, recommend in recommenders.items():
        started = time.perf_counter()
        totals = defaultdict(float)
        lists = []
        for shopper, relevant in cases:
            skus = [str(s) for s in recommend(history[shopper], k)][:k]
            lists.append(skus)
            totals["precision"] += precision_at_k(skus, relevant, k)
            totals["recall"] += recall_at_k(skus, relevant, k)
            totals["ndcg"] += ndcg_at_k(skus, relevant, k)
        n = len(cases) or 1
        report[name] = {
            f"precision@{k}": round(totals["precision"] / n, 4),
            f"recall@{k}": round(totals["recall"] / n, 4),
            f"ndcg@{k}": round(totals["ndcg"] / n, 4),
            "coverage": round(coverage(lists, catalog_size), 4),
            "novelty": round(novelty(lists, counts, len(history)), 3),
            "ms_per_shopper": round(1000 * (time.perf_counter() - started) / n, 2),
        }
    return {"shoppers_evaluated": len(cases), "k": k, "methods": report}


def recommenders_for(hybrid):
    """{method: fn(history, k) -> [sku]}: each single source, then the blend, same machinery."""
    def method(weights):
        return lambda history, k: [s for s, _, _ in hybrid.recommend(history, k, weights=weights)]
    methods = {name: method(weights) for name, weights in SINGLE_SOURCE.items()}
    methods["hybrid"] = method(None)
    return methods


def tune_hybrid(content, train, attributes, grid=None, max_shoppers=200, seed=0, **cf_options):
    """Choose the blend on a validation split carved out of `train` only.

    Returns ({"history_half", "content_weight", "popularity_weight"}, {setting: ndcg}).
    """
    inner_train, validation = time_split(train)
    collaborative = CollaborativeModel(**cf_options).fit(inner_train, attributes)
    grid = grid or [{"history_half": h, "content_weight": c, "popularity_weight": p}
                    for h in (5, 10) for c in (0.2, 0.4) for p in (0.15, 0.3)]
    scores = {}
    for setting in grid:
        hybrid = HybridRecommender(content, collaborative, **setting)
        result = evaluate({"hybrid": recommenders_for(hybrid)["hybrid"]}, inner_train,
                          validation, len(content), max_shoppers=max_shoppers, seed=seed)
        scores[tuple(sorted(setting.items()))] = result["methods"]["hybrid"][f"ndcg@{K}"]
    best = max(scores, key=scores.get)
    return dict(best), {str(dict(key)): value for key, value in scores.items()}


def compare(products, rows, content=None, k=K, max_shoppers=1000, tune=True, seed=0,
            visual=None, **cf_options):
    """Train on the earlier part of every history, evaluate all methods on the later part."""
    products = [normalise_product(p) for p in products]
    attributes = {p["sku"]: p for p in products}
    content = content or ContentModel().fit(products)
    train, test = time_split(rows)
    blend, sweep = ({}, {})
    if tune:
        blend, sweep = tune_hybrid(content, train, attributes, seed=seed, **cf_options)
    collaborative = CollaborativeModel(**cf_options).fit(train, attributes)
    hybrid = HybridRecommender(content, collaborative, visual=visual, **blend)
    result = evaluate(recommenders_for(hybrid), train, test, len(products), k=k,
                      max_shoppers=max_shoppers, seed=seed)
    result.update({"train_interactions": len(train),
                   "test_interactions": sum(len(v) for v in test.values()),
                   "blend": blend or "defaults", "validation_sweep": sweep})
    return result
