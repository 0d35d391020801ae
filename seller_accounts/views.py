"""The vendor dashboard: thin views over seller-scoped selectors and the services."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cart.models import OrderItem
from cart.pipeline import FULFILMENT_FLOW, PAYMENT_FLOW, IllegalTransition
from experiments import services as experiments
from fashionshop.http import safe_next
from main import services as catalog
from main.selectors import taxonomy_datalists
from seller_accounts import selectors, services
from seller_accounts.forms import (
    FulfilmentForm, OnboardingForm, PaymentForm, PriceForm, ProductFilterForm, ProductForm,
    SellerSignupForm, StockForm,
)
from seller_accounts.permissions import seller_required

PRODUCTS_PER_PAGE = 50
ORDERS_PER_PAGE = 25


def _is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def _error_text(exc):
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


# Onboarding ------------------------------------------------------------------

def dashboard(request):
    """Anonymous: the "Sell with us" page. Buyer: open a store. Seller: the overview."""
    if not request.user.is_authenticated:
        return render(request, "seller_accounts/landing.html")
    seller = selectors.seller_for_user(request.user)
    if seller is None:
        return render(request, "seller_accounts/onboarding.html", {"form": OnboardingForm()})
    summary = selectors.seller_dashboard_summary(seller)
    return render(request, "seller_accounts/dashboard.html", {"seller": seller, "section": "overview", **summary})


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("seller_accounts:dashboard")
    form = SellerSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, seller = services.create_seller_account(
                username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"], store_name=form.cleaned_data["store_name"],
            )
        except ValidationError as exc:
            form.add_error("store_name", exc)
        else:
            login(request, user, backend="accounts.backends.UserWithStoreBackend")
            messages.success(request, f"Welcome! Your store “{seller.store_name}” is open. Add your first product.")
            return redirect("seller_accounts:dashboard")
    return render(request, "seller_accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def onboarding(request):
    if selectors.seller_for_user(request.user) is not None:
        return redirect("seller_accounts:dashboard")
    form = OnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            seller = services.create_seller(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("store_name", exc)
        else:
            messages.success(request, f"Your store “{seller.store_name}” is open. Add your first product.")
            return redirect("seller_accounts:dashboard")
    return render(request, "seller_accounts/onboarding.html", {"form": form})


# Products --------------------------------------------------------------------

@seller_required
def product_list(request):
    seller = request.seller
    filter_form = ProductFilterForm(request.GET or None, article_types=selectors.seller_article_types(seller))
    products = selectors.seller_product_search(seller, **filter_form.filters())
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "seller_accounts/product_list.html", {
        "seller": seller, "section": "products", "filter_form": filter_form, "page": page,
        "low_stock_threshold": selectors.LOW_STOCK_THRESHOLD,
    })


def _record_suggestion_outcomes(form, product):
    """Count which of the suggestions the page showed the seller kept, per field, for the
    model dashboard and retraining. The saved listing is what it is either way."""
    shown = form.cleaned_data["suggestions"]
    if shown:
        saved = {field: getattr(product, field) for field in shown["fields"]}
        experiments.record_suggestion_outcomes(product, shown["fields"], saved, shown["model"])


def _product_form_page(request, form, product=None):
    return render(request, "seller_accounts/product_form.html", {
        "seller": request.seller, "section": "products", "form": form, "product": product,
    })


def _save_listing(request, form, save, done):
    """The create/edit flow after a POST: `save()` the valid form's listing, record which
    suggestions were kept and redirect with `done(product)`; None (errors on the form)
    when there is nothing to save or the service refused it."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        product = save()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    _record_suggestion_outcomes(form, product)
    messages.success(request, done(product))
    return redirect("seller_accounts:product_list")


@seller_required
@require_http_methods(["GET", "POST"])
def product_create(request):
    datalists = taxonomy_datalists()
    form = ProductForm(request.POST or None, request.FILES or None, datalists=datalists)
    saved = _save_listing(
        request, form,
        lambda: catalog.create_product(request.seller, form.product_data(), photo=form.cleaned_data["photo"]),
        lambda product: f"“{product.name}” is listed as {product.sku}.")
    return saved or _product_form_page(request, form)


@seller_required(on_missing="404")
@require_http_methods(["GET", "POST"])
def product_edit(request, sku):
    product = get_object_or_404(selectors.seller_products(request.seller), sku=sku)
    form = ProductForm(request.POST or None, request.FILES or None, instance=product,
                       datalists=taxonomy_datalists())
    saved = _save_listing(
        request, form,
        lambda: catalog.update_product(product, form.product_data(), photo=form.cleaned_data["photo"]),
        lambda product: f"“{product.name}” is saved.")
    if saved:
        return saved
    if request.method == "POST":
        # Validation wrote the refused values onto the instance; show the stored ones.
        product = selectors.seller_products(request.seller).get(pk=product.pk)
    return _product_form_page(request, form, product)


