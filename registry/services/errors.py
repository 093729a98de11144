"""Refusals of the services, which every surface turns into its own answer.

A service raises one of these when a rule of the registry refuses the write; `field` names
the input it is about. The API answers `InvalidError` with 400, `ForbiddenError` with 403 and
`StateConflictError` with 409; the admin and the board pages show the message on the form.
"""

from __future__ import annotations

from typing import Any

from registry import permissions as rules
from registry.permissions import Actor


class RefusedError(Exception):
    """A write a rule refuses; `code` is stable for machines, the message is for people."""

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.field = field


class InvalidError(RefusedError):
    """The input breaks a rule (400)."""


class ForbiddenError(RefusedError):
    """The actor may not make this write (403)."""


class StateConflictError(RefusedError):
    """The stored state forbids the write: archived, closed, taken (409)."""


def require_pmo(actor: Any, message: str) -> None:
    """Refuse anyone but the PMO; no user is the registry's own run (a command), which its
    operator answers for."""
    user = Actor.of(actor).user
    if user is not None and not rules.is_pmo(user):
        raise ForbiddenError(message, code="permission_denied")
