from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("sales/", views.sales, name="sales"),
    path("catalog/", views.catalog, name="catalog"),
    path("models/", views.model_health, name="models"),
    path("models/figures/<str:filename>", views.report_image, name="report_image"),
    path("registry/", views.registry, name="registry"),
    path("registry/serve/", views.serve_version, name="serve_version"),
    path("mislabels/", views.mislabels, name="mislabels"),
    path("mislabels/accept/", views.accept_mislabel, name="accept_mislabel"),
    path("seller/", views.seller_sales, name="seller_sales"),
]
