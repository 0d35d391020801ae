"""Writes to the catalog.

Every photo passes main.images.clean_upload before anything is written; files
written for a write that then fails are removed again, and files a write
replaces are removed only after the transaction commits.
"""
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from fashionshop.db import insert_hints
from main import facets
from main.images import CleanImage, clean_upload
from main.locks import lock_products
from main.models import FacetCount, Interaction, Product
from main.selectors import forget_taxonomy_values
from shop_ml.facade import photo_labels
from shop_ml.tasks import index_product_photo


def record_interaction(product, kind, user=None, session_key=""):
    """Remember that a shopper viewed, carted or bought a product (for recommendations)."""
    if user is not None and not user.is_authenticated:
        user = None
    interaction = Interaction(product=product, kind=kind, user=user, session_key=session_key or "")
    # A view is a hint for recommendations; carts and purchases wait for the disk.
    if kind == Interaction.Kind.VIEW:
        return insert_hints([interaction])[0]
    interaction.save()
    return interaction


PRODUCT_FIELDS = (
    "name", "description", "price", "stock", "gender", "master_category", "sub_category",
    "article_type", "base_colour", "season", "year", "usage", "is_active",
)
SKU_ATTEMPTS = 8
DELETED, DEACTIVATED = "deleted", "deactivated"


def new_listing_sku():
    """A sku for a listing made on the site: "L" and 10 random uppercase hex digits."""
    return "L" + secrets.token_hex(5).upper()


def _clean_photo(photo):
    if photo is None or isinstance(photo, CleanImage):
        return photo
    return clean_upload(photo)


def _store_photo(product, clean):
    """Write the re-encoded photo and thumbnail (random names); return the names written."""
    written = []
    product.image.save(clean.full.name, clean.full, save=False)
    written.append(product.image.name)
    product.thumbnail.save(clean.thumbnail.name, clean.thumbnail, save=False)
    written.append(product.thumbnail.name)
    return written


def _delete_files(names):
    """Delete photo files no listing refers to any more (imported listings may share one
    file as photo and thumbnail)."""
    storage = Product._meta.get_field("image").storage
    for name in set(filter(None, names)):
        if not Product.objects.filter(Q(image=name) | Q(thumbnail=name)).exists():
            storage.delete(name)


def recount_facets(combinations=None):
    """Recount the FacetCount rows of `combinations` (main.facets.combination values;
    None entries are skipped), or every row when none are given: after an import or a
    change made around main.services. Safe to re-run."""
    products = Product.objects.active()
    with transaction.atomic():
        if combinations is None:
            FacetCount.objects.all().delete()
            FacetCount.objects.bulk_create(
                (FacetCount(**row) for row in facets.count_combinations(products)), batch_size=2000)
        elif combinations := {values for values in combinations if values is not None}:
            rows = list(facets.count_combinations(products, combinations))
            emptied = combinations - {tuple(row[name] for name in facets.FIELDS) for row in rows}
            FacetCount.objects.filter(facets.combinations_q(emptied)).delete()
            FacetCount.objects.bulk_create(
                [FacetCount(**row) for row in rows], update_conflicts=True,
                unique_fields=["seller", *facets.FIELDS[1:]],
                update_fields=["products", "newest_photographed"])
    facets.catalog_changed()


def _counts_change(*combinations):
    """After commit, recount what the write moved products out of and into."""
    transaction.on_commit(lambda: recount_facets(combinations))


def _insert_with_new_sku(product):
    for _ in range(SKU_ATTEMPTS):
        product.sku = new_listing_sku()
        try:
            with transaction.atomic():
                product.save(force_insert=True)
            return product
        except IntegrityError:
            if not Product.objects.filter(sku=product.sku).exists():
                raise  # another constraint failed, not a sku collision
    raise IntegrityError(f"No free sku after {SKU_ATTEMPTS} attempts.")


def create_product(seller, data, photo=None):
    """List a new product for `seller`. `data` holds PRODUCT_FIELDS values; `photo` is an
    upload (or a CleanImage from clean_upload). Raises ValidationError and writes nothing
    if the data or the photo is refused."""
    clean = _clean_photo(photo)
    product = Product(seller=seller, **{f: data[f] for f in PRODUCT_FIELDS if f in data})
    product.full_clean(exclude=["sku", "image", "thumbnail"], validate_unique=False)
    written = []
    try:
        with transaction.atomic():
            if clean is not None:
                written = _store_photo(product, clean)
            _insert_with_new_sku(product)
            transaction.on_commit(forget_taxonomy_values)
            _counts_change(facets.combination(product))
            if clean is not None:
                # Into the visual-search index now, without waiting for a rebuild.
                index_product_photo.delay_on_commit(product.pk)
    except BaseException:
        _delete_files(written)
        raise
    return product


def update_product(product, data, photo=None):
    """Change the fields present in `data` (stock only if it is present, so a form that
    left stock alone never overwrites a checkout's decrement) and replace the photo if
    one is given. The old photo files are deleted after commit."""
    clean = _clean_photo(photo)
    changed = [f for f in PRODUCT_FIELDS if f in data]
    before = facets.combination(product)
    labels_before = photo_labels(product)
    for field in changed:
        setattr(product, field, data[field])
    product.full_clean(exclude=["sku", "image", "thumbnail"], validate_unique=False)
    old_files = [product.image.name, product.thumbnail.name] if clean is not None else []
    written = []
    try:
        with transaction.atomic():
            if "stock" in changed:
                lock_products([product.pk])
            if clean is not None:
                written = _store_photo(product, clean)
                changed += ["image", "thumbnail"]
            product.save(update_fields=changed + ["updated_at"])
            if old_files:
                transaction.on_commit(lambda: _delete_files(old_files))
            # The photo index ranks by the product's labels too: a new photo, or the
            # same photo under a new article type or colour, enters it again.
            if clean is not None or (product.image and photo_labels(product) != labels_before):
                index_product_photo.delay_on_commit(product.pk)
            transaction.on_commit(forget_taxonomy_values)
            _counts_change(before, facets.combination(product))
    except BaseException:
        _delete_files(written)
        raise
    return product


def delete_product(product):
    """Delete a listing, or deactivate it if orders refer to it (their history keeps the
    link). Returns DELETED or DEACTIVATED."""
    with transaction.atomic():
        _counts_change(facets.combination(product))
        if product.order_items.exists():
            product.is_active = False
            product.save(update_fields=["is_active", "updated_at"])
            return DEACTIVATED
        files = [product.image.name, product.thumbnail.name]
        product.delete()
        transaction.on_commit(lambda: _delete_files(files))
    return DELETED


def set_product_stock(product, stock):
    """Set the stock a seller counted (an absolute value), under the row lock."""
    if stock is None or int(stock) < 0:
        raise ValidationError("Stock cannot be negative.", code="stock")
    with transaction.atomic():
        lock_products([product.pk])
        Product.objects.filter(pk=product.pk).update(stock=int(stock), updated_at=timezone.now())
        transaction.on_commit(facets.catalog_changed)
    product.stock = int(stock)
    return product


def set_product_price(product, price):
    before = facets.combination(product)
    product.price = price
    product.full_clean(exclude=["sku", "image", "thumbnail"], validate_unique=False)
    with transaction.atomic():
        Product.objects.filter(pk=product.pk).update(price=price, updated_at=timezone.now())
        _counts_change(before, facets.combination(product))
    return product
