"""Saved views as a person may use them: resolving `?view=`, and checking a query.

A saved view stores the filters of the initiative list as a query string in the list's own
vocabulary (`stage=pilot&aligned=false`), so one definition serves the API
(`/api/v1/initiatives/?view=unaligned-pilots`) and the admin changelist (`?view=<id>`), both
applying it through the same `InitiativeFilterSet`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from registry.models import SavedView
from registry.selectors.filters import InitiativeFilterSet
from registry.selectors.visibility import visible_saved_views

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
    return frozenset(InitiativeFilterSet.base_filters) - NOT_FILTERS


def normalized_query(query: str) -> str:
    """The query string with known filters only, each value checked as the list checks it.

    Raises SavedViewError naming the first bad parameter, so a view can never be saved that
    the initiative list would refuse.
    """
    from registry.models import Initiative

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
    visible = visible_saved_views(user)
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
