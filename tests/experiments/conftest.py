import pytest
from django.core.cache import cache

from experiments.models import Experiment, Variant


@pytest.fixture(autouse=True)
def fresh_cache():
    """Experiment configs are cached; ids from another test's database must never leak in."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def experiment(db):
    experiment = Experiment.objects.create(key="similar-recs", description="content vs hybrid")
    Variant.objects.create(experiment=experiment, name="content", weight=1, is_control=True)
    Variant.objects.create(experiment=experiment, name="hybrid", weight=1)
    return experiment
