"""Archive and restore initiatives (and goals): the registry's soft delete.

Nothing leaves the portfolio through the admin or the API; an archived initiative drops out of
live views and change feeds report it as a tombstone. Both moves lock the row, bump the
version (so ETags and admin copies go stale) and record who did it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from registry.models import Goal, Initiative
from registry.services.lifecycle import StaleVersionError


def _is_user(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def _lock(initiative: Initiative, expected_version: int | None) -> Initiative:
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version)
    return locked


def _copy_back(initiative: Initiative, locked: Initiative, fields: list[str]) -> None:
    for field in fields:
        setattr(initiative, field, getattr(locked, field))


@transaction.atomic
def initiative_archive(
    *, initiative: Initiative, actor: Any = None, expected_version: int | None = None
) -> bool:
    """Archive an initiative; returns False (and changes nothing) if it already was."""
    locked = _lock(initiative, expected_version)
    if locked.archived_at is not None:
        _copy_back(initiative, locked, ["archived_at", "archived_by_id", "version"])
        return False
    locked.archived_at = timezone.now()
    locked.archived_by = actor if _is_user(actor) else None
    locked.version += 1
    fields = ["archived_at", "archived_by", "version", "updated_at"]
    if _is_user(actor):
        locked.updated_by = actor
        fields.append("updated_by")
    locked.save(update_fields=fields)
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
    locked = _lock(initiative, expected_version)
    if locked.archived_at is None:
        _copy_back(initiative, locked, ["archived_at", "archived_by_id", "version"])
        return False
    locked.archived_at = None
    locked.archived_by = None
    locked.version += 1
    fields = ["archived_at", "archived_by", "version", "updated_at"]
    if _is_user(actor):
        locked.updated_by = actor
        fields.append("updated_by")
    locked.save(update_fields=fields)
    _copy_back(initiative, locked, [*fields, "archived_by_id", "updated_by_id"])
    return True


# --- goals ------------------------------------------------------------------------------------


def _lock_goal(goal: Goal, expected_version: int | None) -> Goal:
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version)
    return locked


@transaction.atomic
def goal_archive(*, goal: Goal, expected_version: int | None = None) -> bool:
    """Archive a goal; returns False (and changes nothing) if it already was.

    An archived goal leaves live lists and reports; alignments to it stop counting for
    alignment levels and gates, and feeds show it with `archived_at` set. Its code stays
    taken, so a restore brings back the same goal.
    """
    locked = _lock_goal(goal, expected_version)
    if locked.archived_at is not None:
        _copy_back(goal, locked, ["archived_at", "version"])  # type: ignore[arg-type]
        return False
    locked.archived_at = timezone.now()
    locked.version += 1
    fields = ["archived_at", "version", "updated_at"]
    locked.save(update_fields=fields)
    _copy_back(goal, locked, fields)  # type: ignore[arg-type]
    return True


@transaction.atomic
def goal_restore(*, goal: Goal, expected_version: int | None = None) -> bool:
    """Bring an archived goal back; returns False (and changes nothing) if it was live."""
    locked = _lock_goal(goal, expected_version)
    if locked.archived_at is None:
        _copy_back(goal, locked, ["archived_at", "version"])  # type: ignore[arg-type]
        return False
    locked.archived_at = None
    locked.version += 1
    fields = ["archived_at", "version", "updated_at"]
    locked.save(update_fields=fields)
    _copy_back(goal, locked, fields)  # type: ignore[arg-type]
    return True
