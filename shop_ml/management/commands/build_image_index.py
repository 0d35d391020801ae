"""Embed every product photo (resumably, with a progress bar) and build the photo index.

    python manage.py build_image_index

An interrupted run keeps its finished chunks in MODELS_DIR/cache/photo-evidence/
and the next run embeds only the photos that are left (the fused categorizer
reads the same chunks, so its training embeds nothing again). The encoder (an ONNX
graph, run by ONNX Runtime) is settings.IMAGE_ENCODER, else the latest
`train_image_model` result, else the shipped data/weights/lite0-articletype.onnx.
"""
from django.core.management.base import BaseCommand

from shop_ml.management.image_search import build_index


class Command(BaseCommand):
    help = "Embed all product photos and build the nearest-neighbour index for photo search."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--workers", type=int, default=None,
                            help="photos read in parallel, each forward pass on one ONNX Runtime "
                                 "thread (default: one per core)")

    def handle(self, *args, no_progress, workers, **options):
        build_index(stdout=self.stdout, progress=not no_progress, workers=workers)
