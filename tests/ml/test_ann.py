"""The nearest-neighbour index: exact and HNSW backends behave the same."""
import numpy as np
import pytest

from ml.ann import VectorIndex
from ml.artifacts import ArtifactError


def clustered(n=600, dim=32, clusters=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    data = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim))
    return data.astype(np.float32), [f"sku-{i}" for i in range(n)]


@pytest.fixture(params=["exact", "hnsw"])
def backend(request):
    return request.param


def test_search_returns_the_item_itself_first_with_cosine_one(backend):
    vectors, skus = clustered()
    index = VectorIndex.build(skus, vectors, backend=backend)
    results = index.search(vectors[7], k=5)
    assert results[0][0] == "sku-7"
    assert results[0][1] == pytest.approx(1.0, abs=2e-3)
    assert [s for s, _ in results] == [s for s, _ in sorted(results, key=lambda r: -r[1])]
    assert len(results) == 5


def test_hnsw_agrees_with_exact_search_on_random_data():
    vectors, skus = clustered(n=2000, dim=48)
    exact = VectorIndex.build(skus, vectors, backend="exact")
    approx = VectorIndex.build(skus, vectors, backend="hnsw")
    rng = np.random.default_rng(1)
    queries = vectors[rng.choice(len(vectors), 100, replace=False)] + 0.3 * rng.normal(size=(100, 48))
    recall = np.mean([len({s for s, _ in exact.search(q, 10)} & {s for s, _ in approx.search(q, 10)}) / 10
                      for q in queries])
    assert recall >= 0.95
    # Forcing exact on the HNSW backend gives exactly the brute-force answer.
    q = queries[0]
    assert [s for s, _ in approx.search(q, 10, exact=True)] == [s for s, _ in exact.search(q, 10)]


def test_add_without_rebuild_and_replace(backend):
    vectors, skus = clustered(n=100)
    index = VectorIndex.build(skus[:50], vectors[:50], backend=backend)
    index.add(skus[50:], vectors[50:])
    assert len(index) == 100
    assert index.search(vectors[80], 1)[0][0] == "sku-80"
    # Re-adding a sku replaces its vector instead of duplicating it.
    index.add(["sku-80"], vectors[3][None, :])
    assert len(index) == 100
    top = [s for s, _ in index.search(vectors[3], 2)]
    assert set(top) == {"sku-3", "sku-80"}
    assert [s for s, _ in index.search(vectors[3], 100)].count("sku-80") == 1


def test_removed_items_are_never_returned(backend):
    vectors, skus = clustered(n=200)
    index = VectorIndex.build(skus, vectors, backend=backend)
    assert index.remove(["sku-5", "no-such-sku"]) == 1
    assert "sku-5" not in index
    assert len(index) == 199
    everything = [s for s, _ in index.search(vectors[5], 500)]
    assert "sku-5" not in everything
    assert len(everything) == 199
    # Removing many (compaction on the exact backend) keeps the mapping right.
    index.remove([f"sku-{i}" for i in range(100)])
    assert index.search(vectors[150], 1)[0][0] == "sku-150"
    assert index.vector("sku-3") is None


def test_allowed_and_exclude_filters(backend):
    vectors, skus = clustered(n=300)
    index = VectorIndex.build(skus, vectors, backend=backend)
    allowed = {"sku-1", "sku-2", "sku-3", "gone"}
    results = index.search(vectors[10], 10, allowed=allowed)
    assert {s for s, _ in results} == {"sku-1", "sku-2", "sku-3"}
    results = index.search(vectors[10], 10, exclude=lambda s: s == "sku-10")
    assert "sku-10" not in [s for s, _ in results] and len(results) == 10
    # A large allowed set (out-of-stock filtering) still fills k.
    in_stock = [s for i, s in enumerate(skus) if i % 3]
    results = index.search(vectors[10], 10, allowed=in_stock)
    assert len(results) == 10 and all(int(s.split("-")[1]) % 3 for s, _ in results)
    assert index.search(vectors[10], 10, allowed=set()) == []


def test_edge_cases(backend):
    vectors, skus = clustered(n=5)
    index = VectorIndex.build(skus, vectors, backend=backend)
    assert len(index.search(vectors[0], 50)) == 5
    assert index.search(vectors[0], 0) == []
    with pytest.raises(ValueError):
        index.search(np.ones(7, dtype=np.float32), 3)
    with pytest.raises(ValueError):
        index.add(["a"], np.ones((1, 7), dtype=np.float32))
    with pytest.raises(ValueError):
        index.add(["a", "a"], vectors[:2])
    empty = VectorIndex(dim=32, backend=backend)
    assert empty.search(vectors[0], 3) == []


def test_save_load_roundtrip(backend, tmp_path):
    vectors, skus = clustered(n=300)
    index = VectorIndex.build(skus, vectors, backend=backend)
    index.remove(["sku-0"])
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert len(loaded) == 299 and loaded.backend == backend
    q = vectors[42]
    assert [s for s, _ in loaded.search(q, 10)] == [s for s, _ in index.search(q, 10)]
    loaded.add(["new"], q[None, :])
    assert loaded.search(q, 2)[0][1] == pytest.approx(1.0, abs=2e-3)


def test_memory_is_at_most_raw_vectors_for_f16_hnsw(tmp_path):
    vectors, skus = clustered(n=2000, dim=512)
    index = VectorIndex.build(skus, vectors, backend="hnsw")
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert loaded.memory_bytes() <= 1.2 * loaded.raw_bytes()
    exact = VectorIndex.build(skus, vectors, backend="exact")
    assert exact.memory_bytes() <= 1.2 * exact.raw_bytes()


@pytest.mark.parametrize("damage", ["missing", "garbage", "mismatch"])
def test_corrupt_or_missing_index_raises_artifact_error(backend, tmp_path, damage):
    vectors, skus = clustered(n=50)
    VectorIndex.build(skus, vectors, backend=backend).save(tmp_path / "idx")
    data_file = tmp_path / "idx" / ("vectors.npy" if backend == "exact" else "index.usearch")
    if damage == "missing":
        data_file.unlink()
    elif damage == "garbage":
        data_file.write_bytes(b"not an index at all")
    else:
        (tmp_path / "idx" / "skus.json").write_text('["only-one"]')
    with pytest.raises(ArtifactError):
        VectorIndex.load(tmp_path / "idx")
    with pytest.raises(ArtifactError):
        VectorIndex.load(tmp_path / "nothing-here")
