from django.urls import path

from seller_accounts import views

app_name = "seller_accounts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("signup/", views.signup, name="signup"),
    path("start/", views.onboarding, name="onboarding"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<str:sku>/edit/", views.product_edit, name="product_edit"),
    path("products/<str:sku>/delete/", views.product_delete, name="product_delete"),
    path("products/<str:sku>/stock/", views.product_stock, name="product_stock"),
    path("products/<str:sku>/price/", views.product_price, name="product_price"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/lines/<int:line_id>/fulfilment/", views.line_fulfilment, name="line_fulfilment"),
    path("orders/<str:number>/lines/<int:line_id>/payment/", views.line_payment, name="line_payment"),
]
