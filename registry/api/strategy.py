"""`/visions/`, `/goals/`, `/measurements/` and `/proactive-stances/`: the CX vision, its
measurable goals, and where it lets AI act proactively, only react, or not act at all."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db import transaction
from django.db.models import (
    Q,
    QuerySet,
)
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.validators import UniqueTogetherValidator

from registry import choices
from registry.api.core.authentication import request_actor
from registry.api.core.errors import Conflict
from registry.api.core.feeds import GoalFeedMixin
from registry.api.core.idempotency import idempotent
from registry.api.core.relations import TIMESTAMPS, goal_field, person_field, vision_field
from registry.api.core.viewsets import RegistryViewSet, bound
from registry.models import (
    Goal,
    Measurement,
    ProactiveStance,
    Vision,
)
from registry.selectors.filters import (
    LiveByDefault,
    OrderingFilter,
    SinceFilter,
    StrictBooleanFilter,
    TombstoneFilters,
    by_goal_code,
    by_id,
    by_person,
)
from registry.services.archive import (
    goal_archive,
    goal_restore,
)
from registry.services.strategy import stance_save


class VisionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vision-detail")
    executive_sponsor = person_field(allow_null=True, required=False)

    class Meta:
        model = Vision
        fields = [
            "url",
            "id",
            "title",
            "statement",
            "horizon_start",
            "horizon_end",
            "executive_sponsor",
            "status",
            # How customer-facing AI speaks (voice reviews check against these).
            "voice_tone",
            "voice_language",
            "voice_ai_disclosure",
            "voice_handover",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]
        # "One active vision" answers 409 with the constraint's message.
        extra_kwargs: dict[str, dict[str, Any]] = {"status": {"validators": []}}


class GoalSerializer(serializers.ModelSerializer):
    """A CX goal with its current value and progress (annotated by `with_progress`)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:goal-detail", lookup_field="code")
    vision = vision_field()
    # DRF moves declared fields off the class, so `parent` does not shadow Field.parent.
    parent = goal_field(allow_null=True, required=False)  # type: ignore[assignment]
    owner = person_field(allow_null=True, required=False)
    current = serializers.DecimalField(
        max_digits=14, decimal_places=4, read_only=True, allow_null=True
    )
    current_on = serializers.DateField(read_only=True, allow_null=True)
    progress = serializers.DecimalField(
        max_digits=20,
        decimal_places=6,
        read_only=True,
        allow_null=True,
        help_text=_("(current − baseline) / (target − baseline); 1 means on target."),
    )

    class Meta:
        model = Goal
        fields = [
            "url",
            "id",
            "code",
            "vision",
            "parent",
            "title",
            "theme",
            "metric",
            "unit",
            "direction",
            "baseline",
            "baseline_date",
            "target",
            "target_date",
            "weight",
            "owner",
            "touchpoints",
            "journey_stages",
            "current",
            "current_on",
            "progress",
            "version",
            "archived_at",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "version", "archived_at", *TIMESTAMPS]


class MeasurementSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:measurement-detail")
    goal = goal_field()

    class Meta:
        model = Measurement
        fields = ["url", "id", "goal", "observed_on", "value", "source", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = [
            UniqueTogetherValidator(
                queryset=Measurement.objects.all(),
                fields=("goal", "observed_on"),
                message=_("This goal already has a measurement on that day."),
            )
        ]


class ProactiveStanceSerializer(serializers.ModelSerializer):
    """Leadership's decision for one touchpoint (and optionally one journey stage)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:proactivestance-detail")
    vision = vision_field()
    journey_stage = serializers.ChoiceField(
        choices=choices.JourneyStage.choices,
        allow_blank=True,
        required=False,
        default="",
        help_text=_("Empty: every journey stage at this touchpoint."),
    )

    class Meta:
        model = ProactiveStance
        fields = [
            "url",
            "id",
            "vision",
            "touchpoint",
            "journey_stage",
            "stance",
            "rationale",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "version", *TIMESTAMPS]


class ProactiveStanceFilterSet(filters.FilterSet):
    vision = by_id(Vision.objects.all(), str(_("vision with id")))
    touchpoint = filters.ChoiceFilter(choices=choices.Touchpoint.choices)
    stance = filters.ChoiceFilter(choices=choices.Stance.choices)

    class Meta:
        model = ProactiveStance
        fields: list[str] = []


class VisionFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=choices.VisionStatus.choices)
    ordering = OrderingFilter(fields=("horizon_start", "title", "updated_at"))

    class Meta:
        model = Vision
        fields: list[str] = []


class GoalFilterSet(LiveByDefault, TombstoneFilters, filters.FilterSet):
    # Every filter is on the goal's own columns (and its vision, which is retired, never
    # deleted): in the feed they apply to a deleted goal's tombstone as it was.
    tombstone_as_is = frozenset(
        {
            *("vision", "theme", "metric", "direction", "owner", "parent", "active_vision"),
            *("archived", "include_archived"),
        }
    )

    vision = by_id(Vision.objects.all(), str(_("vision with id")))
    theme = filters.CharFilter(lookup_expr="iexact")
    metric = filters.MultipleChoiceFilter(choices=choices.Metric.choices)
    direction = filters.ChoiceFilter(choices=choices.Direction.choices)
    owner = by_person(field_name="owner")
    parent = by_goal_code(field_name="parent")
    active_vision = StrictBooleanFilter(
        method="filter_active_vision", help_text=_("true: goals of the active vision only.")
    )
    archived = StrictBooleanFilter(
        method="filter_archived", help_text=_("Default false: archived goals are left out.")
    )
    include_archived = StrictBooleanFilter(
        method="filter_passthrough", help_text=_("true: live and archived together.")
    )
    updated_since = SinceFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_(
            "ISO date or date-time. Switches to cursor pagination ordered by (updated_at, id) "
            "and includes archived goals (and tombstones of deleted ones)."
        ),
    )
    ordering = OrderingFilter(
        fields=("code", "title", "weight", "target_date", "updated_at", "progress"),
        tie_breaker="code",
    )

    class Meta:
        model = Goal
        fields: list[str] = []

    def filter_active_vision(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        active = Q(vision__status=choices.VisionStatus.ACTIVE)
        return queryset.filter(active) if value else queryset.exclude(active)


class MeasurementFilterSet(filters.FilterSet):
    goal = by_goal_code()
    observed_from = filters.DateFilter(field_name="observed_on", lookup_expr="gte")
    observed_to = filters.DateFilter(field_name="observed_on", lookup_expr="lte")
    source = filters.CharFilter(lookup_expr="iexact")
    ordering = OrderingFilter(fields=("observed_on", "value", "created_at"))

    class Meta:
        model = Measurement
        fields: list[str] = []


class VisionViewSet(RegistryViewSet):
    """CX visions. At most one is active; a vision is retired, not deleted."""

    queryset = Vision.objects.select_related("executive_sponsor")
    serializer_class = VisionSerializer
    filterset_class = VisionFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


@extend_schema_view(
    list=extend_schema(
        description=_(
            "CX goals, live ones by default. With `updated_since`, pages follow a cursor ordered "
            "by (updated_at, id); archived goals appear with `archived_at` set, and goals "
            "deleted in the admin as tombstones (`deleted: true`)."
        ),
    ),
    destroy=extend_schema(
        description=_("Archives the goal (nothing is deleted); POST …/restore/ undoes it.")
    ),
)
class GoalViewSet(GoalFeedMixin, RegistryViewSet):
    """Measurable CX goals, addressed by code, with current value and progress.

    DELETE archives (alignments and measurements hang on them), restore brings them back.
    """

    queryset = Goal.objects.with_progress().select_related("vision", "parent", "owner")
    serializer_class = GoalSerializer
    filterset_class = GoalFilterSet
    lookup_field = "code"
    versioned = True
    etag_actions = frozenset({"retrieve", "create", "update", "partial_update", "restore"})
    if_match_actions = frozenset({"update", "partial_update", "destroy", "restore"})
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_update(self, serializer: BaseSerializer) -> None:
        goal = bound(serializer)
        if goal.archived_at is not None:
            raise Conflict(
                _("%(code)s is archived; restore it first.") % {"code": goal.code}, code="archived"
            )
        super().perform_update(serializer)

    def perform_destroy(self, instance: Goal) -> None:
        goal_archive(goal=instance, actor=request_actor(self.request))

    @extend_schema(
        request=None,
        responses={200: GoalSerializer},
        description=_("Bring an archived goal back."),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def restore(self, request: Request, code: str | None = None) -> Response:
        with transaction.atomic():
            goal = self.get_object()
            goal_restore(goal=goal, actor=request_actor(request))
            fresh = self.refetch(goal)
        return Response(self.get_serializer(fresh).data)


class MeasurementViewSet(RegistryViewSet):
    """Observed values of goals' metrics; the latest gives a goal its current value."""

    queryset = Measurement.objects.select_related("goal")
    serializer_class = MeasurementSerializer
    filterset_class = MeasurementFilterSet


class ProactiveStanceViewSet(RegistryViewSet):
    """The vision's proactive stance per touchpoint (optionally per journey stage): whether
    AI may act proactively, only react, or not be used. The PMO writes it; moving customer-
    facing work that contradicts the active vision's stance past proposed needs a note that
    justifies the exception."""

    queryset = ProactiveStance.objects.select_related("vision").order_by(
        "vision", "touchpoint", "journey_stage", "id"
    )
    serializer_class = ProactiveStanceSerializer
    filterset_class = ProactiveStanceFilterSet
    # Nothing is hard-deleted through the API: a stance is changed (e.g. to proactive, which
    # restricts nothing); the PMO removes one in the vision's admin page, with history.
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def perform_create(self, serializer: BaseSerializer) -> None:
        row = stance_save(actor=request_actor(self.request), data=serializer.validated_data)
        serializer.instance = self.refetch(row)

    def perform_update(self, serializer: BaseSerializer) -> None:
        row = stance_save(
            actor=request_actor(self.request),
            stance=bound(serializer),
            data=serializer.validated_data,
        )
        serializer.instance = self.refetch(row)
