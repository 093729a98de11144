"""Failed-login protection, by django-axes: the settings' callables and its handler.

django-axes records every failed login (`AccessAttempt`, listed in the admin under *Axes*,
reset with `manage.py axes_reset`, `axes_reset_username`, `axes_reset_ip`) and refuses a
locked-out login in the authentication backend, before the password is checked. The
registry keeps its two limits (REGISTRY_LOGIN_MAX_FAILURES per username,
REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS per client address, within
REGISTRY_LOGIN_LOCKOUT_SECONDS) and its answer (429 with Retry-After).

The username is normalised the way Django authenticates it (NFKC), then case-folded: a
hand-written cache lock keyed on the raw POST value let `ｓｅｃ-norole` (full-width letters)
go on guessing — and log in — after `sec-norole` was locked.
"""

from __future__ import annotations

import datetime
import unicodedata
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

# Where axes looks for the username: the admin's (and any) login form field.
USERNAME_FIELD = "username"


def normalised_username(value: Any) -> str:
    """The key a username's failures are counted under: NFKC (as Django's login form and
    `AbstractBaseUser.normalize_username` do), trimmed, case-folded, at most 150 characters.
    """
    return unicodedata.normalize("NFKC", str(value or "")).strip().casefold()[:150]


def login_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the normalised username of the credentials, else of the form."""
    if credentials and credentials.get(USERNAME_FIELD) is not None:
        return normalised_username(credentials[USERNAME_FIELD])
    data = getattr(request, "POST", None) or {}
    return normalised_username(data.get(USERNAME_FIELD, ""))


def client_address(request: HttpRequest) -> str:
    """AXES_CLIENT_IP_CALLABLE: the peer address. Forwarded-for headers are not read: a
    client could set them to spread its failures over invented addresses."""
    return str(request.META.get("REMOTE_ADDR") or "")


def failure_limit(request: HttpRequest | None = None, credentials: dict | None = None) -> int:
    """AXES_FAILURE_LIMIT: failures per username (LoginAttemptHandler adds the address's)."""
    return int(settings.REGISTRY_LOGIN_MAX_FAILURES)


def address_failure_limit() -> int:
    return int(settings.REGISTRY_LOGIN_MAX_FAILURES_PER_ADDRESS)


def lockout_window(request: HttpRequest | None = None) -> datetime.timedelta:
    """AXES_COOLOFF_TIME: failures older than this are forgotten, and a lock lasts this long
    after the last failure."""
    return datetime.timedelta(seconds=int(settings.REGISTRY_LOGIN_LOCKOUT_SECONDS))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After, in the reader's language."""
    seconds = int(lockout_window().total_seconds())
    response = HttpResponse(
        _("Too many failed logins. Try again in %(minutes)d minutes.")
        % {"minutes": max(seconds // 60, 1)},
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response


class LoginAttemptHandler(AxesDatabaseHandler):
    """axes' database handler with the registry's two limits.

    axes compares one count with one limit. With AXES_LOCKOUT_PARAMETERS = ["username",
    "ip_address"] it counts the failures of the username and of the address and would lock
    either at the same number; an office behind one address would then lock itself out after
    five typos. Here the count is the username's failures, or the username limit itself once
    the address has used up its own (larger) allowance.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        by_username, by_address = (
            attempts.values_list("failures_since_start", flat=True)
            for attempts in self.get_user_attempts(request, credentials)
        )
        username_failures = sum(by_username)
        if sum(by_address) >= address_failure_limit():
            return max(username_failures, failure_limit(request, credentials))
        return username_failures

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """A successful login clears its username's failures only: logging into an account
        of one's own must not clear the address's count of guesses at others."""
        username = get_client_username(request, credentials)
        count, _deleted = AccessAttempt.objects.filter(username=username).delete()
        return count


class LoginAttemptBackend(AxesStandaloneBackend):
    """axes' backend (first in AUTHENTICATION_BACKENDS: refuses a locked-out login before any
    password is checked). An authentication without a request — the test client's login(),
    a shell — has no client to count and is left to the next backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
