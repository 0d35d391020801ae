"""Project-wide guarantees that no single view test can give."""
import re

import pytest
from django.conf import settings
from django.test import Client
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



TEMPLATE_DIRS = [settings.BASE_DIR / "templates", *settings.BASE_DIR.glob("*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def test_templates_hold_no_inline_script_the_policy_would_block():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for template in folder.rglob("*.html"):
            text = template.read_text()
            if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text):
                offenders.append(str(template.relative_to(settings.BASE_DIR)))
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/search/?q=shirt", "/accounts/login/", "/cart/", "/no-such-page/"])
def test_every_page_carries_a_content_security_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["style-src"]


@pytest.mark.django_db
def test_api_csrf_failure_answers_json(db):
    from tests.factories import UserFactory

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post("/api/categorize", {"name": "Blue jeans"})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json" and "CSRF" in response.json()["error"]
    # Outside /api/ a CSRF failure is still Django's page.
    assert "text/html" in client.post("/cart/checkout/")["Content-Type"]


@pytest.mark.django_db
@pytest.mark.parametrize("path,status", [("/api/no-such-endpoint", 404), ("/api/categorize?name=%00", 400)])
def test_api_errors_answer_json(client, path, status):
    response = client.get(path)
    assert response.status_code == status and "error" in response.json()
