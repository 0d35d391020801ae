"""List catalog products whose stored labels the name and the photo both contradict.

    python manage.py find_mislabels [--threshold 0.9] [--show 20]

Writes MODELS_DIR/reports/mislabels.json, which the staff page
/dashboards/mislabels/ lists (photo shown, one-click correction), and prints
the surest ones. Photos already embedded for this encoder are read from the cache.
"""
from django.core.management.base import BaseCommand, CommandError

from ml.artifacts import ArtifactError
from shop_ml.management.fusion import find_mislabels


def probability(value):
    number = float(value)
    if not 0.5 <= number <= 1.0:
        raise ValueError("the threshold is a probability between 0.5 and 1")
    return number


class Command(BaseCommand):
    help = "Find catalog products whose labels the name and the photo models both contradict."

    def add_arguments(self, parser):
        parser.add_argument("--threshold", type=probability, default=None,
                            help="both models at least this sure (default 0.9)")
        parser.add_argument("--show", type=int, default=20, help="print this many (default 20)")

    def handle(self, *args, threshold, show, **options):
        try:
            report = find_mislabels(stdout=self.stdout, threshold=threshold,
                                    progress=options.get("verbosity", 1) > 0)
        except ArtifactError as exc:
            raise CommandError(str(exc)) from exc
        for item in report["items"][:max(show, 0)]:
            self.stdout.write(f"{item['confidence']:.3f}  {item['sku']:>8}  {item['field']}: "
                              f"{item['stored']} -> {item['suggested']}  ({item['name']})")
