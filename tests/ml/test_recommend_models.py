"""Collaborative filtering, the hybrid, simulation, evaluation metrics, artifacts."""
import itertools
import math
from datetime import datetime, timedelta, timezone

import pytest

from ml.artifacts import ArtifactError, current_folder, save_joblib
from ml.recommend import store
from ml.recommend.collaborative import (EVENT_WEIGHTS, REASON_ALSO_BOUGHT, CollaborativeModel,
                                        Popularity, aggregate, interaction_matrix)
from ml.recommend.content import ContentModel
from ml.recommend.evaluation import (compare, coverage, ndcg_at_k, novelty, precision_at_k,
                                     recall_at_k, time_split)
from ml.recommend.hybrid import HybridRecommender
from ml.recommend.simulation import SIMULATED_LABEL, describe, simulate

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
TYPES = (("Tshirts", "Topwear", "Apparel"), ("Jeans", "Bottomwear", "Apparel"),
         ("Casual Shoes", "Shoes", "Footwear"), ("Watches", "Watches", "Accessories"))


def small_catalog():
    products = []
    for n, (gender, (kind, sub, master), colour, brand) in enumerate(itertools.product(
            ("Men", "Women", "Unisex"), TYPES, ("Blue", "Black", "Red"),
            ("Nike", "Puma", "Roadster"))):
        products.append({
            "sku": str(1000 + n), "name": f"{brand} {gender} {colour} {kind}", "gender": gender,
            "article_type": kind, "sub_category": sub, "master_category": master,
            "base_colour": colour, "usage": "Casual", "season": "Summer",
            "price": 500 + 37 * (n % 11), "stock": 5, "is_active": True})
    return products


def event(user, sku, kind="view", minutes=0):
    return {"user": user, "session": "", "sku": sku, "kind": kind,
            "ts": T0 + timedelta(minutes=minutes)}


@pytest.fixture(scope="module")
def catalog():
    return small_catalog()


@pytest.fixture(scope="module")
def history(catalog):
    return simulate(catalog, n_shoppers=40, days=20, seed=5)


@pytest.fixture(scope="module")
def models(catalog, history):
    attributes = {p["sku"]: p for p in catalog}
    content = ContentModel(k=20).fit(catalog)
    collaborative = CollaborativeModel(factors=8, iterations=5).fit(history, attributes)
    return content, collaborative


# ---- simulation ---------------------------------------------------------------
def test_simulation_is_reproducible_with_a_seed_and_differs_with_another(catalog, history):
    assert simulate(catalog, n_shoppers=40, days=20, seed=5) == history
    assert simulate(catalog, n_shoppers=40, days=20, seed=6) != history


def test_simulated_rows_are_labelled_ordered_and_plausible(catalog, history):
    assert history and all(r["simulated"] for r in history)
    assert all(r["user"].startswith("sim-shopper-") and r["session"].startswith("sim-")
               for r in history)
    assert [r["ts"] for r in history] == sorted(r["ts"] for r in history)
    assert describe(history)["data"] == SIMULATED_LABEL
    skus = {p["sku"] for p in catalog}
    by_session = {}
    for row in history:
        assert row["sku"] in skus
        by_session.setdefault((row["session"], row["sku"]), []).append(row["kind"])
    kinds = {kind for kinds in by_session.values() for kind in kinds}
    assert kinds == {"view", "add_to_cart", "purchase"}
    for kinds in by_session.values():  # a purchase follows a cart, which follows a view
        if "purchase" in kinds:
            assert kinds.index("view") < kinds.index("add_to_cart") < kinds.index("purchase")
    genders = {p["sku"]: p["gender"] for p in catalog}
    for user in {r["user"] for r in history}:  # persistent taste: one gender (+ unisex)
        seen = {genders[r["sku"]] for r in history if r["user"] == user} - {"Unisex"}
        assert len(seen) <= 1


def test_simulation_skips_inactive_products_and_refuses_bad_arguments(catalog):
    hidden = [dict(p, is_active=False) if p["gender"] == "Men" else p for p in catalog]
    men = {p["sku"] for p in catalog if p["gender"] == "Men"}
    assert not {r["sku"] for r in simulate(hidden, 10, 5, seed=1)} & men
    assert simulate(catalog, 0, 5, seed=1) == []
    with pytest.raises(ValueError):
        simulate(catalog, 5, 0, seed=1)


