import pytest


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Every test writes media and model artifacts into its own temporary folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODELS_DIR = tmp_path / "models"
    return settings
