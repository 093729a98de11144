"""Portfolio reports for the quarterly review: aggregates, heatmap, goal progress, gaps, silos,
overlaps, unaligned work, gate gaps and shared systems.

Every report is set-based SQL (ORM annotations, or one raw statement over the permission-scoped
initiative set compiled from the ORM), so it runs a fixed number of queries however large the
portfolio grows. Each takes the viewer (`user`: confidential initiatives only for the PMO and
the initiative's team), a vision (default: the active one) and an optional quarter
(`"2026-Q4"`, initiatives whose dates overlap it). Results are plain dicts and lists with
stable keys and vocabulary codes, never translated labels, so the API can serve them as JSON
or CSV and the admin can render them.

Money is returned as `Decimal` (sums of the initiatives' own amounts; `totals.currencies` and
the `currency` breakdown tell whether more than one currency is mixed in), ratios as floats.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from registry import choices
from registry.choices import (
    ALIGNMENT_LEVEL_BY_STRENGTH,
    CLOSED_STAGES,
    EVIDENCE_BY_STAGE,
    AlignmentLevel,
    Gate,
    Stage,
)
from registry.models import (
    Alignment,
    Department,
    Goal,
    Initiative,
    InitiativeQuerySet,
    StageChange,
    Vision,
)
from registry.permissions import is_pmo
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import rollup
from registry.selectors.visibility import visible_initiatives

ZERO = Decimal("0.00")
NONE_LEVEL = AlignmentLevel.NONE.value


# --- scope ------------------------------------------------------------------------------------


def resolve_vision(vision: Vision | int | None) -> Vision | None:
    """The vision a report is about: the one given, or the active one (None when there is none)."""
    if isinstance(vision, Vision):
        return vision
    if vision is None:
        return Vision.objects.active().first()
    return Vision.objects.get(pk=vision)


def initiative_scope(
    *, user: Any, period: str | None = None, open_only: bool = False
) -> InitiativeQuerySet:
    """Live initiatives the user may see, optionally only open ones and those active in a quarter.

    Raises ValueError for a period that is not a quarter like `2026-Q4`.
    """
    qs = visible_initiatives(user, Initiative.objects.live())
    if open_only:
        qs = qs.exclude(stage__in=CLOSED_STAGES)
    if period:
        qs = qs.active_in(period)
    return qs.order_by()


def with_vision_alignment(qs: InitiativeQuerySet, vision_id: int | None) -> InitiativeQuerySet:
    """Annotate `alignment_strength`, `alignment_level`, `primary_goal_id`, `primary_goal_code`
    against the live goals of one vision.

    The same rule as `InitiativeQuerySet.with_alignment_level()` / `with_primary_goal()`, which
    are fixed to the active vision; reports and reviews also look at a vision that is no longer
    (or not yet) active, so they pass it explicitly. For the active vision both give the same
    values (tests pin that).
    """
    alignments = Alignment.objects.filter(
        Q(goal__vision_id=vision_id),  # no vision: matches nothing, so every level is none
        initiative=OuterRef("pk"),
        goal__archived_at__isnull=True,
    )
    primary = alignments.filter(is_primary=True)
    whens = [
        models.When(alignment_strength=strength, then=models.Value(level))
        for strength, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()
    ]
    return qs.annotate(
        alignment_strength=Coalesce(
            Subquery(
                alignments.order_by("-strength").values("strength")[:1],
                output_field=models.PositiveSmallIntegerField(),
            ),
            0,
        ),
        primary_goal_id=Subquery(primary.values("goal_id")[:1]),
        primary_goal_code=Subquery(primary.values("goal__code")[:1]),
    ).annotate(alignment_level=models.Case(*whens, output_field=models.CharField()))


def _vision_brief(vision: Vision | None) -> dict[str, Any] | None:
    if vision is None:
        return None
    return {"id": vision.pk, "title": vision.title, "status": vision.status}


def _compiled(qs: models.QuerySet) -> tuple[str, list[Any]]:
    """A queryset as SQL + params, to be used as a CTE in a hand-written statement."""
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _fetch(sql: str, params: Iterable[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _json(value: Any) -> Any:
    """json/jsonb columns arrive decoded or as text depending on the driver's loaders."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _money(value: Decimal | None) -> Decimal:
    return (value if value is not None else ZERO).quantize(ZERO)


# --- portfolio summary ------------------------------------------------------------------------

_AGGREGATES = f"""
    count(b.id) AS count,
    count(b.id) FILTER (WHERE b.alignment_level <> '{NONE_LEVEL}') AS aligned_count,
    coalesce(sum(b.budget_planned), 0) AS budget_planned,
    coalesce(sum(b.budget_spent), 0) AS budget_spent,
    coalesce(sum(b.budget_planned) FILTER (WHERE b.alignment_level = '{NONE_LEVEL}'), 0)
        AS budget_planned_unaligned,
    coalesce(sum(b.budget_spent) FILTER (WHERE b.alignment_level = '{NONE_LEVEL}'), 0)
        AS budget_spent_unaligned
"""

# Breakdown dimensions over a column of the initiative, with their vocabulary (for zero rows
# and order); currency has no fixed vocabulary.
_VOCABULARY_DIMENSIONS: dict[str, tuple[str, ...] | None] = {
    "stage": tuple(choices.Stage.values),
    "kind": tuple(choices.Kind.values),
    "alignment_level": tuple(choices.AlignmentLevel.values),
    "risk_tier": tuple(choices.RiskTier.values),
    "interaction_mode": tuple(choices.InteractionMode.values),
    "currency": None,
}
BREAKDOWN_DIMENSIONS: tuple[str, ...] = (
    "stage",
    "kind",
    "lead_department",
    "primary_goal",
    "alignment_level",
    "risk_tier",
    "interaction_mode",
    "currency",
)


def _breakdown_row(code: str | None, name: str | None, row: Mapping[str, Any] | None) -> dict:
    return {
        "code": code,
        "name": name,
        "count": row["count"] if row else 0,
        "aligned_count": row["aligned_count"] if row else 0,
        "budget_planned": _money(row["budget_planned"]) if row else ZERO,
        "budget_spent": _money(row["budget_spent"]) if row else ZERO,
    }


def _none_last(field: str) -> Callable[[Mapping[str, Any]], tuple[bool, str]]:
    def key(row: Mapping[str, Any]) -> tuple[bool, str]:
        return (row["code"] is None, row[field] or "")

    return key


def _is_active(vision: Vision | None) -> bool:
    """The rollups hold the active vision's figures; any other vision is computed afresh."""
    return vision is not None and vision.status == choices.VisionStatus.ACTIVE


def _confidential_visible(user: Any) -> tuple[bool, tuple[str, list[Any]] | None]:
    """(sees everything, SQL of the confidential initiatives they may see) for the rollups."""
    if is_pmo(user):
        return True, None
    visible = visible_initiatives(user).filter(confidential=True).order_by()
    return False, _compiled(visible.values("id"))


def _portfolio_rows(*, user: Any, vision_id: int | None, period: str | None) -> list[dict]:
    """Breakdown rows computed from the initiatives (any vision)."""
    scope = initiative_scope(user=user, period=period)
    scope_sql, scope_params = _compiled(
        scope.values(
            "id",
            "stage",
            "kind",
            "lead_department_id",
            "risk_tier",
            "interaction_mode",
            "currency",
            "budget_planned",
            "budget_spent",
        )
    )
    # The alignment level and primary goal of `with_vision_alignment`, computed for the
    # whole scope at once: one pass over the vision's alignments grouped by initiative and
    # a hash join, instead of three correlated subqueries per initiative (the report tests
    # pin the figures on crafted data).
    levels = " ".join(
        f"WHEN {strength} THEN '{level}'" for strength, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()
    )
    base_sql = f"""
        SELECT s.*, CASE coalesce(l.strength, 0) {levels} END AS alignment_level,
               l.primary_goal_id
        FROM ({scope_sql}) s
        LEFT JOIN (
            SELECT a.initiative_id, max(a.strength) AS strength,
                   max(a.goal_id) FILTER (WHERE a.is_primary) AS primary_goal_id
            FROM registry_alignment a
            JOIN registry_goal g
              ON g.id = a.goal_id AND g.vision_id = %s AND g.archived_at IS NULL
            GROUP BY a.initiative_id
        ) l ON l.initiative_id = s.id
    """
    base_params = [*scope_params, vision_id]
    parts = [
        f"SELECT '{dimension}' AS dimension, b.{dimension}::text AS code, NULL::text AS name, "
        f"{_AGGREGATES} FROM base b GROUP BY b.{dimension}"
        for dimension in _VOCABULARY_DIMENSIONS
    ]
    parts.append(
        f"SELECT 'lead_department', d.slug, d.name, {_AGGREGATES} FROM base b "
        "LEFT JOIN registry_department d ON d.id = b.lead_department_id "
        "GROUP BY d.id, d.slug, d.name"
    )
    parts.append(
        f"SELECT 'primary_goal', g.code, g.title, {_AGGREGATES} FROM registry_goal g "
        "LEFT JOIN base b ON b.primary_goal_id = g.id "
        "WHERE g.vision_id = %s AND g.archived_at IS NULL GROUP BY g.id, g.code, g.title"
    )
    parts.append(
        f"SELECT 'primary_goal', NULL, NULL, {_AGGREGATES} FROM base b "
        "WHERE b.primary_goal_id IS NULL HAVING count(b.id) > 0"
    )
    parts.append(f"SELECT 'total', NULL, NULL, {_AGGREGATES} FROM base b")
    return _fetch(
        f"WITH base AS ({base_sql}) " + " UNION ALL ".join(parts), [*base_params, vision_id]
    )


