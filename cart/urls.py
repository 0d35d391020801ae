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

# The buyer's order pages keep their /accounts/orders/ paths and "accounts:" names:
# fashionshop/urls.py serves them in the accounts namespace.
buyer_order_urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order_cancel"),
]