@seller_required(on_missing="404")
@require_http_methods(["GET", "POST"])
def product_delete(request, sku):
    product = get_object_or_404(selectors.seller_products(request.seller), sku=sku)
    has_orders = product.order_items.exists()
    if request.method == "POST":
        name = product.name
        outcome = catalog.delete_product(product)
        if outcome == catalog.DEACTIVATED:
            messages.info(request, f"“{name}” appears in orders, so it was unlisted instead of deleted; "
                                   "the order history keeps it.")
        else:
            messages.success(request, f"“{name}” was deleted.")
        return redirect("seller_accounts:product_list")
    return render(request, "seller_accounts/product_confirm_delete.html", {
        "seller": request.seller, "section": "products", "product": product, "has_orders": has_orders,
    })


def _quick_edit(request, sku, form_class, write, label):
    product = get_object_or_404(selectors.seller_products(request.seller), sku=sku)
    form = form_class(request.POST)
    error = ""
    if form.is_valid():
        value = next(iter(form.cleaned_data.values()))
        try:
            write(product, value)
        except ValidationError as exc:
            error = _error_text(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if _is_htmx(request):
        product = selectors.seller_products(request.seller).get(pk=product.pk)
        return render(request, "seller_accounts/_product_row.html", {
            "product": product, "row_error": error, "row_saved": "" if error else label,
            "low_stock_threshold": selectors.LOW_STOCK_THRESHOLD,
        })
    if error:
        messages.error(request, f"{product.sku}: {error}")
    else:
        messages.success(request, f"{product.sku}: {label} saved.")
    return redirect(safe_next(request, reverse("seller_accounts:product_list")))


@seller_required(on_missing="404")
@require_POST
def product_stock(request, sku):
    return _quick_edit(request, sku, StockForm, catalog.set_product_stock, "stock")


@seller_required(on_missing="404")
@require_POST
def product_price(request, sku):
    return _quick_edit(request, sku, PriceForm, catalog.set_product_price, "price")


# Orders ----------------------------------------------------------------------

@seller_required
def order_list(request):
    seller = request.seller
    fulfilment = request.GET.get("fulfilment", "")
    if fulfilment not in OrderItem.Fulfilment.values:
        fulfilment = ""
    orders = selectors.seller_orders(seller, fulfilment=fulfilment)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "seller_accounts/order_list.html", {
        "seller": seller, "section": "orders", "page": page, "fulfilment": fulfilment,
        "fulfilment_choices": OrderItem.Fulfilment.choices,
    })


def _targets(choices, flow, current):
    allowed = flow.allowed(current)
    return [(value, label) for value, label in choices.choices if value in allowed]


@seller_required(on_missing="404")
def order_detail(request, number):
    order = get_object_or_404(selectors.seller_orders(request.seller), number=number)
    for line in order.seller_lines:
        # The moves the pipelines allow from here, in the order the choices are declared.
        line.fulfilment_targets = _targets(OrderItem.Fulfilment, FULFILMENT_FLOW, line.fulfilment_status)
        line.payment_targets = _targets(OrderItem.Payment, PAYMENT_FLOW, line.payment_status)
    return render(request, "seller_accounts/order_detail.html", {
        "seller": request.seller, "section": "orders", "order": order,
    })


def _line_action(request, number, line_id, form_class, write, what):
    line = get_object_or_404(selectors.seller_order_lines(request.seller), pk=line_id, order__number=number)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose a valid {what} status.")
    else:
        status = form.cleaned_data["status"]
        try:
            write(request.seller, line, status)
        except (IllegalTransition, ValidationError) as exc:
            messages.error(request, f"{line.product_name}: {_error_text(exc)}")
        else:
            messages.success(request, f"{line.product_name}: {what} is now “{form_class.label(status)}”.")
    return redirect("seller_accounts:order_detail", number=line.order.number)


@seller_required(on_missing="404")
@require_POST
def line_fulfilment(request, number, line_id):
    return _line_action(request, number, line_id, FulfilmentForm, services.update_line_fulfilment, "fulfilment")


@seller_required(on_missing="404")
@require_POST
def line_payment(request, number, line_id):
    return _line_action(request, number, line_id, PaymentForm, services.update_line_payment, "payment")
