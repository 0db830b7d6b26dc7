"""What Django answers itself (bad requests, 404s, uncaught errors): JSON under /api/, branded pages elsewhere.

Pages are rendered without the request, so no context processor touches the session or the database:
an error page must render while the database is down.
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Not found",
    413: "Request too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
DATABASE_RETRY_SECONDS = 30


def is_api(request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(request, status: int, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    page = render_to_string("error.html", {"status": status, "title": TITLES[status], "message": message})
    return HttpResponse(page, status=status)


def bad_request(request, exception):
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, f"the request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    return error_response(request, 400, "the request could not be understood")


def permission_denied(request, exception):
    return error_response(request, 403, "you are not allowed to do this")


def csrf_failure(request, reason=""):
    return error_response(request, 403, f"the form's CSRF check failed ({reason}); reload the page and try again")


def page_not_found(request, exception):
    # under /api/ in django-ninja's own words for its 404s, so clients see one shape
    return error_response(request, 404, "Not Found" if is_api(request) else "there is nothing at this address")


def server_error(request):
    # Django calls this inside its except block: the error at hand is sys.exc_info()'s.
    if isinstance(sys.exc_info()[1], DatabaseError):
        response = error_response(request, 503, "the database is unreachable; nothing was changed, try again shortly")
        response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response
    return error_response(request, 500, "an unexpected error; it has been logged")
