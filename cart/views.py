"""Thin views: parse the request, call a service or selector, render or redirect."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import addresses_for_user
from cart import selectors, services
from cart.forms import AddToCartForm, CheckoutForm, UpdateQuantityForm
from main.models import Product


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def detail(request):
    summary = selectors.cart_summary(selectors.get_cart(request))
    return render(request, "cart/detail.html", {"summary": summary})


@require_POST
def add(request, sku):
    product = get_object_or_404(Product, sku=sku)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_safe_next(request, product.get_absolute_url()))
    cart = services.get_or_create_cart(request)
    try:
        services.add_to_cart(cart, product, form.cleaned_data["quantity"], user=request.user,
                             session_key=request.session.session_key or "")
    except services.CartError as exc:
        messages.error(request, str(exc))
        return redirect(_safe_next(request, product.get_absolute_url()))
    messages.success(request, f"Added “{product.name}” to your cart.")
    return redirect(_safe_next(request, "cart:detail"))


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
        except services.CartError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Cart updated." if item else "Item removed from your cart.")
    return redirect("cart:detail")


@require_POST
def remove(request, item_id):
    cart = selectors.get_cart(request)
    try:
        if cart is None:
            raise services.CartError("That item is no longer in your cart.")
        services.remove_cart_item(cart, item_id)
    except services.CartError as exc:
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
            order = services.checkout(
                cart,
                payment_method=form.cleaned_data["payment_method"],
                address=form.chosen_address,
                new_address=form.new_address,
                card_number=form.cleaned_data.get("card_number"),
            )
        except services.CartError as exc:
            form.add_error(None, str(exc))
            summary = selectors.cart_summary(cart)
        else:
            return redirect("cart:confirmation", number=order.number)
    return render(request, "cart/checkout.html", {"form": form, "summary": summary})


@login_required
def confirmation(request, number):
    order = selectors.order_for_buyer(request.user, number)
    return render(request, "cart/confirmation.html", {"order": order})
