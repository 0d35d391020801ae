from django.conf import settings
from django.db import models
from django.urls import reverse


class Seller(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller"
    )
    store_name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=110, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store_name"]

    def __str__(self):
        return self.store_name

    def get_absolute_url(self):
        return reverse("main:seller_store", args=[self.slug])
