"""Request helpers every app's views share."""
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
