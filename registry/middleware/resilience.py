"""When PostgreSQL is unreachable, answer 503 at once, in the one JSON error shape, with
Retry-After — and recover by itself when the database is back.

A lost or refused database connection is not a bug of the request: the client should retry,
and a load balancer should not count it as a server fault. Django reconnects on the next
request by itself (`CONN_HEALTH_CHECKS` drops a broken persistent connection), so nothing
has to be restarted. Only connection-level failures map to 503; anything else a database
says (a deadlock, a constraint) keeps its own handling.

Two entry points: `RegistryExceptionHandler` converts the error inside DRF views, and
`server_error` (the project's `handler500`) covers everything else — the admin, and a
session lookup in a middleware — with DEBUG off. `page_not_found` (handler404) keeps an API
URL that matches no route in the same JSON shape.
"""

from __future__ import annotations

import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions, status

# Seconds a client is asked to wait before retrying.
RETRY_AFTER_SECONDS = 5
# PostgreSQL SQLSTATEs that mean "no usable connection": class 08 (connection exception),
# admin/crash shutdown, starting up, too many connections.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
SERVER_ERROR_BODY = {
    "type": "server_error",
    "errors": [{"code": "error", "detail": "Server Error (500)", "attr": None}],
}


def is_database_unavailable(exc: BaseException | None) -> bool:
    """A failure to reach (or keep) a database connection, as opposed to an SQL error."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or broken
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The database is unavailable for a moment. Retry after a few seconds.")
    default_code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__()
        self.wait = RETRY_AFTER_SECONDS  # drf-standardized-errors sends it as Retry-After


def unavailable_response() -> JsonResponse:
    """The 503 answer outside DRF, in the API's error shape."""
    error = DatabaseUnavailable()
    response = JsonResponse(
        {
            "type": "server_error",
            "errors": [{"code": error.default_code, "detail": str(error.detail), "attr": None}],
        },
        status=error.status_code,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: an API URL that matches no route answers in the API's error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "type": "client_error",
                "errors": [{"code": "not_found", "detail": str(_("Not found.")), "attr": None}],
            },
            status=404,
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: 503 for an unreachable database, JSON for the API, Django's page else.

    Never a traceback: this runs only with DEBUG off, and says nothing about the error.
    """
    if is_database_unavailable(sys.exc_info()[1]):
        return unavailable_response()
    if request.path.startswith("/api/"):
        return JsonResponse(SERVER_ERROR_BODY, status=500)
    return defaults.server_error(request, *args, **kwargs)
