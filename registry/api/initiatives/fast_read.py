"""The initiative's JSON for reads, built straight from rows rather than DRF's fields.

`InitiativeSerializer` nests a dozen serializers (owner, departments, systems, alignments
with their goals, team with their people); DRF builds and binds their fields again for
every initiative and reverses a URL per link, which cost about nine tenths of a list
request's time. This module writes the same dictionary directly: URL prefixes are reversed
once per request, the fields that need DRF's formatting (money, dates, times) reuse the
serializer's own field objects, and everything else is read from plain values.

JSON list and detail reads (`InitiativeViewSet`) fetch the initiatives as named tuples of
`ROW_FIELDS` (no model object, no select_related instances) and their relations as tuples
(`fetch_related`, handed over in the serializer's context). Model instances — annotated,
with their relations prefetched — take the same path (the answer to a transition, the
browsable API).

The output is the serializer's, key for key (tests compare both on every initiative of a
crafted portfolio); the serializer falls back to DRF's path whenever the conditions below
do not hold.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from registry.models import INITIATIVE_MANY_FIELDS, INITIATIVE_WRITABLE_FIELDS
from registry.services import lifecycle

# The relations InitiativeViewSet.annotated prefetches; the direct path reads them either
# from that prefetch or as tuples fetched by `fetch_related` (no model objects).
PREFETCHED = ("departments", "systems", "tags", "alignments", "team")
ANNOTATED = ("alignment_level", "primary_goal_id", "is_silo")
# What the JSON shows of an initiative and of its to-one relations, as `values_list` names:
# the rows of a JSON read. Only the three derived values are selected of the annotations, so
# the page query computes each of their subqueries once (the annotations they build on, such
# as `alignment_strength`, are inlined into them, not selected a second time).
# The to-one relations as the JSON shows them: id and natural key or name.
RELATION_ROW_FIELDS = {
    "owner": ("owner_id", "owner__email", "owner__name"),
    "lead_department": ("lead_department_id", "lead_department__slug", "lead_department__name"),
}
ROW_FIELDS = (
    "id",
    "key",
    "stage",
    *(
        row_field
        for name in INITIATIVE_WRITABLE_FIELDS
        if name not in INITIATIVE_MANY_FIELDS
        for row_field in RELATION_ROW_FIELDS.get(name, (name,))
    ),
    "paused_from",
    *ANNOTATED,
    "version",
    "archived_at",
    "created_at",
    "updated_at",
    "created_by_username",
    "updated_by_username",
)
# Row values that are not columns of the initiative or of a join, and how a model instance
# gives them: (relation, attribute).
ROW_SUBQUERIES = {
    "created_by_username": ("created_by", "username"),
    "updated_by_username": ("updated_by", "username"),
}


def row_annotations() -> dict[str, models.Expression]:
    """The usernames of creator and last editor as scalar subqueries, not joins: PostgreSQL's
    planning time grows steeply with each LEFT JOIN of the page query (with these two as
    joins: 3.9 ms of planning for a page of 50 that runs in 1.6 ms; as subqueries: 1.4 ms),
    and a lookup by primary key per row costs next to nothing.
    """
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    return {
        name: models.Subquery(users.filter(pk=models.OuterRef(f"{relation}_id")).values(field))
        for name, (relation, field) in ROW_SUBQUERIES.items()
    }


RESOURCES = {
    "initiative": "api:initiative-list",
    "person": "api:person-list",
    "department": "api:department-list",
    "system": "api:system-list",
    "goal": "api:goal-list",
    "alignment": "api:alignment-list",
    "teamrole": "api:teamrole-list",
}
FORMATTED = (
    "budget_planned",
    "budget_spent",
    "start_date",
    "target_date",
    "end_date",
    "archived_at",
    "created_at",
    "updated_at",
)


# DRF's own fields, as InitiativeSerializer declares them for these model fields, made once:
# their to_representation reads only settings (decimal places, time zone, formats). Building
# the serializer's bound fields instead costs a deep copy of every declared field per request.
_MONEY = serializers.DecimalField(max_digits=14, decimal_places=2)
_DATE = serializers.DateField()
MOMENTS = ("archived_at", "created_at", "updated_at")
FORMATS = {
    "budget_planned": _MONEY.to_representation,
    "budget_spent": _MONEY.to_representation,
    "start_date": _DATE.to_representation,
    "target_date": _DATE.to_representation,
    "end_date": _DATE.to_representation,
}
assert set(FORMATS) | set(MOMENTS) == set(FORMATTED)


class _Shared:
    """Per request: absolute URL prefixes and the date-time field, made once."""

    def __init__(self, request: Any) -> None:
        self.url = {
            name: request.build_absolute_uri(reverse(route)) for name, route in RESOURCES.items()
        }
        # DRF's DateTimeField looks the current time zone up for every value it formats; the
        # request's time zone, given once, is the same one (`default_timezone`).
        moment = serializers.DateTimeField(
            default_timezone=timezone.get_current_timezone() if settings.USE_TZ else None
        )
        self.format = {**FORMATS, **dict.fromkeys(MOMENTS, moment.to_representation)}


def _shared(context: dict[str, Any]) -> _Shared | None:
    request = context.get("request")
    if request is None or context.get("format"):
        return None  # no absolute URLs to build, or format-suffixed links: DRF's path
    shared = context.get("_fast_read")
    if shared is None:
        shared = context["_fast_read"] = _Shared(request)
    return shared


def is_row(obj: Any) -> bool:
    """A named tuple of ROW_FIELDS, as the viewset's JSON reads fetch them."""
    return isinstance(obj, tuple)


