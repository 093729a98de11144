"""The journey page for the PMO and the board: the journey map (touchpoints × journey
stages), where the journey is fragmented, where departments work side by side without a
shared goal, which cells the goals name but nobody serves, the vision's proactive stance with
the work that contradicts it and the exceptions granted, and the team composition of
customer-facing pilots.

Every figure comes from `registry.selectors.journey` (a fixed number of queries for any
portfolio size); each cell opens the initiative changelist filtered to it. The dashboard's
panel (`journey_summary`) links to each section here, so every question is two clicks from
the dashboard.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from registry.board.scope import LEVEL_COLOURS, OPEN_STAGE_CODES, changelist_url, chosen_scope
from registry.choices import JourneyStage, Stage, Touchpoint
from registry.i18n.labels import label_of
from registry.models import Initiative, Vision
from registry.quarters import quarters_between
from registry.selectors import journey


def cell_url(touchpoint: str | None, stage: str | None, period: str | None) -> str:
    """The changelist of open initiatives at a touchpoint and journey stage in the quarter."""
    return changelist_url(
        touchpoint=touchpoint,
        journey_stage=stage,
        stage__in=",".join(OPEN_STAGE_CODES),
        active_in=period,
    )


def map_rows(body: dict[str, Any], period: str | None) -> list[dict[str, Any]]:
    """One row per touchpoint, one column per journey stage, flags marked on the cells."""
    cells = {(c["touchpoint"], c["journey_stage"]): c for c in body["cells"]}
    fragmented = {entry["journey_stage"] for entry in body["fragmented"]}
    unserved = {(u["touchpoint"], u["journey_stage"]): u["goals"] for u in body["unserved"]}
    rows = []
    for touchpoint in Touchpoint.values:
        row = []
        for stage in JourneyStage.values:
            cell = cells.get((touchpoint, stage))
            goals = unserved.get((touchpoint, stage), [])
            row.append(
                {
                    "cell": cell,
                    "url": cell_url(touchpoint, stage, period) if cell else None,
                    "colour": LEVEL_COLOURS[cell["alignment_level"]] if cell else None,
                    "stage_mix": ", ".join(
                        f"{label_of('stage', s['stage'])} {s['count']}" for s in cell["stages"]
                    )
                    if cell
                    else "",
                    "fragmented": bool(cell) and stage in fragmented,
                    "unserved_goals": goals,
                }
            )
        rows.append({"touchpoint": touchpoint, "cells": row})
    return rows


def journey_data(*, user: Any, vision: Vision | None, period: str | None) -> dict[str, Any]:
    """Every figure of the journey page, in a fixed number of queries."""
    body = journey.journey_map(user=user, vision=vision, period=period)
    conflicts = journey.stance_conflicts_report(user=user, vision=vision, period=period)
    exceptions = journey.stance_exceptions(user=user, vision=vision, period=period)
    teams = journey.team_composition(user=user, vision=vision, period=period)
    keys = {row["key"] for row in (*conflicts, *exceptions, *teams["results"])}
    initiative_ids = dict(Initiative.objects.filter(key__in=keys).values_list("key", "pk"))
    for row in (*conflicts, *exceptions, *teams["results"]):
        pk = initiative_ids.get(row["key"])
        row["url"] = reverse("admin:registry_initiative_change", args=[pk]) if pk else None
    for entry in body["unserved"]:
        entry["url"] = cell_url(entry["touchpoint"], entry["journey_stage"], period)
    for entry in body["department_conflicts"]:
        entry["url"] = cell_url(entry["touchpoint"], entry["journey_stage"], period)
    share = teams["share_cross_functional"]
    return {
        "map": body,
        "map_rows": map_rows(body, period),
        "stances": journey.stances_of(vision),
        "stance_conflicts": conflicts,
        "stance_exceptions": exceptions,
        "teams": teams,
        "team_share_pct": None if share is None else round(share * 100),
    }


def journey_summary(*, user: Any, vision: Vision | None, period: str | None) -> dict[str, Any]:
    """The dashboard's panel: how many of each flag, linking to the sections of the page."""
    data = journey_data(user=user, vision=vision, period=period)
    query = QueryDict(mutable=True)
    if vision is not None:
        query["vision"] = str(vision.pk)
    query["period"] = period or ""
    return {
        "url": f"{reverse('registry_board:journey')}?{query.urlencode()}",
        "flags": data["map"]["flag_counts"],
        "stance_conflicts": len(data["stance_conflicts"]),
        "stance_exceptions": len(data["stance_exceptions"]),
        "teams": data["teams"],
        "team_share_pct": data["team_share_pct"],
    }


def journey_page(request: HttpRequest) -> HttpResponse:
    """The journey map, stance and teams for a vision and quarter."""
    form, vision, period = chosen_scope(request)
    quarter_choices = (
        quarters_between(vision.horizon_start, vision.horizon_end) if vision is not None else []
    )
    if period and period not in quarter_choices:
        quarter_choices.append(period)
    context = {
        **admin.site.each_context(request),
        "title": _("Customer journey, proactive stance and teams"),
        "form": form,
        "vision": vision,
        "period": period,
        "quarter_choices": sorted(quarter_choices),
        "journey_stages": JourneyStage.values,
        "pilot_stage": Stage.PILOT,
        **journey_data(user=request.user, vision=vision, period=period),
    }
    return render(request, "registry/journey/journey.html", context)
