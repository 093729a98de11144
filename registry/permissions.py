"""Who may see and change what: the roles of the registry, as plain functions.

Roles are Django groups created by a migration: PMO (all writes), contributor (writes to
initiatives they own or are accountable/responsible for), viewer (read only) and integration
(token-only; writes initiatives of its own source).
"""

from __future__ import annotations

from typing import Any

PMO = "PMO"
CONTRIBUTOR = "contributor"
VIEWER = "viewer"
INTEGRATION = "integration"
ROLE_GROUPS: tuple[str, ...] = (PMO, CONTRIBUTOR, VIEWER, INTEGRATION)


def group_names(user: Any) -> frozenset[str]:
    """The role groups of a user, read once per request object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_registry_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._registry_groups = cached
    return cached


def is_pmo(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or PMO in group_names(user)
