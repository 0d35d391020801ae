"""Hostile bytes in every URL pattern and every parameter get a 4xx, never a 5xx.

The walk resolves every pattern from the urlconf (so a new view is covered the
day it is added), fills its path parameters with real objects' keys, then puts
each hostile value into one path parameter at a time, and into every form and
query parameter name the project knows, as GET and as POST, signed out and signed
in as a staff seller with an order. Run it on PostgreSQL too: PostgreSQL refuses
NUL in text, where SQLite quietly stores it.
"""
import importlib
import inspect
import json
from urllib.parse import quote_from_bytes

import pytest
from django.apps import apps
from django.conf import settings
from django.forms import BaseForm
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize

from main.selectors import FACETS
from tests.factories import (
    AddressFactory, CartItemFactory, OrderFactory, OrderItemFactory, ProductFactory, SellerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    # NUL and other control characters
    b"\x00", b"sku\x00", b"\x00\x00\x00' --", b"\x01\x02\x03", b"\x1b[2J", b"\x7f", b"\x08\x0b\x0c",
    b"name\r\nSet-Cookie: x=1",
    # invalid UTF-8: a lone byte, an overlong "/", a UTF-16 surrogate, a truncated sequence
    b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82",
    # overlong strings
    b"x" * 2000, "\U0001f457".encode() * 300,
    # tsquery and LIKE metacharacters
    b"a & b | !c", b"':* <-> (", b"!!!(((", b"%", b"_%\\", b"100%_[a-z]",
    # huge, negative and odd numbers
    b"-1", b"0", b"9" * 40, b"-" + b"9" * 40, b"1e309", b"NaN", b"-Infinity", b"0x7fffffff",
    # and the classics
    b"' OR 1=1 --", b"../../../etc/passwd", b"<script>alert(1)</script>", "\u202e\ufeff".encode(),
]

# Query and form names no form declares, read by views directly.
VIEW_PARAMETERS = {"next", "page", "fulfilment", "surface", "name", "version", "post", "action",
                   "_selected_action", "o", "e", "p", "all"}


def _encode(value):
    return quote_from_bytes(value, safe="")


def _form_parameter_names():
    """Every field name of every form class in the project's apps, plus the facets and the
    parameters views read themselves."""
    names = set(VIEW_PARAMETERS) | {param for _, param, _ in FACETS}
    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)):
            continue
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError:
            continue
        for _, form in inspect.getmembers(module, inspect.isclass):
            if issubclass(form, BaseForm):
                names |= set(form.base_fields)
    return sorted(names)


def _routes(resolver=None, prefix=""):
    """(format string, parameter names) for every URL pattern, as reverse() sees them."""
    for entry in (resolver or get_resolver()).url_patterns:
        regex = prefix + entry.pattern.regex.pattern.removeprefix("^")
        if isinstance(entry, URLResolver):
            yield from _routes(entry, regex)
        elif isinstance(entry, URLPattern):
            (format_string, params), = normalize(regex)[:1]
            yield "/" + format_string, params


@pytest.fixture
def world():
    """Real objects, so every path parameter but the hostile one points at something."""
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    seller = SellerFactory(user=user, slug="boss-store")
    product = ProductFactory(seller=seller)
    order = OrderFactory(buyer=user)
    line = OrderItemFactory(order=order, product=product, seller=seller)
    item = CartItemFactory(cart__user=user, product=product)
    address = AddressFactory(user=user)
    fill = {
        "sku": product.sku, "number": order.number, "line_id": line.pk, "item_id": item.pk,
        "pk": address.pk, "slug": seller.slug, "gender": product.gender,
        "sub_category": product.sub_category, "article_type": product.article_type,
        "app_label": "main", "object_id": product.pk,
    }
    return user, {name: _encode(str(value).encode()) for name, value in fill.items()}


