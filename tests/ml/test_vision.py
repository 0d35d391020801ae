"""Image encoders, preprocessing, extraction and the photo-search artifact.

Only tiny random-weight networks (exported to ONNX in a temporary folder) and
synthetic images: no network, no shipped checkpoint, no trained artifacts.
"""
import io
import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

from ml.artifacts import ArtifactError
from ml.fusion import evidence
from ml.vision import search as image_search
from ml.vision.colour import DIM as COLOUR_DIM
from ml.vision.colour import colour_histograms
from ml.vision.encoders import (ARCHITECTURES, LoadedNetwork, WeightsUnavailable, export_onnx,
                                load_checkpoint, load_encoder, save_checkpoint)
from ml.vision.preprocess import LITE0, ImageError, Preprocess, open_image, to_uint8
from ml.vision.runtime import EncoderUnavailable, OnnxEncoder
from ml.vision.train import _torch_run
from tests.tiny_cnn import TinyCNN

SPEC = Preprocess(height=32, width=24, reduce_to=())


def photo(colour=(200, 30, 30), size=(24, 32), seed=None):
    """A product-like photo: a coloured block on white, optionally with noise."""
    image = Image.new("RGB", size, (255, 255, 255))
    w, h = size
    block = Image.new("RGB", (w // 2, h // 2), colour)
    image.paste(block, (w // 4, h // 4))
    if seed is not None:
        rng = np.random.default_rng(seed)
        arr = np.asarray(image).astype(np.int16) + rng.integers(-20, 20, (h, w, 3))
        image = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    return image


def jpeg_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def tiny_onnx(path, classes=(), dim=16, spec=SPEC, seed=0):
    """A random tiny CNN exported as the shop serves encoders: an .onnx file."""
    torch.manual_seed(seed)
    network = TinyCNN(dim=dim, num_classes=len(classes)).eval()
    return export_onnx(LoadedNetwork(network, spec, "tiny", list(classes), "random"), path)


@pytest.fixture
def tiny_encoder(tmp_path):
    def make(classes=(), colour_weight=0.0, dim=16):
        path = tiny_onnx(tmp_path / f"tiny-{len(classes)}-{dim}.onnx", classes, dim)
        return OnnxEncoder(path, colour_weight=colour_weight)
    return make


# ------------------------------------------------------------------ preprocessing

def test_preprocessing_is_deterministic_and_letterboxes_any_shape():
    a = to_uint8(photo(), SPEC)
    b = to_uint8(jpeg_bytes(photo()), SPEC)
    assert a.shape == (3, 32, 24) and a.dtype == np.uint8
    assert np.array_equal(a, to_uint8(photo(), SPEC))
    assert b.shape == a.shape
    wide = to_uint8(photo(size=(100, 20)), SPEC)   # padded with white, not stretched
    assert wide.shape == (3, 32, 24)
    assert int(wide[:, 0, :].min()) == 255
    grey = to_uint8(Image.new("L", (30, 40), 128), SPEC)
    assert grey.shape == (3, 32, 24)


def test_unreadable_images_raise_image_error(tmp_path):
    truncated = jpeg_bytes(photo(size=(120, 160), seed=1))[:300]
    with pytest.raises(ImageError):
        open_image(b"this is not an image")
    with pytest.raises(ImageError):
        open_image(truncated)
    with pytest.raises(ImageError):
        open_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageError):
        open_image(io.BytesIO(b""))


def test_large_and_small_photos_are_reduced_to_the_same_pixels():
    """The catalog's 180x240 and 60x80 photos of one product must look alike to the encoder."""
    rng = np.random.default_rng(0)
    large = Image.fromarray(rng.integers(0, 255, (240, 180, 3), dtype=np.uint8)).resize(
        (180, 240), Image.BILINEAR)
    small = large.resize((60, 80), Image.LANCZOS)
    a, b = to_uint8(large, LITE0), to_uint8(small, LITE0)
    assert a.shape == (3, LITE0.height, LITE0.width)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    # Without the reduction the large photo keeps detail the small one cannot have.
    full = Preprocess(height=LITE0.height, width=LITE0.width, reduce_to=())
    assert np.abs(to_uint8(large, full).astype(int) - b.astype(int)).mean() > 10
    # A photo already smaller than the reduction is only letterboxed.
    assert to_uint8(Image.new("RGB", (30, 40), "red"), LITE0).shape == a.shape


def test_preprocessing_survives_a_checkpoint_of_the_format_before_reduction():
    old = {"height": 160, "width": 120, "mean": [0.5] * 3, "std": [0.5] * 3}
    assert Preprocess.from_dict(old).reduce_to == ()
    assert Preprocess.from_dict(LITE0.to_dict()) == LITE0


# ------------------------------------------------------------------ encoders

@pytest.mark.parametrize("colour_weight", [0.0, 0.5])
def test_embeddings_have_unit_norm_and_the_advertised_shape(tiny_encoder, colour_weight):
    encoder = tiny_encoder(colour_weight=colour_weight)
    vectors = encoder.embed([photo(), photo((20, 20, 200)), jpeg_bytes(photo(seed=3))])
    assert vectors.shape == (3, 16 + (COLOUR_DIM if colour_weight else 0)) == (3, encoder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_onnx_export_computes_what_the_torch_network_computes(tmp_path):
    torch.manual_seed(1)
    network = TinyCNN(dim=16, num_classes=3).eval()
    path = export_onnx(LoadedNetwork(network, SPEC, "tiny", ["a", "b", "c"]), tmp_path / "t.onnx")
    encoder = OnnxEncoder(path)
    batch = encoder.load_uint8([photo(seed=i) for i in range(4)])
    x = (torch.from_numpy(batch).float() / 255 - 0.5) / 0.5
    with torch.inference_mode():
        features = network(x)
        logits = network.classify(features)
    out = encoder.run(batch)
    np.testing.assert_allclose(out["features"], features.numpy(), atol=1e-4)
    np.testing.assert_allclose(out["logits"], logits.numpy(), atol=1e-4)
    assert (encoder.name, encoder.classes, encoder.preprocess) == ("tiny", ["a", "b", "c"], SPEC)


def test_colour_descriptor_separates_colours_and_ignores_white_background():
    red, red2, blue = (to_uint8(p, SPEC) for p in (photo((200, 30, 30)), photo((190, 40, 35)),
                                                    photo((30, 30, 200))))
    hist = colour_histograms(np.stack([red, red2, blue]))
    np.testing.assert_allclose(np.linalg.norm(hist, axis=1), 1.0, atol=1e-5)
    assert float(hist[0] @ hist[1]) > 0.9 > float(hist[0] @ hist[2])
    white = colour_histograms(to_uint8(Image.new("RGB", (24, 32), "white"), SPEC)[None])
    assert np.isfinite(white).all() and float(np.linalg.norm(white)) == pytest.approx(1.0)


@pytest.mark.usefixtures("tiny_architecture")
def test_checkpoint_roundtrip_exports_an_encoder_that_predicts_top3(tmp_path):
    classes = ["Shirts", "Jeans", "Watches", "Sandals"]
    network = TinyCNN(dim=16, num_classes=len(classes))
    path = save_checkpoint(tmp_path / "tiny.pth", network, "tiny", SPEC, classes=classes,
                           extra={"dim": 16})
    loaded = load_checkpoint(path)
    assert loaded.classes == classes and loaded.preprocess == SPEC
    encoder = OnnxEncoder(export_onnx(loaded, tmp_path / "tiny.onnx"))
    assert encoder.can_classify and encoder.dim == 16
    top = encoder.predict([photo()])[0]
    assert len(top) == 3 and set(c for c, _ in top) <= set(classes)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    # fp16 storage: the reloaded network gives (nearly) the same embedding.
    original = OnnxEncoder(export_onnx(LoadedNetwork(network.eval(), SPEC, "tiny"), tmp_path / "o.onnx"))
    assert float((original.embed([photo()]) * encoder.embed([photo()])).sum()) > 0.999


def test_an_encoder_without_a_head_predicts_nothing(tiny_encoder):
    encoder = tiny_encoder()
    assert not encoder.can_classify
    assert encoder.predict([photo()]) == [[]]


def test_missing_or_corrupt_weights_raise_clear_errors(tmp_path):
    with pytest.raises(WeightsUnavailable):
        load_checkpoint(tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(WeightsUnavailable):
        load_checkpoint(bad)
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsUnavailable):
        load_checkpoint(tmp_path / "other.pth")
    with pytest.raises(WeightsUnavailable):
        load_encoder("no-such-encoder")
    with pytest.raises(EncoderUnavailable):
        OnnxEncoder(tmp_path / "nope.onnx")
    with pytest.raises(EncoderUnavailable):
        OnnxEncoder(bad)


@pytest.mark.usefixtures("tiny_architecture")
def test_resnet50_resolution_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setattr("ml.vision.encoders.torchvision_cached_resnet50_state", lambda: (None, None))
    monkeypatch.setattr("ml.vision.encoders.SHIPPED_CHECKPOINT", tmp_path / "absent.pth")
    with pytest.raises(WeightsUnavailable):
        load_encoder("resnet50")
    # A caller's checkpoint comes next in the order.
    path = save_checkpoint(tmp_path / "tiny.pth", TinyCNN(), "tiny", SPEC, extra={"dim": 16})
    assert load_encoder("resnet50", checkpoint=path).name == "tiny"


# ------------------------------------------------------------------ extraction

def catalog(n=10):
    rng = np.random.default_rng(0)
    return [(f"SKU{i}", photo(tuple(int(c) for c in rng.integers(0, 255, 3)), seed=i))
            for i in range(n)]


def test_an_interrupted_index_build_resumes_and_a_second_build_embeds_nothing(tmp_path, tiny_encoder,
                                                                              monkeypatch):
    encoder = tiny_encoder(colour_weight=0.5)
    items = catalog(10) + [("BROKEN", b"not an image")]
    monkeypatch.setattr(evidence, "CHUNK", 3)
    full = image_search.build(tmp_path / "full", items, encoder, backend="exact", progress=False)

    models = tmp_path / "resumed"
    calls, original = [], evidence.evidence_of_batch

    def interrupted(enc, batch):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(batch))
        return original(enc, batch)
    monkeypatch.setattr(evidence, "evidence_of_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        image_search.build(models, items, encoder, backend="exact", progress=False)
    assert calls == [3, 3]
    monkeypatch.setattr(evidence, "evidence_of_batch",
                        lambda enc, batch: calls.append(len(batch)) or original(enc, batch))
    calls.clear()
    folder = image_search.build(models, items, encoder, backend="exact", progress=False)
    assert calls == [3, 1]          # the 5 photos not yet done, one of them broken
    assert json.loads((folder / "skus.json").read_text()) == [sku for sku, _ in items[:10]]
    np.testing.assert_array_equal(np.load(folder / "embeddings.npy"), np.load(full / "embeddings.npy"))
    assert json.loads((folder / "card.json").read_text())["failed"] == ["BROKEN"]
    calls.clear()
    image_search.build(models, items, encoder, backend="exact", progress=False)
    assert calls == []              # nothing left to embed


def test_index_vectors_are_the_encoders_embedding_of_each_photo(tmp_path, tiny_encoder):
    """The same vectors as embedding each photo on its own (the path queries take)."""
    encoder = tiny_encoder(classes=("a", "b"), colour_weight=0.4)
    items = catalog(7)
    folder = image_search.build(tmp_path, items, encoder, backend="exact", progress=False, workers=2)
    vectors = np.load(folder / "embeddings.npy")
    one_by_one = np.concatenate([encoder.embed([image]) for _, image in items])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-6)
    assert vectors.shape == (7, 16 + COLOUR_DIM)


def test_a_new_colour_weight_reuses_the_evidence_and_a_new_encoder_starts_over(tmp_path, tiny_encoder,
                                                                              monkeypatch):
    items = catalog(4)
    image_search.build(tmp_path, items, tiny_encoder(), backend="exact", progress=False)
    calls, original = [], evidence.evidence_of_batch
    monkeypatch.setattr(evidence, "evidence_of_batch",
                        lambda enc, batch: calls.append(len(batch)) or original(enc, batch))
    folder = image_search.build(tmp_path, items, tiny_encoder(colour_weight=0.5), backend="exact",
                                progress=False)
    assert calls == [] and np.load(folder / "embeddings.npy").shape == (4, 16 + COLOUR_DIM)
    image_search.build(tmp_path, items, tiny_encoder(dim=8), backend="exact", progress=False)
    assert calls == [4]


# ------------------------------------------------------------------ the artifact

def build_artifact(models_dir, n=12, backend="auto"):
    path = tiny_onnx(models_dir.parent / "enc.onnx", classes=["Shirts", "Jeans", "Watches"])
    encoder = OnnxEncoder(path, colour_weight=0.5)
    items = catalog(n)
    folder = image_search.build(models_dir, items, encoder, backend=backend, progress=False)
    return folder, items


@pytest.mark.parametrize("backend", ["exact", "hnsw"])
def test_built_artifact_finds_the_same_photo_and_adds_without_rebuild(tmp_path, backend):
    models = tmp_path / "models"
    folder, items = build_artifact(models, backend=backend)
    card = json.loads((folder / "card.json").read_text())
    assert card["count"] == 12 and card["encoder"]["colour_weight"] == 0.5
    assert not list((models / image_search.ARTIFACT).glob(".work-*"))   # cleaned up

    search = image_search.ImageSearch.load(models)
    results = search.similar_to_image(items[4][1], k=3)
    assert results[0][0] == "SKU4" and len(results) == 3
    assert search.similar_to_image(items[4][1], k=3, allowed={"SKU1", "SKU2"})[0][0] in {"SKU1", "SKU2"}
    alike = search.similar_to_sku("SKU4", k=5)
    assert len(alike) == 5 and "SKU4" not in [s for s, _ in alike]
    assert [s for s, _ in alike] == [s for s, _ in search.similar_to_image(items[4][1], k=6) if s != "SKU4"][:5]
    assert search.similar_to_sku("UNKNOWN", k=5) == []
    assert len(search.predict(items[0][1])) == 3

    new_photo = photo((10, 200, 10), seed=99)
    search.add("NEW", new_photo)
    assert search.similar_to_image(new_photo, k=1)[0][0] == "NEW"
    again = image_search.ImageSearch.load(models)    # another process sees the addition
    assert again.similar_to_image(new_photo, k=1)[0][0] == "NEW"
    assert len(again.index) == 13


def test_missing_or_corrupt_artifact_raises_artifact_error(tmp_path):
    models = tmp_path / "models"
    with pytest.raises(ArtifactError):
        image_search.ImageSearch.load(models)
    folder, _ = build_artifact(models)
    (folder / image_search.EMBEDDINGS_FILE).write_bytes(b"\x93NUMPY broken")
    with pytest.raises(ArtifactError):
        image_search.ImageSearch.load(models)
    folder, _ = build_artifact(models)
    (folder / image_search.ENCODER_FILE).write_bytes(b"garbage")
    with pytest.raises(ArtifactError):
        image_search.ImageSearch.load(models)
    folder, _ = build_artifact(models)
    (folder / "card.json").write_text("{not json")
    with pytest.raises(ArtifactError):
        image_search.ImageSearch.load(models)


def test_the_shop_has_no_test_network(tmp_path):
    """TinyCNN lives in tests/: without the fixture a "tiny" checkpoint is an unknown architecture."""
    path = save_checkpoint(tmp_path / "tiny.pth", TinyCNN(), "tiny", SPEC, extra={"dim": 16})
    assert "tiny" not in ARCHITECTURES
    with pytest.raises(WeightsUnavailable, match="unknown architecture 'tiny'"):
        load_checkpoint(path)


def test_a_training_run_gives_the_process_its_torch_settings_back():
    """Training seeds torch and sets its threads for the run only: both are process-wide."""
    before = torch.get_num_threads(), torch.get_rng_state(), random.getstate()
    with _torch_run(seed=0, threads=1):
        assert torch.get_num_threads() == 1
        seeded = torch.rand(1)
    assert torch.get_num_threads() == before[0]
    assert torch.equal(torch.get_rng_state(), before[1]) and random.getstate() == before[2]
    with _torch_run(seed=0, threads=1):
        assert torch.equal(torch.rand(1), seeded)   # the same seed gives the same run


# ------------------------------------------------------------------ the ranking

def labels_of(**by_sku):
    """Labels from sku=("articleType", "baseColour") keywords."""
    return image_search.Labels({field: {sku: pair[i] for sku, pair in by_sku.items()}
                                for i, field in enumerate(image_search.LABEL_FIELDS)})


def test_ranking_puts_the_likely_article_type_ahead_of_a_slightly_closer_photo():
    labels = labels_of(F1=("Flats", "Black"), H1=("Heels", "Black"), H2=("Heels", "Black"),
                       H3=("Heels", "Black"))
    matches = [("H1", 0.90), ("F1", 0.89), ("H2", 0.88), ("H3", 0.87)]
    ranked = image_search.rank(matches, labels, k=4)
    assert [s for s, _ in ranked] == ["H1", "H2", "H3", "F1"]
    assert dict(ranked) == dict(matches)            # the pairs keep their cosine

    # A classifier sure of Flats outweighs the neighbours' vote for Heels.
    flats = np.asarray([1.0 if c == "Flats" else 0.0 for c in labels.classes["articleType"]])
    assert image_search.rank(matches, labels, k=1, type_probabilities=flats)[0][0] == "F1"


def test_ranking_prefers_the_likely_colour_among_the_same_article_type():
    labels = labels_of(R1=("Tshirts", "Red"), B1=("Tshirts", "Blue"), R2=("Tshirts", "Red"))
    ranked = image_search.rank([("R1", 0.90), ("B1", 0.895), ("R2", 0.89)], labels, k=3)
    assert [s for s, _ in ranked] == ["R1", "R2", "B1"]


def test_ranking_gives_unlabelled_products_the_benefit_of_the_doubt():
    matches = [("A", 0.9), ("B", 0.8), ("C", 0.7)]
    assert image_search.rank(matches, image_search.Labels(), k=2) == matches[:2]
    partly = labels_of(B=("Heels", "Red"), C=("Flats", "Red"))
    # A has no label: ranked as if it had the likeliest (Heels), so still first; C drops.
    assert [s for s, _ in image_search.rank(matches, partly, k=3)] == ["A", "B", "C"]
    assert image_search.rank([], partly, k=3) == []


def test_the_index_keeps_labels_and_visually_similar_shows_the_own_article_type_first(tmp_path):
    models = tmp_path / "models"
    path = tiny_onnx(tmp_path / "enc.onnx", classes=["Shirts", "Jeans"])
    encoder = OnnxEncoder(path, colour_weight=0.5)
    items = catalog(12)
    types = {sku: ("Shirts" if i % 3 else "Jeans") for i, (sku, _) in enumerate(items)}
    labels = {sku: {"articleType": t, "baseColour": "Red"} for sku, t in types.items()}
    image_search.build(models, items, encoder, backend="exact", progress=False, labels=labels)
    search = image_search.ImageSearch.load(models)
    assert search.labels.classes["articleType"] == ["Jeans", "Shirts"]
    alike = [sku for sku, _ in search.similar_to_sku("SKU3", k=11)]   # SKU3 is Jeans, as are 0, 6, 9
    assert len(alike) == 11 and sorted(alike[:3]) == ["SKU0", "SKU6", "SKU9"]

    search.add("NEW", photo((10, 200, 10), seed=99), labels={"articleType": "Jeans",
                                                            "baseColour": "Green"})
    again = image_search.ImageSearch.load(models)    # another process reads the labels too
    assert again.labels.ids("articleType", ["NEW"])[0] == again.labels.classes["articleType"].index("Jeans")
    assert again.labels.ids("baseColour", ["NEW"])[0] >= 0


def test_an_index_built_before_the_ranking_loads_and_ranks_by_the_photo_alone(tmp_path):
    models = tmp_path / "models"
    folder, items = build_artifact(models, backend="exact")
    (folder / image_search.LABELS_FILE).unlink()
    search = image_search.ImageSearch.load(models)
    assert not search.labels
    assert search.similar_to_image(items[4][1], k=3)[0][0] == "SKU4"
