"""Buyer accounts: sign-up, sign-in (merging the anonymous cart), profile and address book.

The buyer's orders are cart/views.py."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import AddressForm, SignupForm
from fashionshop.http import safe_next


def _after_sign_in(request, session_key, user):
    """Run settings.SIGN_IN_STEPS (the cart merges the anonymous cart) and show their notes.

    The steps are named in settings so that accounts, below the cart, imports no cart code.
    """
    for step in settings.SIGN_IN_STEPS:
        for note in import_string(step)(session_key, user):
            messages.warning(request, note)


class LoginView(auth_views.LoginView):
    """Django's login, then the sign-in steps (the cart merges the anonymous session cart).

    login() rotates the session key, so the old key is read before it.
    """

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        session_key = self.request.session.session_key
        response = super().form_valid(form)
        _after_sign_in(self.request, session_key, form.get_user())
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); redirects to LOGOUT_REDIRECT_URL."""


def signup(request):
    if request.user.is_authenticated:
        return redirect(safe_next(request, settings.LOGIN_REDIRECT_URL))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.create_buyer(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )
        session_key = request.session.session_key
        login(request, user, backend="accounts.backends.UserWithStoreBackend")
        _after_sign_in(request, session_key, user)
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect(safe_next(request, settings.LOGIN_REDIRECT_URL))
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


def _address_action(request, pk, write, done):
    """Apply `write` to one of the user's own addresses (anyone else's is a 404)."""
    write(selectors.address_for_user(request.user, pk))
    messages.success(request, done)
    return redirect("accounts:profile")


@login_required
@require_POST
def address_delete(request, pk):
    return _address_action(request, pk, services.delete_address, "Address deleted.")


@login_required
@require_POST
def address_default(request, pk):
    return _address_action(request, pk, services.set_default_address, "Default address updated.")
