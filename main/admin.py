from django.contrib import admin

from main.facets import combination
from main.models import CatalogImport, FacetCount, Interaction, Product
from main.services import recount_facets


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

    # Staff edits go around main.services: recount the facet combinations they move.
    def save_model(self, request, obj, form, change):
        before = combination(Product.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        recount_facets([before, combination(obj)])

    def delete_model(self, request, obj):
        before = combination(obj)
        super().delete_model(request, obj)
        recount_facets([before])

    def delete_queryset(self, request, queryset):
        before = [combination(product) for product in queryset]
        super().delete_queryset(request, queryset)
        recount_facets(before)


@admin.register(FacetCount)
class FacetCountAdmin(admin.ModelAdmin):
    """Read only: main.services and `manage.py recount_facets` keep these rows."""

    list_display = ("gender", "sub_category", "article_type", "base_colour", "season", "usage",
                    "price_class", "seller", "products")
    list_filter = ("gender", "sub_category")
    search_fields = ("article_type", "base_colour")
    list_select_related = ("seller",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
