"""Thin views: parse the request, call a service or selector, render or redirect."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import addresses_for_user
from cart import selectors, services
from cart.checkout import place_order
from cart.errors import CartError, OrderNotCancellable
from cart.forms import AddToCartForm, CheckoutForm, UpdateQuantityForm
from cart.pipeline import cancel_order
from fashionshop.http import safe_next
from main.models import Product

ORDERS_PER_PAGE = 20


def detail(request):
    summary = selectors.cart_summary(selectors.get_cart(request))
    return render(request, "cart/detail.html", {"summary": summary})


@require_POST
def add(request, sku):
    product = get_object_or_404(Product, sku=sku)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(safe_next(request, product.get_absolute_url()))
    cart = services.get_or_create_cart(request)
    try:
        services.add_to_cart(cart, product, form.cleaned_data["quantity"], user=request.user,
                             session_key=request.session.session_key or "")
    except CartError as exc:
        messages.error(request, str(exc))
        return redirect(safe_next(request, product.get_absolute_url()))
    messages.success(request, f"Added “{product.name}” to your cart.")
    return redirect(safe_next(request, "cart:detail"))


@require_POST
def update(request, item_id):
    cart = selectors.get_cart(request)
    form = UpdateQuantityForm(request.POST)
    if cart is None:
        messages.error(request, "That item is no longer in your cart.")
    elif not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            item = services.update_cart_item(cart, item_id, form.cleaned_data["quantity"])
        except CartError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Cart updated." if item else "Item removed from your cart.")
    return redirect("cart:detail")


@require_POST
def remove(request, item_id):
    cart = selectors.get_cart(request)
    try:
        if cart is None:
            raise CartError("That item is no longer in your cart.")
        services.remove_cart_item(cart, item_id)
    except CartError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Item removed from your cart.")
    return redirect("cart:detail")


@login_required
def checkout(request):
    cart = services.get_or_create_cart(request)
    summary = selectors.cart_summary(cart)
    if summary.is_empty:
        messages.info(request, "Your cart is empty.")
        return redirect("cart:detail")
    form = CheckoutForm(request.POST or None, addresses=addresses_for_user(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            order = place_order(
                cart,
                form.chosen_address,
                form.cleaned_data["payment_method"],
                new_address=form.new_address,
                card_number=form.cleaned_data.get("card_number"),
            )
        except CartError as exc:
            form.add_error(None, str(exc))
            summary = selectors.cart_summary(cart)
        else:
            return redirect("cart:confirmation", number=order.number)
    return render(request, "cart/checkout.html", {"form": form, "summary": summary})


@login_required
def confirmation(request, number):
    order = selectors.order_for_buyer(request.user, number)
    return render(request, "cart/confirmation.html", {"order": order})


# The buyer's orders. Their URLs stay under /accounts/orders/ in the "accounts"
# namespace (fashionshop/urls.py), where the profile links to them.

@login_required
def order_list(request):
    page = Paginator(selectors.orders_for_buyer(request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cart/order_list.html", {"page_obj": page, "orders": page.object_list})


@login_required
def order_detail(request, number):
    order = selectors.order_for_buyer(request.user, number)
    return render(request, "cart/order_detail.html", {
        "order": order, "can_cancel": selectors.order_is_cancellable(order),
    })


@login_required
@require_POST
def order_cancel(request, number):
    order = selectors.order_for_buyer(request.user, number)
    try:
        cancel_order(order, buyer=request.user)
    except OrderNotCancellable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Order {order.number} is cancelled.")
    return redirect(order.get_absolute_url())
