"""Evaluate the shop's models on their validation splits and write reports.

    python manage.py evaluate_models [--categorization] [--fusion] [--images] [--recs] [--search] [--csv PATH]

Each section writes MODELS_DIR/reports/<section>.json (plus PNG figures) for
the staff dashboard. Without a section flag every section runs. Sections are
functions `evaluate(stdout=None, **options)` registered in SECTIONS below.
"""
from django.core.management.base import BaseCommand

from search import evaluation as search_evaluation
from shop_ml.management import categorization, fusion


def _sections():
    """Flag name -> evaluate function. `--search` judges the shop's search, which reads
    queries with the categorizer, on the query set in search/data/queries.csv."""
    sections = {"categorization": categorization.evaluate, "search": search_evaluation.evaluate,
                "fusion": fusion.evaluate}
    try:  # imported here: the web image has no torch, and its evaluate_models still runs the rest
        from shop_ml.management import image_search
        sections["images"] = image_search.evaluate
    except ImportError:
        pass
    try:  # imported here: recommendations needs the worker's implicit (requirements/worker.txt)
        from shop_ml.management import recommendations
        sections["recs"] = recommendations.evaluate
    except ImportError:
        pass
    return sections


class Command(BaseCommand):
    help = "Evaluate models on the validation split; write JSON reports and figures in MODELS_DIR."

    def add_arguments(self, parser):
        for name in _sections():
            parser.add_argument(f"--{name}", action="store_true", help=f"evaluate {name} only")
        parser.add_argument("--csv", default=None,
                            help="categorization: evaluate on this styles.csv instead of the "
                                 "database catalog")

    def handle(self, *args, csv, **options):
        sections = _sections()
        chosen = [name for name in sections if options.get(name)] or list(sections)
        for name in chosen:
            self.stdout.write(f"== {name}")
            sections[name](stdout=self.stdout, csv=csv)
