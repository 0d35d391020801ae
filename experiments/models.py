"""A/B tests of the recommenders, and what sellers did with category suggestions.

Assignment to a variant is computed from a hash (experiments.services), so it
is never stored: an Impression records which variant a shopper saw, and a Click
which impression they followed.
"""
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class Experiment(models.Model):
    key = models.SlugField(
        max_length=50, unique=True,
        help_text="Used in code and in the assignment hash: renaming it reshuffles everyone.",
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive experiments assign nobody; callers use their default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.key


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(
        max_length=30,
        validators=[RegexValidator(r"^[a-z0-9_-]+$", "Lower-case letters, digits, - and _.")],
        help_text="Passed to the recommender, e.g. content or hybrid.",
    )
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Relative share of shoppers; 0 stops new assignments to it.",
    )
    is_control = models.BooleanField(
        default=False, help_text="The baseline the other variants are compared with.",
    )

    class Meta:
        ordering = ["experiment", "-is_control", "name"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name"),
        ]

    def __str__(self):
        return f"{self.experiment.key}:{self.name}"


class Impression(models.Model):
    """One recommended product shown at one position of one widget."""

    class Surface(models.TextChoices):
        SIMILAR = "similar", "Similar products"
        VISUAL = "visual", "Visually similar"
        FOR_YOU = "for_you", "For you"
        ALSO_BOUGHT = "also_bought", "Also bought"

    # PROTECT: an experiment's results are its history; stop one by deactivating it.
    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="impressions")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="impressions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    session_key = models.CharField(max_length=40, blank=True)
    # The sku, not a foreign key: recording stays one INSERT with no product lookup,
    # and the history survives a deleted listing.
    sku = models.CharField(max_length=32)
    position = models.PositiveSmallIntegerField()
    surface = models.CharField(max_length=20, choices=Surface.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["experiment", "variant"]),
            models.Index(fields=["surface", "created_at"]),
        ]

    def __str__(self):
        return f"{self.variant} {self.surface} #{self.position} {self.sku}"


class Click(models.Model):
    """A followed impression; one per impression so a click-through rate stays a proportion."""

    impression = models.OneToOneField(Impression, on_delete=models.CASCADE, related_name="click")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"click on {self.impression_id}"


class SuggestionOutcome(models.Model):
    """For one field of one saved listing: what the categorizer suggested and what the seller kept."""

    product = models.ForeignKey(
        "main.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    field = models.CharField(max_length=30)
    suggested = models.CharField(max_length=100)
    saved = models.CharField(max_length=100)
    model_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["field", "created_at"])]

    def __str__(self):
        return f"{self.field}: {self.suggested} → {self.saved}"

    @property
    def overridden(self):
        return self.suggested != self.saved
