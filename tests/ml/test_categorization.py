"""The product-name categorizers (ml/categorization), without Django.

Models are trained on a small slice of the catalog (module fixtures), so the
whole file runs in seconds; the full-catalog figures come from
`manage.py evaluate_models` and bench/categorize.py.
"""
from pathlib import Path

import numpy as np
import pytest

from ml.artifacts import ArtifactError, current_folder
from ml.categorization import FIELDS, Taxonomy, evaluate, load_model, save_model, split_rows, train
from ml.categorization.features import MAX_NAME_CHARS, TextFeaturizer
from ml.categorization.taxonomy import branch_of
from ml.styles_csv import load_rows

CSV = Path(__file__).resolve().parents[2] / "data" / "styles.csv"
SUBSET = 3500
EXPECTED_BRANCHES = {"extra", "footwear", "men-topwear", "men-bottomwear",
                     "women-topwear", "women-bottomwear"}
BAD_NAMES = ["", "   ", "x" * 10_000, "Männer Blaue Jeans für Herren 男士牛仔裤 🙂",
             "!!! ??? ...", "\n\t", "12345"]
OUTPUT_KEYS = {"name", *FIELDS, "confidence", "candidates"}


@pytest.fixture(scope="module")
def rows():
    all_rows, _ = load_rows(CSV)
    return all_rows[:SUBSET]


@pytest.fixture(scope="module")
def split(rows):
    return split_rows(rows)


@pytest.fixture(scope="module")
def cascade(split):
    train_rows, val_rows = split
    return train(train_rows, "cascade", val_rows=val_rows)


@pytest.fixture(scope="module")
def default(split):
    train_rows, val_rows = split
    return train(train_rows, "default", val_rows=val_rows)


@pytest.fixture(params=["cascade", "default"])
def model(request, cascade, default):
    return {"cascade": cascade, "default": default}[request.param]


def synthetic_row(i, name, gender, master, sub, article):
    return {"id": str(i), "productDisplayName": name, "gender": gender,
            "masterCategory": master, "subCategory": sub, "articleType": article,
            "baseColour": "Blue", "season": "Summer", "usage": "Casual"}


# -- cascade structure ------------------------------------------------------------------
def test_cascade_has_eight_models_with_branches_from_the_data(cascade, split):
    assert len(cascade.model_names) == 8
    assert {n.split(":", 1)[1] for n in cascade.model_names[2:]} == EXPECTED_BRANCHES
    train_rows, _ = split
    for row in train_rows:
        branch = Taxonomy.branch_of_row(row)
        assert row["articleType"] in cascade.heads["branch:" + branch].classes


def test_branches_follow_the_training_taxonomy_not_a_fixed_list():
    rows = [synthetic_row(i, f"Brand{i} Men Silk Sherwani {i}", "Men", "Apparel", "Topwear",
                          "Sherwanis") for i in range(20)]
    rows += [synthetic_row(100 + i, f"Brand{i} Women Cotton Kaftan {i}", "Women", "Apparel",
                           "Topwear", "Kaftans") for i in range(20)]
    rows += [synthetic_row(200 + i, f"Brand{i} Unisex Leather Wallet {i}", "Unisex", "Accessories",
                           "Wallets", "Wallets") for i in range(20)]
    model = train(rows, "cascade")
    branches = model.taxonomy.branch_articles
    assert branches == {"men-topwear": ["Sherwanis"], "women-topwear": ["Kaftans"],
                        "extra": ["Wallets"]}
    assert len(model.model_names) == 2 + 3
    result = model.predict(["Brand3 Men Silk Sherwani"])[0]
    assert (result["gender"], result["subCategory"], result["articleType"]) == \
        ("Men", "Topwear", "Sherwanis")


def test_branch_rules():
    assert branch_of("Boys", "Apparel", "Topwear") == "men-topwear"
    assert branch_of("Girls", "Apparel", "Bottomwear") == "women-bottomwear"
    assert branch_of("Women", "Footwear", "Sandal") == "footwear"
    assert branch_of("Unisex", "Apparel", "Topwear") == "extra"
    assert branch_of("Men", "Accessories", "Watches") == "extra"


def test_unsure_levels_fall_back_to_the_joint_mixture(cascade, monkeypatch):
    """Level 1 torn between Men/Women and level 2 between Topwear/Bottomwear: four
    branches at 25% each, none sure, so the articleType is the joint mixture."""
    monkeypatch.setattr(cascade, "route_threshold", 0.5)
    scores = cascade.scores(["Blue Denim Jeans for Men"]).copy()
    for name, keep in (("gender", ("Men", "Women")), ("subCategory", ("Topwear", "Bottomwear"))):
        head = cascade.heads[name]
        scores[:, head.start:head.stop] = [0.0 if c in keep else -1e4 for c in head.classes]
    p_branch = cascade.branch_proba(cascade.heads["gender"].proba(scores),
                                    cascade.heads["subCategory"].proba(scores))
    assert p_branch.max() == pytest.approx(0.25, abs=1e-3)
    labels, probs, top = cascade._decide(scores)
    expected = {}
    for j, branch in enumerate(cascade.branch_names_):
        head = cascade.heads["branch:" + branch]
        for article, p in zip(head.classes, head.proba(scores)[0]):
            expected[article] = expected.get(article, 0.0) + p_branch[0, j] * p
    best = max(expected, key=expected.get)
    assert labels["articleType"][0] == best
    assert probs["articleType"][0] == pytest.approx(expected[best], rel=1e-4)
    assert len(top[0]) == 3


def test_always_unsure_routing_still_answers_clear_names(cascade):
    threshold = cascade.route_threshold
    try:
        cascade.route_threshold = 1.01  # every product takes the fallback
        result = cascade.predict(["Blue Denim Jeans for Men"])[0]
    finally:
        cascade.route_threshold = threshold
    assert result["articleType"] == "Jeans"


# -- the shared prediction API -------------------------------------------------------------
@pytest.mark.parametrize("name", ["Blue Denim Jeans for Men", "Levis Men Blue Slim Fit Jeans"])
def test_clear_examples_agree_with_the_labels(model, name):
    result = model.predict([name])[0]
    assert (result["gender"], result["masterCategory"], result["subCategory"],
            result["articleType"]) == ("Men", "Apparel", "Bottomwear", "Jeans")


def test_more_clear_examples(model):
    results = model.predict(["Nike Women Black Running Sports Shoes", "Titan Men Silver Dial Watch"])
    assert [(r["gender"], r["articleType"]) for r in results] == \
        [("Women", "Sports Shoes"), ("Men", "Watches")]
    assert results[1]["subCategory"] == "Watches"
    assert results[1]["masterCategory"] == "Accessories"


def test_output_keys_and_probabilities(model):
    results = model.predict(["Puma Men Grey T-shirt", "Catwalk Women Black Heels"])
    for result in results:
        assert set(result) == OUTPUT_KEYS
        assert set(result["confidence"]) == set(FIELDS)
        assert all(0.0 <= p <= 1.0 for p in result["confidence"].values())
        assert all(isinstance(result[f], str) and result[f] for f in FIELDS)
        probabilities = [c["probability"] for c in result["candidates"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert result["candidates"][0]["articleType"] == result["articleType"] or \
            model.kind == "default"  # the default model may pick the best article of its subCategory
        assert result["subCategory"] == model.taxonomy.sub(result["articleType"]) or \
            model.kind == "cascade" and not model.sub_from_article
        assert result["masterCategory"] == model.taxonomy.master(result["subCategory"])


def test_bad_input_is_answered_in_order(model):
    results = model.predict(BAD_NAMES)
    assert [r["name"] for r in results] == BAD_NAMES
    for result in results:
        assert set(result) == OUTPUT_KEYS
        assert all(isinstance(result[f], str) for f in FIELDS)


def test_one_name_and_batch_give_the_same_answer(model):
    names = ["Puma Men Grey T-shirt", "", "x" * 10_000, "Lakme Red Lipstick"]
    batch = model.predict(names)
    one_by_one = [model.predict([n])[0] for n in names]
    assert [r["articleType"] for r in batch] == [r["articleType"] for r in one_by_one]
    for a, b in zip(batch, one_by_one):
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-3)


def test_empty_list_and_non_string_items(model):
    assert model.predict([]) == []
    result = model.predict([None, 42])
    assert len(result) == 2 and result[1]["name"] == "42"


# -- features -----------------------------------------------------------------------------
def test_featurizer_single_path_matches_the_batch_path():
    names = ["Blue Denim Jeans for Men", "Men Blue Jeans", "Women Red Kurta", "T-shirt"]
    featurizer = TextFeaturizer().fit(names * 2)
    X = featurizer.transform(names + ["unseen words only", ""])
    for i, name in enumerate(names + ["unseen words only", ""]):
        idx, values = featurizer.transform_one(name)
        assert np.allclose(X[i].toarray()[0, idx], values)
        assert X[i].nnz == len(idx)
    assert featurizer.transform(["x" * 10_000]).nnz <= featurizer.transform(["x" * MAX_NAME_CHARS]).nnz


# -- compaction ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cascade", "default"])
def test_compacting_keeps_the_most_useful_features_as_int8(kind, split):
    train_rows, val_rows = split
    full = train(train_rows, kind, val_rows=val_rows, n_features=None)
    n_total = full.W.shape[0]
    compact = train(train_rows, kind, val_rows=val_rows, n_features=n_total // 3)
    assert full.W.dtype == np.float32 and full.scale is None
    assert compact.W.dtype == np.int8 and compact.W.shape == (n_total // 3, full.W.shape[1])
    featurizer = compact.featurizer
    assert featurizer.n_features_ == n_total // 3 == len(featurizer.idf_) == len(featurizer.group_of_)
    columns = [col for group in featurizer.vocab_.values() for col in group.values()]
    assert sorted(columns) == list(range(n_total // 3))
    for group, (start, stop) in featurizer.offsets_.items():
        assert all(start <= col < stop for col in featurizer.vocab_[group].values())
    # a third of the features still answers most names as the full model does
    names = [r["productDisplayName"] for r in val_rows]
    agree = np.mean([a["articleType"] == b["articleType"]
                     for a, b in zip(full.predict(names), compact.predict(names))])
    assert agree > 0.9
    assert compact.predict(BAD_NAMES)[0]["articleType"]


def test_int8_weights_alone_barely_move_the_scores(split):
    train_rows, val_rows = split
    full = train(train_rows, "default", n_features=None)
    names = [r["productDisplayName"] for r in val_rows[:200]]
    before = full.probabilities(full.scores(names))["articleType"]
    full.compact(names, full.W.shape[0])  # every feature kept: quantization only
    after = full.probabilities(full.scores(names))["articleType"]
    assert np.abs(after - before).max() < 0.05
    assert (after.argmax(axis=1) == before.argmax(axis=1)).mean() > 0.98


# -- split, evaluation, artifacts -------------------------------------------------------------
def test_split_is_deterministic_and_disjoint(rows):
    train_a, val_a = split_rows(rows)
    train_b, val_b = split_rows(list(reversed(rows)))
    assert {r["id"] for r in val_a} == {r["id"] for r in val_b}
    assert not {r["id"] for r in train_a} & {r["id"] for r in val_a}
    assert 0.10 < len(val_a) / len(rows) < 0.20


def test_evaluate_reports_every_level(default, split):
    _, val_rows = split
    metrics = evaluate(default, val_rows)
    for field in ("gender", "masterCategory", "subCategory", "articleType"):
        assert 0.0 <= metrics[field]["macro_f1"] <= metrics[field]["accuracy"] + 0.5
        assert metrics[field]["n"] == len(val_rows)
        per_class = metrics[field]["per_class"]
        assert {"precision", "recall", "f1", "support"} <= set(next(iter(per_class.values())))
    assert metrics["articleType"]["accuracy"] > 0.85


def test_save_and_load_round_trip(model, tmp_path):
    card = {"metrics": {"validation": {"articleType": {"accuracy": 0.9}}}}
    save_model(tmp_path, model, card)
    loaded, loaded_card = load_model(tmp_path, model.kind)
    assert isinstance(loaded, type(model))
    assert loaded_card["metrics"] == card["metrics"]
    names = ["Blue Denim Jeans for Men", "Lakme Red Lipstick", ""]
    assert loaded.predict(names) == model.predict(names)


def test_missing_artifact_raises_artifact_error(tmp_path):
    with pytest.raises(ArtifactError):
        load_model(tmp_path, "default")


def test_corrupt_artifact_raises_artifact_error(cascade, tmp_path):
    save_model(tmp_path, cascade, {})
    (current_folder(tmp_path, "categorizer-cascade") / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ArtifactError):
        load_model(tmp_path, "cascade")


def test_an_artifact_of_the_wrong_type_is_rejected(tmp_path):
    folder = tmp_path / "categorizer-default"
    from ml.artifacts import save_joblib

    save_joblib(tmp_path, "categorizer-default", {"not": "a model"}, {})
    assert folder.is_dir()
    with pytest.raises(ArtifactError):
        load_model(tmp_path, "default")
    with pytest.raises(ArtifactError):
        load_model(tmp_path, "no-such-kind")


def test_training_refuses_rows_without_labels():
    with pytest.raises(ValueError):
        train([{"id": "1", "productDisplayName": "", "gender": "Men",
                "subCategory": "Topwear", "articleType": "Tshirts"}], "cascade")
    with pytest.raises(ValueError):
        train([], "nonsense")
