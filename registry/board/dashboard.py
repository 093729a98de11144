"""The portfolio dashboard for the PMO and the board: one page per vision and quarter.

Headline figures, the alignment heatmap (goals × lead departments; each cell opens the
initiative changelist filtered by goal and department), goal progress against the straight
line to target, the stage funnel, and the lists a review starts from: unaligned work, silos,
overlaps, gate gaps and coverage gaps. Every figure comes from `registry.selectors.reports` (set-
based
SQL), so the page runs the same number of queries for 10 initiatives or 1,000; this module
only lays the numbers out as inline SVG (no script, no CDN).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from registry import permissions
from registry.board.journey import journey_summary
from registry.board.learning import learning_panels
from registry.board.scope import (
    LEVEL_COLOURS,
    OPEN_STAGE_CODES,
    change_url,
    changelist_url,
    chosen_scope,
    lead_department_filter,
    money,
)
from registry.choices import (
    STAGE_ORDER,
    AlignmentLevel,
    DepartmentFunction,
    Gate,
    Stage,
)
from registry.models import Department, Goal, Review, Vision
from registry.quarters import quarters_between
from registry.selectors import flags, reports
from registry.selectors import overlaps as overlap_scoring

FUNNEL_STAGES = [stage for stage in STAGE_ORDER if stage != Stage.RETIRED]


# --- charts -----------------------------------------------------------------------------------


@dataclass
class HeatCell:
    x: int
    y: int
    count: int
    label: str
    title: str
    fill: str
    opacity: float
    url: str | None
    text_colour: str


HEAT = {"label_width": 270, "cell_width": 92, "cell_height": 36, "header": 96, "gap": 2}
# Past this many lead departments the heatmap groups them by function unless asked otherwise:
# at 50 departments one column each was 4,980 px wide and unreadable.
HEAT_MAX_DEPARTMENT_COLUMNS = 12
GROUPINGS = ("function", "department")


@dataclass
class HeatColumn:
    """One column of the heatmap: a department, a function, or "no lead department"."""

    name: str
    slugs: set[str | None]
    filter: dict[str, Any]


def heatmap_grouping(requested: str | None, department_count: int) -> str:
    """`?group=function|department`; by default departments while they fit, else functions."""
    if requested in GROUPINGS:
        return requested
    return "department" if department_count <= HEAT_MAX_DEPARTMENT_COLUMNS else "function"


def heat_columns(
    matrix: dict[str, Any],
    *,
    group: str,
    departments: dict[str | None, tuple[int, str]],
) -> list[HeatColumn]:
    """The columns of the chosen grouping that lead open work (or are departments at all)."""
    present = [c for c in matrix["departments"] if c["count"] or c["slug"] is not None]
    columns: list[HeatColumn] = []
    if group == "department":
        for column in present:
            department = departments.get(column["slug"])
            columns.append(
                HeatColumn(
                    column["name"] or _("no lead department"),
                    {column["slug"]},
                    lead_department_filter(department[0] if department else None),
                )
            )
        return columns
    by_function: dict[str, set[str | None]] = {}
    for column in present:
        if column["slug"] is not None and column["count"]:
            function = departments[column["slug"]][1]
            by_function.setdefault(function, set()).add(column["slug"])
    for function in DepartmentFunction.values:
        if function in by_function:
            columns.append(
                HeatColumn(
                    str(DepartmentFunction(function).label),
                    by_function[function],
                    {"lead_department__function__exact": function},
                )
            )
    if any(c["slug"] is None and c["count"] for c in present):
        columns.append(HeatColumn(_("no lead department"), {None}, lead_department_filter(None)))
    return columns


def _summed(found: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Cells of several departments as one: counts and budgets added, strongest level kept."""
    found = list(found)
    if not found:
        return None
    strongest = max(found, key=lambda c: c.get("max_strength", 0))
    return {
        "count": sum(c["count"] for c in found),
        "budget_planned": sum((c["budget_planned"] for c in found), Decimal(0)),
        "alignment_level": strongest.get("alignment_level", AlignmentLevel.NONE),
    }


