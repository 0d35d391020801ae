from django.contrib import admin

from accounts.models import Address


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("full_name", "user", "city", "postcode", "country", "is_default")
    search_fields = ("full_name", "user__username", "city", "postcode")
    list_filter = ("country", "is_default")
    raw_id_fields = ("user",)
