"""Content-based similar items: exact sparse top-k, filtering, reasons, storage."""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ml.recommend.content import (REASON_STYLE, REASON_TYPE, REASON_TYPE_COLOUR, ContentModel,
                                  sparse_topk)


def product(sku, name, gender="Men", article_type="Tshirts", colour="Blue", stock=5,
            sub_category="Topwear", master_category="Apparel", usage="Casual"):
    return {"sku": sku, "name": name, "gender": gender, "article_type": article_type,
            "base_colour": colour, "sub_category": sub_category,
            "master_category": master_category, "usage": usage, "season": "Summer",
            "stock": stock, "price": 999}


@pytest.fixture
def catalog():
    return [
        product("1", "Nike Men Blue Tshirt"),
        product("2", "Nike Men Blue Tshirt"),
        product("3", "Puma Men Blue Tshirt", stock=0),
        product("4", "Adidas Men Red Tshirt", colour="Red"),
        product("5", "Roadster Women Blue Tshirt", gender="Women"),
        product("6", "Fastrack Unisex Blue Tshirt", gender="Unisex"),
        product("7", "Nike Men Blue Track Pants", article_type="Track Pants",
                sub_category="Bottomwear"),
        product("8", "Nike Men Blue Shorts", article_type="Shorts", sub_category="Bottomwear"),
        product("9", "Titan Women Watch", gender="Women", article_type="Watches",
                colour="Silver", sub_category="Watches", master_category="Accessories"),
    ]


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_sparse_topk_equals_brute_force(chunk_size):
    rng = np.random.default_rng(3)
    X = normalize(sp.random(60, 40, density=0.2, random_state=rng, dtype=np.float32,
                            format="csr"))
    indices, scores = sparse_topk(X, 5, chunk_size=chunk_size)
    dense = (X @ X.T).toarray()
    np.fill_diagonal(dense, -np.inf)
    for i in range(60):
        expected = np.sort(dense[i])[::-1][:5]
        np.testing.assert_allclose(scores[i], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dense[i, indices[i]], expected, rtol=1e-5, atol=1e-6)
        assert i not in indices[i]


def test_sparse_topk_caps_k_at_catalog_size():
    X = normalize(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    indices, scores = sparse_topk(X, 10)
    assert indices.shape == (3, 2)


def test_stored_neighbours_are_n_by_k_never_n_by_n(catalog):
    model = ContentModel(k=4).fit(catalog)
    n = len(catalog)
    assert model.neighbours.shape == (n, 4) and model.scores.shape == (n, 4)
    assert sp.issparse(model.X)
    for value in vars(model).values():
        if isinstance(value, np.ndarray):
            assert value.size <= n * 4


def test_similar_filters_self_gender_and_caller_allowed(catalog):
    model = ContentModel(k=8).fit(catalog)
    in_stock = {p["sku"] for p in catalog if p["stock"] > 0}
    results = model.similar("1", k=8, allowed=in_stock)
    skus = [sku for sku, _, _ in results]
    assert skus[0] == "2"                      # identical twin first
    assert "1" not in skus                     # never the product itself
    assert "3" not in skus                     # out of stock
    assert "5" not in skus and "9" not in skus  # women's products for a men's product
    assert "6" in skus                         # unisex goes with everything
    assert [s for _, s, _ in results] == sorted((s for _, s, _ in results), reverse=True)
    # the predicate form gives the same answer
    assert model.similar("1", k=8, allowed=in_stock.__contains__) == results


def test_unisex_product_sees_every_gender(catalog):
    model = ContentModel(k=8).fit(catalog)
    skus = {sku for sku, _, _ in model.similar("6", k=8)}
    assert {"1", "5"} <= skus


def test_reasons_come_from_attribute_overlap(catalog):
    model = ContentModel(k=8).fit(catalog)
    reasons = {sku: reason for sku, _, reason in model.similar("1", k=8)}
    assert reasons["2"] == REASON_TYPE_COLOUR
    assert reasons["4"] == REASON_TYPE
    assert reasons["7"] == REASON_STYLE


def test_unknown_sku_gives_nothing(catalog):
    model = ContentModel(k=4).fit(catalog)
    assert model.similar("nope") == []


def test_diversification_caps_one_type_and_colour(catalog):
    many = [product(str(i), f"Nike Men Blue Tshirt {i}") for i in range(10)]
    many.append(product("r", "Nike Men Red Tshirt", colour="Red"))
    model = ContentModel(k=20).fit(many)
    top4 = [sku for sku, _, _ in model.similar("0", k=4)]
    assert "r" in top4
    assert len(model.similar("0", k=20, diversify=True)) == 10


def test_new_product_gets_neighbours_without_retraining(catalog):
    model = ContentModel(k=4).fit(catalog)
    new = product("new", "Nike Men Blue Tshirt")
    results = model.similar_to_product(new, k=3)
    assert results and results[0][0] in {"1", "2"}
    assert results[0][2] == REASON_TYPE_COLOUR
    assert all(sku not in {"5", "9"} for sku, _, _ in results)


def test_naive_search_agrees_with_precomputed(catalog):
    model = ContentModel(k=8, text="tfidf").fit(catalog)
    fast = model.similar("4", k=5)
    slow = model.naive_similar("4", k=5)
    assert [round(s, 5) for _, s, _ in fast] == [round(s, 5) for _, s, _ in slow]


def test_bad_settings_and_empty_catalog_are_refused():
    with pytest.raises(ValueError):
        ContentModel(text="bm25")
    with pytest.raises(ValueError):
        ContentModel().fit([])
    with pytest.raises(ValueError):
        ContentModel().fit([product("1", "a"), product("1", "b")])