def heatmap(
    matrix: dict[str, Any],
    *,
    goal_ids: dict[str, int],
    departments: dict[str | None, tuple[int, str]],
    group: str,
    period: str | None,
    currencies: list[str],
) -> dict[str, Any]:
    """Goals (rows) × lead departments or functions (columns), plus a last row of work
    serving no goal."""
    columns = heat_columns(matrix, group=group, departments=departments)
    cells: dict[tuple[str, str | None], dict] = {
        (c["goal"], c["department"]): c for c in matrix["cells"]
    }
    unaligned = {u["department"]: u for u in matrix["unaligned"]}
    goal_cells = {
        (goal["code"], index): _summed(
            cells[(goal["code"], slug)] for slug in column.slugs if (goal["code"], slug) in cells
        )
        for goal in matrix["goals"]
        for index, column in enumerate(columns)
    }
    none_cells_found = {
        index: _summed(unaligned[slug] for slug in column.slugs if slug in unaligned)
        for index, column in enumerate(columns)
    }
    counts = [c["count"] for c in (*goal_cells.values(), *none_cells_found.values()) if c]
    most = max(counts, default=0) or 1
    width, height = HEAT["cell_width"], HEAT["cell_height"]
    rows: list[dict[str, Any]] = []
    scope: dict[str, Any] = {"stage__in": ",".join(OPEN_STAGE_CODES), "active_in": period}

    def cell(x: int, y: int, found: dict | None, colour: str, url: str, title: str) -> HeatCell:
        count = found["count"] if found else 0
        if not count:
            return HeatCell(x, y, 0, "", title, "#f2f2f2", 1.0, None, "#999")
        opacity = round(0.35 + 0.65 * count / most, 2)
        budget = money(found["budget_planned"], currencies) if found else ""
        shown = formats.number_format(count, force_grouping=True)
        return HeatCell(
            x,
            y,
            count,
            shown,
            f"{title}: {shown} · {budget}",
            colour,
            opacity,
            url,
            "#fff"
            if opacity > 0.55 and colour != LEVEL_COLOURS[AlignmentLevel.MODERATE]
            else "#1b1b1b",
        )

    for row_index, goal in enumerate(matrix["goals"]):
        y = HEAT["header"] + row_index * (height + HEAT["gap"])
        row_cells = []
        for column_index, column in enumerate(columns):
            x = HEAT["label_width"] + column_index * (width + HEAT["gap"])
            found = goal_cells[(goal["code"], column_index)]
            level = found["alignment_level"] if found else AlignmentLevel.NONE
            url = changelist_url(goal=goal_ids.get(goal["code"]), **column.filter, **scope)
            title = f"{goal['code']} × {column.name}"
            row_cells.append(cell(x, y, found, LEVEL_COLOURS[level], url, title))
        rows.append(
            {"label": f"{goal['code']} · {goal['title']}", "y": y, "cells": row_cells, "goal": goal}
        )
    y = HEAT["header"] + len(matrix["goals"]) * (height + HEAT["gap"]) + 6
    none_cells = []
    no_goal = _("No goal")
    for column_index, column in enumerate(columns):
        x = HEAT["label_width"] + column_index * (width + HEAT["gap"])
        url = changelist_url(alignment=AlignmentLevel.NONE, **column.filter, **scope)
        title = f"{no_goal} × {column.name}"
        none_cells.append(
            cell(x, y, none_cells_found[column_index], LEVEL_COLOURS["none"], url, title)
        )
    rows.append({"label": _("Serves no goal"), "y": y, "cells": none_cells, "goal": None})
    headers = [
        {
            "x": HEAT["label_width"] + index * (width + HEAT["gap"]) + width // 2,
            "label": column.name,
        }
        for index, column in enumerate(columns)
    ]
    return {
        "rows": rows,
        "headers": headers,
        "group": group,
        "columns": len(columns),
        "width": HEAT["label_width"] + len(columns) * (width + HEAT["gap"]) + 10,
        "height": y + height + 8,
        "cell_width": width,
        "cell_height": height,
        "text_dx": width // 2,
        "text_dy": height // 2 + 5,
        "label_x": HEAT["label_width"] - 8,
        "header_y": HEAT["header"] - 10,
    }


BAR = {"label_width": 300, "track": 360, "height": 30}


