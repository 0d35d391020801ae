"""Celery app. With CELERY_BROKER_URL unset, tasks run eagerly in-process, so the
default install needs no broker; set it (e.g. redis://127.0.0.1:6379/0) to run
them on workers: `celery -A fashionshop worker`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fashionshop.settings")

app = Celery("fashionshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