def _send(client, user, method, path, query):
    if method == "GET":
        response = client.get(f"{path}?{query}" if query else path)
    else:
        response = client.post(path, query, content_type="application/x-www-form-urlencoded")
    if user is not None and not client.session.get("_auth_user_id"):
        client.force_login(user)  # a hostile POST to /accounts/logout/ signs out: sign back in
    return response


def test_hostile_values_are_twenty_or_more():
    assert len(HOSTILE) >= 20


ROUTES = list(_routes())
ROLES = ["anonymous", "staff"]


def test_the_walk_reaches_every_app():
    assert len(ROUTES) > 50 and len(_form_parameter_names()) > 30
    assert {route.split("/")[1] for route, _ in ROUTES} >= {
        "accounts", "sell", "api", "cart", "dashboards", "search", "p", "c", "admin", "healthz"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("format_string,params", ROUTES, ids=[route for route, _ in ROUTES])
def test_no_url_pattern_answers_5xx_to_hostile_input(world, role, format_string, params):
    user, fill = world
    if format_string.startswith("/admin/") and role == "anonymous":
        pytest.skip("every admin page sends a signed-out visitor to the login page")
    client = Client(raise_request_exception=False)
    who = None
    if role == "staff":
        client.force_login(user)
        who = user
    names = _form_parameter_names()
    base = {param: fill.get(param, "1") for param in params}
    failures = []

    def check(method, path, query, what):
        status = _send(client, who, method, path, query).status_code
        if status >= 500:
            failures.append(f"{method} {path[:80]} {what}: {status}")

    for value in HOSTILE:
        hostile = _encode(value)
        for param in params:
            path = format_string % {**base, param: hostile}
            for method in ("GET", "POST"):
                check(method, path, "", f"path {param}={value[:20]!r}")
        # Every known parameter at once; each both as an array and, last, as a scalar
        # (QueryDict.get() answers the last value), plus the name[] spelling.
        arrays = "&".join(f"{name}=1&{name}={hostile}&{name}%5B%5D={hostile}" for name in names)
        for method in ("GET", "POST"):
            check(method, format_string % base, arrays, f"parameters={value[:20]!r}")
    assert failures == []


@pytest.mark.parametrize("path", ["/", "/search/?q=shirt", "/p/1/"])
def test_a_control_character_in_a_cookie_is_refused(client, path):
    client.cookies[settings.SESSION_COOKIE_NAME] = "abc\x00defghijkl"
    assert client.get(path).status_code == 400


@pytest.mark.parametrize("url", [
    "/search/?q=shirt&colour=x%00", "/search/?q=%00", "/search/?colour%00=Blue", "/p/%00/",
    "/p/1%00/", "/c/Men%01/", "/accounts/orders/a%00/",
])
def test_control_characters_get_a_400_not_a_lookup(client, url):
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("number", ["9" * 20, "-" + "9" * 19])
def test_a_number_past_64_bits_in_a_choice_list_is_refused_not_a_500(client, number):
    # SQLite's driver raises OverflowError binding it; PostgreSQL finds no such group.
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.post(f"/admin/auth/user/{staff.pk}/change/",
                           {"username": "root", "groups": [number], "date_joined_0": "2026-01-01",
                            "date_joined_1": "00:00:00"})
    assert response.status_code in (200, 400)
    staff.refresh_from_db()
    assert staff.username == "root" and not staff.groups.exists()


def test_line_breaks_and_tabs_in_form_text_still_pass(client):
    # A description typed in a textarea has line breaks; only other control characters are refused.
    response = client.get("/search/?q=blue%0Ajeans%09men")
    assert response.status_code == 200


def test_json_api_refuses_hostile_shapes_with_json(client, world):
    user, _ = world
    client.force_login(user)
    for body in ({"name": ["a", "b"]}, {"name": {"$ne": 1}}, {"name": "a\x00b"}, {"name": "x" * 2000},
                 {"name": 9 ** 40}, ["name"], "name", {"name": "shirt", "model": ["cascade"]}):
        response = client.post("/api/categorize", json.dumps(body), content_type="application/json")
        assert response.status_code == 400 and "error" in response.json(), body
