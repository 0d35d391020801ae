import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

# Set in an anonymous shopper's session when their cart is made: pages skip the
# cart query for the many visitors who never add anything.
SESSION_HAS_CART = "has_cart"


class Cart(models.Model):
    """One per signed-in user, or one per anonymous session (merged at login)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="cart",
    )
    session_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(session_key__isnull=False),
                name="cart_has_owner",
            ),
        ]

    def __str__(self):
        return f"Cart of {self.user or self.session_key}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("main.Product", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="cart_item_unique_product"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="cart_item_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.product_id}"

    @property
    def line_total(self):
        return self.product.price * self.quantity


def new_order_number():
    return "FS-" + secrets.token_hex(4).upper()


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class PaymentMethod(models.TextChoices):
        TEST_CARD = "test_card", "Test card"
        CASH_ON_DELIVERY = "cod", "Cash on delivery"

    number = models.CharField(max_length=20, unique=True, default=new_order_number, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    payment_method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    # The address is copied, so editing an address book entry never rewrites history.
    ship_full_name = models.CharField(max_length=120)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_postcode = models.CharField(max_length=20)
    ship_country = models.CharField(max_length=60)
    ship_phone = models.CharField(max_length=30, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-created_at"])]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("accounts:order_detail", args=[self.number])

    def shipping_lines(self):
        return [line for line in (self.ship_full_name, self.ship_line1, self.ship_line2,
                                  f"{self.ship_city} {self.ship_postcode}", self.ship_country,
                                  self.ship_phone) if line]


class OrderItem(models.Model):
    class Fulfilment(models.TextChoices):
        PENDING = "pending", "Awaiting shipment"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class Payment(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "main.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_items"
    )
    seller = models.ForeignKey(
        "seller_accounts.Seller", on_delete=models.PROTECT, related_name="order_items"
    )
    # Snapshots: what the buyer saw and paid, whatever happens to the listing later.
    sku = models.CharField(max_length=32)
    product_name = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    fulfilment_status = models.CharField(
        max_length=20, choices=Fulfilment.choices, default=Fulfilment.PENDING
    )
    payment_status = models.CharField(max_length=20, choices=Payment.choices, default=Payment.PENDING)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["seller", "order"])]

    def __str__(self):
        return f"{self.quantity} × {self.product_name}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity
