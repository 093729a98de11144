"""The quarterly review as people read it: the initiatives a review covers with their
derived values and decision, what is still undecided, and the comparison with the previous
review (only what the reader may see)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, Subquery

from registry.choices import ReviewStatus, VisionStatus
from registry.models import Goal, Initiative, InitiativeQuerySet, Review, ReviewDecision
from registry.selectors.reports import with_vision_alignment
from registry.selectors.visibility import visible_initiatives


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


def with_review_figures(qs: InitiativeQuerySet, review: Review) -> InitiativeQuerySet:
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
        with_review_figures(qs, review)
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


def current_reviews() -> tuple[Review | None, Review | None]:
    """The open review of the active vision (the latest quarter), and the last closed one."""
    reviews = Review.objects.filter(vision__status=VisionStatus.ACTIVE).order_by("-period")
    return (
        reviews.filter(status=ReviewStatus.OPEN).first(),
        reviews.filter(status=ReviewStatus.CLOSED).first(),
    )