def _portfolio_rows_from_rollup(
    *, user: Any, vision_id: int | None, period: str | None
) -> list[dict]:
    """The same rows as `_portfolio_rows`, for the active vision, from
    `registry.selectors.rollup`."""
    everything, visible = _confidential_visible(user)
    sums: dict[tuple[str, str | None], dict[str, Any]] = {}
    for cell in rollup.portfolio_cells(everything=everything, visible=visible, period=period):
        row = sums.setdefault(
            (cell["dimension"], cell["code"]),
            {
                "count": 0,
                "aligned_count": 0,
                "budget_planned": ZERO,
                "budget_spent": ZERO,
                "budget_planned_unaligned": ZERO,
                "budget_spent_unaligned": ZERO,
            },
        )
        row["count"] += cell["initiatives"]
        row["budget_planned"] += cell["budget_planned"]
        row["budget_spent"] += cell["budget_spent"]
        if cell["aligned"]:
            row["aligned_count"] += cell["initiatives"]
        else:
            row["budget_planned_unaligned"] += cell["budget_planned"]
            row["budget_spent_unaligned"] += cell["budget_spent"]
    # Names of the departments and goals the cells refer to by id, in one query.
    names = _fetch(
        "SELECT 'lead_department' AS dimension, id::text AS id, slug AS code, name "
        "FROM registry_department UNION ALL "
        "SELECT 'primary_goal', id::text, code, title FROM registry_goal "
        "WHERE vision_id = %s AND archived_at IS NULL",
        [vision_id],
    )
    departments = {
        n["id"]: (n["code"], n["name"]) for n in names if n["dimension"] != "primary_goal"
    }
    goals = {n["id"]: (n["code"], n["name"]) for n in names if n["dimension"] == "primary_goal"}
    rows: list[dict[str, Any]] = []
    for (dimension, code), figures in sums.items():
        name = None
        if dimension == "lead_department" and code is not None:
            code, name = departments[code]
        elif dimension == "primary_goal" and code is not None:
            code, name = goals[code]
        elif dimension == "alignment_level":
            code = str(ALIGNMENT_LEVEL_BY_STRENGTH[int(code)])
        rows.append({"dimension": dimension, "code": code, "name": name, **figures})
    found_goals = {row["code"] for row in rows if row["dimension"] == "primary_goal"}
    rows += [
        {
            "dimension": "primary_goal",
            "code": code,
            "name": title,
            "count": 0,
            "aligned_count": 0,
            "budget_planned": ZERO,
            "budget_spent": ZERO,
            "budget_planned_unaligned": ZERO,
            "budget_spent_unaligned": ZERO,
        }
        for code, title in goals.values()
        if code not in found_goals
    ]
    return rows


