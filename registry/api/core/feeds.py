"""Change feeds of initiatives, goals and alignments, with tombstones.

`?updated_since=…` (then follow `next`, and poll `resume`) pages a resource oldest change
first by a (updated_at, id) keyset (`registry.api.core.keyset`). What a tool must learn besides
the live rows:

- archived initiatives and goals are rows with `archived_at` set (archiving touches them);
- rows that no longer exist — alignments deleted when an initiative stops serving a goal,
  and initiatives or goals a superuser hard-deleted in the admin — come from the history's
  delete events as tombstones `{"id", …identity…, "deleted_at", "deleted": true}`, merged
  into the same order. A tombstone shows only identity, but its delete event holds the
  row's columns as they were, so the list's filters apply to tombstones too (the FilterSet's
  `filter_tombstones`, `registry.selectors.filters.TombstoneFilters`): a tool that polls
  `?source=jira` learns only of jira's deletions.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
    Model,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.core.pagination import InitiativePagination
from registry.models import Goal, Initiative
from registry.selectors.filters import SinceField
from registry.selectors.visibility import hidden_initiative_ids, visible_initiative_deletions

# A deletion sorts strictly after the row's last version, even if the deleting transaction
# started (by the database's clock) a moment before the row's application-clock timestamp.
AFTER_LAST_VERSION = datetime.timedelta(microseconds=1)


class FeedPagination(InitiativePagination):
    """Numbered pages, or the keyset feed once `updated_since` (or a `cursor`) is given."""


def is_tombstone(obj: Any) -> bool:
    return hasattr(obj, "feed_at") and hasattr(obj, "pgh_label")


def deletions_of(model: type[Model], since: datetime.datetime | None) -> QuerySet:
    """Delete events of a tracked model, positioned for the keyset as (feed_at, feed_key)."""
    event_model = model.pgh_event_models["delete"]  # type: ignore[attr-defined]
    events = event_model.objects.filter(pgh_label="delete").annotate(
        feed_at=Greatest(
            "pgh_created_at",
            ExpressionWrapper(F("updated_at") + AFTER_LAST_VERSION, output_field=DateTimeField()),
        ),
        feed_key=F("pgh_obj_id"),
    )
    if since is not None:
        events = events.filter(feed_at__gte=since)
    return events


def requested_since(request: Request) -> datetime.datetime | None:
    """`updated_since`, already validated by the FilterSet on the rows."""
    raw = request.query_params.get("updated_since")
    return SinceField().clean(raw) if raw else None


# --- tombstones -------------------------------------------------------------------------------


class TombstoneSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pgh_obj_id")
    deleted_at = serializers.DateTimeField(source="pgh_created_at")
    deleted = serializers.SerializerMethodField()

    def get_deleted(self, obj: Any) -> bool:
        return True


class InitiativeTombstoneSerializer(TombstoneSerializer):
    """A hard-deleted initiative (archived ones stay rows, with `archived_at`)."""

    key = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    external_id = serializers.CharField(allow_null=True)


class GoalTombstoneSerializer(TombstoneSerializer):
    """A hard-deleted goal (archived ones stay rows, with `archived_at`)."""

    code = serializers.CharField()


class AlignmentTombstoneSerializer(TombstoneSerializer):
    """An alignment that was deleted: the initiative no longer serves that goal."""

    initiative = serializers.CharField(
        source="initiative_key", allow_null=True, help_text=_("The initiative's key.")
    )
    goal = serializers.CharField(
        source="goal_code", allow_null=True, help_text=_("The goal's code.")
    )


# --- the views' part --------------------------------------------------------------------------


class FeedFilterBackend(DjangoFilterBackend):
    """The list's FilterSet, kept on the view once bound, so its tombstones get the same
    filters (a saved view's included) without cleaning the parameters twice.
    """

    def get_filterset(self, request: Request, queryset: QuerySet, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        view.feed_filterset = filterset
        return filterset


class FeedListMixin:
    """List with tombstones merged in feed mode. The viewset names `tombstone_serializer_class`
    and builds the tombstones in `deletions()`; its FilterSet filters them
    (`filter_tombstones`).
    """

    pagination_class: Any = FeedPagination
    filter_backends: Any = [FeedFilterBackend]
    tombstone_serializer_class: type[serializers.Serializer] = TombstoneSerializer
    feed_filterset: Any = None

    def deletions(self, since: datetime.datetime | None) -> QuerySet:
        raise NotImplementedError

    def feed_tombstones(self) -> QuerySet:
        """Called by the keyset pagination (feed mode only), after the rows were filtered."""
        request: Request = self.request  # type: ignore[attr-defined]
        events = self.deletions(requested_since(request))
        if self.feed_filterset is not None:
            events = self.feed_filterset.filter_tombstones(events)
        return events

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        view: Any = self
        queryset = view.filter_queryset(view.get_queryset())
        page = view.paginate_queryset(queryset)
        if page is None:
            return Response(view.get_serializer(queryset, many=True).data)
        rows = iter(view.get_serializer([o for o in page if not is_tombstone(o)], many=True).data)
        context = view.get_serializer_context()
        stones = iter(
            self.tombstone_serializer_class(
                [o for o in page if is_tombstone(o)], many=True, context=context
            ).data
        )
        data = [next(stones) if is_tombstone(obj) else next(rows) for obj in page]
        return view.get_paginated_response(data)


class InitiativeFeedMixin(FeedListMixin):
    tombstone_serializer_class = InitiativeTombstoneSerializer

    def deletions(self, since: datetime.datetime | None) -> QuerySet:
        user = self.request.user  # type: ignore[attr-defined]
        return visible_initiative_deletions(user, deletions_of(Initiative, since))


class GoalFeedMixin(FeedListMixin):
    tombstone_serializer_class = GoalTombstoneSerializer

    def deletions(self, since: datetime.datetime | None) -> QuerySet:
        return deletions_of(Goal, since)


class AlignmentFeedMixin(FeedListMixin):
    tombstone_serializer_class = AlignmentTombstoneSerializer

    def deletions(self, since: datetime.datetime | None) -> QuerySet:
        from registry.models import Alignment

        # The initiative or goal may be gone too: then their own delete event names them.
        events = deletions_of(Alignment, since).annotate(
            initiative_key=Coalesce(
                Subquery(Initiative.objects.filter(pk=OuterRef("initiative_id")).values("key")[:1]),
                Subquery(
                    deletions_of(Initiative, None)
                    .filter(pgh_obj_id=OuterRef("initiative_id"))
                    .values("key")[:1]
                ),
            ),
            goal_code=Coalesce(
                Subquery(Goal.objects.filter(pk=OuterRef("goal_id")).values("code")[:1]),
                Subquery(
                    deletions_of(Goal, None)
                    .filter(pgh_obj_id=OuterRef("goal_id"))
                    .values("code")[:1]
                ),
            ),
        )
        hidden = hidden_initiative_ids(self.request.user)  # type: ignore[attr-defined]
        if hidden is not None:
            deleted_confidential = deletions_of(Initiative, None).filter(confidential=True)
            events = events.exclude(initiative_id__in=hidden).exclude(
                initiative_id__in=deleted_confidential.values("pgh_obj_id")
            )
        return events
