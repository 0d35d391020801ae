"""The one door between Django and ml/.

Views, forms and commands call the functions here; nothing else in the apps
imports from ml/. Each artifact is loaded lazily, once per process, from
settings.MODELS_DIR. A missing or corrupt artifact logs one error and the
functions fall back (empty suggestions, popularity, no results): they never
raise into a request.
"""
from django.conf import settings

from ml.lazy import LazyArtifact

_ARTIFACTS = []


def _register(name, loader):
    artifact = LazyArtifact(name, loader)
    _ARTIFACTS.append(artifact)
    return artifact


def models_dir():
    return settings.MODELS_DIR


def artifact_status():
    """For /healthz: which artifacts are loaded, and why one is not."""
    return {a.name: {"loaded": a.loaded, **({"error": a.error} if a.error else {})} for a in _ARTIFACTS}


def warm_up():
    """Load every artifact now (gunicorn calls this when a worker starts)."""
    for artifact in _ARTIFACTS:
        artifact.get()


def reload():
    """Forget loaded artifacts so the next call loads the CURRENT versions."""
    for artifact in _ARTIFACTS:
        artifact.reset()
