"""Writes of the dashboards: switching the served version of a model, correcting a
likely mislabel."""
import logging

from django.core.exceptions import ValidationError

from dashboards import selectors
from main import services as catalog
from main.models import Product
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


def accept_mislabel_correction(sku, field, user):
    """Give product `sku` the label the name and photo models agreed on for `field`
    (with the subcategory and master category an article type brings), through the
    catalog's normal update, so the next training learns it. Returns the product.

    Only corrections the mislabel report lists are applied, and only while the
    product still carries the label that was contradicted.
    """
    entry = selectors.mislabel_entry(sku, field)
    if entry is None:
        raise ValidationError("That correction is not in the current list of likely mislabels.")
    product = Product.objects.filter(sku=sku).first()
    if product is None:
        raise ValidationError("That product no longer exists.")
    current = getattr(product, selectors.CATALOG_FIELDS[field])
    if current != entry["stored"]:
        raise ValidationError(f"{product.name} was changed meanwhile ({field} is now {current}).")
    changes = {selectors.CATALOG_FIELDS[key]: value for key, value in entry["changes"].items()}
    catalog.update_product(product, changes)
    log.info("%s corrected %s of %s: %s -> %s", user, field, sku, entry["stored"], entry["suggested"])
    return product
