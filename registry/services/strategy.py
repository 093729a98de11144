"""Writing the vision's proactive stance: where AI may act proactively, only react, or not act.

The stance is leadership's decision, so only the PMO writes it (as for visions and goals).
Every surface — the vision's admin inline and the API — saves through `stance_save` and
deletes through `stance_delete`: the row is locked, checked against its named constraints
(one stance per vision, touchpoint and journey stage; a rationale), its version bumped in
SQL, and pghistory records the change for history and the change feed in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from registry.models import ProactiveStance
from registry.services.errors import InvalidError, require_pmo

STANCE_FIELDS: tuple[str, ...] = ("vision", "touchpoint", "journey_stage", "stance", "rationale")


def _validated(row: ProactiveStance) -> None:
    """The model's field and constraint checks as one InvalidError naming the field."""
    try:
        row.full_clean(exclude=["version"])
    except ValidationError as error:
        by_field = error.message_dict
        name = next(iter(by_field))
        raise InvalidError(
            " ".join(by_field[name]),
            code="invalid",
            field=None if name == "__all__" else name,
        ) from None


@transaction.atomic
def stance_save(
    *, actor: Any, stance: ProactiveStance | None = None, data: Mapping[str, Any]
) -> ProactiveStance:
    """Create a stance from `data`, or change `stance`; returns the stored row."""
    require_pmo(actor, _("Only the PMO sets the vision's proactive stance."))
    stored = None
    if stance is not None and stance.pk is not None:
        stored = ProactiveStance.objects.select_for_update().get(pk=stance.pk)
    row = stored if stored is not None else ProactiveStance()
    for name, value in data.items():
        if name not in STANCE_FIELDS:
            raise InvalidError(_("Unknown field."), code="invalid", field=name)
        setattr(row, name, "" if name == "journey_stage" and value is None else value)
    _validated(row)
    if stored is not None:
        row.version = F("version") + 1
    row.save()
    if stored is not None:
        row.refresh_from_db(fields=["version"])
    return row


@transaction.atomic
def stance_delete(*, actor: Any, stance: ProactiveStance) -> None:
    """Remove a stance: the touchpoint (stage) is then left open."""
    require_pmo(actor, _("Only the PMO sets the vision's proactive stance."))
    ProactiveStance.objects.select_for_update().filter(pk=stance.pk).delete()
