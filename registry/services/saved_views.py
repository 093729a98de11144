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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from registry.permissions import is_pmo

# Query parameters of the initiative list that are not filters: never stored in a view.
NOT_FILTERS = frozenset({"view", "page", "page_size", "cursor", "format"})


class SavedViewError(Exception):
    """A saved view that cannot be used; `field` is the parameter it is about."""

    def __init__(self, message: str, *, code: str, field: str = "view") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> SavedViewQuerySet:
        """The user's own views and every shared one; the PMO sees all."""
        if is_pmo(user):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.filter(shared=True)
        return self.filter(Q(owner=user) | Q(shared=True))

    def listed_for(self, user: Any) -> SavedViewQuerySet:
        """What a user picks from: own and shared views (the PMO's too: others' private views
        would only clutter the list)."""
        if not getattr(user, "is_authenticated", False):
            return self.filter(shared=True)
        return self.filter(Q(owner=user) | Q(shared=True))


class SavedView(models.Model):
    """A named filter set of the initiative list, private to its owner or shared."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("slug"),
        max_length=60,
        blank=True,
        help_text=_(
            "Names the view in URLs (?view=unaligned-pilots); made from the name if empty."
        ),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="saved_views",
    )
    shared = models.BooleanField(
        _("shared"), default=False, help_text=_("Shared views are listed for everyone.")
    )
    query = models.CharField(
        _("filters"),
        max_length=2000,
        blank=True,
        help_text=_(
            "The initiative list's filters as a query string, in the API's names, e.g. "
            "stage=pilot&aligned=false or risk_tier=high&customer_facing=true."
        ),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "slug"],
                name="registry_savedview_unique_slug",
                violation_error_message=_("You already have a saved view with this slug."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.slug = self.slug or slugify(self.name)[:60]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.slug = self.slug or slugify(self.name)[:60]
        if not self.slug:
            raise ValidationError({"slug": _("Give a slug (letters, digits, dashes).")})
        try:
            self.query = normalized_query(self.query)
        except SavedViewError as error:
            raise ValidationError({"query": error.message}) from error

    def filters(self) -> QueryDict:
        """The stored filters, parsed (lists for repeatable ones)."""
        return QueryDict(self.query)


# --- the filter vocabulary --------------------------------------------------------------------


def filter_names() -> frozenset[str]:
    """The initiative list's filters (the API's InitiativeFilterSet) a view may hold."""
    from registry.api.filtersets import InitiativeFilterSet

    return frozenset(InitiativeFilterSet.base_filters) - NOT_FILTERS


def normalized_query(query: str) -> str:
    """The query string with known filters only, each value checked as the list checks it.

    Raises SavedViewError naming the first bad parameter, so a view can never be saved that
    the initiative list would refuse.
    """
    from registry.api.filtersets import InitiativeFilterSet
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


# The admin of saved views and the changelist filter, registered with the model.
from registry.admin import saved_views as _saved_views_admin  # noqa: E402,F401
