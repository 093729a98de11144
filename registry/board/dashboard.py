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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry import permissions
from registry.choices import (
    CLOSED_STAGES,
    STAGE_ORDER,
    AlignmentLevel,
    Gate,
    Stage,
)
from registry.models import Department, Goal, Initiative, Review, Vision
from registry.quarters import quarter_bounds, quarter_of, quarters_between
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import reports

# Colours of the alignment levels, as the admin's badges show them.
LEVEL_COLOURS: dict[str, str] = {
    AlignmentLevel.NONE: "#c62828",
    AlignmentLevel.WEAK: "#ef6c00",
    AlignmentLevel.MODERATE: "#9acd32",
    AlignmentLevel.STRONG: "#2e7d32",
}
OPEN_STAGE_CODES = [stage for stage in Stage.values if stage not in CLOSED_STAGES]
FUNNEL_STAGES = [stage for stage in STAGE_ORDER if stage != Stage.RETIRED]


# --- access -----------------------------------------------------------------------------------


def reader_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff login through the admin, then any registry role (the board reads too)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not permissions.can_read(request.user):
            raise PermissionDenied(_("The dashboard is for the registry's roles."))
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


class ActiveInFilter(admin.SimpleListFilter):
    """Initiatives whose dates overlap a quarter (the dashboard's links carry it)."""

    title = gettext_lazy("active in quarter")
    parameter_name = "active_in"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        today = timezone.localdate()
        around = quarters_between(
            today.replace(year=today.year - 1, month=1, day=1),
            today.replace(year=today.year + 1, month=12, day=31),
        )
        chosen = self.value()
        if chosen and chosen not in around:
            around.append(chosen)
        return [(quarter, quarter) for quarter in sorted(around)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if not self.value():
            return None
        try:
            return queryset.active_in(self.value())  # type: ignore[attr-defined]
        except ValueError as error:
            raise IncorrectLookupParameters(str(error)) from error


# --- the choice of vision and quarter ---------------------------------------------------------


class DashboardForm(forms.Form):
    vision = forms.ModelChoiceField(
        queryset=Vision.objects.order_by("-horizon_start", "pk"),
        required=False,
        label=gettext_lazy("Vision"),
        empty_label=None,
    )
    period = forms.CharField(
        required=False,
        label=gettext_lazy("Quarter"),
        help_text=gettext_lazy("Empty: the whole live portfolio."),
    )

    def clean_period(self) -> str | None:
        period = (self.cleaned_data.get("period") or "").strip().upper()
        if not period:
            return None
        try:
            quarter_bounds(period)
        except ValueError:
            raise forms.ValidationError(
                _("'%(value)s' is not a quarter like 2026-Q4.") % {"value": period}
            ) from None
        return period


def chosen_scope(request: HttpRequest) -> tuple[DashboardForm, Vision | None, str | None]:
    """The vision (default: the active one) and quarter (default: this one) of the page."""
    data = request.GET.copy()
    if "period" not in data:
        data["period"] = quarter_of(timezone.localdate())
    if not data.get("vision"):
        active = Vision.objects.active().first()
        if active is not None:
            data["vision"] = str(active.pk)
    form = DashboardForm(data)
    if form.is_valid():
        return form, form.cleaned_data["vision"], form.cleaned_data["period"]
    return form, form.cleaned_data.get("vision"), None


# --- money and links --------------------------------------------------------------------------


def money(value: Decimal | int | float | None, currencies: Iterable[str] = ("EUR",)) -> str:
    """`607,000 EUR`; mixed currencies are summed as stored and said so."""
    codes = list(currencies)
    unit = codes[0] if len(codes) == 1 else _("(mixed currencies)")
    amount = formats.number_format(value or 0, decimal_pos=0, force_grouping=True)
    return f"{amount} {unit}"


def changelist_url(**params: Any) -> str:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        if value not in (None, ""):
            query[name] = str(value)
    return f"{reverse('admin:registry_initiative_changelist')}?{query.urlencode()}"


def lead_department_filter(department_id: int | None) -> dict[str, Any]:
    """The changelist's own filter for a lead department, or for none."""
    if department_id is None:
        return {"lead_department__isnull": "True"}
    return {"lead_department__id__exact": department_id}


def change_url(pk: int | None) -> str | None:
    return reverse("admin:registry_initiative_change", args=[pk]) if pk else None


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


def heatmap(
    matrix: dict[str, Any],
    *,
    goal_ids: dict[str, int],
    department_ids: dict[str | None, int],
    period: str | None,
    currencies: list[str],
) -> dict[str, Any]:
    """Goals (rows) × lead departments (columns), plus a last row of work serving no goal."""
    columns = [c for c in matrix["departments"] if c["count"] or c["slug"] is not None]
    cells = {(c["goal"], c["department"]): c for c in matrix["cells"]}
    unaligned = {u["department"]: u for u in matrix["unaligned"]}
    counts = [c["count"] for c in matrix["cells"]] + [u["count"] for u in matrix["unaligned"]]
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
        return HeatCell(
            x,
            y,
            count,
            str(count),
            f"{title}: {count} · {budget}",
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
            found = cells.get((goal["code"], column["slug"]))
            level = found["alignment_level"] if found else AlignmentLevel.NONE
            department = department_ids.get(column["slug"])
            url = changelist_url(
                goal=goal_ids.get(goal["code"]), **lead_department_filter(department), **scope
            )
            no_lead = _("no lead department")  # outside the f-string, so makemessages sees it
            title = f"{goal['code']} × {column['name'] or no_lead}"
            row_cells.append(cell(x, y, found, LEVEL_COLOURS[level], url, title))
        rows.append(
            {"label": f"{goal['code']} · {goal['title']}", "y": y, "cells": row_cells, "goal": goal}
        )
    y = HEAT["header"] + len(matrix["goals"]) * (height + HEAT["gap"]) + 6
    none_cells = []
    for column_index, column in enumerate(columns):
        x = HEAT["label_width"] + column_index * (width + HEAT["gap"])
        department = department_ids.get(column["slug"])
        url = changelist_url(
            alignment=AlignmentLevel.NONE, **lead_department_filter(department), **scope
        )
        no_goal, no_lead = _("No goal"), _("no lead department")
        title = f"{no_goal} × {column['name'] or no_lead}"
        none_cells.append(
            cell(x, y, unaligned.get(column["slug"]), LEVEL_COLOURS["none"], url, title)
        )
    rows.append({"label": _("Serves no goal"), "y": y, "cells": none_cells, "goal": None})
    headers = [
        {
            "x": HEAT["label_width"] + index * (width + HEAT["gap"]) + width // 2,
            "label": column["name"] or _("(none)"),
        }
        for index, column in enumerate(columns)
    ]
    return {
        "rows": rows,
        "headers": headers,
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


def dashboard_data(*, user: Any, vision: Vision | None, period: str | None) -> dict[str, Any]:
    """Every figure of the dashboard, in a fixed number of queries."""
    summary = reports.portfolio_summary(user=user, vision=vision, period=period)
    matrix = reports.alignment_matrix(user=user, vision=vision, period=period)
    progress = reports.goal_progress(user=user, vision=vision, period=period)
    gaps = reports.coverage_gaps(user=user, vision=vision, period=period)
    silos = reports.silos(user=user, vision=vision, period=period)
    overlaps = reports.overlaps(user=user, vision=vision, period=period)
    unaligned = reports.unaligned(user=user, vision=vision, period=period)
    gate_gaps = reports.gate_gaps(user=user, vision=vision, period=period)
    ideas = reports.new_ideas(user=user)

    keys = {row["key"] for row in (*silos, *unaligned, *gate_gaps, *ideas["rows"])}
    keys |= {member["key"] for group in overlaps for member in group["members"]}
    initiative_ids = dict(Initiative.objects.filter(key__in=keys).values_list("key", "pk"))
    goal_ids = dict(Goal.objects.filter(vision=vision).values_list("code", "pk")) if vision else {}
    department_ids: dict[str | None, int] = dict(
        Department.objects.values_list("slug", "pk")  # type: ignore[arg-type]
    )

    def linked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**row, "url": change_url(initiative_ids.get(row["key"]))} for row in rows]

    ideas["rows"] = linked(ideas["rows"])
    for row in gate_gaps:
        row["gap_labels"] = [str(Gate(gap).label) for gap in row["gate_gaps"]]
    for group in overlaps:
        group["members"] = linked(group["members"])
        group["reason_texts"] = [overlap_pair_text(pair) for pair in group["pairs"]]
    for row in gaps:
        row["url"] = (
            reverse("admin:registry_goal_change", args=[goal_ids[row["code"]]])
            if row["code"] in goal_ids
            else None
        )
    currencies = summary["totals"]["currencies"] or ["EUR"]
    totals = summary["totals"]
    return {
        "summary": summary,
        "totals": totals,
        "share_aligned_pct": (
            None if totals["share_aligned"] is None else round(totals["share_aligned"] * 100)
        ),
        "budget_planned": money(totals["budget_planned"], currencies),
        "budget_unaligned": money(totals["budget_planned_unaligned"], currencies),
        "heatmap": heatmap(
            matrix,
            goal_ids=goal_ids,
            department_ids=department_ids,
            period=period,
            currencies=currencies,
        ),
        "progress": progress_bars(progress),
        "funnel": funnel(summary["breakdowns"]["stage"]),
        "coverage_gaps": gaps,
        "silos": linked(silos),
        "overlaps": overlaps,
        "unaligned": [
            {**row, "budget": money(row["budget_planned"], [row["currency"]])}
            for row in linked(unaligned)
        ],
        "gate_gaps": linked(gate_gaps),
        "new_ideas": ideas,
        "new_ideas_url": changelist_url(stage__exact=Stage.IDEA),
        "unaligned_url": changelist_url(
            alignment=AlignmentLevel.NONE, stage__in=",".join(OPEN_STAGE_CODES), active_in=period
        ),
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
        **dashboard_data(user=request.user, vision=vision, period=period),
    }
    return render(request, "registry/dashboard/dashboard.html", context)


__all__ = [
    "ActiveInFilter",
    "dashboard",
    "dashboard_data",
    "reader_view",
]
