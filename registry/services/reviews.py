"""The quarterly review: open it, decide per initiative, close it, compare it with the last one.

A decision freezes a snapshot of the initiative as the board saw it (stage, alignment, primary
goal and its progress, budget, owner, risk), so the record of the quarter survives later edits.
Once closed, a review and its decisions never change: the service refuses, and a database
trigger on ReviewDecision refuses any write that bypasses it.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pghistory
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.choices import Decision, ReviewStatus, Stage, VisionStatus
from registry.models import Goal, Initiative, InitiativeQuerySet, Review, ReviewDecision, Vision
from registry.quarters import quarter_bounds
from registry.selectors.reports import with_vision_alignment
from registry.selectors.visibility import visible_initiatives
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


def initiatives_in_period(period: str) -> InitiativeQuerySet:
    """Every live initiative active in the quarter, whoever may see it: what a review covers."""
    return Initiative.objects.live().active_in(period)


def _with_primary_goal_progress(qs: InitiativeQuerySet) -> InitiativeQuerySet:
    """Annotate the primary goal's `goal_progress`, `goal_current` and `goal_current_on`."""
    goal = Goal.objects.with_progress().filter(pk=OuterRef("primary_goal_id"))
    return qs.annotate(
        goal_progress=Subquery(goal.values("progress")[:1]),
        goal_current=Subquery(goal.values("current")[:1]),
        goal_current_on=Subquery(goal.values("current_on")[:1]),
    )


def _annotated(qs: InitiativeQuerySet, review: Review) -> InitiativeQuerySet:
    return _with_primary_goal_progress(
        with_vision_alignment(qs, review.vision_id).with_silo_flag()
    ).select_related("owner", "lead_department")


def review_initiatives(review: Review, *, user: Any) -> InitiativeQuerySet:
    """The review's initiatives the user may see, with derived values and their decision.

    While open: those active in the period (live), plus any already decided in this review.
    Once closed: exactly the decided ones — the record does not grow when initiatives are
    registered, archived or re-dated later. Annotated: alignment_strength/level,
    primary_goal_id/code (against the review's vision), spanned_departments, is_silo,
    goal_progress/current/current_on of the primary goal, and decision, decision_id,
    rationale, decided_at (None while undecided).
    """
    decisions = ReviewDecision.objects.filter(review=review, initiative=OuterRef("pk"))
    covered = Exists(decisions)
    if not review.is_closed:
        covered |= Q(pk__in=initiatives_in_period(review.period).values("pk"))
    qs = visible_initiatives(user).filter(covered)
    return (
        _annotated(qs, review)
        .annotate(
            decision=Subquery(decisions.values("decision")[:1]),
            decision_id=Subquery(decisions.values("pk")[:1]),
            rationale=Subquery(decisions.values("rationale")[:1]),
            decided_at=Subquery(decisions.values("decided_at")[:1]),
        )
        .order_by("key")
    )


def undecided_keys(review: Review) -> list[str]:
    """Keys of initiatives active in the period without a decision yet (visible or not)."""
    decided = ReviewDecision.objects.filter(review=review, initiative=OuterRef("pk"))
    return list(
        initiatives_in_period(review.period)
        .filter(~Exists(decided))
        .order_by("key")
        .values_list("key", flat=True)
    )


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
    with _history(actor, channel, review=review.period):
        locked = _locked_open(review)
        in_review = initiatives_in_period(locked.period).filter(pk=initiative.pk)
        row: Any = _annotated(in_review, locked).first()
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


def previous_review(review: Review) -> Review | None:
    """The review of the same vision for the latest earlier quarter."""
    return (
        Review.objects.filter(vision_id=review.vision_id, period__lt=review.period)
        .order_by("-period")
        .first()
    )


def _brief(review: Review | None) -> dict[str, Any] | None:
    if review is None:
        return None
    return {"id": review.pk, "period": review.period, "status": review.status}


def _snapshots(review: Review | None) -> dict[int, dict[str, Any]]:
    if review is None:
        return {}
    rows = ReviewDecision.objects.filter(review=review).values(
        "initiative_id", "initiative__key", "initiative__name", "decision", "snapshot"
    )
    return {
        row["initiative_id"]: {
            **row["snapshot"],
            "key": row["snapshot"].get("key") or row["initiative__key"],
            "name": row["snapshot"].get("name") or row["initiative__name"],
            "decision": row["decision"],
        }
        for row in rows
    }


