"""Writing what hangs on an initiative: alignments, team roles, dependencies and notes.

Whoever may change an initiative (`registry.permissions.can_change_initiative`) writes its
parts, checked on the stored row and on the one the write moves it to; an archived
initiative is restored first. A dependency points only at an initiative the writer may see:
a confidential one outside their team does not exist for them (the same answer as an unknown
key). Marking an alignment primary demotes the previous one. Versions go up in the database.
The admin (pages and inlines) and the API write through `part_save` and `part_delete`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import permissions as rules
from registry.models import Alignment, Dependency, Initiative, Note, TeamRole
from registry.permissions import Actor
from registry.selectors.visibility import visible_initiatives
from registry.services.errors import ForbiddenError, InvalidError, StateConflictError

# The initiative whose write permission each part follows.
OWNING_INITIATIVE: dict[type[Model], str] = {
    Alignment: "initiative",
    TeamRole: "initiative",
    Dependency: "from_initiative",
    Note: "initiative",
}


def _initiative_refusal(actor: Actor, initiative: Initiative | None) -> Exception | None:
    if initiative is None:
        return None
    if initiative.archived_at is not None:
        return StateConflictError(
            _("%(key)s is archived; restore it first.") % {"key": initiative.key},
            code="archived",
        )
    if not rules.can_change_initiative(actor.user, initiative, actor.token):
        return ForbiddenError(
            _("You may not change %(key)s.") % {"key": initiative.key}, code="permission_denied"
        )
    return None


def part_refusal(
    *, actor: Actor, stored: Model | None, model: type[Model], data: Mapping[str, Any]
) -> Exception | None:
    """Why the actor may not write `data` over `stored` (None: a new row of `model`)."""
    if model is Note:
        return _note_refusal(actor, stored, data)
    path = OWNING_INITIATIVE[model]
    for initiative in (getattr(stored, path, None), data.get(path)):
        refusal = _initiative_refusal(actor, initiative)
        if refusal is not None:
            return refusal
    if model is Dependency:
        target = data.get("to_initiative")
        hidden = target is not None and not (
            visible_initiatives(actor.user).filter(pk=target.pk).exists()
        )
        if hidden:
            return InvalidError(
                _("No initiative with key '%(key)s'.") % {"key": target.key},
                code="does_not_exist",
                field="to_initiative",
            )
    return None


def _note_refusal(actor: Actor, stored: Model | None, data: Mapping[str, Any]) -> Exception | None:
    subject = {
        name: data.get(name, getattr(stored, name, None))
        for name in ("initiative", "goal", "review")
    }
    author_id = stored.author_id if stored is not None else getattr(actor.login, "pk", None)
    note = Note(pk=getattr(stored, "pk", None), author_id=author_id, **subject)
    initiative = subject["initiative"]
    if initiative is not None and initiative.archived_at is not None:
        return _initiative_refusal(actor, initiative)
    for checked in (stored, note):
        if checked is not None and not rules.can_write_note(actor.user, checked, actor.token):
            return ForbiddenError(
                _("Notes on goals and reviews are the PMO's; on an initiative, its writers'."),
                code="permission_denied",
            )
    return None


def _refuse(actor: Actor, stored: Model | None, model: type[Model], data: Mapping) -> None:
    refusal = part_refusal(actor=actor, stored=stored, model=model, data=data)
    if refusal is not None:
        raise refusal


@transaction.atomic
def part_save(*, actor: Actor, model: type[Model], part: Model | None, data: Mapping) -> Model:
    """Create a part of `model` from `data`, or change `part`; returns the stored row."""
    stored = None
    if part is not None and part.pk is not None:
        stored = model._default_manager.select_for_update().get(pk=part.pk)
    _refuse(actor, stored, model, data)
    row = stored if stored is not None else model()
    if model is Alignment and data.get("is_primary"):
        # One primary per initiative: the previous one is demoted in the same transaction.
        initiative = data.get("initiative") or row.initiative
        Alignment.objects.filter(initiative=initiative, is_primary=True).exclude(pk=row.pk).update(
            is_primary=False, version=F("version") + 1, updated_at=timezone.now()
        )
    for name, value in data.items():
        setattr(row, name, value)
    if model is Note and stored is None and row.author_id is None:
        row.author = actor.login
    versioned = stored is not None and hasattr(row, "version")
    if versioned:
        row.version = F("version") + 1
    row.save()
    if versioned:
        row.refresh_from_db(fields=["version"])
    return row


@transaction.atomic
def part_delete(*, actor: Actor, part: Model) -> None:
    """Delete a part (the PMO deletes notes; the rules of `part_save` otherwise)."""
    model = type(part)
    stored = model._default_manager.select_for_update().get(pk=part.pk)
    if model is Note and not rules.is_pmo(actor.user):
        raise ForbiddenError(_("Only the PMO deletes notes."), code="permission_denied")
    _refuse(actor, stored, model, {})
    stored.delete()
