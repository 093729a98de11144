"""Registering and editing initiatives: the one place their write rules live.

The admin's change form, the API and sync all write through here (sync per batch, asking
`initiative_write_refusal` for each item). The rules, each refused with the field it is about:

- an archived initiative is restored before it changes (409);
- who changes an initiative at all: `registry.permissions.can_change_initiative`;
- the sync identity (source, external id) is the PMO's, or an integration's for its source;
- handing the initiative to an owner or lead department outside the writer's own department
  is the PMO's (an integration for its own source may);
- confidentiality is the PMO's to change: clearing it publishes the initiative, setting it
  hides it from everyone outside its team.

Each write locks the row, checks the caller's version (If-Match, the admin's loaded version),
bumps the version in SQL (`version = version + 1`) and is recorded by the database's history
triggers under the caller's history context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import permissions as rules
from registry.models import INITIATIVE_MANY_FIELDS, Initiative, Person
from registry.permissions import Actor
from registry.services import lifecycle
from registry.services.errors import ForbiddenError, RefusedError, StateConflictError
from registry.services.lifecycle import StaleVersionError

IDENTITY_FIELDS = ("source", "external_id")


def _value(initiative: Initiative | None, name: str) -> Any:
    """The stored value as the rules compare it: ids for relations (read without a query
    for one-to-many ones, which sync checks for thousands of items)."""
    if initiative is None:
        return [] if name in INITIATIVE_MANY_FIELDS else None
    if name in INITIATIVE_MANY_FIELDS:
        return sorted(getattr(initiative, name).values_list("pk", flat=True))
    field = Initiative._meta.get_field(name)
    return getattr(initiative, field.attname)


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def initiative_write_refusal(
    *, actor: Actor, initiative: Initiative | None, changes: Mapping[str, Any]
) -> RefusedError | None:
    """Why the actor may not make `changes` (field → new value; related objects or ids) to
    `initiative` (None: registering a new one), or None when every rule allows it.
    """
    user, token = actor.user, actor.token
    if initiative is not None and initiative.archived_at is not None:
        return StateConflictError(
            _("%(key)s is archived; restore it first.") % {"key": initiative.key},
            code="archived",
        )
    if initiative is None:
        source = changes.get("source") or ""
        if rules.can_create_initiative(user, source=source, token=token):
            return None
        if rules.is_integration(user) or not rules.can_propose_initiative(user, token):
            return ForbiddenError(
                _("An integration registers only initiatives of its own source (%(source)s).")
                % {"source": getattr(token, "source", "") or "—"},
                code="permission_denied",
                field="source",
            )
        return _proposal_refusal(user, changes)
    if not rules.can_change_initiative(user, initiative, token):
        return ForbiddenError(
            _("You may not change %(key)s.") % {"key": initiative.key}, code="permission_denied"
        )
    changed = {
        name for name, value in changes.items() if _pk(value) != _pk(_value(initiative, name))
    }
    identity = changed & set(IDENTITY_FIELDS)
    if identity and not rules.can_create_initiative(
        user, source=changes.get("source", initiative.source), token=token
    ):
        return ForbiddenError(
            _("You may not move an initiative to another source or external id."),
            code="permission_denied",
            field=sorted(identity)[0],
        )
    for name in ("owner", "lead_department"):
        if name not in changed or changes[name] is None:
            continue
        department = (
            getattr(changes[name], "department_id", None) if name == "owner" else _pk(changes[name])
        )
        if not rules.can_hand_over_to(user, department_id=department, token=token):
            return ForbiddenError(
                _(
                    "Only the PMO hands %(key)s to an owner or lead department outside your "
                    "own department."
                )
                % {"key": initiative.key},
                code="permission_denied",
                field=name,
            )
    if "confidential" in changed and not rules.can_change_confidentiality(user):
        return ForbiddenError(
            _("Only the PMO changes whether %(key)s is confidential.") % {"key": initiative.key},
            code="permission_denied",
            field="confidential",
        )
    return None


def _proposal_refusal(user: Any, changes: Mapping[str, Any]) -> RefusedError | None:
    """An idea someone proposes is theirs, in their department, and public; the PMO takes it
    from there (hands it over, links it to a tool, makes it confidential)."""
    person = Person.objects.filter(user=user).select_related("department").first()
    if person is None:
        return ForbiddenError(
            _("Link your login to a person (owner) before you propose an idea."),
            code="permission_denied",
            field="owner",
        )
    refused = ForbiddenError(
        _(
            "An idea is proposed by its owner, in their own department, and not "
            "confidential; the PMO hands it over, links it to a tool or hides it."
        ),
        code="permission_denied",
    )
    own = {"owner": person.pk, "lead_department": person.department_id}
    for name, value in own.items():
        if changes.get(name) is not None and _pk(changes[name]) != value:
            refused.field = name
            return refused
    for name in ("source", "external_id", "external_url", "confidential"):
        if changes.get(name):
            refused.field = name
            return refused
    return None


def proposal_defaults(actor: Actor) -> dict[str, Any]:
    """What an idea someone proposes is filled in with: its proposer as owner, their
    department as the lead one."""
    person = Person.objects.filter(user=actor.user).first()
    if person is None:
        return {}
    return {"owner": person, "lead_department_id": person.department_id}


def _refuse(actor: Actor, initiative: Initiative | None, changes: Mapping[str, Any]) -> None:
    refusal = initiative_write_refusal(actor=actor, initiative=initiative, changes=changes)
    if refusal is not None:
        raise refusal


@transaction.atomic
def initiative_create(*, actor: Actor, data: Mapping[str, Any]) -> Initiative:
    """Register an initiative (at stage idea) with `data` (fields, related objects, lists
    for departments, systems and tags); records its first stage change.
    """
    data = dict(data)
    if not data.get("source") and actor.token is not None and rules.is_integration(actor.user):
        data["source"] = actor.token.source  # an integration registers its own source's
    _refuse(actor, None, data)
    if not rules.can_create_initiative(
        actor.user, source=data.get("source") or "", token=actor.token
    ):
        # A proposed idea: its proposer owns it, in their department.
        for name, value in proposal_defaults(actor).items():
            if data.get(name.removesuffix("_id")) is None:
                data[name] = value
    many = {name: data.pop(name) for name in INITIATIVE_MANY_FIELDS if name in data}
    initiative = Initiative(**data, created_by=actor.login, updated_by=actor.login)
    initiative.save()
    initiative.refresh_from_db(fields=["key", "stage"])
    for name, values in many.items():
        getattr(initiative, name).set(values)
    lifecycle.record_initial_stage(initiative=initiative, actor=actor.login, actor_name=actor.name)
    return initiative


@transaction.atomic
def initiative_update(
    *,
    actor: Actor,
    initiative: Initiative,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> Initiative:
    """Apply `changes` to the initiative under its row lock; the version goes up by one in
    the database. Raises StaleVersionError when `expected_version` is not the stored one.
    """
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version, expected_version=expected_version)
    _refuse(actor, locked, changes)
    fields = ["version", "updated_at", "updated_by"]
    for name, value in changes.items():
        if name in INITIATIVE_MANY_FIELDS:
            getattr(locked, name).set(value)
        else:
            setattr(locked, name, value)
            fields.append(name)
    locked.version = F("version") + 1
    locked.updated_at = timezone.now()
    locked.updated_by = actor.login
    locked.save(update_fields=fields)
    locked.refresh_from_db(fields=["version"])
    return locked
