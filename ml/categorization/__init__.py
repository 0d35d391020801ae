"""Product-name categorization: plain Python, no Django.

Two models answer the same API, `model.predict(names) -> list[dict]`:

* `NBCascade` ("cascade"): the hierarchical Naive Bayes cascade
  (gender -> subCategory -> articleType per branch);
* `LinearCategorizer` ("default"): TF-IDF + linear SVMs, the stronger one.

`training` holds the split, training, evaluation and artifact functions.
"""
from .cascade import NBCascade
from .linear import LinearCategorizer
from .taxonomy import FIELDS, Taxonomy
from .training import (ARTIFACT_NAMES, calibrate, confusion, evaluate, load_model, save_model,
                       split_rows, train, train_and_evaluate)

__all__ = [
    "ARTIFACT_NAMES", "FIELDS", "LinearCategorizer", "NBCascade", "Taxonomy", "calibrate",
    "confusion", "evaluate", "load_model", "save_model", "split_rows", "train",
    "train_and_evaluate",
]
