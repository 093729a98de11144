"""Serializers of the v1 API: explicit fields, server-managed fields read-only, related
objects read in brief form and written by natural key (see `fields.NaturalKeyRelatedField`).

Serializers of lists read only what the viewset prefetched or annotated, so a page of 500
costs as many queries as a page of 1.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from pghistory.models import Events
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.validators import UniqueTogetherValidator

from registry import choices
from registry.api import fast_read
from registry.api.core.fields import NaturalKeyRelatedField
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    Initiative,
    Measurement,
    Note,
    Person,
    Review,
    ReviewDecision,
    StageChange,
    System,
    Tag,
    TeamRole,
    Vision,
)
from registry.services import lifecycle
from registry.services.reviews import ReviewClosedError

TIMESTAMPS = ["created_at", "updated_at"]


def _visible_initiatives(request: Request | None) -> QuerySet:
    return Initiative.objects.visible_to(getattr(request, "user", None))


# --- brief forms ----------------------------------------------------------------------------


class BriefPersonSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:person-detail")

    class Meta:
        model = Person
        fields = ["email", "id", "name", "url"]
        read_only_fields = fields


class BriefDepartmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:department-detail", lookup_field="slug"
    )

    class Meta:
        model = Department
        fields = ["slug", "id", "name", "url"]
        read_only_fields = fields


class BriefSystemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:system-detail", lookup_field="slug")

    class Meta:
        model = System
        fields = ["slug", "id", "name", "url"]
        read_only_fields = fields


class BriefVisionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vision-detail")

    class Meta:
        model = Vision
        fields = ["id", "title", "status", "url"]
        read_only_fields = fields


class BriefGoalSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:goal-detail", lookup_field="code")

    class Meta:
        model = Goal
        fields = ["code", "id", "title", "url"]
        read_only_fields = fields


class BriefInitiativeSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:initiative-detail", lookup_field="key"
    )

    class Meta:
        model = Initiative
        fields = ["key", "id", "name", "url"]
        read_only_fields = fields


class BriefReviewSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:review-detail")

    class Meta:
        model = Review
        fields = ["id", "period", "status", "url"]
        read_only_fields = fields


def person_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="email",
        brief_serializer=BriefPersonSerializer,
        queryset=Person.objects.all(),
        case_insensitive=True,
        help_text=_("A person's e-mail (or id); read as {email, id, name, url}."),
        **kwargs,
    )


def department_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="slug",
        brief_serializer=BriefDepartmentSerializer,
        queryset=Department.objects.all(),
        help_text=_("A department's slug (or id); read as {slug, id, name, url}."),
        **kwargs,
    )


def system_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="slug",
        brief_serializer=BriefSystemSerializer,
        queryset=System.objects.all(),
        help_text=_("A system's slug (or id); read as {slug, id, name, url}."),
        **kwargs,
    )


def vision_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="id",
        brief_serializer=BriefVisionSerializer,
        queryset=Vision.objects.all(),
        help_text=_("A vision's id; read as {id, title, status, url}."),
        **kwargs,
    )


def goal_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="code",
        brief_serializer=BriefGoalSerializer,
        queryset=Goal.objects.live(),
        help_text=_("A goal's code such as G-NPS (or id); read as {code, id, title, url}."),
        **kwargs,
    )


def initiative_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="key",
        brief_serializer=BriefInitiativeSerializer,
        queryset=_visible_initiatives,
        help_text=_("An initiative's key such as AI-0042 (or id); read as {key, id, name, url}."),
        **kwargs,
    )


def review_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="id",
        brief_serializer=BriefReviewSerializer,
        queryset=Review.objects.all(),
        help_text=_("A review's id; read as {id, period, status, url}."),
        **kwargs,
    )


class TagNameField(serializers.SlugRelatedField):
    """Tags are read and written by name; an unknown name is a 400 naming it."""

    default_error_messages = {
        "does_not_exist": _("No tag named '{value}'. The PMO creates tags."),
        "invalid": _("Give a tag's name."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Tag.objects.all())
        super().__init__(slug_field="name", **kwargs)


# --- organisation and strategy --------------------------------------------------------------


class DepartmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:department-detail", lookup_field="slug"
    )

    class Meta:
        model = Department
        fields = ["url", "id", "slug", "name", "function", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]


class PersonSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:person-detail")
    department = department_field(allow_null=True, required=False)
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["url", "id", "name", "email", "department", "title", "has_login", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]

    def get_has_login(self, obj: Person) -> bool:
        return obj.user_id is not None

    def validate_email(self, value: str) -> str:
        return value.strip().lower()


class SystemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:system-detail", lookup_field="slug")
    owner_department = department_field(allow_null=True, required=False)

    class Meta:
        model = System
        fields = [
            "url",
            "id",
            "slug",
            "name",
            "category",
            "owner_department",
            "vendor",
            "contains_personal_data",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class TagSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:tag-detail", lookup_field="name")

    class Meta:
        model = Tag
        fields = ["url", "id", "name"]
        read_only_fields = ["id"]


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


# --- initiatives ----------------------------------------------------------------------------


class AlignmentBriefSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:alignment-detail")
    goal = BriefGoalSerializer(read_only=True)

    class Meta:
        model = Alignment
        fields = ["id", "goal", "strength", "is_primary", "url"]
        read_only_fields = fields


class TeamMemberSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:teamrole-detail")
    person = BriefPersonSerializer(read_only=True)

    class Meta:
        model = TeamRole
        fields = ["id", "person", "role", "url"]
        read_only_fields = fields


INITIATIVE_EDITABLE = [
    "name",
    "summary",
    "kind",
    "owner",
    "lead_department",
    "departments",
    "touchpoints",
    "journey_stages",
    "interaction_mode",
    "systems",
    "customer_segments",
    "autonomy",
    "budget_planned",
    "budget_spent",
    "currency",
    "expected_benefit",
    "start_date",
    "target_date",
    "end_date",
    "risk_tier",
    "customer_facing",
    "uses_personal_data",
    "confidential",
    "hypothesis",
    "success_criteria",
    "learnings",
    "tags",
    "source",
    "external_id",
    "external_url",
]
INITIATIVE_SERVER_MANAGED = [
    "id",
    "key",
    "stage",
    "paused_from",
    "next_stages",
    "alignment_level",
    "primary_goal",
    "alignments",
    "team",
    "gate_gaps",
    "is_silo",
    "version",
    "archived_at",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
]
INITIATIVE_FIELDS = [
    "url",
    "id",
    "key",
    "stage",
    *INITIATIVE_EDITABLE,
    *(f for f in INITIATIVE_SERVER_MANAGED if f not in ("id", "key", "stage")),
]


class InitiativeSerializer(serializers.ModelSerializer):
    """One AI initiative. `stage` moves only through `POST …/transition/`.

    Derived values (`alignment_level`, `primary_goal`, `is_silo`) come from the viewset's
    QuerySet annotations; `gate_gaps` and `next_stages` from the lifecycle module.
    """

    url = serializers.HyperlinkedIdentityField(
        view_name="api:initiative-detail", lookup_field="key"
    )
    owner = person_field(allow_null=True, required=False)
    lead_department = department_field(allow_null=True, required=False)
    departments = department_field(many=True, required=False)
    systems = system_field(many=True, required=False)
    tags = TagNameField(many=True, required=False)
    touchpoints = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Touchpoint.choices), required=False
    )
    journey_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.JourneyStage.choices), required=False
    )
    customer_segments = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False
    )
    next_stages = serializers.SerializerMethodField()
    alignment_level = serializers.ChoiceField(
        choices=choices.AlignmentLevel.choices,
        read_only=True,
        help_text=_("The strongest alignment to a goal of the active vision."),
    )
    primary_goal = serializers.SerializerMethodField()
    alignments = AlignmentBriefSerializer(many=True, read_only=True)
    team = TeamMemberSerializer(many=True, read_only=True)
    gate_gaps = serializers.SerializerMethodField()
    is_silo = serializers.BooleanField(
        read_only=True, help_text=_("Team and departments span a single department.")
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    updated_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Initiative
        fields = INITIATIVE_FIELDS
        read_only_fields = INITIATIVE_SERVER_MANAGED
        validators: list = []  # the (source, external_id) constraint answers 409 itself

    def to_representation(self, instance: Initiative) -> Any:
        # Reads of the viewset's annotated, prefetched initiatives take a direct path with the
        # same output (registry.api.fast_read); anything else goes through DRF's fields.
        if type(self) is InitiativeSerializer:
            fast = fast_read.initiative_representation(self, instance)
            if fast is not None:
                return fast
        return super().to_representation(instance)

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices.Stage.choices))
    )
    def get_next_stages(self, obj: Initiative) -> list[str]:
        return lifecycle.next_stages(obj)

    @extend_schema_field(BriefGoalSerializer(allow_null=True))
    def get_primary_goal(self, obj: Initiative) -> dict | None:
        goal_id = getattr(obj, "primary_goal_id", None)
        if goal_id is None:
            return None
        for alignment in obj.alignments.all():  # prefetched with their goals
            if alignment.goal_id == goal_id:
                return BriefGoalSerializer(alignment.goal, context=self.context).data
        return None

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices.Gate.choices)))
    def get_gate_gaps(self, obj: Initiative) -> list[str]:
        # The primary-alignment evidence comes from the `with_primary_goal` annotation, so a
        # list does not run one query per initiative.
        has_primary = None
        if hasattr(obj, "primary_goal_id"):
            has_primary = obj.primary_goal_id is not None
        return lifecycle.gate_gaps(obj, has_primary_alignment=has_primary)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("external_id") == "":
            attrs["external_id"] = None
        return attrs


class OverlapReasonSerializer(serializers.Serializer):
    """Why two initiatives overlap: same kind, touchpoint and journey stage, or same primary
    goal and system.
    """

    rule = serializers.ChoiceField(choices=["kind_touchpoint_journey", "goal_system"])
    kind = serializers.CharField(required=False)
    touchpoint = serializers.CharField(required=False)
    journey_stage = serializers.CharField(required=False)
    goal = serializers.CharField(required=False)
    system = serializers.CharField(required=False)


class OverlapSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    lead_department = serializers.CharField()
    lead_department_name = serializers.CharField()
    reasons = OverlapReasonSerializer(many=True)


class InitiativeWriteSerializer(InitiativeSerializer):
    """The answer to a create or an edit: the initiative plus "join or justify" — the open
    initiatives of other departments it overlaps (from `reports.overlaps_for`).
    """

    overlaps = serializers.SerializerMethodField()

    class Meta(InitiativeSerializer.Meta):
        fields = [*INITIATIVE_FIELDS, "overlaps"]
        read_only_fields = [*INITIATIVE_SERVER_MANAGED, "overlaps"]

    @extend_schema_field(OverlapSerializer(many=True))
    def get_overlaps(self, obj: Initiative) -> list[dict]:
        return getattr(obj, "join_or_justify", [])


class InitiativeCsvSerializer(serializers.ModelSerializer):
    """The flat row of the CSV export, from the same prefetched data as the JSON list."""

    owner = serializers.CharField(source="owner.name", default="", read_only=True)
    owner_email = serializers.CharField(source="owner.email", default="", read_only=True)
    lead_department = serializers.CharField(
        source="lead_department.slug", default="", read_only=True
    )
    departments = serializers.ManyRelatedField(
        child_relation=serializers.SlugRelatedField(slug_field="slug", read_only=True),
        read_only=True,
    )
    systems = serializers.ManyRelatedField(
        child_relation=serializers.SlugRelatedField(slug_field="slug", read_only=True),
        read_only=True,
    )
    tags = serializers.ManyRelatedField(
        child_relation=serializers.SlugRelatedField(slug_field="name", read_only=True),
        read_only=True,
    )
    alignment_level = serializers.CharField(read_only=True)
    primary_goal = serializers.CharField(source="primary_goal_code", default="", read_only=True)
    is_silo = serializers.BooleanField(read_only=True)

    class Meta:
        model = Initiative
        fields = [
            "key",
            "name",
            "stage",
            "kind",
            "alignment_level",
            "primary_goal",
            "owner",
            "owner_email",
            "lead_department",
            "departments",
            "systems",
            "touchpoints",
            "journey_stages",
            "risk_tier",
            "autonomy",
            "budget_planned",
            "budget_spent",
            "currency",
            "start_date",
            "target_date",
            "end_date",
            "is_silo",
            "confidential",
            "tags",
            "source",
            "external_id",
            "updated_at",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.Serializer):
    """The body of `POST /initiatives/{key}/transition/`."""

    to = serializers.ChoiceField(choices=choices.Stage.choices, help_text=_("The target stage."))
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Why; required for moves to paused or stopped and back from paused."),
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


class ReviewSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:review-detail")
    vision = vision_field()

    class Meta:
        model = Review
        fields = [
            "url",
            "id",
            "vision",
            "period",
            "held_on",
            "status",
            "summary",
            "closed_at",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "status", "closed_at", *TIMESTAMPS]
        validators = [
            UniqueTogetherValidator(
                queryset=Review.objects.all(),
                fields=("vision", "period"),
                message=_("This vision already has a review for that quarter."),
            )
        ]


class ReviewDecisionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:reviewdecision-detail")
    review = review_field()
    initiative = initiative_field()
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = ReviewDecision
        fields = [
            "url",
            "id",
            "review",
            "initiative",
            "decision",
            "rationale",
            "snapshot",
            "decided_at",
            "decided_by",
        ]
        read_only_fields = ["id", "snapshot", "decided_at", "decided_by"]
        validators: list = []  # a second decision on the same initiative replaces the first

    def validate_review(self, review: Review) -> Review:
        if review.is_closed:
            # A conflict with the stored record (409 review_closed), not bad input.
            raise ReviewClosedError(
                _("The %(period)s review is closed; its decisions can no longer change.")
                % {"period": review.period},
                field="review",
            )
        return review


# --- history --------------------------------------------------------------------------------


def object_type_of(model_label: str) -> str:
    """`registry.Initiative` → `initiative`; `registry.Initiative_departments` →
    `initiative_departments`.
    """
    return model_label.split(".", 1)[-1].lower()


class ChangeSerializer(serializers.ModelSerializer):
    """One recorded change (pghistory event) with who made it and through which channel."""

    id = serializers.CharField(source="pgh_slug", read_only=True)
    at = serializers.DateTimeField(source="pgh_created_at", read_only=True)
    # Declared fields leave the class, so `label` and `data` shadow nothing at run time.
    label = serializers.CharField(  # type: ignore[assignment]
        source="pgh_label",
        read_only=True,
        help_text=_("insert, update, delete, or department/system/tag .add/.remove"),
    )
    object_type = serializers.SerializerMethodField()
    object_id = serializers.CharField(source="pgh_obj_id", read_only=True, allow_null=True)
    data = serializers.JSONField(source="pgh_data", read_only=True)  # type: ignore[assignment]
    diff = serializers.JSONField(
        source="pgh_diff",
        read_only=True,
        allow_null=True,
        help_text=_("Changed fields as {field: [before, after]}."),
    )
    actor = serializers.SerializerMethodField()
    channel = serializers.SerializerMethodField()
    context_id = serializers.UUIDField(source="pgh_context_id", read_only=True, allow_null=True)

    class Meta:
        model = Events
        fields = [
            "id",
            "at",
            "label",
            "object_type",
            "object_id",
            "data",
            "diff",
            "actor",
            "channel",
            "context_id",
        ]
        read_only_fields = fields

    def get_object_type(self, obj: Events) -> str:
        return object_type_of(obj.pgh_obj_model)

    def _from_context(self, obj: Events, key: str) -> str:
        return str((obj.pgh_context or {}).get(key) or "")

    @extend_schema_field(OpenApiTypes.STR)
    def get_actor(self, obj: Events) -> str:
        return self._from_context(obj, "actor")

    @extend_schema_field(serializers.ChoiceField(choices=choices.Channel.choices))
    def get_channel(self, obj: Events) -> str:
        return self._from_context(obj, "channel")
