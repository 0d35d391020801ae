from django.contrib import admin

from experiments import services
from experiments.models import Click, Experiment, Impression, SuggestionOutcome, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 2


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "is_active", "created_at")
    list_filter = ("is_active", "created_at")
    search_fields = ("key", "description")
    inlines = [VariantInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.forget_experiment_config(form.instance.key)
        if "key" in form.changed_data and form.initial.get("key"):
            services.forget_experiment_config(form.initial["key"])


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("experiment", "name", "weight", "is_control")
    list_filter = ("experiment", "is_control")
    search_fields = ("name", "experiment__key")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.forget_experiment_config(obj.experiment.key)


@admin.register(Impression)
class ImpressionAdmin(admin.ModelAdmin):
    list_display = ("id", "experiment", "variant", "surface", "sku", "position", "user", "created_at")
    list_filter = ("experiment", "surface", "created_at")
    search_fields = ("sku", "session_key", "user__username", "experiment__key")
    raw_id_fields = ("user",)
    list_select_related = ("experiment", "variant__experiment", "user")
    date_hierarchy = "created_at"


@admin.register(Click)
class ClickAdmin(admin.ModelAdmin):
    list_display = ("id", "impression", "created_at")
    list_filter = ("created_at",)
    search_fields = ("impression__sku", "impression__experiment__key")
    raw_id_fields = ("impression",)
    list_select_related = ("impression__variant__experiment",)


@admin.register(SuggestionOutcome)
class SuggestionOutcomeAdmin(admin.ModelAdmin):
    list_display = ("field", "suggested", "saved", "model_name", "product", "created_at")
    list_filter = ("field", "model_name", "created_at")
    search_fields = ("suggested", "saved", "product__sku", "product__name")
    raw_id_fields = ("product",)
    list_select_related = ("product",)
