"""Buyer accounts: sign-up, sign-in (merging the anonymous cart), profile, orders."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render, resolve_url
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import AddressForm, SignupForm
from cart import selectors as order_selectors
from cart.services import OrderNotCancellable, cancel_order, merge_session_cart


def _merge_cart(request, session_key, user):
    result = merge_session_cart(session_key, user)
    for note in result.adjusted:
        messages.warning(request, note)


def _next_url(request):
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


class LoginView(auth_views.LoginView):
    """Django's login, then the anonymous session cart is merged into the user's cart.

    login() rotates the session key, so the old key is read before it.
    """

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        session_key = self.request.session.session_key
        response = super().form_valid(form)
        _merge_cart(self.request, session_key, form.get_user())
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); redirects to LOGOUT_REDIRECT_URL."""


def signup(request):
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.create_buyer(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        session_key = request.session.session_key
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        _merge_cart(request, session_key, user)
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect(_next_url(request))
    return render(request, "accounts/signup.html", {"form": form, "next": request.GET.get("next", "")})


@login_required
def profile(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in AddressForm.Meta.fields}
        services.create_address(request.user, make_default=form.cleaned_data["make_default"], **data)
        messages.success(request, "Address added.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {
        "form": form,
        "addresses": selectors.addresses_for_user(request.user),
        "recent_orders": order_selectors.orders_for_buyer(request.user)[:3],
    })


@login_required
def address_edit(request, pk):
    address = selectors.address_for_user(request.user, pk)
    form = AddressForm(request.POST or None, instance=address,
                       initial={"make_default": address.is_default})
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in AddressForm.Meta.fields}
        # The form validated on a copy; reload so the service saves from a clean instance.
        address = selectors.address_for_user(request.user, pk)
        services.update_address(address, **data)
        if form.cleaned_data["make_default"]:
            services.set_default_address(address)
        messages.success(request, "Address saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_POST
def address_delete(request, pk):
    services.delete_address(selectors.address_for_user(request.user, pk))
    messages.success(request, "Address deleted.")
    return redirect("accounts:profile")


@login_required
@require_POST
def address_default(request, pk):
    services.set_default_address(selectors.address_for_user(request.user, pk))
    messages.success(request, "Default address updated.")
    return redirect("accounts:profile")


@login_required
def order_list(request):
    page = Paginator(order_selectors.orders_for_buyer(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "accounts/order_list.html", {"page_obj": page, "orders": page.object_list})


@login_required
def order_detail(request, number):
    order = order_selectors.order_for_buyer(request.user, number)
    return render(request, "accounts/order_detail.html", {
        "order": order, "can_cancel": order_selectors.order_is_cancellable(order),
    })


@login_required
@require_POST
def order_cancel(request, number):
    order = order_selectors.order_for_buyer(request.user, number)
    try:
        cancel_order(order, buyer=request.user)
    except OrderNotCancellable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Order {order.number} is cancelled.")
    return redirect(order.get_absolute_url())
