"""Password guessing is throttled on the shop and admin logins, by username and by address."""
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGINS = ["accounts:login", "admin:login"]


def _attempt(login, username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(reverse(login), {"username": username, "password": password})


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def _signed_in(response):
    return response.status_code == 302


@pytest.mark.parametrize("login", LOGINS)
def test_a_username_locks_after_the_limit_even_from_fresh_addresses(login, limit):
    user = UserFactory(is_staff=True)
    for n in range(limit - 1):
        assert _attempt(login, user.username, "wrong", address=f"10.0.1.{n}").status_code == 200
    # The guess that reaches the limit is answered with the lockout already.
    assert _attempt(login, user.username, "wrong", address="10.0.1.9").status_code == 429
    locked = _attempt(login, user.username, PASSWORD, address="10.0.2.1")
    assert locked.status_code == 429 and not _signed_in(locked)
    page = locked.content.decode()
    assert "Too many failed sign-ins" in page and user.username in page and "15 minutes" in page


@pytest.mark.parametrize("login", LOGINS)
def test_an_address_locks_after_the_limit_even_with_fresh_usernames(login, limit):
    user = UserFactory(is_staff=True)
    for n in range(limit):
        _attempt(login, f"guess{n}", "wrong", address="10.0.3.3")
    assert _attempt(login, user.username, PASSWORD, address="10.0.3.3").status_code == 429
    # Another address is not held back by this one's guessing.
    assert _signed_in(_attempt(login, user.username, PASSWORD, address="10.0.3.4"))


def test_below_the_limit_the_right_password_signs_in_and_clears_the_count(limit):
    user = UserFactory()
    for _ in range(limit - 1):
        _attempt("accounts:login", user.username, "wrong")
    assert _signed_in(_attempt("accounts:login", user.username, PASSWORD))
    for _ in range(limit - 1):
        _attempt("accounts:login", user.username, "wrong")
    assert _signed_in(_attempt("accounts:login", user.username, PASSWORD))


def test_staff_unlock_a_username_in_the_admin(client, limit):
    from axes.models import AccessAttempt

    user = UserFactory()
    for _ in range(limit):
        _attempt("accounts:login", user.username, "wrong")
    assert _attempt("accounts:login", user.username, PASSWORD).status_code == 429

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    attempts = list(AccessAttempt.objects.filter(username=user.username).values_list("pk", flat=True))
    assert attempts
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert user.username in client.get(changelist).content.decode()
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": attempts, "post": "yes"})
    assert response.status_code == 302
    assert _signed_in(_attempt("accounts:login", user.username, PASSWORD))


@pytest.mark.parametrize("login", LOGINS)
def test_an_overlong_username_is_refused_not_a_500(login):
    # The attempt is recorded under the first 255 characters (the column's size).
    from axes.models import AccessAttempt

    response = _attempt(login, "x" * 5000, "wrong")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "x" * 255
