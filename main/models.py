from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

SEARCH_CONFIG = "english"


def product_search_vector():
    """The full-text document of a product, for PostgreSQL search.

    Migration 0003 builds a GIN index on this exact expression. PostgreSQL uses an
    expression index only for a query that repeats the expression, so change both
    together (a PostgreSQL test checks that the plan uses the index).
    """
    return (
        SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("article_type", "sub_category", weight="B", config=SEARCH_CONFIG)
        + SearchVector(
            "base_colour", "master_category", "gender", "usage", weight="C", config=SEARCH_CONFIG
        )
    )


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def purchasable(self):
        return self.filter(is_active=True, stock__gt=0)


class Product(models.Model):
    """A listing. The taxonomy fields hold the catalog's own values; the
    navigation tree is derived from them (main.selectors), never hard-coded."""

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
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
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
