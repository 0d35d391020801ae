import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2 at full strength costs ~1 s per factory user on this shared machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
