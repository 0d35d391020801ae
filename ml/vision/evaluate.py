"""Offline metrics for photo search: precision@k of shared attributes.

Queries are validation photos, the catalog is the training photos: the same
shape as the held-out evaluation (unseen photos searched against the shipped
catalog), measured on data we are allowed to tune on.
"""
import numpy as np


def topk_neighbours(queries, catalog, k, exclude_self=False):
    """Indices (n_queries, k) of the most cosine-similar catalog rows (exact)."""
    sims = queries @ catalog.T
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    k = min(k, catalog.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, part, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(part, order, axis=1)


def precision_at_k(neighbours, query_labels, catalog_labels):
    """Mean fraction of each query's neighbours with the query's label."""
    catalog_labels = np.asarray(catalog_labels, dtype=object)
    query_labels = np.asarray(query_labels, dtype=object)
    hits = catalog_labels[neighbours] == query_labels[:, None]
    return float(hits.mean())


def search_metrics(query_vectors, query_rows, catalog_vectors, catalog_rows, k=10):
    """precision@k for same articleType, articleType+baseColour and gender."""
    nn_idx = topk_neighbours(query_vectors, catalog_vectors, k)

    def labels(rows, fn):
        return [fn(r) for r in rows]

    keys = {
        "articleType": lambda r: r["articleType"],
        "articleType+baseColour": lambda r: f"{r['articleType']}|{r.get('baseColour') or ''}",
        "gender": lambda r: r["gender"],
    }
    return {f"p@{k} {name}": round(precision_at_k(nn_idx, labels(query_rows, fn),
                                                  labels(catalog_rows, fn)), 4)
            for name, fn in keys.items()}
