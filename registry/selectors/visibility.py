"""Who sees what: the one place that decides which rows a person may read.

A confidential initiative is seen by the PMO, its owner and its team; for everyone else it
does not exist — nor does anything that hangs on it or points at it (alignments, team roles,
notes, stage changes, review decisions, dependencies from or to it, and their history).
Every surface asks here: the API's querysets, the admin's changelists, change forms, inlines,
autocomplete and foreign-key choices, the board pages, reports, exports and feeds. A
deleted confidential initiative stays hidden: its own delete event remembers that it was
confidential.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, Q, QuerySet

from registry.models import (
    Alignment,
    Dependency,
    Initiative,
    InitiativeQuerySet,
    Learning,
    Note,
    Person,
    ReviewDecision,
    SavedView,
    StageChange,
    TeamRole,
    VoiceReview,
)
from registry.permissions import is_pmo


def visible_initiatives(user: Any, queryset: QuerySet | None = None) -> InitiativeQuerySet:
    """Initiatives the user may see: all for the PMO; confidential ones only for their owner
    and team. `queryset` narrows an initiative queryset built elsewhere (annotated, values).
    """
    initiatives = Initiative.objects.all() if queryset is None else queryset
    if is_pmo(user):
        return initiatives
    if not getattr(user, "is_authenticated", False):
        return initiatives.filter(confidential=False)
    # The user's people and the initiatives they are on, each read once per statement (a
    # hashed subplan), not joined or probed per initiative: the condition then reads only the
    # initiative's own columns, which the live indexes carry, so counting what a viewer sees
    # of a million initiatives reads an index (126 ms), not the table (750 ms).
    people = Person.objects.filter(user=user).values("pk")
    on_team = TeamRole.objects.filter(person__user=user).values("initiative_id")
    return initiatives.filter(Q(confidential=False) | Q(owner__in=people) | Q(pk__in=on_team))


def deleted_confidential_ids() -> QuerySet:
    """Ids of hard-deleted initiatives that were confidential when deleted (their delete
    event says so; a partial index holds the delete events).
    """
    events = Initiative.pgh_event_models["delete"].objects  # type: ignore[attr-defined]
    return events.filter(pgh_label="delete", confidential=True).values("pgh_obj_id")


def visible_initiative_deletions(user: Any, events: QuerySet) -> QuerySet:
    """The initiatives' delete events (tombstones) the user may see: all for the PMO, others
    only those of initiatives that were not confidential (their team went with them).
    """
    return events if is_pmo(user) else events.filter(confidential=False)


def hidden_initiative_ids(user: Any) -> QuerySet | None:
    """Live confidential initiatives the user may not see (None: the PMO sees every one)."""
    if is_pmo(user):
        return None
    return (
        Initiative.objects.filter(confidential=True)
        .exclude(pk__in=visible_initiatives(user).values("pk"))
        .values("pk")
    )


def _of_visible(model: type[Model], *paths: str) -> Callable[..., QuerySet]:
    """Rows of `model` whose initiatives (at each of `paths`) the user may see."""

    def visible(user: Any, queryset: QuerySet | None = None) -> QuerySet:
        rows = model._default_manager.all() if queryset is None else queryset
        if is_pmo(user):
            return rows
        ids = visible_initiatives(user).values("pk")
        for path in paths:
            field = model._meta.get_field(path)
            condition = Q(**{f"{path}__in": ids})
            if field.null:
                condition |= Q(**{f"{path}__isnull": True})
            rows = rows.filter(condition)
        return rows

    visible.__name__ = f"visible_{model._meta.model_name}s"
    return visible


visible_alignments = _of_visible(Alignment, "initiative")
visible_team_roles = _of_visible(TeamRole, "initiative")
visible_notes = _of_visible(Note, "initiative")  # notes on goals and reviews are everyone's
visible_stage_changes = _of_visible(StageChange, "initiative")
visible_review_decisions = _of_visible(ReviewDecision, "initiative")
visible_dependencies = _of_visible(Dependency, "from_initiative", "to_initiative")
visible_voice_reviews = _of_visible(VoiceReview, "initiative")
visible_learnings = _of_visible(Learning, "initiative")


def visible_saved_views(user: Any, queryset: QuerySet | None = None) -> QuerySet:
    """The user's own views and every shared one; the PMO sees all."""
    views = SavedView.objects.all() if queryset is None else queryset
    if is_pmo(user):
        return views
    if not getattr(user, "is_authenticated", False):
        return views.filter(shared=True)
    return views.filter(Q(owner=user) | Q(shared=True))


def listed_saved_views(user: Any) -> QuerySet:
    """What a user picks a view from: own and shared ones (the PMO's list too: others'
    private views would only clutter it)."""
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.filter(shared=True)
    return SavedView.objects.filter(Q(owner=user) | Q(shared=True))


# Each model whose rows hang on initiatives, with its selector: the admin narrows every
# queryset and every foreign-key choice of these models through it.
VISIBLE_ROWS: dict[type[Model], Callable[..., QuerySet]] = {
    Initiative: visible_initiatives,
    Alignment: visible_alignments,
    TeamRole: visible_team_roles,
    Note: visible_notes,
    StageChange: visible_stage_changes,
    ReviewDecision: visible_review_decisions,
    Dependency: visible_dependencies,
    VoiceReview: visible_voice_reviews,
    Learning: visible_learnings,
    SavedView: visible_saved_views,
}


def visible_rows(model: type[Model], user: Any, queryset: QuerySet | None = None) -> QuerySet:
    """The rows of `model` (of `queryset`) the user may see; all of them for a model that
    hides nothing (goals, departments, …)."""
    selector = VISIBLE_ROWS.get(model)
    if selector is None:
        return model._default_manager.all() if queryset is None else queryset
    return selector(user, queryset)