def progress_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One bar per goal: progress towards target, with a marker where it should be by now."""
    track = BAR["track"]
    bars = []
    for index, row in enumerate(rows):
        progress = row["progress_pct"]
        shown = max(0.0, min(progress or 0.0, 100.0))
        colour = (
            "#9e9e9e" if row["on_track"] is None else "#2e7d32" if row["on_track"] else "#b45309"
        )
        if progress is None:
            status = _("no measurement yet")
        elif row["on_track"]:
            status = _("on track")
        else:
            status = _("behind")
        expected = _("expected")
        bars.append(
            {
                "y": index * BAR["height"],
                "label": f"{row['code']} · {row['title']}",
                "width": round(track * shown / 100, 1),
                "marker": round(BAR["label_width"] + track * row["expected_pct"] / 100, 1),
                "colour": colour,
                "text": (
                    f"{progress:.0f} % · {expected} {row['expected_pct']:.0f} % · {status}"
                    if progress is not None
                    else status
                ),
                "row": row,
            }
        )
    return {
        "bars": bars,
        "x": BAR["label_width"],
        "track": track,
        "height": len(bars) * BAR["height"] + 4,
        "width": BAR["label_width"] + track + 280,
        "bar_height": BAR["height"] - 12,
        "text_x": BAR["label_width"] + track + 10,
    }


FUNNEL = {"width": 480, "height": 32, "label_width": 110}


def funnel(stage_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The main line idea → production as centred bars; paused, stopped, retired beside it."""
    counts = {row["code"]: row["count"] for row in stage_rows}
    most = max((counts.get(stage, 0) for stage in FUNNEL_STAGES), default=0) or 1
    width = FUNNEL["width"]
    bars = []
    for index, stage in enumerate(FUNNEL_STAGES):
        count = counts.get(stage, 0)
        bar_width = max(2, round(width * count / most))
        bars.append(
            {
                "label": str(Stage(stage).label),
                "count": count,
                "x": FUNNEL["label_width"] + (width - bar_width) / 2,
                "count_x": FUNNEL["label_width"] + (width + bar_width) / 2 + 6,
                "y": index * FUNNEL["height"],
                "width": bar_width,
                "url": changelist_url(stage__exact=stage),
            }
        )
    side = [
        {"label": str(Stage(stage).label), "count": counts.get(stage, 0)}
        for stage in (Stage.PAUSED, Stage.STOPPED, Stage.RETIRED)
    ]
    return {
        "bars": bars,
        "side": side,
        "width": FUNNEL["label_width"] + width + 60,
        "height": len(bars) * FUNNEL["height"],
        "bar_height": FUNNEL["height"] - 6,
        "centre": FUNNEL["label_width"] + width / 2,
        "label_x": FUNNEL["label_width"] - 8,
    }


# --- the page ---------------------------------------------------------------------------------


