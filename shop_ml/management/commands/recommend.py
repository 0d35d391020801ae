"""Similar products for one sku, as JSON: the stable command-line contract.

    python manage.py recommend --sku 15970 --k 10
    [{"sku": "...", "score": 0.93}, ...]

Trains the content recommender first if none is saved yet. Only active,
in-stock products are listed, never the product itself.
"""
import json

from django.core.management.base import BaseCommand, CommandError

from main.models import Product
from main.recommendations import OVERFETCH
from shop_ml import facade
from shop_ml.management.recommendations import train_content


class Command(BaseCommand):
    help = "Print the k most similar products of a sku as a JSON list of {sku, score}."

    def add_arguments(self, parser):
        parser.add_argument("--sku", required=True)
        parser.add_argument("--k", type=int, default=10)

    def handle(self, *args, sku, k, **options):
        if k < 1:
            raise CommandError("--k must be at least 1")
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise CommandError(f"unknown sku {sku!r}: no such product")
        if not facade.recommendations_ready():
            self.stderr.write("no usable content recommender: training one first")
            train_content(stdout=self.stderr)
        ranked = facade.similar_products(product, k=k * OVERFETCH)
        purchasable = set(Product.objects.purchasable().filter(sku__in=[s for s, _, _ in ranked])
                          .values_list("sku", flat=True))
        results = [{"sku": s, "score": round(score, 6)} for s, score, _ in ranked
                   if s in purchasable][:k]
        self.stdout.write(json.dumps(results))
