"""Categorize product names from stdin: the stable command-line contract.

    printf 'Blue Denim Jeans for Men\n' | python manage.py categorize [--model default|cascade]
    {"name": "Blue Denim Jeans for Men", "gender": "Men", "masterCategory": "Apparel",
     "subCategory": "Bottomwear", "articleType": "Jeans", "baseColour": "Blue",
     "season": "Summer", "usage": "Casual", "confidence": {"gender": 0.99, ...}}

One name per input line, one JSON object per output line, in the same order;
an empty line is answered too. Trains the model first if none is saved (from
the database catalog, or data/styles.csv when it has no products); a corrupt
artifact is logged and replaced the same way.
"""
import json
import sys

from django.core.management.base import BaseCommand

from ml.categorization.taxonomy import FIELDS
from shop_ml.management.categorization import KINDS, ensure_categorizer

BATCH = 4096
KEYS = ("name",) + FIELDS + ("confidence",)


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) in tests
    help = "Read product names (one per line) on stdin; print one JSON suggestion per line."

    def add_arguments(self, parser):
        parser.add_argument("--model", choices=KINDS, default="default")

    def handle(self, *args, model, **options):
        stdin = options.get("stdin") or sys.stdin
        for stream in (stdin, self.stdout._out):
            if stream in (sys.stdin, sys.stdout) and hasattr(stream, "reconfigure"):
                # names are UTF-8 whatever the locale; undecodable bytes never stop the run
                stream.reconfigure(encoding="utf-8", errors="replace")
        categorizer = ensure_categorizer(model, stdout=self.stderr)
        batch = []
        for line in stdin:
            batch.append(line.rstrip("\r\n"))
            if len(batch) >= BATCH:
                self._write(categorizer, batch)
                batch = []
        if batch:
            self._write(categorizer, batch)

    def _write(self, categorizer, names):
        for result in categorizer.predict(names):
            record = {key: result[key] for key in KEYS}
            self.stdout.write(json.dumps(record, ensure_ascii=False))