def alignment_levels(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """How many initiatives of the scope reach each alignment level, strongest first."""
    found = {row["code"]: row["count"] for row in summary["breakdowns"]["alignment_level"]}
    return [
        {
            "code": level,
            "label": str(AlignmentLevel(level).label),
            "count": found.get(level, 0),
            "colour": LEVEL_COLOURS[level],
        }
        for level in (
            AlignmentLevel.STRONG,
            AlignmentLevel.MODERATE,
            AlignmentLevel.WEAK,
            AlignmentLevel.NONE,
        )
    ]


def dashboard_data(
    *, user: Any, vision: Vision | None, period: str | None, group: str | None = None
) -> dict[str, Any]:
    """Every figure of the dashboard, in a fixed number of queries whatever the portfolio's
    size: long lists are an exact count and their first rows (`registry.selectors.flags`)."""
    summary = reports.portfolio_summary(user=user, vision=vision, period=period)
    matrix = reports.alignment_matrix(user=user, vision=vision, period=period)
    progress = reports.goal_progress(user=user, vision=vision, period=period, contributors=False)
    gaps = reports.coverage_gaps(user=user, vision=vision, period=period)
    silos = flags.silo_list(user=user, vision=vision, period=period)
    overlaps = flags.overlap_list(user=user, vision=vision, period=period)
    unaligned = flags.unaligned_list(user=user, vision=vision, period=period)
    gate_gaps = flags.gate_gap_list(user=user, period=period)
    ideas = reports.new_ideas(user=user)

    goal_ids = dict(Goal.objects.filter(vision=vision).values_list("code", "pk")) if vision else {}
    departments: dict[str | None, tuple[int, str]] = {
        slug: (pk, function)
        for slug, pk, function in Department.objects.values_list("slug", "pk", "function")
    }

    def linked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, "url": change_url(row.get("id"))} for row in rows]

    ideas["rows"] = linked(ideas["rows"])
    for row in gate_gaps["rows"]:
        row["gap_labels"] = [str(Gate(gap).label) for gap in row["gate_gaps"]]
    for group_row in overlaps["rows"]:
        group_row["members"] = linked(group_row["members"])
        # The group's three best pairs say why; the report lists them all.
        group_row["reason_texts"] = [overlap_pair_text(pair) for pair in group_row["pairs"][:3]]
    for row in gaps:
        row["url"] = (
            reverse("admin:registry_goal_change", args=[goal_ids[row["code"]]])
            if row["code"] in goal_ids
            else None
        )
    currencies = summary["totals"]["currencies"] or ["EUR"]
    totals = summary["totals"]
    open_scope = {"stage__in": ",".join(OPEN_STAGE_CODES), "active_in": period}
    department_columns = sum(1 for c in matrix["departments"] if c["count"] or c["slug"])
    return {
        "summary": summary,
        "totals": totals,
        "share_aligned_pct": (
            None if totals["share_aligned"] is None else round(totals["share_aligned"] * 100)
        ),
        "alignment_levels": alignment_levels(summary),
        "budget_planned": money(totals["budget_planned"], currencies),
        "budget_unaligned": money(totals["budget_planned_unaligned"], currencies),
        "heatmap": heatmap(
            matrix,
            goal_ids=goal_ids,
            departments=departments,
            group=heatmap_grouping(group, department_columns),
            period=period,
            currencies=currencies,
        ),
        "progress": progress_bars(progress),
        "funnel": funnel(summary["breakdowns"]["stage"]),
        "coverage_gaps": gaps,
        "silos": {**silos, "rows": linked(silos["rows"])},
        "silos_url": changelist_url(silo="yes", **open_scope),
        "overlaps": overlaps,
        "overlaps_url": changelist_url(overlap="yes", **open_scope),
        "unaligned": {
            **unaligned,
            "rows": [
                {**row, "budget": money(row["budget_planned"], [row["currency"]])}
                for row in linked(unaligned["rows"])
            ],
        },
        "unaligned_url": changelist_url(alignment=AlignmentLevel.NONE, **open_scope),
        "gate_gaps": {**gate_gaps, "rows": linked(gate_gaps["rows"])},
        "gate_gaps_url": changelist_url(gate_gaps="yes", **open_scope),
        "new_ideas": ideas,
        "new_ideas_url": changelist_url(stage__exact=Stage.IDEA),
    }


def overlap_pair_text(pair: dict[str, Any]) -> str:
    """One scored pair of an overlap group, in the reader's language."""
    return "{} ↔ {} ({}): {}".format(
        *pair["keys"],
        formats.number_format(pair["score"], decimal_pos=2),
        ", ".join(overlap_scoring.reason_text(reason) for reason in pair["reasons"]),
    )


def dashboard(request: HttpRequest) -> HttpResponse:
    """The portfolio at a glance for a vision and quarter."""
    form, vision, period = chosen_scope(request)
    reviews = list(Review.objects.filter(vision=vision).order_by("-period")) if vision else []
    quarter_choices = (
        quarters_between(vision.horizon_start, vision.horizon_end) if vision is not None else []
    )
    if period and period not in quarter_choices:
        quarter_choices.append(period)

    context = {
        **admin.site.each_context(request),
        "title": _("Portfolio dashboard"),
        "journey": journey_summary(user=request.user, vision=vision, period=period),
        "form": form,
        "vision": vision,
        "period": period,
        "quarter_choices": sorted(quarter_choices),
        "reviews": reviews,
        "review_of_period": next((r for r in reviews if r.period == period), None),
        "may_open_review": permissions.can_write_reference_data(request.user)
        and vision is not None
        and vision.status == "active"
        and period is not None,
        **dashboard_data(
            user=request.user, vision=vision, period=period, group=request.GET.get("group")
        ),
        **learning_panels(user=request.user, period=period),
    }
    return render(request, "registry/dashboard/dashboard.html", context)


__all__ = [
    "dashboard",
    "dashboard_data",
]
