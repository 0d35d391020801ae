from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("", views.detail, name="detail"),
    path("add/<str:sku>/", views.add, name="add"),
    path("items/<int:item_id>/update/", views.update, name="update"),
    path("items/<int:item_id>/remove/", views.remove, name="remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:number>/thanks/", views.confirmation, name="confirmation"),
]
