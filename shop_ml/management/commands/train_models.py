"""Train the shop's models and save them as new versions in MODELS_DIR.

    python manage.py train_models [--only categorizer[,other-step]] [--csv PATH] [--refit] [--if-missing]

Each model family is a *step*: a function `step(stdout=None, **options)`
registered in STEPS below (the categorizer here, the image index and the
recommenders from their own modules). Without --only every step runs.
Training reads the catalog in the database (sellers' saved corrections
count), or --csv. Each step writes versioned artifacts with model cards.
"""
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ml.artifacts import current_version
from ml.categorization.training import ARTIFACT_NAMES
from shop_ml.management import categorization, fusion, image_search, recommendations


def _steps():
    """Step name -> function, in the order `train_models` runs them (the
    collaborative blend is tuned with the content model, so content comes first)."""
    return {**categorization.STEPS, **recommendations.STEPS, **image_search.STEPS,
            **fusion.STEPS}


def _artifacts(step):
    """The artifact names a step writes: the categorizer step writes one per kind."""
    return list(ARTIFACT_NAMES.values()) if step == "categorizer" else [step]


def _trained(step):
    """Every artifact of the step has a version, and none is stale (the image index
    goes stale when products gained photos since it was built, the fused categorizer
    when the image encoder changed)."""
    stale = {**image_search.STALE, **fusion.STALE}.get(step)
    return (all(current_version(settings.MODELS_DIR, name) for name in _artifacts(step))
            and not (stale and stale()))


class Command(BaseCommand):
    help = "Train models (all, or the steps named by --only) and save versioned artifacts."

    def add_arguments(self, parser):
        parser.add_argument("--only", default="",
                            help="comma-separated steps, e.g. categorizer (default: all); "
                                 "see --list")
        parser.add_argument("--list", dest="list_steps", action="store_true",
                            help="list the steps and exit")
        parser.add_argument("--csv", default=None,
                            help="train from this styles.csv instead of the database catalog")
        parser.add_argument("--refit", action="store_true",
                            help="after validation, retrain the served models on every row")
        parser.add_argument("--if-missing", action="store_true",
                            help="skip steps whose models are already trained and not stale "
                                 "(make run uses it)")

    def handle(self, *args, only, list_steps, csv, refit, if_missing, **options):
        steps = _steps()
        if list_steps:
            for name, step in steps.items():
                self.stdout.write(f"{name}: {(step.__doc__ or '').strip().splitlines()[0]}")
            return
        chosen = [name.strip() for name in only.split(",") if name.strip()] or list(steps)
        unknown = [name for name in chosen if name not in steps]
        if unknown:
            raise CommandError(f"unknown step(s) {', '.join(unknown)}; choose from "
                               f"{', '.join(steps)}")
        for name in chosen:
            if if_missing and _trained(name):
                self.stdout.write(f"== {name}: already trained, skipped")
                continue
            started = time.perf_counter()
            self.stdout.write(f"== {name}")
            steps[name](stdout=self.stdout, csv=csv, refit=refit,
                        progress=options.get("verbosity", 1) > 0)
            self.stdout.write(f"== {name} done in {time.perf_counter() - started:.1f}s")

