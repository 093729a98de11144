"""The portfolio's warning flags — serving no goal, silo, overlap, gate gaps — as querysets,
with the exact count and the first rows of each.

The dashboard lists them and the initiative changelist filters by them, so both take them
from here and say the same thing. At 9,000 initiatives the dashboard used to render every
flagged row (7,743 "serving no goal", 7,750 silos: 4.8 MB of HTML, 4–8 s); a list now is
its exact count and its first `shown` rows, each a count query and a LIMIT query whatever
the portfolio's size (PostgreSQL evaluates the rows' correlated subqueries after the LIMIT).
The rules themselves stay where they are defined: alignment level in the initiative
queryset and `reports.with_vision_alignment`, silos in `with_silo_flag`, gate gaps in
`reports.imported_with_gate_gaps`, overlaps in `reports.overlaps`.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q

from registry.choices import AlignmentLevel
from registry.models import Initiative, InitiativeQuerySet, TeamRole, Vision
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import reports

SHOWN = 10
MEMBERS_SHOWN = 6


def first_rows(qs: models.QuerySet, *fields: str, shown: int = SHOWN) -> dict[str, Any]:
    """`count` (exact) and the first `shown` rows (dicts of `fields`, in the queryset's
    order) — two queries, whatever the count."""
    count = qs.count()
    return {"count": count, "listed": count, "rows": list(qs.values(*fields)[:shown])}


def _vision_id(vision: Vision | None) -> int | None:
    return vision.pk if vision is not None else None


# --- the flags as querysets ---------------------------------------------------------------------


def unaligned_initiatives(
    *, user: Any, vision: Vision | None, period: str | None
) -> InitiativeQuerySet:
    """Open initiatives aligned to no goal of the vision (the rule of `reports.unaligned`).

    For the active vision the kept alignment strength answers (an index); any other vision
    is computed from its alignments.
    """
    scope = reports.initiative_scope(user=user, period=period, open_only=True)
    if reports._is_active(vision):
        return scope.alignment_level_in([AlignmentLevel.NONE])
    return reports.with_vision_alignment(scope, _vision_id(vision)).filter(alignment_strength=0)


def silo_initiatives(*, user: Any, period: str | None) -> InitiativeQuerySet:
    """Open initiatives that span one department or none: `with_silo_flag`'s rule, as
    semi-joins.

    The flag counts each row's departments with two array subqueries — fine for a page of
    50, 4.3 s when the dashboard counted the silos among 100,000 initiatives. With a lead
    department, an initiative is a silo when no participating department and no team
    member's department differs from it: two index probes per row. The few without a lead
    are left to the flag itself. A test pins that both select the same initiatives.
    """
    scope = reports.initiative_scope(user=user, period=period, open_only=True)
    lead = OuterRef("lead_department_id")
    other_department = (
        Initiative.departments.through.objects.filter(initiative_id=OuterRef("pk"))
        .exclude(department_id=lead)
        .order_by()
    )
    other_member = (
        TeamRole.objects.filter(initiative_id=OuterRef("pk"), person__department_id__isnull=False)
        .exclude(person__department_id=lead)
        .order_by()
    )
    without_lead = (
        Initiative.objects.filter(lead_department__isnull=True)
        .with_silo_flag()
        .filter(is_silo=True)
        .values("pk")
    )
    return scope.filter(
        Q(~Exists(other_department), ~Exists(other_member), lead_department__isnull=False)
        | Q(lead_department__isnull=True, pk__in=without_lead)
    )


def gate_gap_initiatives(*, user: Any, period: str | None) -> InitiativeQuerySet:
    """Open initiatives brought in by sync or import that lack their stage's evidence."""
    scope = reports.initiative_scope(user=user, period=period, open_only=True)
    return reports.imported_with_gate_gaps(scope)


def overlap_initiatives(*, user: Any, period: str | None = None) -> InitiativeQuerySet:
    """The open initiatives in any overlap group the user can see (active vision)."""
    return overlap_scoring.initiatives_with_overlaps(user, period=period)


