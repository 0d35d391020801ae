"""The catalog photos as labelled examples, and the deterministic split.

The split depends only on the product id (a hash), so it is the same on every
machine and run, and a photo never moves between train and validation as the
catalog grows. Real held-out photos live outside the repository; everything
here is tuned on `train`/`val` only.
"""
import hashlib
from pathlib import Path

from ml.styles_csv import load_rows

VAL_PERCENT = 15   # ids whose hash bucket (0..99) is >= 100 - VAL_PERCENT


def bucket(product_id):
    digest = hashlib.sha1(f"fashion-split:{product_id}".encode()).hexdigest()
    return int(digest[:8], 16) % 100


def split_of(product_id):
    return "val" if bucket(product_id) >= 100 - VAL_PERCENT else "train"


def photo_rows(csv_path, image_dirs):
    """Rows of styles.csv that have a photo, sorted by id.

    `image_dirs` lists the photo folders best first (the 180x240 photos, then
    the 60x80 ones). Each row gets `photos`: its existing photo paths in that
    order, and `path`: the best of them.
    """
    if isinstance(image_dirs, (str, Path)):
        image_dirs = [image_dirs]
    image_dirs = [Path(d) for d in image_dirs]
    rows, _ = load_rows(csv_path)
    out = []
    for row in rows:
        photos = [str(d / f"{row['id']}.jpg") for d in image_dirs]
        photos = [p for p in photos if Path(p).is_file()]
        if photos:
            out.append({**row, "photos": photos, "path": photos[0]})
    out.sort(key=lambda r: int(r["id"]))
    return out


def split_rows(rows):
    train = [r for r in rows if split_of(r["id"]) == "train"]
    val = [r for r in rows if split_of(r["id"]) == "val"]
    return train, val
