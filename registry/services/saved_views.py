"""Saved views: keeping, sharing and deleting named filter sets of the initiative list.

Every role with a login keeps views of its own; a view is changed or deleted by its owner or
the PMO. Sharing a view lists it in everyone's filter list, so only the PMO shares: a view
someone else publishes could otherwise crowd or shadow the review's standing queries. The
admin form and the API both save through `saved_view_save`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from registry import permissions as rules
from registry.i18n.rule_messages import rule_message
from registry.models import SavedView
from registry.permissions import Actor
from registry.selectors.saved_views import SavedViewError, normalized_query
from registry.services.errors import ForbiddenError, InvalidError, StateConflictError

UNIQUE_SLUG = "registry_savedview_unique_slug"
UNIQUE_SHARED_SLUG = "registry_savedview_unique_shared_slug"


def saved_view_check(
    *,
    actor: Actor,
    view: SavedView | None,
    name: str,
    slug: str = "",
    shared: bool = False,
    query: str = "",
) -> tuple[str, str]:
    """Refuse what `saved_view_save` would refuse; the slug and normalised query it would store.

    Forms call it to show a refusal on the field it concerns before anything is written.
    """
    user = actor.user
    if not rules.can_keep_saved_views(user, actor.token):
        raise ForbiddenError(
            _("Saved views are kept by people, not integrations."), code="permission_denied"
        )
    if view is not None and not rules.can_change_saved_view(user, view):
        raise ForbiddenError(
            _("Only its owner or the PMO changes a saved view."), code="permission_denied"
        )
    was_shared = view is not None and view.shared
    if shared and not was_shared and not rules.can_share_saved_view(user):
        raise ForbiddenError(
            _("Only the PMO shares a saved view: shared views are listed for everyone."),
            code="permission_denied",
            field="shared",
        )
    slug = (slug or "").strip() or slugify(name)[:60]
    if not slug:
        raise InvalidError(
            _("Give a slug (letters, digits, dashes)."), code="required", field="slug"
        )
    try:
        query = normalized_query(query)
    except SavedViewError as error:
        raise InvalidError(error.message, code=error.code, field="query") from error
    owner_id = view.owner_id if view is not None else user.pk
    others = SavedView.objects.exclude(pk=getattr(view, "pk", None))
    for rule, taken in (
        (UNIQUE_SLUG, others.filter(owner_id=owner_id, slug=slug)),
        (UNIQUE_SHARED_SLUG, others.filter(shared=True, slug=slug) if shared else None),
    ):
        if taken is not None and taken.exists():
            raise StateConflictError(rule_message(rule) or rule, code=rule, field="slug")
    return slug, query


@transaction.atomic
def saved_view_save(
    *,
    actor: Actor,
    view: SavedView | None = None,
    name: str,
    slug: str = "",
    shared: bool = False,
    query: str = "",
    description: str = "",
) -> SavedView:
    """Create a view owned by the actor, or change `view`; refused as `saved_view_check` says."""
    if view is not None:
        view = SavedView.objects.select_for_update().get(pk=view.pk)
    slug, query = saved_view_check(
        actor=actor, view=view, name=name, slug=slug, shared=shared, query=query
    )
    if view is None:
        view = SavedView(owner=actor.user)
    view.name, view.slug, view.shared = name, slug, shared
    view.query, view.description = query, description
    view.save()
    return view


@transaction.atomic
def saved_view_delete(*, actor: Actor, view: SavedView) -> None:
    """Delete a view: its owner or the PMO."""
    if not rules.can_change_saved_view(actor.user, view):
        raise ForbiddenError(
            _("Only its owner or the PMO changes a saved view."), code="permission_denied"
        )
    view.delete()


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
