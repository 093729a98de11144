"""Rate limits per API token (or per user for session clients), kept in the default cache.

With REDIS_URL set the cache is Redis, so the limit holds across all gunicorn workers and
hosts. The rate comes from REGISTRY_THROTTLE_USER (e.g. `1000/min`), read on each request
so tests and deployments can change it without re-importing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from registry.api.authentication import request_token


class ClientRateThrottle(SimpleRateThrottle):
    """One bucket per token, else per user; anonymous requests never get this far (401)."""

    scope = "client"

    def get_rate(self) -> str | None:
        return getattr(settings, "REGISTRY_THROTTLE_USER", None) or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        if token is not None:
            ident = f"token:{token.pk}"
        elif getattr(request.user, "is_authenticated", False):
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
