"""The role groups and the admin permissions each one holds, kept in sync after every migrate.

Syncing on `post_migrate` (rather than once in a data migration) means a new model's
permissions reach the roles with the migration that adds it, and a flushed test database
gets its groups back.
"""

from __future__ import annotations

from typing import Any

from registry.permissions import CONTRIBUTOR, INTEGRATION, PMO, VIEWER

VIEW = ("view",)
ALL = ("view", "add", "change", "delete")
DOMAIN_MODELS = (
    "vision",
    "proactivestance",
    "goal",
    "measurement",
    "department",
    "person",
    "system",
    "tag",
    "initiative",
    "alignment",
    "dependency",
    "teamrole",
    "note",
    "stagechange",
    "review",
    "reviewdecision",
)
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    PMO: {
        **dict.fromkeys(DOMAIN_MODELS, ALL),
        # Integration tokens and webhooks hold secrets: only the PMO manages them.
        "apitoken": ALL,
        "webhooksubscription": ALL,
        # The delivery log is written by the worker; "change" is the redeliver action.
        "webhookdelivery": ("view", "change"),
        # Everyone's saved views (registry.permissions.can_change_saved_view).
        "savedview": ALL,
        # Voice reviews are records: added, never changed or deleted.
        "voicereview": ("view", "add"),
        # Learnings are corrected, never deleted (the library keeps what was learned).
        "learning": ("view", "add", "change"),
    },
    CONTRIBUTOR: {
        **dict.fromkeys(DOMAIN_MODELS, VIEW),
        # Their own saved views; shared ones read-only (decided per object).
        "savedview": ALL,
        # Change their own; add: propose ideas (registry.permissions.can_propose_initiative).
        "initiative": ("view", "add", "change"),
        "alignment": ALL,
        "teamrole": ALL,
        "dependency": ALL,
        "note": ("view", "add", "change"),
        "voicereview": VIEW,
        "learning": ("view", "add", "change"),  # their initiatives' learnings
    },
    # The board reads the portfolio and keeps its own saved views.
    VIEWER: {
        **dict.fromkeys(DOMAIN_MODELS, VIEW),
        "savedview": ALL,
        "initiative": ("view", "add"),  # propose ideas
        "voicereview": VIEW,
        "learning": VIEW,
    },
    INTEGRATION: {},
}
# Permissions of other apps, as (app_label, codename). The admin's event browser
# (django-pghistory) shows every recorded change, confidential initiatives' too: PMO only.
# Failed logins (django-axes): the PMO sees them and lifts a lock by deleting its record.
OTHER_APP_PERMISSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    PMO: (
        ("pghistory", "view_events"),
        ("axes", "view_accessattempt"),
        ("axes", "delete_accessattempt"),
        ("axes", "view_accessfailurelog"),
        ("axes", "view_accesslog"),
    ),
}


def sync_role_groups(**kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (a post_migrate receiver)."""
    from django.contrib.auth.models import Group, Permission

    for role, grants in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        codenames = [f"{action}_{model}" for model, actions in grants.items() for action in actions]
        permissions = Permission.objects.filter(
            content_type__app_label="registry", codename__in=codenames
        )
        for app_label, codename in OTHER_APP_PERMISSIONS.get(role, ()):
            permissions |= Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(permissions)
