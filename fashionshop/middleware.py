"""Turn a lost database into a clean 503; refuse control characters, and numbers the
database cannot hold, with a 400."""
import logging
import re

from django.core.exceptions import BadRequest
from django.db import connections
from django.db.utils import InterfaceError, OperationalError
from django.template.response import SimpleTemplateResponse

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        log.error("database unavailable during %s %s: %s", request.method, request.path, exception)
        # Drop the broken connections now so the next request reconnects.
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
        response = SimpleTemplateResponse("503.html", status=503)
        response["Retry-After"] = "5"
        return response


class RefuseOverflowingNumbersMiddleware:
    """400 when a number from the request is too large for the database to bind.

    SQLite's driver raises OverflowError for an integer past 64 bits, and Django's
    forms do not catch it (a ModelMultipleChoiceField's "__in" check, in the admin's
    user page for one); PostgreSQL compares such a number and finds nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OverflowError) and _raised_binding_a_query(exception):
            raise BadRequest("A number in the request is too large.") from exception
        return None


def _raised_binding_a_query(exception):
    frame = exception.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return "/django/db/backends/" in frame.tb_frame.f_code.co_filename


# C0 controls and DEL. Text fields may hold tabs and line breaks; nothing else has a use,
# and PostgreSQL refuses NUL outright (a 500 deep in a query instead of a clear 400).
_CONTROL = "".join(map(chr, [*range(0x20), 0x7F]))
_TEXT_WHITESPACE = "\t\n\r"
_CONTROL_IN_NAMES = re.compile(f"[{re.escape(_CONTROL)}]")
_CONTROL_IN_VALUES = re.compile(f"[{re.escape(''.join(set(_CONTROL) - set(_TEXT_WHITESPACE)))}]")


class RefuseControlCharactersMiddleware:
    """400 for a control character in the path, a parameter name or value, or a cookie.

    One place for every URL pattern and parameter, before any view, session or
    query sees the text. The form body is only inspected for form content types
    (request.POST is empty otherwise); JSON bodies go through forms whose CharFields
    refuse NUL themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _CONTROL_IN_NAMES.search(request.path_info):
            raise BadRequest("The address contains a control character.")
        cookies = ((name, [value]) for name, value in request.COOKIES.items())
        for where, items in (("query", request.GET.lists()), ("form", request.POST.lists()), ("cookie", cookies)):
            for name, values in items:
                if _CONTROL_IN_NAMES.search(name) or any(_CONTROL_IN_VALUES.search(v) for v in values):
                    raise BadRequest(f"A {where} parameter contains a control character.")
        return self.get_response(request)
