"""Writes of the dashboards: switching the served version of a model."""
import logging

from django.core.exceptions import ValidationError

from dashboards import selectors
from shop_ml import facade

log = logging.getLogger(__name__)


def serve_version(name, version, user):
    """Make `version` the served version of artifact `name`, and drop this process's
    loaded models so its next request loads it.

    Only names and versions the registry lists are accepted, so a posted name can
    never point outside MODELS_DIR.
    """
    entry = next((e for e in selectors.model_registry() if e["name"] == name), None)
    if entry is None or not any(v["version"] == version for v in entry["versions"]):
        raise ValidationError(f"There is no version {version!r} of {name!r}.")
    facade.serve_version(name, version)
    log.info("%s now serves %s %s (was %s)", user, name, version, entry["current"])