# ---- collaborative --------------------------------------------------------------
def test_interaction_weights_and_shopper_keys():
    rows = [event(1, "a"), event(1, "a", "purchase"), event("", "b"),
            {"user": None, "session": "abc", "sku": "b", "kind": "add_to_cart", "ts": T0}]
    shoppers, items, matrix = interaction_matrix(rows)
    assert shoppers == ["u:1", "s:abc"] and items == ["a", "b"]
    assert matrix[0, 0] == EVENT_WEIGHTS["view"] + EVENT_WEIGHTS["purchase"]
    assert matrix[1, 1] == EVENT_WEIGHTS["add_to_cart"]
    assert aggregate([("a", "view"), ("a", "add_to_cart")]) == {"a": 4.0}


def test_collaborative_recommends_unseen_items_and_also_bought(models, history):
    _, collaborative = models
    user = history[0]["user"]
    seen = aggregate(r for r in history if r["user"] == user)
    results = collaborative.recommend(seen, k=5)
    assert len(results) == 5 and not {s for s, _, _ in results} & set(seen)
    purchased = next(r["sku"] for r in history if r["kind"] == "purchase")
    also = collaborative.also_bought(purchased, k=5)
    assert purchased not in {s for s, _, _ in also}
    assert collaborative.recommend({"unknown": 3.0}) == []


def test_co_purchases_come_first_in_also_bought():
    rows = []
    for n in range(6):
        rows += [event(n, "shirt", "purchase", n), event(n, "tie", "purchase", n)]
        rows += [event(n, f"view{n}", "view", n)]
    model = CollaborativeModel(factors=4, iterations=3).fit(rows)
    first = model.also_bought("shirt", k=3)[0]
    assert first[0] == "tie" and first[2] == REASON_ALSO_BOUGHT


def test_popularity_by_segment_counts_unisex_for_every_gender():
    attributes = {"m": {"gender": "Men", "sub_category": "Topwear"},
                  "w": {"gender": "Women", "sub_category": "Topwear"},
                  "u": {"gender": "Unisex", "sub_category": "Topwear"}}
    rows = [event(1, "w", "purchase"), event(2, "u"), event(3, "m"), event(3, "m")]
    popularity = Popularity().fit(rows, attributes)
    assert [s for s, _ in popularity.top(3)] == ["w", "m", "u"]
    assert [s for s, _ in popularity.top(3, {"gender": "Men"})] == ["m", "u"]
    assert popularity.top(3, {"gender": "Men", "sub_category": "Shoes"}) == []


# ---- hybrid ---------------------------------------------------------------------
def test_hybrid_weights_shift_from_popularity_to_collaborative_with_history(models):
    hybrid = HybridRecommender(*models)
    new, some, lots = hybrid.weights_for(0), hybrid.weights_for(3), hybrid.weights_for(100)
    assert new == {"collaborative": 0.0, "content": 0.0, "visual": 0.0, "popularity": 1.0}
    for weights in (some, lots):
        assert math.isclose(sum(weights.values()), 1.0)
    assert some["collaborative"] < lots["collaborative"]
    assert some["popularity"] > lots["popularity"]
    assert some["visual"] == 0.0  # no visual scorer passed
    with_visual = HybridRecommender(*models, visual=lambda sku, k: [])
    assert with_visual.weights_for(3)["visual"] > 0


def test_new_shopper_gets_popular_items_in_the_segment_browsed(models, catalog):
    hybrid = HybridRecommender(*models)
    results = hybrid.recommend([], k=5, segment={"gender": "Women", "sub_category": "Shoes"})
    by_sku = {p["sku"]: p for p in catalog}
    assert results
    for sku, _, reason in results:
        assert by_sku[sku]["gender"] in ("Women", "Unisex")
        assert by_sku[sku]["sub_category"] == "Shoes"
        assert reason == "popular in Women Shoes"


def test_recommendations_follow_history_and_skip_seen(models, catalog):
    hybrid = HybridRecommender(*models)
    men_jeans = [p["sku"] for p in catalog if p["gender"] == "Men" and p["article_type"] == "Jeans"]
    history = [(sku, "view") for sku in men_jeans[:3]]
    results = hybrid.recommend(history, k=6, allowed=lambda sku: sku != men_jeans[3])
    skus = [s for s, _, _ in results]
    assert len(skus) == 6 and not set(skus) & set(men_jeans[:4])
    genders = {p["sku"]: p["gender"] for p in catalog}
    assert all(genders[s] in ("Men", "Unisex") for s in skus)
    assert all(reason for _, _, reason in results)


