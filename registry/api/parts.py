"""The rows that hang on an initiative, as resources: alignments, team roles,
dependencies, notes and the stage journal — writable by whoever may change the initiative
they belong to.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import (
    F,
    Model,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.serializers import BaseSerializer
from rest_framework.validators import UniqueTogetherValidator

from registry import choices
from registry import permissions as rules
from registry.api.core.authentication import request_token
from registry.api.core.errors import Conflict
from registry.api.core.feeds import (
    AlignmentFeedMixin,
    AlignmentTombstoneSerializer,
    feed_item_schema,
)
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
from registry.api.core.viewsets import RegistryViewSet, acting_user, bound
from registry.models import (
    Alignment,
    Dependency,
    Initiative,
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
        slug_field="username", read_only=True
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
    by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
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


class AlignmentFilterSet(filters.FilterSet):
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
    """Alignments, team roles, dependencies: writable by whoever may change the initiative
    they belong to (checked on the stored and on the requested initiative).
    """

    permission_classes = [InitiativePartAccess]
    initiative_attr = "initiative"

    def check_initiative(self, initiative: Initiative | None) -> None:
        if initiative is None:
            return
        if initiative.archived_at is not None:
            raise Conflict(
                _("%(key)s is archived; restore it first.") % {"key": initiative.key},
                code="archived",
            )
        request = self.request
        if not rules.can_change_initiative(request.user, initiative, request_token(request)):
            raise PermissionDenied(_("You may not change %(key)s.") % {"key": initiative.key})

    def target_initiative(self, serializer: BaseSerializer) -> Initiative | None:
        return serializer.validated_data.get(self.initiative_attr)

    def before_save(self, serializer: BaseSerializer) -> None:
        """Hook for a part's own bookkeeping, after the permission checks."""

    def perform_create(self, serializer: BaseSerializer) -> None:
        self.check_initiative(self.target_initiative(serializer))
        self.before_save(serializer)
        super().perform_create(serializer)

    def perform_update(self, serializer: BaseSerializer) -> None:
        self.check_initiative(getattr(serializer.instance, self.initiative_attr))
        self.check_initiative(self.target_initiative(serializer))
        self.before_save(serializer)
        super().perform_update(serializer)

    def perform_destroy(self, instance: Model) -> None:
        self.check_initiative(getattr(instance, self.initiative_attr))
        super().perform_destroy(instance)


@extend_schema_view(
    list=extend_schema(
        responses=feed_item_schema(
            "AlignmentFeedItem", AlignmentSerializer, AlignmentTombstoneSerializer
        ),
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

    def before_save(self, serializer: BaseSerializer) -> None:
        # The constraint allows one primary per initiative, so the old primary is demoted
        # (its version bumped) in the same transaction, before the new one is saved.
        if not serializer.validated_data.get("is_primary"):
            return
        current = serializer.instance
        initiative = serializer.validated_data.get("initiative") or bound(serializer).initiative
        others = Alignment.objects.filter(initiative=initiative, is_primary=True)
        if current is not None:
            others = others.exclude(pk=current.pk)
        others.update(is_primary=False, version=F("version") + 1, updated_at=timezone.now())


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
    initiative_attr = "from_initiative"

    def get_queryset(self) -> QuerySet:
        return (
            visible_dependencies(self.request.user)
            .select_related("from_initiative", "to_initiative")
            .order_by("pk")
        )


class NoteViewSet(RegistryViewSet):
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

    def check_note(self, note: Note) -> None:
        request = self.request
        initiative = note.initiative
        if initiative is not None and initiative.archived_at is not None:
            raise Conflict(
                _("%(key)s is archived; restore it first.") % {"key": initiative.key},
                code="archived",
            )
        if not rules.can_write_note(request.user, note, request_token(request)):
            raise PermissionDenied(
                _("Notes on goals and reviews are the PMO's; on an initiative, its writers'.")
            )

    def perform_create(self, serializer: BaseSerializer) -> None:
        author = acting_user(self.request)
        self.check_note(Note(**serializer.validated_data, author=author))
        serializer.instance = self.refetch(serializer.save(author=author))

    def perform_update(self, serializer: BaseSerializer) -> None:
        current = bound(serializer)
        subject = {
            name: serializer.validated_data.get(name, getattr(current, name))
            for name in ("initiative", "goal", "review")
        }
        self.check_note(Note(pk=current.pk, author_id=current.author_id, **subject))
        super().perform_update(serializer)


class StageChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """Every lifecycle move, as the lifecycle module recorded it (read-only)."""

    serializer_class = StageChangeSerializer
    filterset_class = StageChangeFilterSet
    permission_classes = [ReadOnly]

    def get_queryset(self) -> QuerySet:
        return visible_stage_changes(self.request.user).select_related("initiative", "by")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset
