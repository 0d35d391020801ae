"""The fused categorizer (ml/fusion/): colour statistics, the evidence cache, fitting,
answering listings, loading, and the mislabel finder. Tiny models on real rows and
their shipped 60x80 photos (tests/fusion_world.py); nothing from models/."""
import copy
import io
from pathlib import Path

import joblib
import numpy as np
import pytest
from PIL import Image

from ml.artifacts import ArtifactError, current_folder
from ml.fusion import colour, evidence, mislabels
from ml.fusion import training as fusion_training
from ml.fusion.listing import ListingCategorizer
from ml.fusion.model import FIELDS, NAME_ONLY, disagreements, pool
from ml.vision import search as image_search
from ml.vision.colour import DIM as HISTOGRAM_DIM
from ml.vision.extract import read_batch
from ml.vision.runtime import OnnxEncoder
from tests.fusion_world import fit_fused, tiny_encoder_file, world_rows


def block(colour_rgb, size=(30, 40)):
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour_rgb), (size[0] // 4, size[1] // 4))
    return np.asarray(image).transpose(2, 0, 1)[None]


def jpeg(image):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion")
    rows = world_rows()
    encoder_path = tiny_encoder_file(folder / "tiny.onnx")
    name_model, fused, saved, comparison = fit_fused(folder / "models", rows, encoder_path)
    listing = ListingCategorizer(fused, OnnxEncoder(encoder_path))
    return {"rows": rows, "name_model": name_model, "fused": fused, "folder": saved,
            "comparison": comparison, "listing": listing, "models": folder / "models",
            "encoder": encoder_path}


# -- colour statistics ----------------------------------------------------------------------
def test_colour_statistics_tell_red_from_blue_and_ignore_the_white_background():
    red, blue = colour.colour_statistics(block((200, 20, 20))), colour.colour_statistics(block((20, 20, 200)))
    assert red.shape == (1, colour.DIM) and red.dtype == np.float32
    a_mean, b_mean = colour.DIM - 8 + 1, colour.DIM - 8 + 2   # summary: mean L, a, b first
    assert red[0, a_mean] > 0.5 and blue[0, b_mean] < -0.5
    # the white around the block is background: the same block on a bigger canvas reads the same
    wide = colour.colour_statistics(block((200, 20, 20), size=(60, 40)))
    assert abs(wide[0, a_mean] - red[0, a_mean]) < 0.1


@pytest.mark.parametrize("pixels", [np.full((2, 3, 8, 6), 255, np.uint8), np.zeros((1, 3, 1, 1), np.uint8)])
def test_colour_statistics_of_an_all_white_or_one_pixel_photo_are_finite(pixels):
    stats = colour.colour_statistics(pixels)
    assert stats.shape == (len(pixels), colour.DIM) and np.isfinite(stats).all()


# -- fitting ---------------------------------------------------------------------------------
def test_fitting_reports_name_photo_and_fused_on_the_fusion_split_only(world):
    comparison, rows = world["comparison"], world["rows"]
    assert comparison["n"] == sum(fusion_training.is_fusion_validation(r) for r in rows) == 30
    assert set(comparison["accuracy"]) == {"name", "photo", "fused"}
    for field, share in comparison["name_or_photo_right"].items():
        assert share >= max(comparison["accuracy"]["name"][field], comparison["accuracy"]["photo"][field])
    for values in comparison["accuracy"].values():
        assert set(values) <= set(FIELDS) and all(0 <= v <= 1 for v in values.values())
    assert set(world["fused"].weights) == set(FIELDS)
    for weights in world["fused"].weights.values():
        assert len(weights) == 4
        for value, (low, high) in zip(weights, fusion_training.WEIGHT_BOUNDS):
            assert low <= value <= high


def test_the_fusion_split_is_held_out_of_both_base_models():
    from ml.categorization.training import is_validation
    from ml.vision.data import split_of

    for row in world_rows(fusion=10, other=10):
        inside = fusion_training.is_fusion_validation(row)
        assert inside == (is_validation(row) and split_of(row["id"]) == "val")


def test_too_few_fusion_rows_is_a_clear_error(world):
    rows = [r for r in world["rows"] if not fusion_training.is_fusion_validation(r)]
    with pytest.raises(ValueError, match="too few rows"):
        fusion_training.train_and_evaluate(rows, [r["id"] for r in rows], {}, world["name_model"])


def test_name_or_photo_right_counts_rows_either_opinion_gets_right():
    rows = [{"articleType": t} for t in ("Flats", "Heels", "Tops", "Tshirts")]
    decided = {
        "name": {"articleType": np.asarray(["Flats", "Flats", "Tshirts", "Tops"], dtype=object)},
        "photo": {"articleType": np.asarray(["Heels", "Heels", "Tops", "Shirts"], dtype=object)},
        "fused": {"articleType": np.asarray(["Flats", "Heels", "Tshirts", "Tops"], dtype=object)},
    }
    comparison = fusion_training.compare(rows, decided)
    # right: row 0 by the name, rows 1 and 2 by the photo, row 3 by neither
    assert comparison["name_or_photo_right"] == {"articleType": 0.75}
    assert comparison["accuracy"]["name"]["articleType"] == 0.25
    assert comparison["accuracy"]["fused"]["articleType"] == 0.5
    # a row without the label is left out, not counted wrong
    rows.append({"articleType": ""})
    for labels in decided.values():
        labels["articleType"] = np.append(labels["articleType"], "Flats")
    assert fusion_training.compare(rows, decided)["name_or_photo_right"] == {"articleType": 0.75}


def test_pooling_with_no_photo_weight_is_the_name_model():
    p_name = np.asarray([[0.7, 0.2, 0.1]])
    p_photo = np.asarray([[0.1, 0.1, 0.8]])
    assert np.allclose(pool(p_name, p_photo, NAME_ONLY), p_name, atol=1e-6)
    assert pool(p_name, p_photo, (1.0, 0.0, 1.0, 0.0)).argmax() == 2
    # a photo weight that grows with the photo's certainty: a sure photo outvotes the name
    assert pool(p_name, p_photo, (1.0, 0.0, 0.0, 2.0)).argmax() == 2
    assert pool(p_name, np.asarray([[0.3, 0.3, 0.4]]), (1.0, 0.0, 0.0, 2.0)).argmax() == 0


def test_fitted_weights_lean_on_the_expert_that_is_right():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    right = np.full((200, 3), 0.1)
    right[np.arange(200), y] = 0.8
    noise = rng.dirichlet(np.ones(3), 200)
    weights = fusion_training.fit_weights({"usage": noise}, {"usage": right}, {"usage": y})["usage"]
    assert weights[2] + weights[3] * 0.8 > weights[0] + weights[1] * noise.max(axis=1).mean()


# -- answering listings -----------------------------------------------------------------------
def test_a_listing_is_answered_from_name_and_photo_photo_alone_or_name_alone(world):
    rows = world["rows"]
    answers = world["listing"].predict(world["name_model"], [
        (rows[0]["productDisplayName"], rows[0]["photo"]), ("", rows[1]["photo"]),
        (rows[2]["productDisplayName"], None), (None, Image.open(rows[3]["photo"]))])
    assert [a["source"] for a in answers] == ["fused", "photo", "name", "photo"]
    for answer in answers:
        assert all(isinstance(answer[f], str) for f in FIELDS)
        assert set(answer["confidence"]) >= set(FIELDS)
    assert answers[0]["name"] == rows[0]["productDisplayName"] and answers[1]["name"] == ""
    assert answers[0]["photo"]["articleType"]["label"] and len(answers[0]["photo"]["candidates"]) == 3
    assert answers[1]["name_only"] is None and answers[1]["disagreements"] == []


def test_fused_answers_keep_the_taxonomy_consistent(world):
    name_model, fused = world["name_model"], world["fused"]
    rows = world["rows"][:60]
    answers = world["listing"].predict(name_model, [(r["productDisplayName"], r["photo"]) for r in rows]
                                       + [("", r["photo"]) for r in rows])
    for answer in answers:
        assert name_model.taxonomy.sub(answer["articleType"]) == answer["subCategory"]
        allowed = fused.gender_articles.get(answer["articleType"])
        assert not allowed or answer["gender"] in allowed


def truncated_jpeg(rows):
    data = Path(rows[0]["photo"]).read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize("photo", [
    "/nonexistent/photo.jpg", b"not an image", b"", "/", lambda rows: truncated_jpeg(rows),
    lambda rows: jpeg(Image.new("RGB", (1, 1))) + b"trailing",
])
def test_an_unreadable_photo_is_answered_from_the_name_with_the_reason(world, photo):
    if callable(photo):
        photo = photo(world["rows"])
    answer = world["listing"].predict(world["name_model"], [("Men Blue Jeans", photo)])[0]
    if answer["source"] == "name":
        assert answer["photo_error"] and answer["articleType"]
    else:  # a 1x1 JPEG with trailing bytes is still a readable photo
        assert answer["source"] == "fused"


def test_hostile_names_are_answered(world):
    photo = world["rows"][0]["photo"]
    names = ["x" * 10_000, "Männer Blaue Jeans 男士 🙂", "\x00\x01", "   ", "<script>alert(1)</script>"]
    answers = world["listing"].predict(world["name_model"], [(n, photo) for n in names])
    assert [a["name"] for a in answers] == names
    assert [a["source"] for a in answers] == ["fused", "fused", "fused", "photo", "fused"]


def test_disagreements_are_said_in_plain_words_only_when_both_are_sure():
    name = {"articleType": {"label": "Flats", "probability": 0.9},
            "baseColour": {"label": "Black", "probability": 0.95}}
    photo = {"articleType": {"label": "Heels", "probability": 0.8},
             "baseColour": {"label": "Brown", "probability": 0.3}}
    found = disagreements(name, photo)
    assert [d["message"] for d in found] == ["The photo looks like Heels; the name suggests Flats."]
    assert disagreements(name, {"articleType": {"label": "Flats", "probability": 0.99}}) == []
    assert disagreements({}, photo) == []


# -- the saved artifact -------------------------------------------------------------------------
def test_the_saved_artifact_loads_with_its_own_copy_of_the_encoder(world):
    fused, encoder_path, card = fusion_training.load(world["models"])
    assert encoder_path.read_bytes() == world["encoder"].read_bytes()
    assert card["encoder"]["hash"] == evidence.encoder_hash(world["encoder"])
    assert set(card["metrics"]["fusion_split"]) == {"name", "photo", "fused"}
    assert fused.weights == world["fused"].weights


@pytest.mark.parametrize("damage", ["garbage", "other object", "no encoder"])
def test_a_damaged_artifact_is_an_artifact_error(world, tmp_path, damage):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(world["models"], models)
    folder = current_folder(models, fusion_training.ARTIFACT)
    if damage == "garbage":
        (folder / fusion_training.MODEL_FILE).write_bytes(b"\x00garbage")
    elif damage == "other object":
        joblib.dump({"not": "a model"}, folder / fusion_training.MODEL_FILE)
    else:
        (folder / fusion_training.ENCODER_FILE).unlink()
    with pytest.raises(ArtifactError):
        fusion_training.load(models)


# -- the evidence cache -------------------------------------------------------------------------
def counting(monkeypatch):
    """The photos each evidence_of_batch call reads (the one forward pass), as a list."""
    calls, original = [], evidence.evidence_of_batch
    monkeypatch.setattr(evidence, "evidence_of_batch",
                        lambda enc, batch: calls.append(len(batch)) or original(enc, batch))
    return calls


def direct(encoder, items):
    """Evidence computed without the cache, rounded as the cache stores it."""
    batch, ok, _ = read_batch(encoder, items)
    parts = evidence.evidence_of_batch(encoder, batch)
    return ok, {p: v if p in evidence.FLOAT32_PARTS else v.astype(np.float16).astype(np.float32)
                for p, v in parts.items()}


def test_the_evidence_cache_resumes_and_a_new_encoder_starts_over(world, tmp_path, monkeypatch):
    rows = world["rows"][:20]
    items = [(r["id"], r["photo"]) for r in rows] + [("broken", b"nope")]
    encoder = OnnxEncoder(world["encoder"])
    skus, first, failed = evidence.cached_evidence(items, encoder, world["encoder"], tmp_path, progress=False)
    assert skus == [r["id"] for r in rows] and failed == ["broken"]
    assert first["colour"].shape == (20, colour.DIM) and first["logits"].shape == (20, 3)
    assert first["histogram"].shape == (20, HISTOGRAM_DIM) and first["features"].dtype == np.float32
    assert np.allclose(np.linalg.norm(first["features"], axis=1), 1, atol=1e-6)
    ok, expected = direct(encoder, items)
    assert ok == skus and all(np.array_equal(first[p], expected[p]) for p in evidence.PARTS)
    calls = counting(monkeypatch)
    again, second, _ = evidence.cached_evidence(items, encoder, world["encoder"], tmp_path, progress=False)
    assert calls == [] and again == skus and np.array_equal(first["features"], second["features"])
    monkeypatch.undo()
    other = tiny_encoder_file(tmp_path / "other.onnx", classes=("a", "b"))
    folder = evidence.cache_folder(tmp_path, world["encoder"])
    next(folder.glob("part-*.npz")).write_bytes(b"damaged")
    skus, third, _ = evidence.cached_evidence(items[:3], OnnxEncoder(other), other, tmp_path, progress=False)
    assert len(skus) == 3 and third["logits"].shape == (3, 2)
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == [evidence.cache_folder(tmp_path, other)]


def test_a_damaged_chunk_or_a_changed_photo_is_read_again_and_nothing_else(world, tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(evidence, "CHUNK", 4)
    photos = tmp_path / "photos"
    photos.mkdir()
    items = []
    for r in world["rows"][:10]:
        path = photos / f"{r['id']}.jpg"
        path.write_bytes(Path(r["photo"]).read_bytes())
        items.append((r["id"], str(path)))
    encoder = OnnxEncoder(world["encoder"])
    cache = tmp_path / "cache"
    skus, first, _ = evidence.cached_evidence(items, encoder, world["encoder"], cache, progress=False)
    parts = sorted(evidence.cache_folder(cache, world["encoder"]).glob("part-*.npz"))
    assert len(parts) == 3
    parts[1].write_bytes(parts[1].read_bytes()[:100])        # a chunk cut short
    calls = counting(monkeypatch)
    again, second, _ = evidence.cached_evidence(items, encoder, world["encoder"], cache, progress=False)
    assert calls == [4] and again == skus
    assert all(np.array_equal(first[p], second[p]) for p in evidence.PARTS)

    calls.clear()
    changed = Path(items[0][1])
    changed.write_bytes(Path(world["rows"][15]["photo"]).read_bytes())   # a seller's new photo
    _, third, _ = evidence.cached_evidence(items, encoder, world["encoder"], cache, progress=False)
    assert calls == [1]
    assert not np.array_equal(third["features"][0], first["features"][0])
    assert np.array_equal(third["features"][1:], first["features"][1:])


def test_reading_on_several_threads_gives_what_one_thread_gives(world, tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "CHUNK", 3)
    items = [(r["id"], r["photo"]) for r in world["rows"][:20]] + [("broken", b"nope")]
    encoder = OnnxEncoder(world["encoder"])
    one = evidence.cached_evidence(items, encoder, world["encoder"], tmp_path / "one", progress=False)
    two = evidence.cached_evidence(items, encoder, world["encoder"], tmp_path / "two",
                                   progress=False, workers=2)
    assert one[0] == two[0] and one[2] == two[2] == ["broken"]
    assert all(np.array_equal(one[1][p], two[1][p]) for p in evidence.PARTS)


def test_the_photo_index_build_fills_the_cache_the_fused_step_reads(world, tmp_path, monkeypatch):
    """One pass per photo: after the index build, the fused step's evidence needs no
    forward pass, equals evidence computed directly, and the index vectors are
    [f, w·h] / sqrt(1 + w²) of that same evidence."""
    items = [(r["id"], r["photo"]) for r in world["rows"][:12]]
    encoder = OnnxEncoder(world["encoder"], colour_weight=0.4)
    models = tmp_path / "models"
    folder = image_search.build(models, items, encoder, progress=False, workers=2)
    calls = counting(monkeypatch)
    skus, found, _ = evidence.cached_evidence(items, OnnxEncoder(world["encoder"]), world["encoder"],
                                              models / evidence.CACHE_DIR, progress=False)
    assert calls == [] and skus == [sku for sku, _ in items]
    ok, expected = direct(encoder, items)
    assert all(np.array_equal(found[p], expected[p]) for p in evidence.PARTS)
    vectors = np.load(folder / image_search.EMBEDDINGS_FILE)
    w = 0.4
    formula = np.concatenate([expected["features"], w * expected["histogram"]], axis=1) / np.sqrt(1 + w * w)
    np.testing.assert_allclose(vectors, formula, atol=1e-6)


# -- likely mislabels ---------------------------------------------------------------------------
class StubFused:
    """Name and photo probabilities chosen by the test, over the name model's classes."""

    def __init__(self, name_model, name_says, photo_says, sure):
        self.name_model, self.name_says, self.photo_says, self.sure = name_model, name_says, photo_says, sure

    def _probs(self, labels):
        out = {}
        for field in FIELDS:
            classes = list(self.name_model.heads[field].classes)
            p = np.full((len(labels), len(classes)), (1 - self.sure) / max(len(classes) - 1, 1))
            for i, label in enumerate(labels):
                wanted = label.get(field)
                if wanted in classes:
                    p[i] = (1 - self.sure) / max(len(classes) - 1, 1)
                    p[i, classes.index(wanted)] = self.sure
            out[field] = p
        return out

    def name_probabilities(self, name_model, names):
        return self._probs(self.name_says)

    def photo_probabilities(self, name_model, part):
        return self._probs(self.photo_says)


def test_mislabels_are_where_name_and_photo_agree_against_the_stored_label(world):
    name_model = world["name_model"]
    rows = [dict(r) for r in world["rows"][:3]]
    sub = name_model.taxonomy.sub
    shirts = next(a for a in name_model.heads["articleType"].classes if sub(a) == "Topwear")
    jeans = next(a for a in name_model.heads["articleType"].classes if sub(a) == "Bottomwear")
    rows[0].update(articleType=jeans, subCategory="Bottomwear")   # stored Jeans, really a shirt
    rows[1].update(articleType=jeans, subCategory="Bottomwear")
    rows[2].update(articleType=shirts, subCategory="Topwear")
    says = [{"articleType": shirts}, {"articleType": shirts}, {"articleType": shirts}]
    photo = [{"articleType": shirts}, {"articleType": jeans}, {"articleType": shirts}]
    evidence_rows = {"features": np.zeros((3, 4))}
    found = mislabels.find(rows, evidence_rows, StubFused(name_model, says, photo, 0.97), name_model)
    assert [(f["sku"], f["field"], f["stored"], f["suggested"]) for f in found] == [
        (rows[0]["id"], "articleType", jeans, shirts)]
    changes = found[0]["changes"]
    assert (changes["articleType"], changes["subCategory"]) == (shirts, "Topwear")
    assert found[0]["confidence"] == 0.97
    unsure = mislabels.find(rows, evidence_rows, StubFused(name_model, says, photo, 0.6), name_model)
    assert unsure == []


def test_a_name_without_a_colour_word_takes_the_photo_colour_into_account(world):
    name_model, fused = world["name_model"], copy.copy(world["fused"])
    assert fused.colourless(name_model, ["men navy blue shirt", "men shirt", "", "black"]).tolist() == [
        False, True, True, False]
    colours = list(name_model.heads["baseColour"].classes)
    n = len(colours)
    p_name = {"baseColour": np.full((2, n), 1.0 / n)}
    p_name["baseColour"][:, 0] += 0.05
    p_name["baseColour"] /= p_name["baseColour"].sum(axis=1, keepdims=True)
    p_photo = {"baseColour": np.full((2, n), 0.1 / (n - 1))}
    p_photo["baseColour"][:, 1] = 0.9
    fused.weights = {**fused.weights, "baseColour": NAME_ONLY}
    out = fused.fused_probabilities(p_name, p_photo, [True, True], colourless=[True, False])
    assert out["baseColour"][0].argmax() == 1 and out["baseColour"][1].argmax() == 0
