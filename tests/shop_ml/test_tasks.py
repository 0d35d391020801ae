"""Background ML work: eager in-process by default, on a real Celery worker with Redis."""
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from celery.exceptions import Retry
from django.core.management import call_command
from django.db import connection

from ml.artifacts import versions
from shop_ml import tasks
from tests.factories import ProductFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/15"


@pytest.mark.django_db
def test_indexing_a_product_without_a_photo_does_nothing():
    product = ProductFactory()
    assert tasks.index_product_photo.delay(product.pk).get() is False
    assert tasks.index_product_photo.delay(10**9).get() is False  # deleted meanwhile


@pytest.mark.django_db
def test_retraining_runs_eagerly_without_a_broker(settings):
    call_command("import_catalog", styles=str(ROOT / "data" / "styles.csv"), limit=300, verbosity=0)
    tasks.retrain_models.delay("categorizer").get()
    assert len(versions(settings.MODELS_DIR, "categorizer-default")) == 1


def redis_is_up():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retrains_through_redis(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: PostgreSQL")
    if not redis_is_up():
        pytest.fail("Redis is not running on 127.0.0.1:6379")
    call_command("import_catalog", styles=str(ROOT / "data" / "styles.csv"), limit=300, verbosity=0)
    db = connection.settings_dict
    queue = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "CELERY_BROKER_URL": REDIS, "CELERY_RESULT_BACKEND": REDIS,
           "MODELS_DIR": str(settings.MODELS_DIR), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fashionshop", "worker", "--pool=solo",
         "-Q", queue, "--loglevel=warning", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=open(tmp_path / "worker.log", "w"), stderr=subprocess.STDOUT)
    try:
        client = Celery(broker=REDIS, backend=REDIS)
        result = client.send_task("shop_ml.tasks.retrain_models", kwargs={"only": "categorizer"}, queue=queue)
        result.get(timeout=240)
        assert len(versions(settings.MODELS_DIR, "categorizer-default")) == 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "Traceback" not in (tmp_path / "worker.log").read_text()


@pytest.mark.django_db
def test_a_failing_task_is_retried(monkeypatch):
    product = ProductFactory(image="products/x.jpg")
    calls = []

    def flaky(product):
        calls.append(product.sku)
        if len(calls) == 1:
            raise ConnectionError("index store busy")
        return True

    monkeypatch.setattr(tasks.facade, "index_product", flaky)
    # A failure schedules a retry (raised to the caller when run eagerly) ...
    with pytest.raises(Retry, match="index store busy"):
        tasks.index_product_photo.delay(product.pk)
    # ... and running the task again is safe: it indexes the same photo once more.
    assert tasks.index_product_photo.delay(product.pk).get() is True
    assert calls == [product.sku, product.sku]
