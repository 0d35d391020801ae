from django import forms
from django.contrib import admin

from cart.models import Cart, CartItem, Order, OrderItem
from cart.pipeline import FULFILMENT_FLOW, PAYMENT_FLOW, IllegalTransition, set_line_fulfilment, set_line_payment


class OrderItemAdminForm(forms.ModelForm):
    """Staff edits go through the same pipelines as sellers' edits."""

    class Meta:
        model = OrderItem
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            for field, flow in (("fulfilment_status", FULFILMENT_FLOW),
                                ("payment_status", PAYMENT_FLOW)):
                before, after = self.initial.get(field), cleaned.get(field)
                if after and after != before:
                    try:
                        flow.check(before, after)
                    except IllegalTransition as exc:
                        self.add_error(field, str(exc))
        return cleaned


class CartItemInline(admin.TabularInline):
    model = CartItem
    raw_id_fields = ("product",)
    extra = 0


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "session_key", "updated_at")
    search_fields = ("user__username", "session_key")
    list_filter = ("updated_at",)
    raw_id_fields = ("user",)
    inlines = [CartItemInline]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    raw_id_fields = ("product", "seller")
    # Statuses change on the line's own page, through the order pipeline.
    readonly_fields = ("sku", "product_name", "unit_price", "quantity", "fulfilment_status", "payment_status")
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "buyer", "status", "payment_method", "total", "created_at")
    list_filter = ("status", "payment_method", "created_at")
    search_fields = ("number", "buyer__username", "buyer__email", "ship_full_name")
    raw_id_fields = ("buyer",)
    # The order status follows its lines (cart.pipeline.sync_order_status).
    readonly_fields = ("number", "status", "total", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    form = OrderItemAdminForm
    list_display = ("order", "product_name", "seller", "quantity", "unit_price",
                    "fulfilment_status", "payment_status")
    list_filter = ("fulfilment_status", "payment_status", "seller")
    search_fields = ("order__number", "sku", "product_name")
    list_select_related = ("order", "seller")
    raw_id_fields = ("order", "product", "seller")

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Status moves go through the pipeline, which restocks and refunds cancelled
        # lines and keeps the order's status in step with its lines.
        fulfilment, payment = obj.fulfilment_status, obj.payment_status
        obj.fulfilment_status = form.initial["fulfilment_status"]
        obj.payment_status = form.initial["payment_status"]
        super().save_model(request, obj, form, change)
        if fulfilment != obj.fulfilment_status:
            set_line_fulfilment(obj, fulfilment)
        # A cancellation may have refunded the line already.
        if payment != form.initial["payment_status"] and payment != obj.payment_status:
            set_line_payment(obj, payment)


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ("cart", "product", "quantity", "added_at")
    search_fields = ("product__sku", "product__name", "cart__user__username")
    list_select_related = ("cart", "product")
    raw_id_fields = ("cart", "product")
