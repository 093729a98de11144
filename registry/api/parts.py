"""The rows that hang on an initiative, as resources: alignments, team roles,
dependencies, notes and the stage journal — writable by whoever may change the initiative
they belong to.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import (
    Model,
    Q,
    QuerySet,
)
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.serializers import BaseSerializer
from rest_framework.validators import UniqueTogetherValidator

from registry import choices
from registry.api.core.authentication import request_actor
from registry.api.core.feeds import AlignmentFeedMixin
from registry.api.core.fields import NullableChoiceField
from registry.api.core.permissions import (
    InitiativePartAccess,
    NoteAccess,
    ReadOnly,
)
from registry.api.core.relations import (
    TIMESTAMPS,
    BriefInitiativeSerializer,
    goal_field,
    initiative_field,
    person_field,
    review_field,
)
from registry.api.core.viewsets import RegistryViewSet, bound
from registry.models import (
    Alignment,
    Dependency,
    Goal,
    Note,
    Review,
    StageChange,
    TeamRole,
    Vision,
)
from registry.selectors.filters import (
    OrderingFilter,
    SinceFilter,
    StrictBooleanFilter,
    TombstoneFilters,
    by_goal_code,
    by_id,
    by_initiative_key,
    by_person,
)
from registry.selectors.visibility import (
    visible_alignments,
    visible_dependencies,
    visible_notes,
    visible_stage_changes,
    visible_team_roles,
)
from registry.services.parts import part_delete, part_save


class AlignmentSerializer(serializers.ModelSerializer):
    """How an initiative serves a goal. Marking one primary demotes the previous primary."""

    url = serializers.HyperlinkedIdentityField(view_name="api:alignment-detail")
    initiative = initiative_field()
    goal = goal_field()

    class Meta:
        model = Alignment
        fields = [
            "url",
            "id",
            "initiative",
            "goal",
            "strength",
            "is_primary",
            "expected_impact",
            "rationale",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "version", *TIMESTAMPS]
        validators = [
            UniqueTogetherValidator(
                queryset=Alignment.objects.all(),
                fields=("initiative", "goal"),
                message=_("This initiative is already aligned to this goal."),
            )
        ]


class TeamRoleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:teamrole-detail")
    initiative = initiative_field()
    person = person_field()

    class Meta:
        model = TeamRole
        fields = ["url", "id", "initiative", "person", "role"]
        read_only_fields = ["id"]
        validators = [
            UniqueTogetherValidator(
                queryset=TeamRole.objects.all(),
                fields=("initiative", "person", "role"),
                message=_("This person already has this role on the initiative."),
            )
        ]


class DependencySerializer(serializers.ModelSerializer):
    """`initiative` needs `depends_on`."""

    url = serializers.HyperlinkedIdentityField(view_name="api:dependency-detail")
    initiative = initiative_field(source="from_initiative")
    depends_on = initiative_field(source="to_initiative")

    class Meta:
        model = Dependency
        fields = ["url", "id", "initiative", "depends_on", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = [
            UniqueTogetherValidator(
                queryset=Dependency.objects.all(),
                fields=("initiative", "depends_on"),
                message=_("This dependency already exists."),
            )
        ]

    def validate(self, attrs: dict) -> dict:
        start = attrs.get("from_initiative", getattr(self.instance, "from_initiative", None))
        end = attrs.get("to_initiative", getattr(self.instance, "to_initiative", None))
        if start is not None and start == end:
            raise serializers.ValidationError(
                {"depends_on": [_("An initiative cannot depend on itself.")]}
            )
        return attrs


class NoteSerializer(serializers.ModelSerializer):
    """A journal entry on exactly one initiative, goal or review."""

    url = serializers.HyperlinkedIdentityField(view_name="api:note-detail")
    initiative = initiative_field(allow_null=True, required=False)
    goal = goal_field(allow_null=True, required=False)
    review = review_field(allow_null=True, required=False)
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Note
        fields = ["url", "id", "initiative", "goal", "review", "author", "at", "kind", "text"]
        read_only_fields = ["id", "author"]

    def validate(self, attrs: dict) -> dict:
        subjects = [
            attrs.get(name, getattr(self.instance, name, None))
            for name in ("initiative", "goal", "review")
        ]
        if sum(subject is not None for subject in subjects) != 1:
            raise serializers.ValidationError(
                _("A note belongs to exactly one initiative, goal or review."),
                code="registry_note_one_subject",
            )
        return attrs


class StageChangeSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:stagechange-detail")
    initiative = BriefInitiativeSerializer(read_only=True)
    from_stage = NullableChoiceField(
        choices=choices.Stage.choices,
        read_only=True,
        help_text=_("The stage it left; null for the stage an initiative started in."),
    )
    by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = StageChange
        fields = [
            "url",
            "id",
            "initiative",
            "from_stage",
            "to_stage",
            "at",
            "by",
            "actor_name",
            "imported_from",
            "note",
        ]
        read_only_fields = fields


class AlignmentFilterSet(TombstoneFilters, filters.FilterSet):
    # In the feed, the filters apply to a deleted alignment's tombstone as it was.
    tombstone_as_is = frozenset({"initiative", "goal", "strength", "is_primary"})

    initiative = by_initiative_key()
    goal = by_goal_code()
    vision = by_id(Vision.objects.all(), str(_("vision with id")), field_name="goal__vision")
    strength = filters.MultipleChoiceFilter(choices=choices.AlignmentStrength.choices)
    is_primary = StrictBooleanFilter()
    updated_since = SinceFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_(
            "ISO date or date-time. Switches to cursor pagination ordered by (updated_at, id) "
            "and includes tombstones of deleted alignments."
        ),
    )
    ordering = OrderingFilter(fields=("updated_at", "strength", "created_at"))

    class Meta:
        model = Alignment
        fields: list[str] = []

    def tombstone_vision(self, events: QuerySet, value: Vision) -> QuerySet:
        # Its goal may have been deleted since (goals are deleted only once nothing aligns
        # to them): then the goal's own delete event names the vision.
        deleted_goals = Goal.pgh_event_models["delete"].objects.filter(  # type: ignore[attr-defined]
            pgh_label="delete", vision=value
        )
        return events.filter(
            Q(goal_id__in=Goal.objects.filter(vision=value).values("pk"))
            | Q(goal_id__in=deleted_goals.values("pgh_obj_id"))
        )


class TeamRoleFilterSet(filters.FilterSet):
    initiative = by_initiative_key()
    person = by_person()
    role = filters.MultipleChoiceFilter(choices=choices.TeamRoleKind.choices)
    ordering = OrderingFilter(fields=("role",))

    class Meta:
        model = TeamRole
        fields: list[str] = []


class DependencyFilterSet(filters.FilterSet):
    initiative = by_initiative_key(field_name="from_initiative", help_text=_("The needing one."))
    depends_on = by_initiative_key(field_name="to_initiative", help_text=_("The needed one."))
    ordering = OrderingFilter(fields=("created_at",))

    class Meta:
        model = Dependency
        fields: list[str] = []


class NoteFilterSet(filters.FilterSet):
    initiative = by_initiative_key()
    goal = by_goal_code()
    review = by_id(Review.objects.all(), str(_("review with id")))
    kind = filters.MultipleChoiceFilter(choices=choices.NoteKind.choices)
    author = filters.CharFilter(field_name="author__username")
    since = SinceFilter(field_name="at", lookup_expr="gte")
    ordering = OrderingFilter(fields=("at",))

    class Meta:
        model = Note
        fields: list[str] = []


class StageChangeFilterSet(filters.FilterSet):
    initiative = by_initiative_key()
    from_stage = filters.MultipleChoiceFilter(choices=choices.Stage.choices)
    to_stage = filters.MultipleChoiceFilter(choices=choices.Stage.choices)
    since = SinceFilter(field_name="at", lookup_expr="gte")
    until = SinceFilter(field_name="at", lookup_expr="lt")
    ordering = OrderingFilter(fields=("at",))

    class Meta:
        model = StageChange
        fields: list[str] = []


class InitiativePartViewSet(RegistryViewSet):
    """Alignments, team roles, dependencies and notes: every write through
    `registry.services.parts`, which holds their rules.
    """

    permission_classes = [InitiativePartAccess]

    def perform_create(self, serializer: BaseSerializer) -> None:
        row = part_save(
            actor=request_actor(self.request),
            model=serializer.Meta.model,
            part=None,
            data=serializer.validated_data,
        )
        serializer.instance = self.refetch(row)

    def perform_update(self, serializer: BaseSerializer) -> None:
        # The row is locked and If-Match checked by get_object, in this transaction.
        row = part_save(
            actor=request_actor(self.request),
            model=serializer.Meta.model,
            part=bound(serializer),
            data=serializer.validated_data,
        )
        serializer.instance = self.refetch(row)

    def perform_destroy(self, instance: Model) -> None:
        part_delete(actor=request_actor(self.request), part=instance)


@extend_schema_view(
    list=extend_schema(
        description=_(
            "With `updated_since`, pages follow a cursor ordered by (updated_at, id), and "
            "deleted alignments appear as tombstones (`deleted: true`) in the same order."
        ),
    )
)
class AlignmentViewSet(AlignmentFeedMixin, InitiativePartViewSet):
    """How initiatives serve goals. Marking an alignment primary demotes the previous one;
    an aligned initiative always keeps exactly one primary (else 400).
    """

    serializer_class = AlignmentSerializer
    filterset_class = AlignmentFilterSet
    versioned = True

    def get_queryset(self) -> QuerySet:
        return visible_alignments(self.request.user).select_related("initiative", "goal")


class TeamRoleViewSet(InitiativePartViewSet):
    """Who holds which role on an initiative."""

    serializer_class = TeamRoleSerializer
    filterset_class = TeamRoleFilterSet

    def get_queryset(self) -> QuerySet:
        return visible_team_roles(self.request.user).select_related("initiative", "person")


class DependencyViewSet(InitiativePartViewSet):
    """Initiative A needs initiative B; cycles are refused (400)."""

    serializer_class = DependencySerializer
    filterset_class = DependencyFilterSet

    def get_queryset(self) -> QuerySet:
        return (
            visible_dependencies(self.request.user)
            .select_related("from_initiative", "to_initiative")
            .order_by("pk")
        )


class NoteViewSet(InitiativePartViewSet):
    """Journal entries on initiatives (writable like the initiative), goals and reviews
    (PMO). The author is whoever writes it; only the PMO deletes notes.
    """

    serializer_class = NoteSerializer
    filterset_class = NoteFilterSet
    permission_classes = [NoteAccess]

    def get_queryset(self) -> QuerySet:
        return visible_notes(self.request.user).select_related(
            "initiative", "goal", "review", "author"
        )


class StageChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """Every lifecycle move, as the lifecycle module recorded it (read-only)."""

    serializer_class = StageChangeSerializer
    filterset_class = StageChangeFilterSet
    permission_classes = [ReadOnly]

    def get_queryset(self) -> QuerySet:
        return visible_stage_changes(self.request.user).select_related("initiative", "by")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset
