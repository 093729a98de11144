"""History context: who changed what, through which channel.

django-pghistory records every row change with database triggers (so bulk writes are seen
too); this module attaches the actor, channel and request id to those events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pghistory
from django.http import HttpRequest, HttpResponse

from registry.choices import Channel


def actor_label(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return user.get_username()


def history_context(*, channel: str, actor: str = "", **extra: Any) -> pghistory.context:
    """Enter (or extend) the history context for the writes that follow."""
    return pghistory.context(channel=channel, actor=actor, **extra)


def channel_for_path(path: str) -> str:
    if path.startswith("/api/"):
        return Channel.API
    return Channel.ADMIN


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
