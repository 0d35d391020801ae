"""Categorize product names from stdin: the stable command-line contract.

    printf 'Blue Denim Jeans for Men\n' | python manage.py categorize [--model default|cascade]
    {"name": "Blue Denim Jeans for Men", "gender": "Men", "masterCategory": "Apparel",
     "subCategory": "Bottomwear", "articleType": "Jeans", "baseColour": "Blue",
     "season": "Summer", "usage": "Casual", "confidence": {"gender": 0.99, ...}}

One name per input line, one JSON object per output line, in the same order;
an empty line is answered too. Trains the model first if none is saved (from
the database catalog, or data/styles.csv when it has no products); a corrupt
artifact is logged and replaced the same way.

With --with-photos each input line is a JSON object with a name, a photo path
or both, and the answer (same fields) pools name and photo (the fused model,
`train_models --only categorizer-fused`):

    printf '{"name": "Puma Men Black Shoes", "photo": "data/images/1163.jpg"}\n' \
        | python manage.py categorize --with-photos

A line with only a photo is answered from the photo; a photo that cannot be
read is answered from the name, with a warning on stderr; a line that is not
such an object is answered {"error": "..."} and the run goes on.
"""
import json
import sys

from django.core.management.base import BaseCommand

from ml.categorization.taxonomy import FIELDS
from shop_ml import facade
from shop_ml.management.categorization import KINDS, ensure_categorizer

BATCH = 4096
PHOTO_BATCH = 32
KEYS = ("name",) + FIELDS + ("confidence",)


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=StringIO(...)) in tests
    help = "Read product names (one per line) on stdin; print one JSON suggestion per line."

    def add_arguments(self, parser):
        parser.add_argument("--model", choices=KINDS, default="default")
        parser.add_argument("--with-photos", action="store_true",
                            help='read {"name": ..., "photo": PATH} per line and pool the '
                                 "name with the photo (the default model)")

    def handle(self, *args, model, with_photos=False, **options):
        stdin = options.get("stdin") or sys.stdin
        for stream in (stdin, self.stdout._out):
            if stream in (sys.stdin, sys.stdout) and hasattr(stream, "reconfigure"):
                # names are UTF-8 whatever the locale; undecodable bytes never stop the run
                stream.reconfigure(encoding="utf-8", errors="replace")
        if with_photos:  # the fused model pools the default categorizer with the photo
            ensure_categorizer("default", stdout=self.stderr)
            self._with_photos(stdin)
            return
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

    def _with_photos(self, stdin):
        if facade.fused_categorizer() is None:
            self.stderr.write("warning: no fused categorizer is trained (train_models --only "
                              "categorizer-fused): photos are not read, names are answered")
        batch = []
        for number, line in enumerate(stdin, start=1):
            batch.append(parse_listing(line, number))
            if len(batch) >= PHOTO_BATCH:
                self._write_listings(batch)
                batch = []
        if batch:
            self._write_listings(batch)

    def _write_listings(self, batch):
        """Answer parsed lines in order: errors as they are, listings through the facade."""
        listings = [item for item in batch if "error" not in item]
        answers = iter(facade.categorize_listings(
            [(item["name"], item["photo"]) for item in listings]) if listings else [])
        for item in batch:
            if "error" in item:
                self.stdout.write(json.dumps(item, ensure_ascii=False))
                continue
            result = next(answers)
            if "photo_error" in result:
                self.stderr.write(f"warning: line {item['line']}: photo {item['photo']!r} not used "
                                  f"({result['photo_error']}); answered from the name")
            record = {key: result[key] for key in KEYS}
            record["name"] = item["name"]
            self.stdout.write(json.dumps(record, ensure_ascii=False))


def parse_listing(line, number):
    """{"line", "name", "photo"} of one --with-photos input line, or {"error": why}."""
    text = line.strip()
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {"error": f"line {number}: not JSON; send one object per line such as "
                         '{"name": "Blue Jeans", "photo": "jeans.jpg"}'}
    if not isinstance(data, dict):
        return {"error": f"line {number}: expected a JSON object with \"name\" and/or \"photo\""}
    unknown = sorted(set(data) - {"name", "photo"})
    if unknown:
        return {"error": f"line {number}: unknown key(s) {', '.join(map(repr, unknown))}; "
                         "use \"name\" and \"photo\""}
    for key in ("name", "photo"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return {"error": f"line {number}: \"{key}\" must be a string"}
    photo = data.get("photo") or None
    if photo is not None and "\x00" in photo:
        return {"error": f"line {number}: \"photo\" is not a usable path"}
    return {"line": number, "name": data.get("name") or "", "photo": photo}
