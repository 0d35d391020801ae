"""Project-wide guarantees that no single view test can give."""
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver


def all_views(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from all_views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_csrf_protection_covers_every_view():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    views = list(all_views())
    assert len(views) > 50  # the walk really reached every app's urls
    exempt = [route for route, view in views if getattr(view, "csrf_exempt", False)]
    assert exempt == []

