from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def purchasable(self):
        return self.filter(is_active=True, stock__gt=0)


class Product(models.Model):
    """A listing. The taxonomy fields hold the catalog's own values; the
    navigation tree is derived from them (main.selectors), never hard-coded.

    On PostgreSQL the table also has a `search_document` tsvector column, kept
    current by a trigger (migration 0005) and read by search.selectors."""

    seller = models.ForeignKey(
        "seller_accounts.Seller", on_delete=models.PROTECT, related_name="products"
    )
    sku = models.CharField(
        max_length=32, unique=True,
        help_text="The dataset id for imported products; generated for new listings.",
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    stock = models.PositiveIntegerField(default=0)
    gender = models.CharField(max_length=20)
    master_category = models.CharField(max_length=50)
    sub_category = models.CharField(max_length=50)
    article_type = models.CharField(max_length=50)
    base_colour = models.CharField(max_length=30, blank=True)
    season = models.CharField(max_length=20, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    usage = models.CharField(max_length=30, blank=True)
    image = models.ImageField(upload_to="products/", blank=True)
    thumbnail = models.ImageField(upload_to="products/thumbs/", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The default order, to the last column: an import gives thousands of products
            # the same created_at, and "newest first" then sorted them all for one page.
            models.Index(fields=["-created_at", "-id"], name="product_newest_first"),
            models.Index(fields=["gender", "sub_category", "article_type"]),
            models.Index(fields=["article_type"]),
            models.Index(fields=["base_colour"]),
            models.Index(fields=["price"]),
            models.Index(fields=["seller", "-created_at"]),
            # Covers the catalog dashboard's and the facets' GROUP BYs over active products.
            models.Index(fields=["gender", "master_category", "sub_category", "is_active", "stock"]),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="product_price_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.sku})"

    def get_absolute_url(self):
        return reverse("main:product_detail", args=[self.sku])

    @property
    def in_stock(self):
        return self.stock > 0


class Interaction(models.Model):
    """What shoppers do with products, kept for recommendations."""

    class Kind(models.TextChoices):
        VIEW = "view", "Viewed"
        ADD_TO_CART = "add_to_cart", "Added to cart"
        PURCHASE = "purchase", "Purchased"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="interactions",
    )
    session_key = models.CharField(max_length=40, blank=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["session_key", "-created_at"]),
            models.Index(fields=["product", "kind"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self):
        who = self.user_id or self.session_key or "anonymous"
        return f"{who} {self.kind} {self.product_id}"


class CatalogImport(models.Model):
    """One run of `import_catalog`, so an unchanged file is not imported twice."""

    source = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, db_index=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    photos_attached = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.source} at {self.started_at:%Y-%m-%d %H:%M}"


class FacetCount(models.Model):
    """How many active products share one combination of seller, facet values and price
    class (main/facets.py). Listings' facet counts and the taxonomy tree are sums over
    these rows. main.services recounts the combinations a write touches, after commit;
    `manage.py recount_facets` (and every catalog import) recounts them all."""

    seller = models.ForeignKey("seller_accounts.Seller", on_delete=models.CASCADE, related_name="+")
    gender = models.CharField(max_length=20)
    sub_category = models.CharField(max_length=50)
    article_type = models.CharField(max_length=50)
    base_colour = models.CharField(max_length=30, blank=True)
    season = models.CharField(max_length=20, blank=True)
    usage = models.CharField(max_length=30, blank=True)
    price_class = models.PositiveSmallIntegerField()
    products = models.PositiveIntegerField()
    # The newest of these products with a photo: a category's picture on the home page.
    newest_photographed = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "gender", "sub_category", "article_type", "base_colour", "season",
                        "usage", "price_class"],
                name="facet_count_one_row_per_combination",
            ),
        ]
        indexes = [models.Index(fields=["gender", "sub_category", "article_type"])]

    def __str__(self):
        return f"{self.gender}/{self.sub_category}/{self.article_type}: {self.products}"
