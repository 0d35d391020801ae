"""Photo search from the command line: the stable contract used for evaluation.

    python manage.py similar_images PATH [PATH ...] --k 10

prints one JSON line per query photo, in the order given:

    {"query": "PATH", "results": [{"sku": "15970", "score": 0.93}, ...]}

Builds the image index first if none is saved yet. Only active, in-stock
products are returned when the shop has products (deleted and sold-out ones
never are). A photo that cannot be read gets `"results": []` and an
`"error"` key instead of stopping the run.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from main.models import Product
from ml.vision.preprocess import ImageError
from shop_ml.management.image_search import ensure_index


class Command(BaseCommand):
    help = "Print the k products whose photos look most like each PATH, one JSON line per query."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--k", type=int, default=10)

    def handle(self, *args, paths, k, **options):
        if k < 1:
            raise CommandError("--k must be at least 1")
        search = ensure_index(stdout=self.stderr, progress=True)
        allowed = None
        if Product.objects.exists():
            allowed = set(Product.objects.purchasable().values_list("sku", flat=True))
        for path in paths:
            line = {"query": path, "results": []}
            try:
                results = search.similar_to_image(path, k=k, allowed=allowed)
                line["results"] = [{"sku": sku, "score": round(score, 6)} for sku, score in results]
            except (ImageError, OSError) as exc:
                line["error"] = str(exc)
            self.stdout.write(json.dumps(line))
