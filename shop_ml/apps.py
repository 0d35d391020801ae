from django.apps import AppConfig


class ShopMlConfig(AppConfig):
    name = "shop_ml"
    verbose_name = "Machine learning"
