from django.contrib import admin

from main.models import CatalogImport, Interaction, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "seller", "gender", "sub_category", "article_type",
                    "base_colour", "price", "stock", "is_active", "created_at")
    list_filter = ("is_active", "gender", "master_category", "sub_category", "season", "usage", "seller")
    search_fields = ("sku", "name", "article_type", "base_colour")
    list_editable = ("price", "stock", "is_active")
    list_select_related = ("seller",)
    raw_id_fields = ("seller",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False  # COUNT(*) over 41k rows on every filter change is wasted work


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "product", "user", "session_key")
    list_filter = ("kind",)
    search_fields = ("product__sku", "product__name", "user__username", "session_key")
    list_select_related = ("product", "user")
    raw_id_fields = ("product", "user")
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(CatalogImport)
class CatalogImportAdmin(admin.ModelAdmin):
    list_display = ("source", "started_at", "finished_at", "created", "updated", "unchanged",
                    "photos_attached", "rejected")
    search_fields = ("source", "fingerprint")
    list_filter = ("finished_at",)
    readonly_fields = [field.name for field in CatalogImport._meta.fields]
