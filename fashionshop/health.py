"""GET /healthz: is the database reachable, which ML artifacts are loaded, which version runs.

Anyone gets the status (a load balancer needs no more); the versions and the model
details go only to staff and to callers on this machine (Docker's HEALTHCHECK, an
operator's curl), since they tell an attacker which known bugs to try.
"""
import logging
from ipaddress import ip_address

from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from fashionshop import __version__
from fashionshop.http import client_address
from shop_ml import facade

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except DatabaseError as exc:
        log.error("health check: database unreachable: %s", exc)
        database = "unreachable"
        connection.close_if_unusable_or_obsolete()  # reconnect on the next request
    body = {"status": "ok" if database == "ok" else "error"}
    if request.user.is_staff or _from_this_machine(request):
        body.update({
            "version": __version__,
            "database": {"vendor": connection.vendor, "status": database},
            "models": facade.artifact_status(),
        })
    return JsonResponse(body, status=200 if database == "ok" else 503)


def _from_this_machine(request):
    try:
        return ip_address(client_address(request)).is_loopback
    except ValueError:
        return False
