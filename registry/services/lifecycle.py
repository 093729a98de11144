"""Stage gates: the only way an initiative's stage changes.

The transition table lives in `choices`; this module checks a move's gates against the
initiative, applies it under a row lock and writes the StageChange in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import permissions as rules
from registry.choices import (
    BEYOND_PROPOSED,
    DATA_ROLES,
    EVIDENCE_BY_STAGE,
    MAIN_TRANSITIONS,
    OPEN_STAGES,
    SIDE_STAGE_GATES,
    UX_ROLES,
    Decision,
    Gate,
    RiskTier,
    Stage,
    VisionStatus,
)
from registry.models import (
    Alignment,
    Initiative,
    ProactiveStance,
    ReviewDecision,
    StageChange,
    TeamRole,
    stance_conflicts,
)
from registry.permissions import Actor
from registry.selectors.learning import voice_review_gate_met
from registry.services.errors import ForbiddenError, StateConflictError
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

    def __init__(self, *, current_version: int, expected_version: int | None = None) -> None:
        super().__init__(f"stale version; current is {current_version}")
        self.current_version = current_version
        self.expected_version = expected_version


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


def active_stance_conflicts(initiative: Initiative) -> list[dict[str, str]]:
    """Where the initiative (saved or not) contradicts the active vision's proactive stance."""
    if not initiative.customer_facing or not initiative.touchpoints:
        return []  # nothing to contradict: no query
    rows = ProactiveStance.objects.filter(vision__status=VisionStatus.ACTIVE).values_list(
        "touchpoint", "journey_stage", "stance"
    )
    return stance_conflicts(
        {(touchpoint, stage): stance for touchpoint, stage, stance in rows},
        touchpoints=initiative.touchpoints,
        journey_stages=initiative.journey_stages,
        interaction_mode=initiative.interaction_mode,
        customer_facing=initiative.customer_facing,
    )


def has_cross_functional_team(initiative: Initiative) -> bool:
    """The optional team gate (REGISTRY_TEAM_GATE): a customer-facing initiative goes into
    pilot only with a UX / service-design role, a data role and more than one department —
    the team-composition report's rule. Off, or for internal work, it is always met."""
    if not settings.REGISTRY_TEAM_GATE or not initiative.customer_facing:
        return True
    if initiative.pk is None:
        return False  # no team yet
    roles = set(TeamRole.objects.filter(initiative_id=initiative.pk).values_list("role", flat=True))
    spanned = (
        Initiative.objects.filter(pk=initiative.pk)
        .with_silo_flag()
        .values_list("spanned_departments", flat=True)
        .first()
    )
    return bool(roles & UX_ROLES) and bool(roles & DATA_ROLES) and (spanned or 0) > 1


def is_stance_exception(move: Move, initiative: Initiative) -> bool:
    """The move takes work that contradicts the stance past proposed (its note justifies it)."""
    return Gate.STANCE_EXCEPTION in move.gates and bool(active_stance_conflicts(initiative))


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
        Gate.STANCE_EXCEPTION: lambda: (
            bool(note.strip()) or not active_stance_conflicts(initiative)
        ),
        Gate.VOICE_REVIEW: lambda: voice_review_gate_met(initiative),
        Gate.CROSS_FUNCTIONAL_TEAM: lambda: has_cross_functional_team(initiative),
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


def board_pause(initiative: Initiative) -> ReviewDecision | None:
    """The review decision that paused the initiative, if the board's latest word on it is
    to pause it."""
    latest = (
        ReviewDecision.objects.filter(initiative=initiative)
        .select_related("review")
        .order_by("-decided_at", "-id")
        .first()
    )
    return latest if latest is not None and latest.decision == Decision.PAUSE else None


def transition_refusal(
    initiative: Initiative, to_stage: str, *, user: Any, token: Any = None
) -> ForbiddenError | None:
    """Why `user` may not move the initiative to `to_stage` (None: they may; the gates are
    checked apart, by `check_move`)."""
    if user is None:
        return None  # the registry's own moves (demo data, a review decision's move)
    if not rules.can_change_initiative(user, initiative, token):
        return ForbiddenError(
            _("You may not change %(key)s.") % {"key": initiative.key}, code="permission_denied"
        )
    resuming = initiative.stage == Stage.PAUSED and to_stage != Stage.STOPPED
    if resuming and not rules.can_resume_after_board_pause(user):
        paused_by = board_pause(initiative)
        if paused_by is not None:
            return ForbiddenError(
                _(
                    "The %(period)s review paused %(key)s; only the PMO resumes it, so the "
                    "board's decision is not undone without them."
                )
                % {"period": paused_by.review.period, "key": initiative.key},
                code="permission_denied",
                field="to",
            )
    return None


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

    `actor` is an `Actor` (or a user); the move is refused as `transition_refusal` says.
    Re-reads the row under a lock so two concurrent moves cannot both pass the same gate;
    `expected_version` (from an If-Match header) refuses a move on a stale copy. The version
    goes up by one in the database.
    """
    who = actor if isinstance(actor, Actor) else Actor(user=actor)
    locked = Initiative.objects.select_for_update().get(pk=initiative.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersionError(current_version=locked.version, expected_version=expected_version)
    if locked.archived_at is not None:
        raise StateConflictError(
            _("%(key)s is archived; restore it first.") % {"key": locked.key}, code="archived"
        )
    refusal = transition_refusal(locked, to_stage, user=who.user, token=who.token)
    if refusal is not None:
        raise refusal
    move = check_move(locked, to_stage, note=note)
    stance_exception = is_stance_exception(move, locked)
    now = timezone.now()
    locked.paused_from = move.from_stage if to_stage == Stage.PAUSED else ""
    locked.stage = to_stage
    locked.version = F("version") + 1
    update_fields = ["stage", "paused_from", "version", "updated_at"]
    if to_stage in (Stage.RETIRED, Stage.STOPPED) and locked.end_date is None:
        # The local calendar day; an initiative stopped before its planned start ends on
        # that start, so the end never precedes it.
        today = timezone.localdate(now)
        locked.end_date = max(today, locked.start_date) if locked.start_date else today
        update_fields.append("end_date")
    if who.login is not None:
        locked.updated_by = who.login
        update_fields.append("updated_by")
    locked.save(update_fields=update_fields)
    locked.refresh_from_db(fields=["version"])
    change = StageChange.objects.create(
        initiative=locked,
        from_stage=move.from_stage,
        to_stage=to_stage,
        at=now,
        by=who.login,
        actor_name=actor_name or who.name,
        note=note,
        stance_exception=stance_exception,
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
