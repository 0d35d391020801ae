import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ml.artifacts import versions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalog(db):
    call_command("import_catalog", styles=str(ROOT / "data" / "styles.csv"), limit=400, verbosity=0)


def train(*args):
    out = io.StringIO()
    call_command("train_models", *args, stdout=out)
    return out.getvalue()


def test_if_missing_skips_what_is_trained_and_trains_the_rest(catalog, settings):
    train("--only", "categorizer")
    before = {name: len(versions(settings.MODELS_DIR, name))
              for name in ("categorizer-default", "categorizer-cascade")}
    assert before == {"categorizer-default": 1, "categorizer-cascade": 1}

    output = train("--only", "categorizer,recommender-content", "--if-missing")
    assert "categorizer: already trained, skipped" in output
    assert "== recommender-content done" in output
    assert len(versions(settings.MODELS_DIR, "categorizer-default")) == 1
    assert len(versions(settings.MODELS_DIR, "recommender-content")) == 1

    # Without the flag a step always trains a new version.
    train("--only", "categorizer")
    assert len(versions(settings.MODELS_DIR, "categorizer-default")) == 2


def test_unknown_steps_are_refused(catalog):
    with pytest.raises(CommandError, match="unknown step"):
        train("--only", "categoriser")