def portfolio_summary(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> dict[str, Any]:
    """Headline figures and breakdowns of the live portfolio for a vision and quarter.

    `totals`: count, aligned_count, share_aligned (aligned to a goal of the vision),
    budget_planned/spent, budget_planned/spent_unaligned (on work that serves no goal),
    coverage_gap_count, currencies. `breakdowns[dimension]`: rows of code, name, count,
    aligned_count, budget_planned, budget_spent for each of BREAKDOWN_DIMENSIONS. Vocabulary
    dimensions list every code in vocabulary order (zeros included); `primary_goal` lists every
    goal of the vision plus a `code: None` row for initiatives with no primary goal in it;
    `lead_department` lists departments leading at least one initiative (`code: None` for
    initiatives without one). Every breakdown adds up to the totals.
    """
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    if _is_active(vision_obj):
        rows = _portfolio_rows_from_rollup(user=user, vision_id=vision_id, period=period)
    else:
        rows = _portfolio_rows(user=user, vision_id=vision_id, period=period)

    by_dimension: dict[str, list[dict[str, Any]]] = {name: [] for name in BREAKDOWN_DIMENSIONS}
    total: dict[str, Any] = {}
    for row in rows:
        if row["dimension"] == "total":
            total = row
        else:
            by_dimension[row["dimension"]].append(row)

    breakdowns: dict[str, list[dict[str, Any]]] = {}
    for dimension, vocabulary in _VOCABULARY_DIMENSIONS.items():
        found = {row["code"]: row for row in by_dimension[dimension]}
        codes = vocabulary if vocabulary is not None else sorted(found)
        breakdowns[dimension] = [_breakdown_row(code, None, found.get(code)) for code in codes]
    # Departments by name, goals by code; the "none" bucket last.
    for dimension, sort_field in (("lead_department", "name"), ("primary_goal", "code")):
        found_rows = sorted(by_dimension[dimension], key=_none_last(sort_field))
        breakdowns[dimension] = [
            _breakdown_row(row["code"], row["name"], row) for row in found_rows
        ]
    breakdowns = {name: breakdowns[name] for name in BREAKDOWN_DIMENSIONS}

    count = total.get("count", 0)
    aligned = total.get("aligned_count", 0)
    totals = {
        "count": count,
        "aligned_count": aligned,
        "share_aligned": _ratio(aligned, count),
        "budget_planned": _money(total.get("budget_planned")),
        "budget_spent": _money(total.get("budget_spent")),
        "budget_planned_unaligned": _money(total.get("budget_planned_unaligned")),
        "budget_spent_unaligned": _money(total.get("budget_spent_unaligned")),
        "coverage_gap_count": _coverage_gap_goals(
            user=user, vision_id=vision_id, period=period
        ).count(),
        "currencies": [row["code"] for row in breakdowns["currency"] if row["count"]],
    }
    return {
        "vision": _vision_brief(vision_obj),
        "period": period,
        "totals": totals,
        "breakdowns": breakdowns,
    }


# --- alignment matrix -------------------------------------------------------------------------


def _matrix_rows(*, user: Any, vision_id: int | None, period: str | None) -> list[dict]:
    """The matrix's cell, unaligned and department rows computed from the initiatives."""
    scope = initiative_scope(user=user, period=period, open_only=True)
    base_sql, base_params = _compiled(scope.values("id", "lead_department_id", "budget_planned"))
    return _fetch(
        f"""
        WITH base AS ({base_sql}),
        links AS (
            SELECT b.id, b.lead_department_id, b.budget_planned, a.goal_id, a.strength,
                   row_number() OVER (PARTITION BY b.id ORDER BY a.goal_id) AS nth
            FROM base b
            LEFT JOIN (
                registry_alignment a
                JOIN registry_goal g
                  ON g.id = a.goal_id AND g.vision_id = %s AND g.archived_at IS NULL
            ) ON a.initiative_id = b.id
        )
        SELECT 'cell' AS part, goal_id, lead_department_id, count(*) AS count,
               coalesce(sum(budget_planned), 0) AS budget_planned, max(strength) AS max_strength,
               NULL::bigint AS aligned_count
        FROM links WHERE goal_id IS NOT NULL GROUP BY goal_id, lead_department_id
        UNION ALL
        SELECT 'unaligned', NULL, lead_department_id, count(*), coalesce(sum(budget_planned), 0),
               NULL, NULL
        FROM links WHERE goal_id IS NULL GROUP BY lead_department_id
        UNION ALL
        SELECT 'department', NULL, lead_department_id, count(*) FILTER (WHERE nth = 1),
               coalesce(sum(budget_planned) FILTER (WHERE nth = 1), 0), max(strength),
               count(*) FILTER (WHERE nth = 1 AND goal_id IS NOT NULL)
        FROM links GROUP BY lead_department_id
        """,
        [*base_params, vision_id],
    )


def _matrix_rows_from_rollup(*, user: Any, period: str | None) -> list[dict]:
    """The same rows as `_matrix_rows`, for the active vision, from `registry.selectors.rollup`."""
    everything, visible = _confidential_visible(user)
    rows: list[dict[str, Any]] = []
    cells: dict[tuple[int, int | None], dict[str, Any]] = {}
    strongest: dict[int | None, int] = {}
    for cell in rollup.alignment_cells(everything=everything, visible=visible, period=period):
        department = cell["lead_department_id"]
        row = cells.setdefault(
            (cell["goal_id"], department),
            {
                "part": "cell",
                "goal_id": cell["goal_id"],
                "lead_department_id": department,
                "count": 0,
                "budget_planned": ZERO,
                "max_strength": 0,
                "aligned_count": None,
            },
        )
        row["count"] += cell["initiatives"]
        row["budget_planned"] += cell["budget_planned"]
        row["max_strength"] = max(row["max_strength"], cell["strength"])
        strongest[department] = max(strongest.get(department, 0), cell["strength"])
    rows += cells.values()
    columns: dict[int | None, dict[str, Any]] = {}
    unaligned: dict[int | None, dict[str, Any]] = {}
    for cell in rollup.portfolio_cells(
        everything=everything, visible=visible, period=period, dimension="lead_department"
    ):
        if not cell["open"]:
            continue
        department = int(cell["code"]) if cell["code"] is not None else None
        column = columns.setdefault(
            department,
            {
                "part": "department",
                "goal_id": None,
                "lead_department_id": department,
                "count": 0,
                "budget_planned": ZERO,
                "max_strength": strongest.get(department),
                "aligned_count": 0,
            },
        )
        column["count"] += cell["initiatives"]
        column["budget_planned"] += cell["budget_planned"]
        if cell["aligned"]:
            column["aligned_count"] += cell["initiatives"]
        else:
            unaligned[department] = {
                "part": "unaligned",
                "goal_id": None,
                "lead_department_id": department,
                "count": cell["initiatives"],
                "budget_planned": cell["budget_planned"],
                "max_strength": None,
                "aligned_count": None,
            }
    return rows + list(columns.values()) + list(unaligned.values())


def alignment_matrix(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> dict[str, Any]:
    """Goals of the vision × lead departments over the open initiatives, for a heatmap.

    `goals` (rows, by code) and `departments` (columns: every department by name, plus a
    `slug: None` column when open initiatives have no lead department) carry their totals;
    `cells` lists each non-empty (goal, department) pair with count, budget_planned and the
    strongest alignment (max_strength 1–3 and its alignment_level code); `unaligned` lists,
    per department, the open initiatives aligned to no goal of the vision. An initiative
    aligned to two goals counts in both rows, but once in its department's column.
    """
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    if _is_active(vision_obj):
        rows = _matrix_rows_from_rollup(user=user, period=period)
    else:
        rows = _matrix_rows(user=user, vision_id=vision_id, period=period)
    goals = list(
        Goal.objects.live()
        .filter(vision_id=vision_id)
        .order_by("code")
        .values("id", "code", "title", "theme", "weight")
    )
    departments = list(Department.objects.order_by("name").values("id", "slug", "name"))
    goal_code = {goal["id"]: goal["code"] for goal in goals}
    department_slug = {department["id"]: department["slug"] for department in departments}

    cells: list[dict[str, Any]] = []
    goal_totals: dict[int, dict[str, Any]] = {}
    department_totals: dict[int | None, dict[str, Any]] = {}
    unaligned: list[dict[str, Any]] = []
    for row in rows:
        department = row["lead_department_id"]
        if row["part"] == "cell":
            strength = row["max_strength"]
            cells.append(
                {
                    "goal": goal_code[row["goal_id"]],
                    "department": department_slug.get(department),
                    "count": row["count"],
                    "budget_planned": _money(row["budget_planned"]),
                    "max_strength": strength,
                    "alignment_level": str(ALIGNMENT_LEVEL_BY_STRENGTH[strength]),
                }
            )
            totals = goal_totals.setdefault(
                row["goal_id"], {"count": 0, "budget_planned": ZERO, "max_strength": 0}
            )
            totals["count"] += row["count"]
            totals["budget_planned"] += _money(row["budget_planned"])
            totals["max_strength"] = max(totals["max_strength"], strength)
        elif row["part"] == "unaligned":
            unaligned.append(
                {
                    "department": department_slug.get(department),
                    "count": row["count"],
                    "budget_planned": _money(row["budget_planned"]),
                }
            )
        else:
            department_totals[department] = row

    def _department_column(slug: str | None, name: str | None, row: Mapping | None) -> dict:
        return {
            "slug": slug,
            "name": name,
            "count": row["count"] if row else 0,
            "aligned_count": row["aligned_count"] if row else 0,
            "budget_planned": _money(row["budget_planned"]) if row else ZERO,
        }

    columns = [
        _department_column(d["slug"], d["name"], department_totals.get(d["id"]))
        for d in departments
    ]
    if None in department_totals:
        columns.append(_department_column(None, None, department_totals[None]))
    goal_rows = []
    for goal in goals:
        totals = goal_totals.get(
            goal["id"], {"count": 0, "budget_planned": ZERO, "max_strength": 0}
        )
        goal_rows.append(
            {
                "code": goal["code"],
                "title": goal["title"],
                "theme": goal["theme"],
                "weight": goal["weight"],
                "count": totals["count"],
                "budget_planned": totals["budget_planned"],
                "max_strength": totals["max_strength"],
                "alignment_level": str(ALIGNMENT_LEVEL_BY_STRENGTH[totals["max_strength"]]),
            }
        )
    cell_order = {goal["code"]: index for index, goal in enumerate(goals)}
    column_order = {column["slug"]: index for index, column in enumerate(columns)}
    cells.sort(key=lambda c: (cell_order[c["goal"]], column_order[c["department"]]))
    unaligned.sort(key=lambda u: column_order[u["department"]])
    return {
        "vision": _vision_brief(vision_obj),
        "period": period,
        "goals": goal_rows,
        "departments": columns,
        "cells": cells,
        "unaligned": unaligned,
    }


# --- goal progress and coverage ---------------------------------------------------------------


def expected_progress(
    baseline_date: datetime.date, target_date: datetime.date, on: datetime.date
) -> float:
    """Where a goal should be on `on` if it moved in a straight line from baseline to target."""
    if on >= target_date:
        return 1.0
    if on <= baseline_date:
        return 0.0
    return (on - baseline_date).days / (target_date - baseline_date).days


def _contributors(*, user: Any, period: str | None) -> InitiativeQuerySet:
    """Open initiatives (visible, in the quarter) aligned to the goal of the outer query."""
    return initiative_scope(user=user, period=period, open_only=True).filter(
        Exists(Alignment.objects.filter(initiative=OuterRef("pk"), goal=OuterRef(OuterRef("pk"))))
    )


def _coverage_gap_goals(*, user: Any, vision_id: int | None, period: str | None) -> models.QuerySet:
    """Live goals of the vision that no open initiative (the user can see) serves."""
    return (
        Goal.objects.live()
        .filter(vision_id=vision_id)
        .filter(~Exists(_contributors(user=user, period=period)))
    )


def goal_progress(
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
    today: datetime.date | None = None,
    contributors: bool = True,
) -> list[dict[str, Any]]:
    """Each live goal of the vision: where it started, stands and should stand by now.

    `contributors=False` leaves out `contributing_count`/`contributing_keys` (a scan of the
    portfolio per goal) for pages that do not show them, such as the dashboard's bars.

    progress_pct = (current − baseline) / (target − baseline) × 100 from the latest measurement
    (None without one); expected_pct is the straight line from baseline_date to target_date on
    `today`; on_track = progress ≥ expected (None without a measurement). Contributors are the
    open initiatives the user can see, active in the quarter, aligned to the goal.
    """
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    today = today or timezone.localdate()
    goals = (
        Goal.objects.live()
        .filter(vision_id=vision_id)
        .with_progress()
        .annotate(parent_code=models.F("parent__code"))
        .order_by("code")
    )
    if contributors:
        goals = goals.annotate(
            contributing_keys=ArraySubquery(
                _contributors(user=user, period=period).order_by("key").values("key")
            )
        )
    report = []
    for goal in goals:
        expected = expected_progress(goal.baseline_date, goal.target_date, today)
        progress = float(goal.progress) if goal.progress is not None else None
        report.append(
            {
                "code": goal.code,
                "title": goal.title,
                "theme": goal.theme,
                "parent": goal.parent_code,
                "metric": goal.metric,
                "unit": goal.unit,
                "direction": goal.direction,
                "weight": goal.weight,
                "baseline": goal.baseline,
                "baseline_date": goal.baseline_date,
                "current": goal.current,
                "current_on": goal.current_on,
                "target": goal.target,
                "target_date": goal.target_date,
                "progress_pct": round(progress * 100, 2) if progress is not None else None,
                "expected_pct": round(expected * 100, 2),
                "on_track": progress >= expected if progress is not None else None,
            }
        )
        if contributors:
            report[-1]["contributing_count"] = len(goal.contributing_keys)
            report[-1]["contributing_keys"] = list(goal.contributing_keys)
    return report


def coverage_gaps(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Goals of the vision no open initiative serves — highest weight first."""
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    goals = (
        _coverage_gap_goals(user=user, vision_id=vision_id, period=period)
        .annotate(owner_name=models.F("owner__name"), owner_email=models.F("owner__email"))
        .order_by("-weight", "code")
        .values(
            "code",
            "title",
            "theme",
            "metric",
            "weight",
            "target",
            "target_date",
            "owner_name",
            "owner_email",
        )
    )
    return list(goals)


# --- silos ------------------------------------------------------------------------------------


def silos(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Open initiatives whose lead, participating departments and team span one department."""
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    qs = (
        with_vision_alignment(initiative_scope(user=user, period=period, open_only=True), vision_id)
        .with_silo_flag()
        .filter(is_silo=True)
        .annotate(
            lead_department_slug=models.F("lead_department__slug"),
            lead_department_name=models.F("lead_department__name"),
            owner_name=models.F("owner__name"),
            owner_email=models.F("owner__email"),
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
            "owner_email",
            "spanned_departments",
            "alignment_level",
            "budget_planned",
            "currency",
        )
    )
    rows = list(qs)
    for row in rows:
        row["lead_department"] = row.pop("lead_department_slug")
    return rows


# --- overlaps ---------------------------------------------------------------------------------
# The scoring lives in registry.selectors.overlaps; these keep the reports' names and shapes.


def overlaps(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Groups of open initiatives of different lead departments that do the same thing.

    The pairs `overlap_scoring.overlap_pairs` finds (score at or above the threshold, across
    lead departments, among what the user may see), joined into groups where they chain. Each
    group has its `members` (key, name, stage, lead_department, lead_department_name; by key),
    `departments`, its best pair's `score` and its `pairs` (keys, score, reasons with their
    contributions), best first. Largest groups first, then by score.
    """
    pairs = overlap_scoring.overlap_pairs(user=user, vision=vision, period=period)
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for pair in pairs:
        a, b = pair["keys"]
        parent[root(a)] = root(b)
    members = {
        row["key"]: {
            "key": row["key"],
            "name": row["name"],
            "stage": row["stage"],
            "lead_department": row["lead_department__slug"],
            "lead_department_name": row["lead_department__name"],
        }
        for row in Initiative.objects.filter(key__in=list(parent)).values(
            "key", "name", "stage", "lead_department__slug", "lead_department__name"
        )
    }
    grouped: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        group = grouped.setdefault(root(pair["keys"][0]), {"keys": set(), "pairs": []})
        group["keys"].update(pair["keys"])
        group["pairs"].append(pair)
    groups = []
    for group in grouped.values():
        rows = [members[key] for key in sorted(group["keys"])]
        groups.append(
            {
                "members": rows,
                "departments": sorted({row["lead_department"] for row in rows}),
                "score": max(pair["score"] for pair in group["pairs"]),
                "pairs": group["pairs"],
            }
        )
    groups.sort(key=lambda g: (-len(g["members"]), -g["score"], g["members"][0]["key"]))
    return groups


def overlaps_for(
    subject: Initiative | Mapping[str, Any],
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """The open initiatives `subject` overlaps with, and why — "join or justify" at intake.

    `subject` is an initiative (its current, possibly unsaved field values; primary goal and
    systems as stored) or a mapping of form/API values (`overlap_scoring.subject_from_values`).
    Returns key, name, stage, lead_department, lead_department_name, score and reasons per
    initiative, best first.
    """
    return overlap_scoring.overlaps_of(subject, user=user, vision=vision, period=period)


@dataclass(frozen=True)
class ItemOverlaps:
    """One initiative's join or justify: how many it overlaps, and the best of them."""

    count: int
    overlaps: list[dict[str, Any]]


def overlaps_by_key(
    keys: Iterable[str],
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
    limit: int | None = None,
) -> dict[str, ItemOverlaps]:
    """`overlaps_for` of many stored initiatives in one scoring statement, for a sync batch.

    For each key: `count`, how many open initiatives of other lead departments the user may
    see it overlaps, and the best `limit` of them (all when None). It answers for the
    initiative as stored whoever may see it — only the initiatives it overlaps are limited to
    what the user may see — so the caller vouches for the keys (the sync passes the items the
    actor has just written). Every key is in the answer; one that is unknown or has no lead
    department overlaps nothing.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    vision = overlap_scoring.resolve_vision(vision)
    subjects = overlap_scoring.subjects_by_key(wanted, vision=vision)
    ordered = [subjects[key] for key in wanted if key in subjects]
    found = overlap_scoring.scored_candidates(ordered, user=user, vision=vision, period=period)
    by_key = {str(subject.key): rows for subject, rows in zip(ordered, found, strict=True)}
    shown = None if limit is None else int(limit)
    return {
        key: ItemOverlaps(count=len(by_key.get(key, [])), overlaps=by_key.get(key, [])[:shown])
        for key in wanted
    }


# --- unaligned work ---------------------------------------------------------------------------


def unaligned(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Open initiatives aligned to no goal of the vision: the fragmentation the article warns
    about. Largest planned budget first (what the board pays for without a goal), then key.
    """
    vision_obj = resolve_vision(vision)
    vision_id = vision_obj.pk if vision_obj else None
    qs = (
        with_vision_alignment(initiative_scope(user=user, period=period, open_only=True), vision_id)
        .filter(alignment_strength=0)
        .annotate(
            lead_department_slug=models.F("lead_department__slug"),
            lead_department_name=models.F("lead_department__name"),
            owner_name=models.F("owner__name"),
            owner_email=models.F("owner__email"),
        )
        .order_by("-budget_planned", "key")
        .values(
            "key",
            "name",
            "stage",
            "kind",
            "lead_department_slug",
            "lead_department_name",
            "owner_name",
            "owner_email",
            "budget_planned",
            "budget_spent",
            "currency",
        )
    )
    rows = list(qs)
    for row in rows:
        row["lead_department"] = row.pop("lead_department_slug")
    return rows


# --- gate gaps --------------------------------------------------------------------------------

# The evidence gate gaps look at, in the order the lifecycle asks for it.
EVIDENCE_GATES: tuple[str, ...] = tuple(
    gate for gate in Gate.values if any(gate in gates for gates in EVIDENCE_BY_STAGE.values())
)


def _blank(field: str) -> Q:
    return Q(**{f"{field}__regex": r"^\s*$"})


def _lacks(gate: str) -> Q:
    """The initiative does not show this piece of evidence (whatever its stage)."""
    if gate == Gate.OWNER:
        return Q(owner__isnull=True)
    if gate == Gate.PRIMARY_ALIGNMENT:
        # The lifecycle's gate: a primary alignment to a live goal of the active vision.
        return Q(primary_goal_id__isnull=True)
    return _blank(gate)  # summary, hypothesis, success_criteria, learnings: text fields


def with_gate_gaps(qs: InitiativeQuerySet) -> InitiativeQuerySet:
    """Annotate `lacks_<gate>` for every gate of EVIDENCE_GATES: True when the initiative's
    stage (for a paused one, the stage it left) expects that evidence and it is missing.

    The same rule as `lifecycle.gate_gaps()`, as SQL, so a report lists them for the whole
    portfolio in one query (tests pin that both agree).
    """
    effective_stage = models.Case(
        models.When(stage=Stage.PAUSED, then=models.F("paused_from")),
        default=models.F("stage"),
        output_field=models.CharField(),
    )
    annotations = {}
    for gate in EVIDENCE_GATES:
        stages = [stage for stage, gates in EVIDENCE_BY_STAGE.items() if gate in gates]
        annotations[f"lacks_{gate}"] = models.ExpressionWrapper(
            Q(effective_stage__in=stages) & _lacks(gate), output_field=models.BooleanField()
        )
    return qs.with_primary_goal().annotate(effective_stage=effective_stage).annotate(**annotations)


def imported_with_gate_gaps(qs: InitiativeQuerySet) -> InitiativeQuerySet:
    """Initiatives brought in by sync or import that lack a piece of their stage's evidence
    (`with_gate_gaps` annotated): the rows of `gate_gaps`, and the changelist's filter."""
    imports = StageChange.objects.filter(initiative=OuterRef("pk")).exclude(imported_from="")
    any_gap = Q()
    for gate in EVIDENCE_GATES:
        any_gap |= Q(**{f"lacks_{gate}": True})
    return with_gate_gaps(qs).filter(Exists(imports)).filter(any_gap)


def gate_gaps(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Open initiatives brought in by sync or import at a stage they already had elsewhere,
    that still lack the gate evidence of that stage (DESIGN §2) — so the PMO can close them.

    Per initiative (by key): key, name, stage, paused_from, source, external_id, imported_from
    (the source of the import that brought it in), lead_department(_name), owner_name,
    owner_email and `gate_gaps`, the missing evidence as Gate codes in lifecycle order.
    `vision` is accepted for a uniform report signature: the gates look at the active
    vision, as the lifecycle does.
    """
    del vision  # the lifecycle's gates are about the active vision
    imports = StageChange.objects.filter(initiative=OuterRef("pk")).exclude(imported_from="")
    qs = (
        imported_with_gate_gaps(initiative_scope(user=user, period=period, open_only=True))
        .annotate(
            imported_from=Subquery(imports.order_by("at", "id").values("imported_from")[:1]),
            lead_department_slug=models.F("lead_department__slug"),
            lead_department_name=models.F("lead_department__name"),
            owner_name=models.F("owner__name"),
            owner_email=models.F("owner__email"),
        )
        .order_by("key")
        .values(
            "key",
            "name",
            "stage",
            "paused_from",
            "source",
            "external_id",
            "imported_from",
            "lead_department_slug",
            "lead_department_name",
            "owner_name",
            "owner_email",
            *(f"lacks_{gate}" for gate in EVIDENCE_GATES),
        )
    )
    rows = []
    for row in qs:
        row["lead_department"] = row.pop("lead_department_slug")
        row["gate_gaps"] = [gate for gate in EVIDENCE_GATES if row.pop(f"lacks_{gate}")]
        rows.append(row)
    return rows


# --- shared systems ---------------------------------------------------------------------------


def shared_systems(
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
    min_initiatives: int = 2,
) -> list[dict[str, Any]]:
    """Systems that many open initiatives use — integration and data-protection hot spots.

    Per system (used by at least `min_initiatives`): slug, name, category, owner_department,
    contains_personal_data, initiative_count, department_count and `by_department` (department,
    department_name, count, initiatives keys). Most used first, then most departments. `vision`
    is accepted for a uniform report signature; systems do not depend on it.
    """
    del vision  # systems are vision-independent; kept so every report is called alike
    scope = initiative_scope(user=user, period=period, open_only=True)
    base_sql, base_params = _compiled(scope.values("id", "key", "lead_department_id"))
    rows = _fetch(
        f"""
        WITH base AS ({base_sql}),
        per_department AS (
            SELECT isy.system_id, b.lead_department_id, count(*) AS count,
                   array_agg(b.key ORDER BY b.key) AS initiatives
            FROM base b JOIN registry_initiative_systems isy ON isy.initiative_id = b.id
            GROUP BY isy.system_id, b.lead_department_id
        )
        SELECT sy.slug, sy.name, sy.category, od.slug AS owner_department,
               sy.contains_personal_data,
               sum(pd.count)::int AS initiative_count,
               count(DISTINCT pd.lead_department_id)::int AS department_count,
               json_agg(json_build_object(
                   'department', d.slug, 'department_name', d.name, 'count', pd.count,
                   'initiatives', pd.initiatives)
                   ORDER BY pd.count DESC, d.name NULLS LAST) AS by_department
        FROM per_department pd
        JOIN registry_system sy ON sy.id = pd.system_id
        LEFT JOIN registry_department d ON d.id = pd.lead_department_id
        LEFT JOIN registry_department od ON od.id = sy.owner_department_id
        GROUP BY sy.id, sy.slug, sy.name, sy.category, od.slug, sy.contains_personal_data
        HAVING sum(pd.count) >= %s
        ORDER BY initiative_count DESC, department_count DESC, sy.name
        """,
        [*base_params, min_initiatives],
    )
    for row in rows:
        row["by_department"] = _json(row["by_department"])
    return rows


__all__ = [
    "BREAKDOWN_DIMENSIONS",
    "ItemOverlaps",
    "alignment_matrix",
    "coverage_gaps",
    "expected_progress",
    "gate_gaps",
    "goal_progress",
    "initiative_scope",
    "overlaps",
    "overlaps_by_key",
    "overlaps_for",
    "portfolio_summary",
    "resolve_vision",
    "shared_systems",
    "silos",
    "unaligned",
    "imported_with_gate_gaps",
    "with_gate_gaps",
    "with_vision_alignment",
]


NEW_IDEAS_DAYS = 90
NEW_IDEAS_SHOWN = 10


def new_ideas(*, user: Any, days: int = NEW_IDEAS_DAYS, shown: int = NEW_IDEAS_SHOWN) -> dict:
    """Ideas proposed in the last `days` (live, still at stage idea) the user may see: their
    exact count and the newest `shown`, for the PMO to pick up."""
    since = timezone.now() - datetime.timedelta(days=days)
    ideas = visible_initiatives(user).filter(
        stage=choices.Stage.IDEA, archived_at__isnull=True, created_at__gte=since
    )
    rows = list(
        ideas.order_by("-created_at", "-id").values(
            "id", "key", "name", "created_at", "owner__name", "lead_department__name"
        )[:shown]
    )
    return {"count": ideas.count(), "days": days, "rows": rows}
