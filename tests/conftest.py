import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Every test writes media and model artifacts into its own temporary folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "models"
    return settings


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2 at full strength costs about a second per factory user on 2 cores."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached taxonomy, counts and experiment configs must not leak between tests."""
    cache.clear()
    yield
    cache.clear()
