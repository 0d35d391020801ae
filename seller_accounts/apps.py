from django.apps import AppConfig


class SellerAccountsConfig(AppConfig):
    name = "seller_accounts"
    verbose_name = "Sellers"
