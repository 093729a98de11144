"""The customer journey as leadership steers it: the journey map (touchpoints × journey
stages), where journeys are fragmented, where the vision's proactive stance is contradicted
(and which exceptions were granted), and whether pilots are staffed cross-functionally.

The source article asks for one consistent experience across touchpoints, a decided stance
on proactive AI, and cross-functional teams with UX/service design and data expertise; the
portfolio list alone answers none of these. Each report reads the open initiatives the viewer
may see (`reports.initiative_scope`: confidential work only for the PMO and its team) in a
fixed number of queries — one statement for the initiatives with their systems, team and
goals as arrays, one for the goals or stances — and lays out the cells in Python, which is
at most touchpoints × stages (90) wide however many initiatives there are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import OuterRef, Q, Subquery

from registry import choices
from registry.choices import (
    ALIGNMENT_LEVEL_BY_STRENGTH,
    DATA_ROLES,
    UX_ROLES,
    JourneyStage,
    Stage,
    Touchpoint,
)
from registry.models import (
    Alignment,
    Goal,
    Initiative,
    ProactiveStance,
    StageChange,
    TeamRole,
    Vision,
    stance_conflicts,
)
from registry.quarters import quarter_bounds, quarter_of
from registry.selectors.reports import initiative_scope, resolve_vision, with_vision_alignment
from registry.selectors.visibility import visible_stage_changes

STAGE_CODES = list(Stage.values)


def _vision_brief(vision: Vision | None) -> dict[str, Any] | None:
    if vision is None:
        return None
    return {"id": vision.pk, "title": vision.title, "status": vision.status}


# --- journey map ------------------------------------------------------------------------------


def _journey_rows(*, user: Any, vision_id: int | None, period: str | None) -> list[dict]:
    """The open initiatives of the scope with what the map needs, in one statement."""
    initiative = OuterRef("pk")
    qs = with_vision_alignment(
        initiative_scope(user=user, period=period, open_only=True), vision_id
    ).annotate(
        lead_slug=models.F("lead_department__slug"),
        system_ids=ArraySubquery(
            Initiative.systems.through.objects.filter(initiative_id=initiative).values("system_id")
        ),
        person_ids=ArraySubquery(
            TeamRole.objects.filter(initiative_id=initiative).values("person_id")
        ),
        goal_ids=ArraySubquery(
            Alignment.objects.filter(
                Q(goal__vision_id=vision_id),
                initiative_id=initiative,
                goal__archived_at__isnull=True,
            ).values("goal_id")
        ),
    )
    return list(
        qs.order_by("key").values(
            "key",
            "stage",
            "owner_id",
            "lead_slug",
            "touchpoints",
            "journey_stages",
            "alignment_strength",
            "system_ids",
            "person_ids",
            "goal_ids",
        )
    )


def _components(rows: list[dict]) -> list[list[dict]]:
    """Groups of initiatives linked by a shared system or team member (owner included)."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, int], int] = {}
    for index, row in enumerate(rows):
        people = set(row["person_ids"]) | ({row["owner_id"]} if row["owner_id"] else set())
        links = [("system", s) for s in row["system_ids"]] + [("person", p) for p in people]
        for link in links:
            if link in first_with:
                parent[find(index)] = find(first_with[link])
            else:
                first_with[link] = index
    groups: dict[int, list[dict]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[find(index)].append(row)
    return sorted(groups.values(), key=lambda group: group[0]["key"])


def _fragmented(rows: list[dict]) -> list[dict[str, Any]]:
    """Journey stages served on several touchpoints by groups of initiatives that share no
    system and no team member: the customer meets unconnected pieces at one stage."""
    fragmented = []
    for stage in JourneyStage.values:
        serving = [row for row in rows if stage in row["journey_stages"] and row["touchpoints"]]
        touchpoints = sorted(
            {t for row in serving for t in row["touchpoints"]}, key=Touchpoint.values.index
        )
        groups = _components(serving)
        if len(touchpoints) >= 2 and len(groups) >= 2:
            fragmented.append(
                {
                    "journey_stage": stage,
                    "touchpoints": touchpoints,
                    "groups": [
                        {
                            "initiatives": [row["key"] for row in group],
                            "touchpoints": sorted(
                                {t for row in group for t in row["touchpoints"]},
                                key=Touchpoint.values.index,
                            ),
                        }
                        for group in groups
                    ],
                }
            )
    return fragmented


def _shared_goal(rows: list[dict]) -> bool:
    """Whether initiatives of two different lead departments serve one goal."""
    departments_by_goal: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        for goal_id in row["goal_ids"]:
            departments_by_goal[goal_id].add(row["lead_slug"])
    return any(len(departments) >= 2 for departments in departments_by_goal.values())


def _cell(touchpoint: str, stage: str, rows: list[dict]) -> dict[str, Any]:
    stages = Counter(row["stage"] for row in rows)
    levels = Counter(ALIGNMENT_LEVEL_BY_STRENGTH[row["alignment_strength"]] for row in rows)
    departments = sorted({row["lead_slug"] for row in rows if row["lead_slug"]})
    strongest = max((row["alignment_strength"] for row in rows), default=0)
    return {
        "touchpoint": touchpoint,
        "journey_stage": stage,
        "count": len(rows),
        "stages": [{"stage": s, "count": stages[s]} for s in STAGE_CODES if stages[s]],
        "alignment_level": ALIGNMENT_LEVEL_BY_STRENGTH[strongest],
        "alignment_levels": [
            {"level": level, "count": levels[level]}
            for level in ALIGNMENT_LEVEL_BY_STRENGTH.values()
            if levels[level]
        ],
        "departments": departments,
        "no_shared_goal": len(departments) >= 2 and not _shared_goal(rows),
        "initiatives": [row["key"] for row in rows],
    }


def _unserved(goals: Iterable[Goal], rows: list[dict]) -> list[dict[str, Any]]:
    """Journey cells a goal of the vision names that no open initiative serves. A goal naming
    only touchpoints (or only stages) names whole columns (rows) of the map."""
    served = {(t, s) for row in rows for t in row["touchpoints"] for s in row["journey_stages"]}
    served_touchpoints = {t for row in rows for t in row["touchpoints"]}
    served_stages = {s for row in rows for s in row["journey_stages"]}
    named: dict[tuple[str | None, str | None], list[str]] = defaultdict(list)
    for goal in goals:
        if goal.touchpoints and goal.journey_stages:
            cells = [(t, s) for t in goal.touchpoints for s in goal.journey_stages]
            missing = [cell for cell in cells if cell not in served]
        elif goal.touchpoints:
            missing = [(t, None) for t in goal.touchpoints if t not in served_touchpoints]
        else:
            missing = [(None, s) for s in goal.journey_stages if s not in served_stages]
        for cell in missing:
            named[cell].append(goal.code)

    def order(cell: tuple[str | None, str | None]) -> tuple[int, int]:
        t, s = cell
        return (
            Touchpoint.values.index(t) if t else -1,
            JourneyStage.values.index(s) if s else -1,
        )

    return [
        {"touchpoint": t, "journey_stage": s, "goals": sorted(codes)}
        for (t, s), codes in sorted(named.items(), key=lambda item: order(item[0]))
    ]


def journey_map(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> dict[str, Any]:
    """Touchpoints × journey stages over the open initiatives the user may see, with the
    three flags: fragmented journey stages, cells where several departments work without a
    shared goal, and cells the vision's goals name that nobody serves. Two queries.
    """
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    rows = _journey_rows(user=user, vision_id=vision_id, period=period)
    goals = (
        list(
            Goal.objects.live()
            .filter(vision_id=vision_id)
            .filter(~Q(touchpoints=[]) | ~Q(journey_stages=[]))
            .order_by("code")
            .only("code", "touchpoints", "journey_stages")
        )
        if vision_id
        else []
    )
    by_cell: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        for touchpoint in row["touchpoints"]:
            for stage in row["journey_stages"]:
                by_cell[(touchpoint, stage)].append(row)
    cells = [
        _cell(t, s, by_cell[(t, s)])
        for t in Touchpoint.values
        for s in JourneyStage.values
        if by_cell.get((t, s))
    ]
    conflicts = [cell for cell in cells if cell["no_shared_goal"]]
    fragmented = _fragmented(rows)
    unserved = _unserved(goals, rows)
    return {
        "vision": _vision_brief(vision_obj),
        "period": period,
        "touchpoints": list(Touchpoint.values),
        "journey_stages": list(JourneyStage.values),
        "count": len(rows),
        "unplaced_count": sum(
            1 for row in rows if not (row["touchpoints"] and row["journey_stages"])
        ),
        "cells": cells,
        "fragmented": fragmented,
        "department_conflicts": [
            {k: cell[k] for k in ("touchpoint", "journey_stage", "departments", "initiatives")}
            for cell in conflicts
        ],
        "unserved": unserved,
        "flag_counts": {
            "fragmented": len(fragmented),
            "department_conflicts": len(conflicts),
            "unserved": len(unserved),
        },
    }


# --- proactive stance -------------------------------------------------------------------------


def stances_of(vision: Vision | None) -> list[ProactiveStance]:
    """The vision's stances in map order (touchpoint, then the touchpoint-wide one first)."""
    if vision is None:
        return []
    return list(
        ProactiveStance.objects.filter(vision=vision).order_by("touchpoint", "journey_stage")
    )


def stance_conflicts_report(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Open customer-facing initiatives the user may see whose touchpoints or interaction
    mode contradict the vision's proactive stance, each with its conflicts and, if it was
    moved past proposed anyway, the justified exception (the latest). Two queries."""
    vision_obj = resolve_vision(vision)
    table = ProactiveStance.objects.table(vision_obj.pk if vision_obj else None)
    if not table:
        return []
    exceptions = StageChange.objects.filter(
        initiative=OuterRef("pk"), stance_exception=True
    ).order_by("-at", "-id")
    touched = sorted({touchpoint for touchpoint, _ in table})
    qs = (
        initiative_scope(user=user, period=period, open_only=True)
        .filter(customer_facing=True, touchpoints__overlap=touched)
        .annotate(
            lead_department_slug=models.F("lead_department__slug"),
            lead_department_name=models.F("lead_department__name"),
            owner_name=models.F("owner__name"),
            exception_note=Subquery(exceptions.values("note")[:1]),
            exception_at=Subquery(exceptions.values("at")[:1]),
        )
        .order_by("key")
        .values(
            "key",
            "name",
            "stage",
            "interaction_mode",
            "touchpoints",
            "journey_stages",
            "lead_department_slug",
            "lead_department_name",
            "owner_name",
            "exception_note",
            "exception_at",
        )
    )
    results = []
    for row in qs:
        conflicts = stance_conflicts(
            table,
            touchpoints=row["touchpoints"],
            journey_stages=row["journey_stages"],
            interaction_mode=row["interaction_mode"],
            customer_facing=True,
        )
        if not conflicts:
            continue
        row["lead_department"] = row.pop("lead_department_slug")
        row["conflicts"] = conflicts
        row["exception"] = row["exception_at"] is not None
        results.append(row)
    return results


def stance_exceptions(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Moves that took work contradicting the proactive stance past proposed, with the note
    that justified each, in the quarter asked for (by the day of the move), newest first.
    `vision` is accepted for a uniform report signature: the gate reads the active vision."""
    del vision
    changes = visible_stage_changes(user, StageChange.objects.filter(stance_exception=True))
    changes = changes.filter(initiative__archived_at__isnull=True)
    if period:
        start, end = quarter_bounds(period)
        changes = changes.filter(at__date__gte=start, at__date__lte=end)
    rows = list(
        changes.order_by("-at", "-id").values(
            "initiative__key",
            "initiative__name",
            "initiative__stage",
            "from_stage",
            "to_stage",
            "at",
            "actor_name",
            "note",
        )
    )
    return [
        {
            "key": row["initiative__key"],
            "name": row["initiative__name"],
            "stage": row["initiative__stage"],
            "from_stage": row["from_stage"],
            "to_stage": row["to_stage"],
            "at": row["at"],
            "quarter": quarter_of(row["at"].date()),
            "actor_name": row["actor_name"],
            "note": row["note"],
        }
        for row in rows
    ]


# --- team composition -------------------------------------------------------------------------

TEAM_FLAGS = ("no_ux", "no_data", "single_department")


def team_composition(
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
    stage: str = Stage.PILOT,
) -> dict[str, Any]:
    """Customer-facing initiatives at `stage` (default: pilots) the user may see, each with
    whether its team has a UX/service-design role, a data role, and spans more than one
    department — and the share that has all three (cross-functional). One query."""
    vision_obj = resolve_vision(vision)
    roles = ArraySubquery(TeamRole.objects.filter(initiative_id=OuterRef("pk")).values("role"))
    qs = (
        initiative_scope(user=user, period=period)
        .filter(customer_facing=True, stage=stage)
        .with_silo_flag()
        .annotate(
            roles=roles,
            lead_department_slug=models.F("lead_department__slug"),
            lead_department_name=models.F("lead_department__name"),
            owner_name=models.F("owner__name"),
        )
        .order_by("key")
        .values(
            "key",
            "name",
            "stage",
            "kind",
            "lead_department_slug",
            "lead_department_name",
            "owner_name",
            "spanned_departments",
            "roles",
        )
    )
    results = []
    for row in qs:
        held = set(row.pop("roles"))
        row["lead_department"] = row.pop("lead_department_slug")
        row["roles"] = [role for role in choices.TeamRoleKind.values if role in held]
        row["has_ux"] = bool(held & UX_ROLES)
        row["has_data"] = bool(held & DATA_ROLES)
        flags = {
            "no_ux": not row["has_ux"],
            "no_data": not row["has_data"],
            "single_department": row["spanned_departments"] <= 1,
        }
        row["flags"] = [flag for flag in TEAM_FLAGS if flags[flag]]
        row["cross_functional"] = not row["flags"]
        results.append(row)
    cross = sum(1 for row in results if row["cross_functional"])
    return {
        "vision": _vision_brief(vision_obj),
        "period": period,
        "stage": stage,
        "count": len(results),
        "cross_functional_count": cross,
        "share_cross_functional": round(cross / len(results), 4) if results else None,
        "flag_counts": {
            flag: sum(1 for row in results if flag in row["flags"]) for flag in TEAM_FLAGS
        },
        "results": results,
    }
