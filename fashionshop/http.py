"""Request helpers every app's views share."""
from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, fallback):
    """The `next` the request asks for (POST, then GET) if it stays on this site, else `fallback`.

    `fallback` may be a URL or a URL name; pass the result to `redirect()`. Only a path from
    the site's root is taken: redirect() would try any other bare word as a URL name.
    """
    target = request.POST.get("next") or request.GET.get("next")
    if target and target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def client_address(request):
    """The caller's address: the first of settings.CLIENT_IP_HEADERS the request carries.

    Behind nginx that is the X-Real-IP nginx sets; without a proxy only REMOTE_ADDR may be
    trusted, or a guesser could claim a fresh address per attempt. The login throttle
    (django-axes) and the photo-search limit both read it here.
    """
    for header in settings.CLIENT_IP_HEADERS:
        value = request.META.get(header, "").strip()
        if value:
            return value
    return None  # e.g. force_login's bare request


def login_username(request, credentials):
    """The username django-axes records for a login attempt, cut to its column (255
    characters). No real username is that long (150 at most), and PostgreSQL would refuse
    to store a longer one, turning a guess into a 500."""
    name = (credentials or {}).get("username") or request.POST.get("username") or ""
    return name[:255]
