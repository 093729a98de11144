"""The quarterly review: open it, decide per initiative, close it, compare it with the last one.

A decision freezes a snapshot of the initiative as the board saw it (stage, alignment, primary
goal and its progress, budget, owner, risk), so the record of the quarter survives later edits.
Once closed, a review and its decisions never change: the service refuses, and a database
trigger on ReviewDecision refuses any write that bypasses it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pghistory
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.choices import Decision, ReviewStatus, Stage, VisionStatus
from registry.models import Initiative, Review, ReviewDecision, Vision
from registry.quarters import quarter_bounds
from registry.selectors.reviews import initiatives_in_period, undecided_keys, with_review_figures
from registry.services.errors import require_pmo
from registry.services.history import actor_label
from registry.services.lifecycle import TransitionError, initiative_transition

# Decisions that can carry a lifecycle move, and the stage each one moves to.
SCALE_MOVES: dict[str, str] = {Stage.PILOT: Stage.SCALING, Stage.SCALING: Stage.PRODUCTION}
MOVING_DECISIONS: frozenset[str] = frozenset({Decision.SCALE, Decision.PAUSE, Decision.STOP})


class ReviewError(Exception):
    """A refused review operation; `code` is stable for machines (the API answers 409)."""

    code = "review_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        keys: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.keys = tuple(keys)


class ReviewClosedError(ReviewError):
    """The review is closed: it and its decisions are a record and never change."""

    code = "review_closed"


def _history(actor: Any, channel: str | None, **extra: Any) -> pghistory.context:
    """Attach actor (and channel, when the caller names one) to the history of these writes.

    Requests already run inside a context with their channel (HistoryContextMiddleware);
    commands pass `channel` themselves. Only non-empty values are added, so an outer
    context's actor is never blanked.
    """
    metadata = {key: value for key, value in extra.items() if value}
    if actor_label(actor):
        metadata["actor"] = actor_label(actor)
    if channel:
        metadata["channel"] = channel
    return pghistory.context(**metadata)


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _locked_open(review: Review) -> Review:
    """Re-read the review under a row lock; refuse if it is closed.

    The lock serialises deciding against closing, so no decision slips in after the check
    that every initiative has one.
    """
    locked = Review.objects.select_for_update().get(pk=review.pk)
    if locked.status == ReviewStatus.CLOSED:
        raise ReviewClosedError(
            _("The %(period)s review is closed; it can no longer change.")
            % {"period": locked.period}
        )
    return locked


# --- the review's initiatives -----------------------------------------------------------------


# --- open -------------------------------------------------------------------------------------


@transaction.atomic
def review_open(
    *,
    vision: Vision,
    period: str,
    actor: Any,
    held_on: datetime.date | None = None,
    summary: str = "",
    channel: str | None = None,
) -> Review:
    """Open the review of a vision for a quarter (one per vision and quarter)."""
    require_pmo(actor, _("Quarterly reviews are the PMO's."))
    try:
        quarter_bounds(period)
    except ValueError as error:
        raise ReviewError(str(error), code="invalid_period", field="period") from error
    if vision.status != VisionStatus.ACTIVE:
        raise ReviewError(
            _("Only the active vision can be reviewed; '%(vision)s' is %(status)s.")
            % {"vision": vision.title, "status": vision.get_status_display()},
            code="vision_not_active",
            field="vision",
        )
    duplicate = ReviewError(
        _("The %(period)s review of '%(vision)s' already exists.")
        % {"period": period, "vision": vision.title},
        code="review_exists",
        field="period",
    )
    if Review.objects.filter(vision=vision, period=period).exists():
        raise duplicate
    with _history(actor, channel, review=period):
        try:
            with transaction.atomic():
                return Review.objects.create(
                    vision=vision, period=period, held_on=held_on, summary=summary
                )
        except IntegrityError as error:  # a concurrent open won the race
            raise duplicate from error


@transaction.atomic
def review_update(
    *,
    review: Review,
    actor: Any,
    summary: str | None = None,
    held_on: datetime.date | None = None,
    channel: str | None = None,
) -> Review:
    """Change an open review's summary or meeting date; a closed review is refused."""
    require_pmo(actor, _("Quarterly reviews are the PMO's."))
    with _history(actor, channel, review=review.period):
        locked = _locked_open(review)
        fields = ["updated_at"]
        if summary is not None:
            locked.summary = summary
            fields.append("summary")
        if held_on is not None:
            locked.held_on = held_on
            fields.append("held_on")
        locked.save(update_fields=fields)
    for field in fields:
        setattr(review, field, getattr(locked, field))
    return review


