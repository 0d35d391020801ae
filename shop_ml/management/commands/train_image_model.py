"""Fine-tune the ImageNet EfficientNet-Lite0 on article types and save it in MODELS_DIR.

    python manage.py train_image_model [--epochs 5] [--threads 2]

Trains on the train split of every product's photos only (ml/vision/data.py),
writes the `image-encoder` artifact (fp16 checkpoint, its ONNX export and a
model card with the validation metrics per photo size); run build_image_index
afterwards to re-embed the catalog with it. About 30 minutes on 2 idle cores
(--threads 2), the recipe of the shipped encoder (ml/vision/train.py).
"""
from django.core.management.base import BaseCommand

from shop_ml.management.image_search import DEFAULT_IMAGES, DEFAULT_STYLES, train_encoder


class Command(BaseCommand):
    help = "Fine-tune the image encoder on article types and save it as the image-encoder artifact."

    def add_arguments(self, parser):
        parser.add_argument("--styles", default=str(DEFAULT_STYLES))
        parser.add_argument("--images", nargs="+", default=[str(d) for d in DEFAULT_IMAGES],
                            help="photo folders, best first")
        parser.add_argument("--epochs", type=int, default=5)
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, styles, images, epochs, threads, no_progress, **options):
        train_encoder(stdout=self.stdout, styles=styles, images=images, epochs=epochs,
                      threads=threads, progress=not no_progress)
