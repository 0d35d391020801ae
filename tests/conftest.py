import pytest
from django.core.cache import cache

from experiments.selectors import forget_config_here
from main.facets import forget_catalog_version_here
from shop_ml import facade
from tests.factories import SellerFactory


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Every test writes media and model artifacts into its own temporary folders,
    and loads models from its own MODELS_DIR, never from an earlier test's."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "models"
    facade.reload()
    yield settings
    facade.reload()


@pytest.fixture
def tiny_architecture(monkeypatch):
    """Checkpoints that name arch "tiny" load as tests/tiny_cnn.py's TinyCNN during the test."""
    # Imported here: torch loads only in the tests that build image encoders.
    from ml.vision import encoders
    from tests.tiny_cnn import tiny_network

    monkeypatch.setitem(encoders.ARCHITECTURES, "tiny", tiny_network)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2 at full strength costs about a second per factory user on 2 cores."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached taxonomy, counts and experiment configs must not leak between tests."""
    cache.clear()
    forget_catalog_version_here()
    forget_config_here()
    yield
    cache.clear()
    forget_catalog_version_here()
    forget_config_here()


@pytest.fixture
def seller_a(db):
    """Two stores for the tests that check one seller never sees the other's data."""
    return SellerFactory(store_name="Alpha Store", slug="alpha")


@pytest.fixture
def seller_b(db):
    return SellerFactory(store_name="Beta Store", slug="beta")
