"""Saved views: named, shareable filter sets for the initiative list.

A saved view stores the filters of the initiative list as a query string in the API's own
vocabulary (`stage=pilot&aligned=false`), so one definition serves the API
(`/api/v1/initiatives/?view=unaligned-pilots`) and the admin changelist (`?view=<id>`), both
applying it through the same `InitiativeFilterSet`. A view is private to its owner unless
shared; the PMO manages all of them. The review's standing queries ship as
`STANDING_QUERIES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from registry.models.saved_views import SavedView

# Query parameters of the initiative list that are not filters: never stored in a view.
NOT_FILTERS = frozenset({"view", "page", "page_size", "cursor", "format"})


class SavedViewError(Exception):
    """A saved view that cannot be used; `field` is the parameter it is about."""

    def __init__(self, message: str, *, code: str, field: str = "view") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --- the filter vocabulary --------------------------------------------------------------------


def filter_names() -> frozenset[str]:
    """The initiative list's filters (the API's InitiativeFilterSet) a view may hold."""
    from registry.selectors.filters import InitiativeFilterSet

    return frozenset(InitiativeFilterSet.base_filters) - NOT_FILTERS


def normalized_query(query: str) -> str:
    """The query string with known filters only, each value checked as the list checks it.

    Raises SavedViewError naming the first bad parameter, so a view can never be saved that
    the initiative list would refuse.
    """
    from registry.models import Initiative
    from registry.selectors.filters import InitiativeFilterSet

    data = QueryDict((query or "").strip().lstrip("?"), mutable=True)
    unknown = sorted(set(data) - filter_names())
    if unknown:
        raise SavedViewError(
            _("'%(name)s' is not a filter of the initiative list; use e.g. %(examples)s.")
            % {"name": unknown[0], "examples": "stage, kind, department, goal, aligned, risk_tier"},
            code="unknown_filter",
            field="query",
        )
    for name in list(data):
        values = [value for value in data.getlist(name) if value.strip() != ""]
        if values:
            data.setlist(name, values)
        else:
            del data[name]
    checked = InitiativeFilterSet(data=data, queryset=Initiative.objects.none(), request=None)
    if not checked.is_valid():
        name, messages = next(iter(checked.errors.items()))
        raise SavedViewError(
            f"{name}: {' '.join(str(m) for m in messages)}", code="invalid_filter", field="query"
        )
    return data.urlencode()


# --- using a view -------------------------------------------------------------------------------


def saved_view_resolve(reference: str, *, user: Any) -> SavedView:
    """The view a `?view=` names: an id, or a slug — the user's own first, else the one shared
    view with that slug. Views the user may not see do not exist for them.
    """
    reference = (reference or "").strip()
    visible = SavedView.objects.visible_to(user)
    found: SavedView | None = None
    if reference.isdigit():
        found = visible.filter(pk=int(reference)).first()
    elif reference:
        own = visible.filter(slug=reference, owner_id=getattr(user, "pk", None)).first()
        shared = list(visible.filter(slug=reference, shared=True).order_by("pk")[:2])
        if own is not None:
            found = own
        elif len(shared) == 1:
            found = shared[0]
        elif len(shared) > 1:
            raise SavedViewError(
                _("Several shared views are called '%(slug)s'; name the one you mean by id.")
                % {"slug": reference},
                code="ambiguous_view",
            )
    if found is None:
        raise SavedViewError(
            _("No saved view '%(view)s' that you may use.") % {"view": reference},
            code="unknown_view",
        )
    return found


def merged_filters(view: SavedView, explicit: Mapping[str, Any]) -> QueryDict:
    """The view's filters with the explicitly given parameters on top (they win, whole)."""
    merged = QueryDict(view.query, mutable=True)
    getlist = getattr(explicit, "getlist", None)
    for name in explicit:
        values = getlist(name) if getlist else [explicit[name]]
        merged.setlist(name, list(values))
    return merged


# --- the review's standing queries ----------------------------------------------------------------


@dataclass(frozen=True)
class StandingQuery:
    name: str
    slug: str
    query: str
    description: str


STANDING_QUERIES: tuple[StandingQuery, ...] = (
    StandingQuery(
        "Unaligned pilots",
        "unaligned-pilots",
        "stage=pilot&aligned=false",
        "Pilots that serve no goal of the active vision: align them or stop them.",
    ),
    StandingQuery(
        "High-risk customer-facing",
        "high-risk-customer-facing",
        "risk_tier=high&customer_facing=true",
        "EU AI Act high-risk initiatives that customers meet directly.",
    ),
    StandingQuery(
        "Scaling on weak alignment",
        "scaling-weak-alignment",
        "stage=scaling&stage=production&alignment=none&alignment=weak",
        "Money going into scale for work that barely serves a goal.",
    ),
    StandingQuery(
        "Paused initiatives",
        "paused",
        "stage=paused",
        "Waiting for a decision: resume, pivot or stop.",
    ),
)


@transaction.atomic
def saved_views_seed_standing(
    *, owner: Any, queries: Iterable[StandingQuery] = STANDING_QUERIES
) -> list[SavedView]:
    """Share the review's standing queries as `owner`'s views; existing ones are kept as the
    owner may have tuned them.
    """
    seeded = []
    for standing in queries:
        view, _created = SavedView.objects.get_or_create(
            owner=owner,
            slug=standing.slug,
            defaults={
                "name": standing.name,
                "query": normalized_query(standing.query),
                "description": standing.description,
                "shared": True,
            },
        )
        seeded.append(view)
    return seeded
