from django.urls import path

from main import views

app_name = "main"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/photo/", views.photo_search, name="photo_search"),
    # One view for every depth of the category tree; reverse() picks the entry by the
    # number of arguments and percent-encodes values such as "Track Pants".
    path("c/<str:gender>/", views.category, name="category"),
    path("c/<str:gender>/<str:sub_category>/", views.category, name="category"),
    path("c/<str:gender>/<str:sub_category>/<str:article_type>/", views.category, name="category"),
    path("p/<str:sku>/", views.product_detail, name="product_detail"),
    path("store/<slug:slug>/", views.seller_store, name="seller_store"),
]