def usable(context: dict[str, Any], obj: Any) -> bool:
    """Whether the direct path applies to `obj` under the serializer's context."""
    if not context.get("fast_read", True):
        return False
    if is_row(obj):
        return obj.id in context.get("related", {})
    if not all(hasattr(obj, name) for name in ANNOTATED):
        return False
    cache = getattr(obj, "_prefetched_objects_cache", {})
    return all(name in cache for name in PREFETCHED)


class _AnyOf(models.Func):
    """`column = ANY(array)`: one parameter, whatever the number of ids."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = models.BooleanField()


@functools.cache
def _related_statements() -> dict[str, str]:
    """The five relation queries as SQL taking the initiatives' ids as one array parameter:
    built by the ORM and compiled once per process (building and compiling them cost more
    than running them).
    """
    from registry.models import Alignment, Initiative, TeamRole

    placeholder = [0]
    of_ids = _AnyOf(
        models.F("initiative_id"),
        models.Value(placeholder, output_field=ArrayField(models.BigIntegerField())),
    )
    through = {name: getattr(Initiative, name).through for name in ("departments", "systems")}
    querysets = {
        "departments": through["departments"]
        .objects.filter(of_ids)
        .order_by("department__name")
        .values_list("initiative_id", "department__slug", "department_id", "department__name"),
        "systems": through["systems"]
        .objects.filter(of_ids)
        .order_by("system__name")
        .values_list("initiative_id", "system__slug", "system_id", "system__name"),
        "tags": Initiative.tags.through.objects.filter(of_ids)
        .order_by("tag__slug")
        .values_list("initiative_id", "tag__slug"),
        "alignments": Alignment.objects.filter(of_ids)
        .order_by("-is_primary", "-strength", "id")
        .values_list(
            "initiative_id", "id", "goal__code", "goal_id", "goal__title", "strength",
            "is_primary",
        ),
        # Within an initiative: by role, then the person's name (TeamRole's ordering).
        "team": TeamRole.objects.filter(of_ids)
        .order_by("role", "person__name")
        .values_list("initiative_id", "id", "person__email", "person_id", "person__name", "role"),
    }  # fmt: skip
    statements = {}
    for name, queryset in querysets.items():
        sql, params = queryset.query.sql_with_params()
        if list(params) != [placeholder]:  # the ids must be the statement's only parameter
            raise ImproperlyConfigured(f"{name}: unexpected parameters {params!r}")
        statements[name] = sql
    return statements


def fetch_related(ids: list[int]) -> dict[int, dict[str, list[tuple]]]:
    """What the JSON shows of these initiatives' relations, as tuples per initiative: the
    same five queries as prefetch_related, without building a model object per related row
    (the columns need no conversion: ids, text, small integers, booleans).
    """
    related: dict[int, dict[str, list[tuple]]] = {
        pk: {name: [] for name in PREFETCHED} for pk in ids
    }
    if not ids:
        return related
    with connection.cursor() as cursor:
        for name, sql in _related_statements().items():
            cursor.execute(sql, [ids])
            for row in cursor.fetchall():
                related[row[0]][name].append(row[1:])
    return related


def _prefetched_tuples(obj: Any) -> dict[str, list[tuple]]:
    """The relations of a model instance as tuples, from its prefetched objects."""
    return {
        "departments": [(d.slug, d.pk, d.name) for d in obj.departments.all()],
        "systems": [(s.slug, s.pk, s.name) for s in obj.systems.all()],
        "tags": [(t.slug,) for t in sorted(obj.tags.all(), key=lambda t: t.slug)],
        "alignments": [
            (a.pk, a.goal.code, a.goal_id, a.goal.title, a.strength, a.is_primary)
            for a in obj.alignments.all()
        ],
        "team": [
            (r.pk, r.person.email, r.person_id, r.person.name, r.role) for r in obj.team.all()
        ],
    }


def _as_row(obj: Any) -> SimpleNamespace:
    """A model instance read as a row of ROW_FIELDS (its to-one relations are loaded)."""
    values = {}
    for name in ROW_FIELDS:
        relation, _sep, field = name.partition("__")
        if name in ROW_SUBQUERIES:
            relation, field = ROW_SUBQUERIES[name]
        if field:
            target = getattr(obj, relation)
            values[name] = None if target is None else getattr(target, field)
        else:
            values[name] = getattr(obj, name)
    return SimpleNamespace(**values)


_NEXT_STAGES: dict[tuple[str, str], list[str]] = {}


def _next_stages(obj: Any) -> list[str]:
    """lifecycle.next_stages, remembered per (stage, paused_from): the only two things the
    transition table looks at (lifecycle.allowed_move). A copy, so no caller shares it.
    """
    key = (obj.stage, obj.paused_from)
    if key not in _NEXT_STAGES:
        _NEXT_STAGES[key] = lifecycle.next_stages(obj)
    return list(_NEXT_STAGES[key])


def _slugged(slug: str, pk: int, name: str, url: str) -> dict[str, Any]:
    return {"slug": slug, "id": pk, "name": name, "url": f"{url}{slug}/"}


def _blank(value: Any) -> Any:
    """A null CharField reads as None, anything else as text (DRF's CharField)."""
    return None if value is None else str(value)


def initiative_representation(serializer: Any, obj: Any) -> dict[str, Any] | None:
    """The serializer's dictionary for `obj`, or None when the fast path does not apply."""
    context = serializer.context  # the root serializer's, looked up through its parents
    if not usable(context, obj):
        return None
    shared = _shared(context)
    if shared is None:
        return None
    url, fmt = shared.url, shared.format
    if is_row(obj):
        related = context["related"][obj.id]
    else:
        related, obj = _prefetched_tuples(obj), _as_row(obj)
    goals_url, alignments_url, people_url = url["goal"], url["alignment"], url["person"]
    alignments = [
        {
            "id": pk,
            "goal": {"code": code, "id": goal, "title": title, "url": f"{goals_url}{code}/"},
            "strength": strength,
            "is_primary": primary,
            "url": f"{alignments_url}{pk}/",
        }
        for pk, code, goal, title, strength, primary in related["alignments"]
    ]
    primary_goal = None
    if obj.primary_goal_id is not None:
        primary_goal = next(
            (item["goal"] for item in alignments if item["goal"]["id"] == obj.primary_goal_id),
            None,
        )
    return {
        "url": f"{url['initiative']}{obj.key}/",
        "id": obj.id,
        "key": obj.key,
        "stage": obj.stage,
        "name": obj.name,
        "summary": obj.summary,
        "kind": obj.kind,
        "owner": (
            {
                "email": obj.owner__email,
                "id": obj.owner_id,
                "name": obj.owner__name,
                "url": f"{people_url}{obj.owner_id}/",
            }
            if obj.owner_id is not None
            else None
        ),
        "lead_department": (
            _slugged(
                obj.lead_department__slug,
                obj.lead_department_id,
                obj.lead_department__name,
                url["department"],
            )
            if obj.lead_department_id is not None
            else None
        ),
        "departments": [_slugged(*row, url["department"]) for row in related["departments"]],
        "touchpoints": [_blank(t) for t in obj.touchpoints],
        "journey_stages": [_blank(j) for j in obj.journey_stages],
        "interaction_mode": obj.interaction_mode,
        "systems": [_slugged(*row, url["system"]) for row in related["systems"]],
        "customer_segments": [_blank(s) for s in obj.customer_segments],
        "autonomy": obj.autonomy,
        "budget_planned": fmt["budget_planned"](obj.budget_planned),
        "budget_spent": fmt["budget_spent"](obj.budget_spent),
        "currency": obj.currency,
        "expected_benefit": obj.expected_benefit,
        "start_date": None if obj.start_date is None else fmt["start_date"](obj.start_date),
        "target_date": None if obj.target_date is None else fmt["target_date"](obj.target_date),
        "end_date": None if obj.end_date is None else fmt["end_date"](obj.end_date),
        "risk_tier": obj.risk_tier,
        "customer_facing": obj.customer_facing,
        "uses_personal_data": obj.uses_personal_data,
        "confidential": obj.confidential,
        "hypothesis": obj.hypothesis,
        "success_criteria": obj.success_criteria,
        "learnings": obj.learnings,
        "tags": [name for (name,) in related["tags"]],
        "source": obj.source,
        "external_id": _blank(obj.external_id),
        "external_url": obj.external_url,
        "paused_from": obj.paused_from or None,
        "next_stages": _next_stages(obj),
        "alignment_level": obj.alignment_level,
        "primary_goal": primary_goal,
        "alignments": alignments,
        "team": [
            {
                "id": pk,
                "person": {
                    "email": email,
                    "id": person,
                    "name": name,
                    "url": f"{people_url}{person}/",
                },
                "role": role,
                "url": f"{url['teamrole']}{pk}/",
            }
            for pk, email, person, name, role in related["team"]
        ],
        "gate_gaps": lifecycle.gate_gaps(
            obj, has_primary_alignment=obj.primary_goal_id is not None
        ),
        "is_silo": bool(obj.is_silo),
        "version": obj.version,
        "archived_at": None if obj.archived_at is None else fmt["archived_at"](obj.archived_at),
        "created_at": fmt["created_at"](obj.created_at),
        "updated_at": fmt["updated_at"](obj.updated_at),
        "created_by": obj.created_by_username,
        "updated_by": obj.updated_by_username,
    }
