"""Stage gates: the only way an initiative's stage changes.

The transition table lives in `choices`; this module checks a move's gates against the
initiative, applies it under a row lock and writes the StageChange in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.choices import (
    BEYOND_PROPOSED,
    EVIDENCE_BY_STAGE,
    MAIN_TRANSITIONS,
    OPEN_STAGES,
    SIDE_STAGE_GATES,
    Gate,
    RiskTier,
    Stage,
    VisionStatus,
)
from registry.models import Alignment, Initiative, StageChange
from registry.services.history import actor_label


class TransitionError(Exception):
    """A refused lifecycle move; `code` is stable for machines, the message is for people."""

    def __init__(self, message: str, *, code: str, missing: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.missing = tuple(missing)


class StaleVersionError(Exception):
    """The client's copy (If-Match) is older than the stored row."""

    def __init__(self, *, current_version: int) -> None:
        super().__init__(f"stale version; current is {current_version}")
        self.current_version = current_version


@dataclass(frozen=True)
class Move:
    from_stage: str
    to_stage: str
    gates: tuple[str, ...]


def allowed_move(initiative: Initiative, to_stage: str) -> Move | None:
    """The move from the initiative's stage to `to_stage`, or None if the table has none."""
    current = initiative.stage
    if (current, to_stage) in MAIN_TRANSITIONS:
        return Move(current, to_stage, MAIN_TRANSITIONS[(current, to_stage)])
    if current in OPEN_STAGES and to_stage in (Stage.PAUSED, Stage.STOPPED):
        return Move(current, to_stage, SIDE_STAGE_GATES)
    if current == Stage.PAUSED and to_stage == initiative.paused_from:
        # The risk tier may change while paused (paused is not beyond proposed), so going
        # back past proposed re-checks it; otherwise the database would refuse the row.
        gates = SIDE_STAGE_GATES
        if to_stage in BEYOND_PROPOSED:
            gates = (*gates, Gate.RISK_NOT_PROHIBITED)
        return Move(current, to_stage, gates)
    return None


def next_stages(initiative: Initiative) -> list[str]:
    """Stages the initiative may be moved to from where it is (gates not yet checked)."""
    return [stage for stage in Stage.values if allowed_move(initiative, stage) is not None]


def has_primary_active_alignment(initiative: Initiative) -> bool:
    return Alignment.objects.filter(
        initiative=initiative,
        is_primary=True,
        goal__vision__status=VisionStatus.ACTIVE,
        goal__archived_at__isnull=True,
    ).exists()


def missing_evidence(
    initiative: Initiative,
    gates: Iterable[str],
    *,
    note: str = "",
    has_primary_alignment: bool | None = None,
) -> list[str]:
    """The gates among `gates` that the initiative (and the move's note) do not satisfy.

    `has_primary_alignment` lets bulk callers pass what they already fetched in one query.
    """
    checks = {
        Gate.OWNER: lambda: initiative.owner_id is not None,
        Gate.SUMMARY: lambda: bool(initiative.summary.strip()),
        Gate.PRIMARY_ALIGNMENT: lambda: (
            has_primary_active_alignment(initiative)
            if has_primary_alignment is None
            else has_primary_alignment
        ),
        Gate.HYPOTHESIS: lambda: bool(initiative.hypothesis.strip()),
        Gate.SUCCESS_CRITERIA: lambda: bool(initiative.success_criteria.strip()),
        Gate.LEARNINGS: lambda: bool(initiative.learnings.strip()),
        Gate.NOTE: lambda: bool(note.strip()),
        Gate.RISK_NOT_PROHIBITED: lambda: initiative.risk_tier != RiskTier.PROHIBITED,
    }
    return [gate for gate in gates if not checks[gate]()]


def gate_gaps(initiative: Initiative, *, has_primary_alignment: bool | None = None) -> list[str]:
    """Gate evidence an initiative at its stage still lacks, e.g. after an import."""
    stage = initiative.paused_from if initiative.stage == Stage.PAUSED else initiative.stage
    return missing_evidence(
        initiative, EVIDENCE_BY_STAGE.get(stage, ()), has_primary_alignment=has_primary_alignment
    )


def refusal_message(initiative: Initiative, to_stage: str, missing: list[str]) -> str:
    labels = [str(Gate(gate).label) for gate in missing]
    return _("%(key)s cannot move from %(from)s to %(to)s: it needs %(missing)s.") % {
        "key": initiative.key,
        "from": Stage(initiative.stage).label,
        "to": Stage(to_stage).label,
        "missing": _(" and ").join(labels),
    }


def check_move(
    initiative: Initiative,
    to_stage: str,
    *,
    note: str = "",
    has_primary_alignment: bool | None = None,
) -> Move:
    """The move if every gate is met; raises TransitionError naming what is missing."""
    if to_stage not in Stage.values:
        raise TransitionError(
            _("'%(stage)s' is not a stage.") % {"stage": to_stage}, code="unknown_stage"
        )
    move = allowed_move(initiative, to_stage)
    if move is None:
        raise TransitionError(
            _("%(key)s cannot move from %(from)s to %(to)s; allowed next: %(next)s.")
            % {
                "key": initiative.key,
                "from": Stage(initiative.stage).label,
                "to": Stage(to_stage).label,
                "next": ", ".join(str(Stage(s).label) for s in next_stages(initiative))
                or _("none"),
            },
            code="transition_not_allowed",
        )
    missing = missing_evidence(
        initiative, move.gates, note=note, has_primary_alignment=has_primary_alignment
    )
    if missing:
        raise TransitionError(
            refusal_message(initiative, to_stage, missing),
            code="gate_not_met",
            missing=missing,
        )
    return move


@transaction.atomic
def initiative_transition(
    *,
    initiative: Initiative,
    to_stage: str,
    actor: Any = None,
    actor_name: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> StageChange:
    """Move an initiative through its gates and record the StageChange.

    Re-reads the row under a lock so two concurrent moves cannot both pass the same gate;
    `expected_version` (from an If-Match header) refuses a move on a stale copy.
    """
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version)
    move = check_move(locked, to_stage, note=note)
    now = timezone.now()
    locked.paused_from = move.from_stage if to_stage == Stage.PAUSED else ""
    locked.stage = to_stage
    locked.version += 1
    update_fields = ["stage", "paused_from", "version", "updated_at"]
    if to_stage in (Stage.RETIRED, Stage.STOPPED) and locked.end_date is None:
        # The local calendar day; an initiative stopped before its planned start ends on
        # that start, so the end never precedes it.
        today = timezone.localdate(now)
        locked.end_date = max(today, locked.start_date) if locked.start_date else today
        update_fields.append("end_date")
    if getattr(actor, "is_authenticated", False):
        locked.updated_by = actor
        update_fields.append("updated_by")
    locked.save(update_fields=update_fields)
    change = StageChange.objects.create(
        initiative=locked,
        from_stage=move.from_stage,
        to_stage=to_stage,
        at=now,
        by=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=actor_name or actor_label(actor),
        note=note,
    )
    for field in update_fields:
        setattr(initiative, field, getattr(locked, field))
    return change


def record_initial_stage(
    *,
    initiative: Initiative,
    actor: Any = None,
    actor_name: str = "",
    imported_from: str = "",
    note: str = "",
) -> StageChange:
    """The first StageChange of a new initiative (∅ → its stage, e.g. imported as production)."""
    return StageChange.objects.create(
        initiative=initiative,
        from_stage="",
        to_stage=initiative.stage,
        by=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=actor_name or actor_label(actor),
        imported_from=imported_from,
        note=note,
    )
