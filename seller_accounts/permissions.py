"""Who may use the vendor dashboard.

`seller_required` puts the signed-in user's Seller on `request.seller`:
- anonymous users are sent to the login page;
- signed-in users without a store are sent to onboarding (`on_missing="onboard"`,
  for dashboard pages) or answered 404 (`on_missing="404"`, for object pages and actions,
  so a URL never tells a buyer whether an object exists).
Objects are then looked up on querysets scoped to `request.seller`, so another
seller's product, order or line is a 404 as well.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect

from seller_accounts.selectors import seller_for_user


def seller_required(view=None, *, on_missing="onboard"):
    if on_missing not in ("onboard", "404"):
        raise ValueError("on_missing is 'onboard' or '404'")

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            seller = seller_for_user(request.user)
            if seller is None:
                if on_missing == "404":
                    raise Http404("No store for this account.")
                return redirect("seller_accounts:dashboard")
            request.seller = seller
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator
