"""Browser-facing hardening: a Content-Security-Policy on every response. (Failed logins:
django-axes, configured in registry/middleware/logins.py.)

CSP: Django 5.2 has none built in. One static policy fits this project — no page needs an
inline script (the API docs use drf-spectacular's split Swagger view, whose start-up script
is a file) — so a few lines here replace the django-csp dependency and its configuration.
Inline styles stay allowed (`style-src 'unsafe-inline'`): the Swagger page and inline SVG
charts carry style attributes, and styles cannot run code.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

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