# --- the dashboard's lists ------------------------------------------------------------------------


def unaligned_list(
    *, user: Any, vision: Vision | None, period: str | None, shown: int = SHOWN
) -> dict[str, Any]:
    """Serving no goal: the largest planned budgets first (what the board pays for)."""
    qs = unaligned_initiatives(user=user, vision=vision, period=period).order_by(
        "-budget_planned", "key"
    )
    return first_rows(
        qs.annotate(lead_department_name=models.F("lead_department__name")),
        "id",
        "key",
        "name",
        "stage",
        "lead_department_name",
        "budget_planned",
        "currency",
        shown=shown,
    )


def silo_list(
    *, user: Any, vision: Vision | None, period: str | None, shown: int = SHOWN
) -> dict[str, Any]:
    """Silos by key, each with its alignment level to the vision."""
    qs = reports.with_vision_alignment(
        silo_initiatives(user=user, period=period), _vision_id(vision)
    ).annotate(lead_department_name=models.F("lead_department__name"))
    return first_rows(
        qs.order_by("key"),
        "id",
        "key",
        "name",
        "lead_department_name",
        "alignment_level",
        shown=shown,
    )


def gate_gap_list(*, user: Any, period: str | None, shown: int = SHOWN) -> dict[str, Any]:
    """Imported initiatives lacking evidence, by key, with the Gate codes they lack."""
    qs = gate_gap_initiatives(user=user, period=period).order_by("key")
    gates = [f"lacks_{gate}" for gate in reports.EVIDENCE_GATES]
    found = first_rows(qs, "id", "key", "name", "stage", *gates, shown=shown)
    for row in found["rows"]:
        row["gate_gaps"] = [gate for gate in reports.EVIDENCE_GATES if row.pop(f"lacks_{gate}")]
    return found


def overlap_list(
    *,
    user: Any,
    vision: Vision | None,
    period: str | None,
    shown: int = SHOWN,
    members_shown: int = MEMBERS_SHOWN,
) -> dict[str, Any]:
    """The largest overlap groups first; each with its first members and how many more.

    `count` is the exact number of groups; `initiatives` (and `listed`, what the changelist's
    overlap filter lists) the exact number of distinct initiatives in any group. The groups
    are the scored ones of `reports.overlaps` (`registry.selectors.overlaps`), so the
    dashboard, the report and the changelist's filter flag the same pairs.
    """
    freshness = overlap_scoring.overlap_freshness(user=user, period=period)
    if not freshness["live"]:
        kept = overlap_scoring.kept_summary(
            user=user, period=period, shown=shown, members_shown=members_shown
        )
        rows = [
            {**group, "more": max(0, group["size"] - len(group["members"]))}
            for group in kept["groups"]
        ]
        return {
            "count": kept["count"],
            "initiatives": kept["initiatives"],
            "listed": kept["initiatives"],
            "rows": rows,
            **freshness,
        }
    groups = reports.overlaps(user=user, vision=vision, period=period)
    ids = dict(
        Initiative.objects.filter(
            key__in=[member["key"] for group in groups[:shown] for member in group["members"]]
        ).values_list("key", "pk")
    )
    rows = [
        {
            **group,
            "size": len(group["members"]),
            "members": [
                {**member, "id": ids.get(member["key"])}
                for member in group["members"][:members_shown]
            ],
            "more": max(0, len(group["members"]) - members_shown),
        }
        for group in groups[:shown]
    ]
    initiatives = len({member["key"] for group in groups for member in group["members"]})
    return {
        "count": len(groups),
        "initiatives": initiatives,
        "listed": initiatives,
        "rows": rows,
        **freshness,
    }


__all__ = [
    "MEMBERS_SHOWN",
    "SHOWN",
    "first_rows",
    "gate_gap_initiatives",
    "gate_gap_list",
    "overlap_list",
    "overlap_initiatives",
    "silo_initiatives",
    "silo_list",
    "unaligned_initiatives",
    "unaligned_list",
]
