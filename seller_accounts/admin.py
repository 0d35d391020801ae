from django.contrib import admin

from seller_accounts.models import Seller


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ("store_name", "slug", "user", "created_at")
    search_fields = ("store_name", "slug", "user__username", "user__email")
    list_filter = ("created_at",)
    prepopulated_fields = {"slug": ("store_name",)}
    raw_id_fields = ("user",)
