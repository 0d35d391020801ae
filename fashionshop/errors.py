"""Error pages: JSON under /api/ (scripts read the reason), Django's HTML pages elsewhere."""
from django.http import JsonResponse
from django.views import csrf, defaults

API_PREFIX = "/api/"


def _api_error(request, message, status):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": message}, status=status)
    return None


def bad_request(request, exception):
    return (_api_error(request, "Bad request.", 400)
            or defaults.bad_request(request, exception))


def permission_denied(request, exception):
    return (_api_error(request, "You may not do that.", 403)
            or defaults.permission_denied(request, exception))


def page_not_found(request, exception):
    return (_api_error(request, "Not found.", 404)
            or defaults.page_not_found(request, exception))


def server_error(request):
    return (_api_error(request, "Something went wrong on our side.", 500)
            or defaults.server_error(request))


def csrf_failure(request, reason=""):
    return (_api_error(request, "The CSRF token is missing or wrong; reload the page and try again.", 403)
            or csrf.csrf_failure(request, reason))
