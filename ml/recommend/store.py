"""Saving and loading the recommender artifacts (through ml/artifacts.py).

`recommender-content`        ContentModel: vectorisers, sparse vectors, top-k table
`recommender-collaborative`  CollaborativeModel: item factors, co-purchases,
                             popularity, and the blend the hybrid uses
"""
from ml.artifacts import ArtifactError, library_versions, load_joblib, save_joblib

from .collaborative import CollaborativeModel
from .content import ContentModel

CONTENT = "recommender-content"
COLLABORATIVE = "recommender-collaborative"
PACKAGES = ("numpy", "scipy", "scikit-learn", "joblib", "implicit")


def save_content(models_dir, model, data, metrics=None):
    card = {"data": data, "metrics": {**model.summary(), **(metrics or {})},
            "versions": library_versions(*PACKAGES)}
    return save_joblib(models_dir, CONTENT, model, card)


def save_collaborative(models_dir, model, data, metrics=None):
    card = {"data": data, "metrics": {**model.summary(), **(metrics or {})},
            "versions": library_versions(*PACKAGES)}
    return save_joblib(models_dir, COLLABORATIVE, model, card)


def _load(models_dir, name, kind):
    model, card = load_joblib(models_dir, name)
    if not isinstance(model, kind):
        raise ArtifactError(f"{name}: expected a {kind.__name__}, found {type(model).__name__}")
    return model, card


def load_content(models_dir):
    """(ContentModel, card); ArtifactError if missing, corrupt or of the wrong kind."""
    return _load(models_dir, CONTENT, ContentModel)


def load_collaborative(models_dir):
    """(CollaborativeModel, card); ArtifactError if missing, corrupt or of the wrong kind."""
    return _load(models_dir, COLLABORATIVE, CollaborativeModel)
