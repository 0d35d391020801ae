"""The JSON API, mounted at /api/ (the product form's live suggestions)."""
from django.urls import path

from seller_accounts import api

app_name = "api"

urlpatterns = [
    path("categorize", api.categorize, name="categorize"),
    path("categorize-photo", api.categorize_photo, name="categorize_photo"),
]
