"""Groups the writes of one request under one history context: actor, channel, request id."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from registry.services.history import actor_label, channel_for_path, history_context


class HistoryContextMiddleware:
    """Groups a request's writes under one history context with its actor and request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.get_response(request)
        # Set by registry.middleware.observability's middleware (first in the stack) for every
        # request.
        request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        with history_context(
            channel=channel_for_path(request.path),
            actor=actor_label(user),
            request_id=request_id,
            url=request.path,
        ):
            response = self.get_response(request)
        response.setdefault("X-Request-ID", request_id)
        return response
