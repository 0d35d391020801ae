"""Import the Fashion Product Images catalog (styles.csv + photos) into the shop.

Idempotent: products are matched by sku (the dataset id), so a re-run updates
what changed and never duplicates. Work is committed batch by batch, so an
interrupted import keeps what it did and a re-run finishes the rest. Prices and
stock are invented for the demo (the dataset has neither) and are set only when
a product is created, so a re-import never overwrites what a seller changed.
"""
import filecmp
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from fashionshop.db import refresh_planner_statistics
from main.images import card_thumbnail, card_upscale
from main.models import CatalogImport, FacetCount, Product
from main.services import recount_facets
from ml.styles_csv import RowError, read_styles
from seller_accounts.models import Seller

BATCH_SIZE = 2000
CATALOG_PHOTO_DIR = "products/catalog"
CATALOG_THUMB_DIR = "products/thumbs/catalog"

# The demo marketplace: who sells what. Chosen by master category so each
# store looks like a real shop rather than a random slice of the catalog.
DEMO_STORES = {
    "urban-threads": ("Urban Threads", "Apparel for men and boys."),
    "loom-and-lace": ("Loom & Lace", "Apparel for women and girls."),
    "stride-footwear": ("Stride Footwear", "Shoes, sandals and flip flops."),
    "accessory-hub": ("Accessory Hub", "Bags, watches, jewellery, eyewear and more."),
    "everyday-essentials": ("Everyday Essentials", "Personal care, unisex basics and everything else."),
}

# (low, high) price bands in whole currency units, by subCategory, then masterCategory.
PRICE_BANDS = {
    "Watches": (1499, 14999), "Bags": (599, 4999), "Jewellery": (199, 2999),
    "Eyewear": (499, 3999), "Shoes": (999, 6999), "Sandal": (499, 2999),
    "Flip Flops": (199, 999), "Innerwear": (199, 1299), "Socks": (99, 499),
    "Fragrance": (399, 3999), "Dress": (799, 3999), "Saree": (999, 7999),
}
MASTER_PRICE_BANDS = {
    "Apparel": (399, 2999), "Footwear": (699, 4999), "Accessories": (199, 2999),
    "Personal Care": (149, 1499),
}
DEFAULT_PRICE_BAND = (199, 1499)

# CSV column -> Product field, for the fields the catalog owns.
FIELD_MAP = {
    "productDisplayName": "name", "gender": "gender", "masterCategory": "master_category",
    "subCategory": "sub_category", "articleType": "article_type", "baseColour": "base_colour",
    "season": "season", "year": "year", "usage": "usage",
}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    photos_attached: int = 0
    without_photo: list = field(default_factory=list)  # skus with no photo in any folder
    errors: list = field(default_factory=list)
    skipped_unchanged_file: bool = False

    @property
    def rejected(self):
        return len(self.errors)


def _stable_int(text):
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def demo_price(sku, sub_category, master_category):
    low, high = PRICE_BANDS.get(sub_category) or MASTER_PRICE_BANDS.get(master_category, DEFAULT_PRICE_BAND)
    steps = (high - low) // 100
    # Prices end in 99, the way shops price.
    return Decimal(low // 100 * 100 + 100 * (_stable_int(sku) % (steps + 1)) + 99)


def demo_stock(sku):
    value = _stable_int("stock:" + sku) % 100
    return 0 if value < 4 else value % 40 + 1  # about 4% sold out


def demo_store_slug(row):
    master, gender = row["masterCategory"], row["gender"]
    if master == "Footwear":
        return "stride-footwear"
    if master == "Accessories":
        return "accessory-hub"
    if master == "Apparel" and gender in ("Men", "Boys"):
        return "urban-threads"
    if master == "Apparel" and gender in ("Women", "Girls"):
        return "loom-and-lace"
    return "everyday-essentials"


def ensure_demo_stores():
    """The demo sellers, created once; their users get passwords in create_demo_accounts."""
    users = get_user_model()
    stores = {}
    for slug, (name, description) in DEMO_STORES.items():
        seller = Seller.objects.filter(slug=slug).first()
        if seller is None:
            user, created = users.objects.get_or_create(username=f"seller-{slug}")
            if created:
                user.set_unusable_password()
                user.save()
            seller = Seller.objects.create(user=user, store_name=name, slug=slug, description=description)
        stores[slug] = seller
    return stores


def file_fingerprint(styles_path, images_dirs, limit):
    digest = hashlib.sha256()
    with open(styles_path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    for images_dir in images_dirs:
        photos = sorted(os.listdir(images_dir)) if os.path.isdir(images_dir) else []
        digest.update(f"{images_dir}\n".encode() + "\n".join(photos).encode())
    digest.update(f"limit={limit}".encode())
    return digest.hexdigest()


def catalog_photo_name(sku, rank, images_dir):
    """Storage name of a catalog photo: the best folder's keep the historic names."""
    if rank == 0:
        return f"{CATALOG_PHOTO_DIR}/{sku}.jpg"
    return f"{CATALOG_PHOTO_DIR}/{Path(images_dir).name}/{sku}.jpg"


def is_catalog_photo(name):
    return bool(name) and name.startswith(f"{CATALOG_PHOTO_DIR}/")


def _same_file(a, b):
    try:
        return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _place(source, target):
    """Hard-link (or copy) `source` to `target`; True if the target changed."""
    if target.exists() and _same_file(source, target):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)  # no second copy of the photos when on one disk
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return True


def _best_photo(sku, images_dirs, media_root, current):
    """(storage name or None, changed, problems): the best readable photo of `sku`.

    The folders are tried best first (the 180x240 photos, then the 60x80
    ones); an unreadable file is reported and the next folder tried.
    """
    problems = []
    for rank, images_dir in enumerate(images_dirs):
        source = Path(images_dir) / f"{sku}.jpg"
        if not source.is_file():
            continue
        name = catalog_photo_name(sku, rank, images_dir)
        target = Path(media_root) / name
        if name == current and target.exists() and _same_file(source, target):
            return name, False, problems
        try:
            with Image.open(source) as probe:
                probe.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            problems.append(f"photo {source} is unreadable ({exc})")
            continue
        replaced = _place(source, target)
        return name, replaced or name != current, problems
    if problems:
        problems[-1] += "; imported without a photo" if not current else "; kept the current photo"
    return None, False, problems


def _card_thumbnail(sku, photo_name, media_root, current, remake):
    """Storage name of a catalog photo's card thumbnail, made once.

    A photo at least the card's size is its own thumbnail; a smaller one (the
    60x80 photos) gets an enlarged copy, made when the photo changes
    (`remake`) or the copy is missing.
    """
    source = Path(media_root) / photo_name
    with Image.open(source) as image:
        if card_upscale(image.size) == 1.0:
            return photo_name
        name = f"{CATALOG_THUMB_DIR}/{sku}.jpg"
        target = Path(media_root) / name
        if name == current and target.exists() and not remake:
            return name
        data = card_thumbnail(image.convert("RGB"))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return name


def _catalog_values(row):
    values = {target: row[source] for source, target in FIELD_MAP.items()}
    values["name"] = values["name"][:255] or f"{row['baseColour']} {row['articleType']}".strip()
    return values


def import_catalog(styles_path, images_dirs=(), limit=None, force=False, progress=None):
    """Import styles.csv (and photos from images_dirs); return an ImportReport.

    `images_dirs`: photo folders, best first (one folder may be given as is).
    Each product gets the best photo found; a catalog photo is upgraded when a
    better one appears on a later run, a seller's own photo is never touched.
    `progress` is an optional callable wrapping an iterable (e.g. tqdm).
    """
    styles_path = Path(styles_path)
    if isinstance(images_dirs, (str, Path)):
        images_dirs = [images_dirs]
    images_dirs = [str(d) for d in images_dirs or ()]
    fingerprint = file_fingerprint(styles_path, images_dirs, limit)
    report = ImportReport()
    if not force and CatalogImport.objects.filter(
        fingerprint=fingerprint, finished_at__isnull=False
    ).exists():
        report.skipped_unchanged_file = True
        return report

    run = CatalogImport.objects.create(source=str(styles_path), fingerprint=fingerprint)
    stores = ensure_demo_stores()
    media_root = settings.MEDIA_ROOT
    seen = {}
    batch = []

    rows = read_styles(styles_path)
    if progress is not None:
        rows = progress(rows)
    for line, row, error in rows:
        if error is not None:
            report.errors.append(error)
            continue
        sku = row["id"]
        if sku in seen:
            report.errors.append(RowError(line, f"duplicate id {sku} (first seen on line {seen[sku]})"))
            continue
        seen[sku] = line
        batch.append((line, row))
        if len(batch) >= BATCH_SIZE:
            _import_batch(batch, stores, images_dirs, media_root, report)
            batch = []
        if limit and len(seen) >= limit:
            break
    if batch:
        _import_batch(batch, stores, images_dirs, media_root, report)
    recount_facets()  # bulk writes bypass the per-product recounts
    refresh_planner_statistics(Product, FacetCount)

    run.created, run.updated, run.unchanged = report.created, report.updated, report.unchanged
    run.photos_attached, run.rejected = report.photos_attached, report.rejected
    run.finished_at = timezone.now()
    run.save()
    return report


def _import_batch(batch, stores, images_dirs, media_root, report):
    skus = [row["id"] for _, row in batch]
    existing = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    to_create, to_update, updated_fields = [], [], {"updated_at"}
    now = timezone.now()
    for line, row in batch:
        sku = row["id"]
        values = _catalog_values(row)
        product = existing.get(sku)
        photo = thumbnail = None
        current = product.image.name if product is not None else ""
        if images_dirs and (not current or is_catalog_photo(current)):
            photo, changed_photo, problems = _best_photo(sku, images_dirs, media_root, current)
            report.errors.extend(RowError(line, f"id {sku}: {problem}") for problem in problems)
            if photo:
                thumbnail = _card_thumbnail(sku, photo, media_root,
                                            product.thumbnail.name if product else "", changed_photo)
            if not changed_photo:
                photo = None
            if not photo and not current and not problems:
                report.without_photo.append(sku)
        if product is None:
            product = Product(
                sku=sku, seller=stores[demo_store_slug(row)], created_at=now,
                price=demo_price(sku, row["subCategory"], row["masterCategory"]),
                stock=demo_stock(sku), **values,
            )
            if photo:
                product.image, product.thumbnail = photo, thumbnail
                report.photos_attached += 1
            to_create.append(product)
            continue
        changed = [name for name, value in values.items() if getattr(product, name) != value]
        for name in changed:
            setattr(product, name, values[name])
        if photo:
            product.image = photo
            changed.append("image")
            report.photos_attached += 1
        if thumbnail and thumbnail != product.thumbnail.name:
            product.thumbnail = thumbnail
            changed.append("thumbnail")
        if changed:
            product.updated_at = now
            to_update.append(product)
            updated_fields.update(changed)
        else:
            report.unchanged += 1
    with transaction.atomic():
        Product.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            # Only the columns that changed somewhere in the batch: a photo-only
            # upgrade of 30,000 products writes 3 columns, not 12.
            Product.objects.bulk_update(to_update, sorted(updated_fields), batch_size=500)
    report.created += len(to_create)
    report.updated += len(to_update)
