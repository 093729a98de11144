"""The initiative's JSON: explicit fields, server-managed ones read-only, related objects
read in brief form and written by natural key; the CSV row; the lifecycle move's body.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry import choices
from registry.api.core.fields import NullableChoiceField
from registry.api.core.relations import (
    BriefGoalSerializer,
    BriefPersonSerializer,
    TagNameField,
    department_field,
    person_field,
    system_field,
)
from registry.api.initiatives import fast_read
from registry.api.learning import SimilarLearningsSerializer
from registry.models import (
    Alignment,
    Initiative,
    TeamRole,
)
from registry.models.initiatives import INITIATIVE_WRITABLE_FIELDS
from registry.selectors import overlaps as overlap_scoring
from registry.selectors.learning import similar_learnings
from registry.services import lifecycle


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


INITIATIVE_EDITABLE = list(INITIATIVE_WRITABLE_FIELDS)


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
    paused_from = NullableChoiceField(
        choices=choices.Stage.choices,
        read_only=True,
        help_text=_("The stage a paused initiative returns to; null unless paused."),
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
    # Null for rows no login wrote (sync by token, import, commands) or whose user is gone.
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    updated_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
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
    """One reason two initiatives overlap and what it adds to the score (docs/OVERLAPS.md):
    similar names, the name's words in the other's text, shared words, different kinds
    (negative), and the structured keys both share (context, no weight).
    """

    rule = serializers.ChoiceField(choices=list(overlap_scoring.RULES))
    contribution = serializers.FloatField(help_text=_("What this reason adds to the score."))
    similarity = serializers.FloatField(required=False)
    terms = serializers.ListField(child=serializers.CharField(), required=False)
    kind = serializers.CharField(required=False)
    kinds = serializers.ListField(child=serializers.CharField(), required=False)
    touchpoints = serializers.ListField(child=serializers.CharField(), required=False)
    journey_stages = serializers.ListField(child=serializers.CharField(), required=False)
    goal = serializers.CharField(required=False)
    systems = serializers.ListField(child=serializers.CharField(), required=False)


class OverlapSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    lead_department = serializers.CharField()
    lead_department_name = serializers.CharField()
    score = serializers.FloatField(
        help_text=_("The sum of the reasons' contributions; pairs count from the threshold up.")
    )
    reasons = OverlapReasonSerializer(many=True)


class InitiativeOverlapsSerializer(serializers.Serializer):
    """One initiative's overlap candidates: open initiatives of other lead departments the
    caller may see, scored at or above the threshold, best first."""

    key = serializers.CharField()
    threshold = serializers.FloatField(help_text=_("Pairs count from this score up."))
    count = serializers.IntegerField()
    results = OverlapSerializer(many=True)


class InitiativeWriteSerializer(InitiativeSerializer):
    """The answer to a create or an edit: the initiative plus "join or justify" — the open
    initiatives of other departments it overlaps (from `reports.overlaps_for`).
    """

    overlaps = serializers.SerializerMethodField()
    similar_learnings = serializers.SerializerMethodField(
        help_text=_("What earlier pilots like this one taught (`/learnings/similar/`).")
    )

    class Meta(InitiativeSerializer.Meta):
        fields = [*INITIATIVE_FIELDS, "overlaps", "similar_learnings"]
        read_only_fields = [*INITIATIVE_SERVER_MANAGED, "overlaps", "similar_learnings"]

    @extend_schema_field(OverlapSerializer(many=True))
    def get_overlaps(self, obj: Initiative) -> list[dict]:
        return getattr(obj, "join_or_justify", [])

    @extend_schema_field(SimilarLearningsSerializer)
    def get_similar_learnings(self, obj: Initiative) -> dict:
        found = getattr(obj, "similar_learnings", None)
        if found is None:
            request = self.context.get("request")
            found = similar_learnings(getattr(request, "user", None), obj)
        return SimilarLearningsSerializer(found, context=self.context).data


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
