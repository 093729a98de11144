"""Request body limit (OWASP API4): a body larger than REGISTRY_MAX_REQUEST_BYTES is refused
with 413 before anything reads it.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE guards `request.body` and form data, but DRF's JSON
parser reads the stream directly and never consults it, so the limit is checked here, on
the declared Content-Length (gunicorn never hands the application more bytes than that).
The default is sized so that a sync batch of 5,000 fully filled items fits.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def max_request_bytes() -> int:
    return int(getattr(settings, "REGISTRY_MAX_REQUEST_BYTES", 0) or 0)


def too_large_response(limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "type": "client_error",
            "errors": [
                {
                    "code": "request_too_large",
                    "detail": _(
                        "The request body is larger than %(limit)s bytes; send fewer items "
                        "per request."
                    )
                    % {"limit": limit},
                    "attr": None,
                }
            ],
        },
        status=413,
    )


class RequestSizeLimitMiddleware:
    """413 in the API's error shape for bodies over the limit (0 switches the check off)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max_request_bytes()
        if limit:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return too_large_response(limit)
        return self.get_response(request)