def _money(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _goal_progress_by_goal(snapshots: Iterable[dict[str, Any]]) -> dict[str, float | None]:
    """Per goal, the progress in the review's latest snapshot that recorded it."""
    latest: dict[str, tuple[str, float | None]] = {}
    for snap in snapshots:
        progress = snap.get("goal_progress")
        if not progress:
            continue
        goal, taken = progress["goal"], snap.get("taken_at", "")
        if goal not in latest or taken >= latest[goal][0]:
            latest[goal] = (taken, progress.get("progress_pct"))
    return {goal: value for goal, (_taken, value) in latest.items()}


def _entry(snap: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": snap["key"],
        "name": snap["name"],
        "stage": snap.get("stage"),
        "alignment_level": snap.get("alignment_level"),
        "decision": snap["decision"],
    }


def review_compare(*, review: Review, previous: Review | None = None) -> dict[str, Any]:
    """What changed since the previous review, from the decisions' frozen snapshots.

    `previous` defaults to the same vision's review of the latest earlier quarter (None: every
    decided initiative is new). Lists only what changed: new and gone initiatives,
    stage_moves, alignment_changes (level or primary goal), budget_changes (planned/spent
    with deltas), decision_changes, and goal_progress_changes per goal (percentage points).
    Initiatives are matched by identity, not by key text; by key in the output.
    """
    if previous is None:
        previous = previous_review(review)
    current = _snapshots(review)
    before = _snapshots(previous)
    by_key = operator.itemgetter("key")

    new = sorted((_entry(current[pk]) for pk in current.keys() - before.keys()), key=by_key)
    gone = sorted((_entry(before[pk]) for pk in before.keys() - current.keys()), key=by_key)
    stage_moves, alignment_changes, budget_changes, decision_changes = [], [], [], []
    for pk in current.keys() & before.keys():
        now, then = current[pk], before[pk]
        key, name = now["key"], now["name"]
        if now.get("stage") != then.get("stage"):
            stage_moves.append(
                {"key": key, "name": name, "from": then.get("stage"), "to": now.get("stage")}
            )
        if (now.get("alignment_level"), now.get("primary_goal")) != (
            then.get("alignment_level"),
            then.get("primary_goal"),
        ):
            alignment_changes.append(
                {
                    "key": key,
                    "name": name,
                    "from": then.get("alignment_level"),
                    "to": now.get("alignment_level"),
                    "primary_goal_from": then.get("primary_goal"),
                    "primary_goal_to": now.get("primary_goal"),
                }
            )
        planned = (_money(then.get("budget_planned")), _money(now.get("budget_planned")))
        spent = (_money(then.get("budget_spent")), _money(now.get("budget_spent")))
        currency = (then.get("currency"), now.get("currency"))
        if planned[0] != planned[1] or spent[0] != spent[1] or currency[0] != currency[1]:
            budget_changes.append(
                {
                    "key": key,
                    "name": name,
                    "currency_from": currency[0],
                    "currency": currency[1],
                    "planned_from": planned[0],
                    "planned_to": planned[1],
                    "planned_delta": _delta(*planned) if currency[0] == currency[1] else None,
                    "spent_from": spent[0],
                    "spent_to": spent[1],
                    "spent_delta": _delta(*spent) if currency[0] == currency[1] else None,
                }
            )
        if now["decision"] != then["decision"]:
            decision_changes.append(
                {"key": key, "name": name, "from": then["decision"], "to": now["decision"]}
            )

    progress_now = _goal_progress_by_goal(current.values())
    progress_then = _goal_progress_by_goal(before.values())
    goal_progress_changes = []
    for goal in sorted(progress_now.keys() | progress_then.keys()):
        was, is_ = progress_then.get(goal), progress_now.get(goal)
        if was != is_:
            goal_progress_changes.append(
                {
                    "goal": goal,
                    "from_pct": was,
                    "to_pct": is_,
                    "delta_pct": round(is_ - was, 2)
                    if was is not None and is_ is not None
                    else None,
                }
            )

    return {
        "review": _brief(review),
        "previous": _brief(previous),
        "new": new,
        "gone": gone,
        "stage_moves": sorted(stage_moves, key=by_key),
        "alignment_changes": sorted(alignment_changes, key=by_key),
        "budget_changes": sorted(budget_changes, key=by_key),
        "decision_changes": sorted(decision_changes, key=by_key),
        "goal_progress_changes": goal_progress_changes,
    }


def _delta(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    return None if before is None or after is None else after - before


def comparison_visible_to(comparison: dict[str, Any], *, user: Any) -> dict[str, Any]:
    """A `review_compare()` result without the initiatives the user may not see
    (confidential), so the API and the review page show each viewer only their share.
    """
    keys = {
        entry["key"]
        for entries in comparison.values()
        if isinstance(entries, list)
        for entry in entries
        if "key" in entry
    }
    visible = set(visible_initiatives(user).filter(key__in=keys).values_list("key", flat=True))
    return {
        name: [e for e in entries if "key" not in e or e["key"] in visible]
        if isinstance(entries, list)
        else entries
        for name, entries in comparison.items()
    }


__all__ = [
    "ReviewClosedError",
    "ReviewError",
    "comparison_visible_to",
    "initiatives_in_period",
    "previous_review",
    "review_close",
    "review_compare",
    "review_decide",
    "review_initiatives",
    "review_open",
    "review_update",
    "undecided_keys",
]
