from urllib.parse import unquote

from django.urls import path, register_converter

from main import views

app_name = "main"


class TaxonomyValueConverter:
    """One taxonomy value as one path segment. Sellers type these values freely, so a
    "/" (or "%") is escaped to stay inside its segment; reverse() percent-encodes the
    rest ("Track Pants" → Track%20Pants)."""

    regex = "[^/]+"

    def to_python(self, value):
        return unquote(value)

    def to_url(self, value):
        return value.replace("%", "%25").replace("/", "%2F")


register_converter(TaxonomyValueConverter, "taxon")

urlpatterns = [
    path("", views.home, name="home"),
    path("search/photo/", views.photo_search, name="photo_search"),
    # One view for every depth of the category tree; reverse() picks the entry by the
    # number of arguments.
    path("c/<taxon:gender>/", views.category, name="category"),
    path("c/<taxon:gender>/<taxon:sub_category>/", views.category, name="category"),
    path("c/<taxon:gender>/<taxon:sub_category>/<taxon:article_type>/", views.category, name="category"),
    path("p/<str:sku>/", views.product_detail, name="product_detail"),
    path("store/<slug:slug>/", views.seller_store, name="seller_store"),
]
