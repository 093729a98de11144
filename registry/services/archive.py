"""Archive and restore initiatives (and goals): the registry's soft delete.

Nothing leaves the portfolio through the admin or the API; an archived initiative drops out of
live views and change feeds report it as a tombstone. Both moves check the actor (the PMO, or
the integration that syncs the initiative; goals are the PMO's), lock the row, bump the
version in the database (so ETags and admin copies go stale) and record who did it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import permissions as rules
from registry.models import Goal, Initiative
from registry.permissions import Actor
from registry.services.errors import ForbiddenError
from registry.services.lifecycle import StaleVersionError


def _lock(initiative: Initiative, actor: Actor, expected_version: int | None) -> Initiative:
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version, expected_version=expected_version)
    # No user: the registry's own run (a command), which its operator answers for.
    if actor.user is not None and not rules.can_archive_initiative(actor.user, locked, actor.token):
        raise ForbiddenError(
            _("Only the PMO (or the integration that syncs it) archives or restores %(key)s.")
            % {"key": locked.key},
            code="permission_denied",
        )
    return locked


def _save_bumped(row: Any, fields: list[str]) -> None:
    """Save `fields` with the version raised by one in the database, and read it back."""
    row.version = F("version") + 1
    row.save(update_fields=[*fields, "version"])
    row.refresh_from_db(fields=["version"])


def _copy_back(initiative: Initiative, locked: Initiative, fields: list[str]) -> None:
    for field in fields:
        setattr(initiative, field, getattr(locked, field))


@transaction.atomic
def initiative_archive(
    *, initiative: Initiative, actor: Any = None, expected_version: int | None = None
) -> bool:
    """Archive an initiative; returns False (and changes nothing) if it already was."""
    actor = Actor.of(actor)
    locked = _lock(initiative, actor, expected_version)
    if locked.archived_at is not None:
        _copy_back(initiative, locked, ["archived_at", "archived_by_id", "version"])
        return False
    locked.archived_at = timezone.now()
    locked.archived_by = actor.login
    fields = ["archived_at", "archived_by", "updated_at"]
    if actor.login is not None:
        locked.updated_by = actor.login
        fields.append("updated_by")
    _save_bumped(locked, fields)
    fields.append("version")
    _copy_back(initiative, locked, [*fields, "archived_by_id", "updated_by_id"])
    return True


@transaction.atomic
def initiative_restore(
    *, initiative: Initiative, actor: Any = None, expected_version: int | None = None
) -> bool:
    """Bring an archived initiative back; returns False (and changes nothing) if it was live.

    Raises IntegrityError (`registry_initiative_unique_external_id`) when another live
    initiative has meanwhile taken its sync identity; the caller reports that.
    """
    actor = Actor.of(actor)
    locked = _lock(initiative, actor, expected_version)
    if locked.archived_at is None:
        _copy_back(initiative, locked, ["archived_at", "archived_by_id", "version"])
        return False
    locked.archived_at = None
    locked.archived_by = None
    fields = ["archived_at", "archived_by", "updated_at"]
    if actor.login is not None:
        locked.updated_by = actor.login
        fields.append("updated_by")
    _save_bumped(locked, fields)
    fields.append("version")
    _copy_back(initiative, locked, [*fields, "archived_by_id", "updated_by_id"])
    return True


# --- goals ------------------------------------------------------------------------------------


def _lock_goal(goal: Goal, actor: Actor, expected_version: int | None) -> Goal:
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version, expected_version=expected_version)
    if actor.user is not None and not rules.can_write_reference_data(actor.user):
        raise ForbiddenError(_("Goals are the PMO's."), code="permission_denied")
    return locked


@transaction.atomic
def goal_archive(*, goal: Goal, actor: Any = None, expected_version: int | None = None) -> bool:
    """Archive a goal; returns False (and changes nothing) if it already was.

    An archived goal leaves live lists and reports; alignments to it stop counting for
    alignment levels and gates, and feeds show it with `archived_at` set. Its code stays
    taken, so a restore brings back the same goal.
    """
    locked = _lock_goal(goal, Actor.of(actor), expected_version)
    if locked.archived_at is not None:
        _copy_back(goal, locked, ["archived_at", "version"])  # type: ignore[arg-type]
        return False
    locked.archived_at = timezone.now()
    fields = ["archived_at", "updated_at"]
    _save_bumped(locked, fields)
    fields.append("version")
    _copy_back(goal, locked, fields)  # type: ignore[arg-type]
    return True


@transaction.atomic
def goal_restore(*, goal: Goal, actor: Any = None, expected_version: int | None = None) -> bool:
    """Bring an archived goal back; returns False (and changes nothing) if it was live."""
    locked = _lock_goal(goal, Actor.of(actor), expected_version)
    if locked.archived_at is None:
        _copy_back(goal, locked, ["archived_at", "version"])  # type: ignore[arg-type]
        return False
    locked.archived_at = None
    fields = ["archived_at", "updated_at"]
    _save_bumped(locked, fields)
    fields.append("version")
    _copy_back(goal, locked, fields)  # type: ignore[arg-type]
    return True
