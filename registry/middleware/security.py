"""Browser-facing hardening: a Content-Security-Policy on every response, and a limit on
failed admin logins.

CSP: Django 5.2 has none built in. One static policy fits this project — no page needs an
inline script (the API docs use drf-spectacular's split Swagger view, whose start-up script
is a file) — so a few lines here replace the django-csp dependency and its configuration.
Inline styles stay allowed (`style-src 'unsafe-inline'`): the Swagger page and inline SVG
charts carry style attributes, and styles cannot run code.

Login limit: failures are counted per username and per client address in the default cache
(Redis with REDIS_URL, so every process shares the count). A cache counter needs no model,
migration or authentication backend, unlike django-axes; the admin login is the only
password form the registry has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    """Adds CONTENT_SECURITY_POLICY (and a restrictive Permissions-Policy) to responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


# --- admin login attempts -------------------------------------------------------------------


def _limits() -> tuple[int, int, int]:
    """(failures per username, failures per address, window in seconds)."""
    return (
        int(getattr(settings, "REGISTRY_LOGIN_MAX_FAILURES", 5)),
        int(getattr(settings, "REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS", 30)),
        int(getattr(settings, "REGISTRY_LOGIN_LOCKOUT_SECONDS", 900)),
    )


def _keys(request: HttpRequest | None, username: str) -> tuple[str, str]:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return (
        f"registry:login-failures:user:{(username or '').strip().lower()[:150]}",
        f"registry:login-failures:addr:{address}",
    )


def _increment(key: str, window: int) -> None:
    # add() then incr(): atomic in Redis, so concurrent failures are all counted.
    cache.add(key, 0, timeout=window)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)


def login_blocked(request: HttpRequest, username: str) -> bool:
    per_user, per_address, _window = _limits()
    user_key, address_key = _keys(request, username)
    counts = cache.get_many([user_key, address_key])
    return counts.get(user_key, 0) >= per_user or counts.get(address_key, 0) >= per_address


@receiver(user_login_failed, dispatch_uid="registry.middleware.security.count_login_failure")
def count_login_failure(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    _per_user, _per_address, window = _limits()
    for key in _keys(request, credentials.get("username", "")):
        _increment(key, window)


@receiver(user_logged_in, dispatch_uid="registry.middleware.security.reset_login_failures")
def reset_login_failures(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    cache.delete(_keys(request, user.get_username())[0])


class LoginRateLimitMiddleware:
    """Answers 429 to a login POST once the username or the address has failed too often."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == reverse("admin:login"):
            username = request.POST.get("username", "")
            if login_blocked(request, username):
                _per_user, _per_address, window = _limits()
                response = HttpResponse(
                    _("Too many failed logins. Try again in %(minutes)d minutes.")
                    % {"minutes": max(window // 60, 1)},
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(window)
                return response
        return self.get_response(request)