# --- decide -----------------------------------------------------------------------------------


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _snapshot(row: Any, *, taken_at: datetime.datetime) -> dict[str, Any]:
    """The frozen record of an initiative as the review saw it; JSON-safe."""
    progress = row.goal_progress
    return {
        "key": row.key,
        "name": row.name,
        "stage": row.stage,
        "paused_from": row.paused_from,
        "kind": row.kind,
        "alignment_level": row.alignment_level,
        "alignment_strength": row.alignment_strength,
        "primary_goal": row.primary_goal_code,
        "lead_department": row.lead_department.slug if row.lead_department else None,
        "budget_planned": _decimal(row.budget_planned),
        "budget_spent": _decimal(row.budget_spent),
        "currency": row.currency,
        "owner": ({"email": row.owner.email, "name": row.owner.name} if row.owner_id else None),
        "goal_progress": (
            None
            if row.primary_goal_code is None
            else {
                "goal": row.primary_goal_code,
                "progress_pct": (round(float(progress) * 100, 2) if progress is not None else None),
                "current": _decimal(row.goal_current),
                "observed_on": row.goal_current_on.isoformat() if row.goal_current_on else None,
            }
        ),
        "risk_tier": row.risk_tier,
        "is_silo": row.is_silo,
        "taken_at": taken_at.isoformat(),
    }


def _move_target(initiative: Any, decision: str) -> str:
    """The stage a scale/pause/stop decision moves the initiative to."""
    if decision == Decision.PAUSE:
        return Stage.PAUSED
    if decision == Decision.STOP:
        return Stage.STOPPED
    if initiative.stage not in SCALE_MOVES:
        raise TransitionError(
            _(
                "%(key)s is at %(stage)s; a scale decision moves a pilot to scaling or a "
                "scaling initiative to production."
            )
            % {"key": initiative.key, "stage": Stage(initiative.stage).label},
            code="transition_not_allowed",
        )
    return SCALE_MOVES[initiative.stage]


@transaction.atomic
def review_decide(
    *,
    review: Review,
    initiative: Initiative,
    decision: str,
    rationale: str = "",
    actor: Any,
    apply_move: bool = False,
    note: str = "",
    channel: str | None = None,
) -> ReviewDecision:
    """Record (or replace) the review's decision on an initiative, with a frozen snapshot.

    With `apply_move`, a scale, pause or stop decision also moves the initiative through its
    lifecycle gates in the same transaction (`note`, or else the rationale, explains the
    move); a refused move raises the lifecycle's TransitionError and writes nothing. The
    snapshot shows the initiative as decided on, before the move, plus `applied_move`.
    """
    if decision not in Decision.values:
        raise ReviewError(
            _("'%(decision)s' is not a review decision; use one of %(choices)s.")
            % {"decision": decision, "choices": ", ".join(Decision.values)},
            code="invalid_decision",
            field="decision",
        )
    require_pmo(actor, _("Quarterly reviews are the PMO's."))
    with _history(actor, channel, review=review.period):
        locked = _locked_open(review)
        in_review = initiatives_in_period(locked.period).filter(pk=initiative.pk)
        row: Any = with_review_figures(in_review, locked).first()
        if row is None:
            raise ReviewError(
                _(
                    "%(key)s is not active in %(period)s (or is archived); it is not part of "
                    "this review."
                )
                % {"key": initiative.key, "period": locked.period},
                code="not_in_review",
                field="initiative",
            )
        now = timezone.now()
        snapshot = _snapshot(row, taken_at=now)
        if apply_move and decision in MOVING_DECISIONS:
            to_stage = _move_target(row, decision)
            initiative_transition(
                initiative=initiative,
                to_stage=to_stage,
                actor=actor,
                note=note or rationale,
            )
            snapshot["applied_move"] = {"from": row.stage, "to": to_stage}
        record, _created = ReviewDecision.objects.update_or_create(
            review=locked,
            initiative=row,
            defaults={
                "decision": decision,
                "rationale": rationale,
                "snapshot": snapshot,
                "decided_at": now,
                "decided_by": _user_or_none(actor),
            },
        )
    return record


# --- close ------------------------------------------------------------------------------------


@transaction.atomic
def review_close(
    *,
    review: Review,
    actor: Any,
    summary: str = "",
    held_on: datetime.date | None = None,
    channel: str | None = None,
) -> Review:
    """Close the review once every initiative active in the period has a decision."""
    require_pmo(actor, _("Quarterly reviews are the PMO's."))
    with _history(actor, channel, review=review.period):
        locked = _locked_open(review)
        missing = undecided_keys(locked)
        if missing:
            shown = ", ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
            raise ReviewError(
                _("%(count)d initiative(s) still need a decision: %(keys)s.")
                % {"count": len(missing), "keys": shown},
                code="undecided_initiatives",
                keys=missing,
            )
        locked.status = ReviewStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.held_on = held_on or locked.held_on or timezone.localdate()
        if summary:
            locked.summary = summary
        fields = ["status", "closed_at", "held_on", "summary", "updated_at"]
        locked.save(update_fields=fields)
    for field in fields:
        setattr(review, field, getattr(locked, field))
    return review


# --- compare ----------------------------------------------------------------------------------