def test_new_product_gets_content_neighbours_for_similar_and_also_bought(models):
    content, collaborative = models
    hybrid = HybridRecommender(content, collaborative)
    new = {"sku": "new-1", "name": "Nike Men Blue Jeans", "gender": "Men",
           "article_type": "Jeans", "sub_category": "Bottomwear", "master_category": "Apparel",
           "base_colour": "Blue"}
    assert "new-1" not in collaborative
    similar = hybrid.similar("new-1", k=4, product=new)
    also = hybrid.also_bought("new-1", k=4, product=new)
    assert similar and also
    assert similar[0][2] == "same article type and colour"
    assert hybrid.also_bought("new-1", k=4, product=new, content_fill=False) == []


def test_popular_reason_names_the_most_specific_category():
    from ml.recommend.hybrid import popular_reason
    assert popular_reason({"gender": "Women", "master_category": "Footwear"}) == \
        "popular in Women Footwear"
    assert popular_reason({"gender": "Men", "sub_category": "Topwear",
                           "article_type": "Tshirts"}) == "popular in Men Tshirts"
    assert popular_reason(None) == "popular right now"


def test_visual_scores_blend_in_and_a_failing_scorer_is_ignored(models, catalog):
    content, collaborative = models
    target = catalog[0]["sku"]
    far = next(p["sku"] for p in catalog if p["gender"] == "Men" and p["article_type"] == "Watches")
    visual = HybridRecommender(content, collaborative, visual=lambda sku, k: [(far, 1.0)])
    assert far in {s for s, _, _ in visual.similar(target, k=20)}

    def broken(sku, k):
        raise RuntimeError("index gone")
    failing = HybridRecommender(content, collaborative, visual=broken)
    assert failing.similar(target, k=5) == HybridRecommender(content, collaborative).similar(
        target, k=5)
    assert failing.recommend([(target, "view")], k=3)


# ---- evaluation -----------------------------------------------------------------
def test_metrics_on_hand_made_cases():
    recommended = ["a", "b", "c", "d"]
    relevant = {"b", "d", "z"}
    assert precision_at_k(recommended, relevant, 4) == 0.5
    assert recall_at_k(recommended, relevant, 4) == pytest.approx(2 / 3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(recommended, relevant, 4) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["b", "d", "z"], relevant, 3) == pytest.approx(1.0)
    assert ndcg_at_k(recommended, set(), 4) == 0.0 and recall_at_k(recommended, set()) == 0.0
    assert precision_at_k([], relevant, 10) == 0.0
    with pytest.raises(ValueError):
        precision_at_k(recommended, relevant, 0)
    assert coverage([["a", "b"], ["b", "c"]], 6) == 0.5
    assert novelty([["a"]], {"a": 1}, 3) == pytest.approx(1.0)  # -log2(2/4)


def test_time_split_keeps_the_past_for_training():
    rows = [event("x", f"s{i}", minutes=i) for i in range(10)] + [event("y", "s0")]
    train, test = time_split(rows, test_fraction=0.2, min_interactions=5)
    assert [r["sku"] for r in test["u:x"]] == ["s8", "s9"]
    assert "u:y" not in test and sum(1 for r in train if r["user"] == "y") == 1
    assert max(r["ts"] for r in train if r["user"] == "x") < min(r["ts"] for r in test["u:x"])


def test_compare_reports_every_method(catalog, history, models):
    report = compare(catalog, history, content=models[0], tune=False, factors=8, iterations=5)
    assert set(report["methods"]) == {"popularity", "content", "collaborative", "hybrid"}
    for metrics in report["methods"].values():
        assert 0 <= metrics["ndcg@10"] <= 1 and 0 <= metrics["coverage"] <= 1


# ---- artifacts --------------------------------------------------------------------
def test_artifacts_round_trip_with_a_model_card(tmp_path, models):
    content, collaborative = models
    store.save_content(tmp_path, content, data={"products": len(content)})
    store.save_collaborative(tmp_path, collaborative, data={"source": SIMULATED_LABEL})
    loaded, card = store.load_content(tmp_path)
    assert loaded.similar(content.skus[0], 3) == content.similar(content.skus[0], 3)
    assert card["name"] == store.CONTENT and "scikit-learn" in card["versions"]
    assert card["metrics"]["products"] == len(content)
    _, card = store.load_collaborative(tmp_path)
    assert card["data"]["source"] == SIMULATED_LABEL and "implicit" in card["versions"]


def test_missing_corrupt_or_wrong_artifact_raises_artifact_error(tmp_path, models):
    with pytest.raises(ArtifactError):
        store.load_content(tmp_path)
    store.save_content(tmp_path, models[0], data={})
    (current_folder(tmp_path, store.CONTENT) / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ArtifactError):
        store.load_content(tmp_path)
    save_joblib(tmp_path, store.COLLABORATIVE, {"not": "a model"}, card={})
    with pytest.raises(ArtifactError):
        store.load_collaborative(tmp_path)
