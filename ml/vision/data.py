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


def photo_rows(csv_path, image_dir):
    """Rows of styles.csv that have a photo, each with an added `path`, sorted by id."""
    image_dir = Path(image_dir)
    rows, _ = load_rows(csv_path)
    out = []
    for row in rows:
        path = image_dir / f"{row['id']}.jpg"
        if path.is_file():
            out.append({**row, "path": str(path)})
    out.sort(key=lambda r: int(r["id"]))
    return out


def split_rows(rows):
    train = [r for r in rows if split_of(r["id"]) == "train"]
    val = [r for r in rows if split_of(r["id"]) == "val"]
    return train, val
