"""Background ML work as Celery tasks.

Without CELERY_BROKER_URL they run eagerly in the calling process; with a
broker they run on `celery -A fashionshop worker`. Each task is idempotent
(indexing a photo again replaces its vector; training writes a new version;
a rebuild resumes from the embeddings already stored) and is retried with
backoff when it fails.
"""
import logging

from celery import shared_task
from django.core.management import call_command

from main.models import Product
from shop_ml import facade

log = logging.getLogger(__name__)
RETRY = {"autoretry_for": (Exception,), "retry_backoff": 5, "retry_jitter": True, "max_retries": 3}


@shared_task(**RETRY)
def index_product_photo(product_id):
    """Embed a listing's photo and add it to the served nearest-neighbour index."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.image:
        return False
    added = facade.index_product(product)
    log.info("indexed photo of %s: %s", product.sku, added)
    return added


@shared_task(**RETRY)
def retrain_models(only=None):
    """Retrain (all, or the comma-separated steps in `only`); each step serves its new version."""
    call_command("train_models", *(["--only", only] if only else []))


@shared_task(**RETRY)
def rebuild_image_index():
    """Re-embed every photo (resuming what is stored) and serve the new index."""
    call_command("build_image_index")
