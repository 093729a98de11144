"""Shapes of the quarterly review's API verbs: the initiatives a review covers, a decision
with its optional lifecycle move, closing, and the comparison with an earlier review.

They read what `registry.services.reviews` computes (QuerySet annotations, frozen snapshots); the
decision rules themselves live there.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry import choices
from registry.api.serializers import initiative_field
from registry.models import Initiative


class ReviewInitiativeSerializer(serializers.Serializer):
    """An initiative the review covers, with derived values (against the review's vision)
    and this review's decision on it (null fields while undecided).
    """

    url = serializers.HyperlinkedIdentityField(
        view_name="api:initiative-detail", lookup_field="key"
    )
    key = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.ChoiceField(choices=choices.Stage.choices)
    paused_from = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=choices.Kind.choices)
    lead_department = serializers.CharField(
        source="lead_department.slug", default=None, allow_null=True
    )
    owner_name = serializers.CharField(source="owner.name", default=None, allow_null=True)
    owner_email = serializers.CharField(source="owner.email", default=None, allow_null=True)
    alignment_level = serializers.ChoiceField(choices=choices.AlignmentLevel.choices)
    primary_goal = serializers.CharField(source="primary_goal_code", allow_null=True)
    goal_progress_pct = serializers.SerializerMethodField()
    is_silo = serializers.BooleanField()
    risk_tier = serializers.ChoiceField(choices=choices.RiskTier.choices)
    budget_planned = serializers.DecimalField(max_digits=20, decimal_places=2)
    budget_spent = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    decision = serializers.ChoiceField(choices=choices.Decision.choices, allow_null=True)
    rationale = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    snapshot = serializers.JSONField(
        allow_null=True, help_text=_("The initiative as the review saw it when deciding.")
    )

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_goal_progress_pct(self, obj: Initiative) -> float | None:
        progress = getattr(obj, "goal_progress", None)
        return None if progress is None else round(float(progress) * 100, 2)


class ReviewDecideSerializer(serializers.Serializer):
    """`POST /reviews/{id}/decide/`: record or replace the decision on one initiative."""

    initiative = initiative_field()
    decision = serializers.ChoiceField(choices=choices.Decision.choices)
    rationale = serializers.CharField(required=False, allow_blank=True, default="")
    apply_move = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "With scale, pause or stop: also move the initiative through its lifecycle gates "
            "(pilot → scaling → production, → paused, → stopped). A refused move answers 409 "
            "and records nothing."
        ),
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Why the move (pausing and stopping need one); default: the rationale."),
    )


class ReviewCloseSerializer(serializers.Serializer):
    """`POST /reviews/{id}/close/`: once every initiative of the period has a decision."""

    summary = serializers.CharField(required=False, allow_blank=True, default="")
    held_on = serializers.DateField(required=False, allow_null=True, default=None)


class ReviewEditSerializer(serializers.Serializer):
    """What may change on an open review: its summary and meeting date."""

    summary = serializers.CharField(required=False, allow_blank=True)
    held_on = serializers.DateField(required=False)


# --- comparison ---------------------------------------------------------------------------------


def _shape(class_name: str, doc: str, /, **fields: Any) -> type[serializers.Serializer]:
    """A serializer class from keyword fields, for keys such as `from` that are Python words."""
    namespace = {"__doc__": doc, "__module__": __name__, **fields}
    return type(class_name, (serializers.Serializer,), namespace)


def _stage(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices.Stage.choices, allow_null=True, **kwargs)


def _level(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=choices.AlignmentLevel.choices, allow_null=True, **kwargs
    )


# `from`/`to` of alignment and decision changes reuse the enums the rest of the API defines
# (drf-spectacular would otherwise name a second enum after the field `from`).
@extend_schema_field(
    {"allOf": [{"$ref": "#/components/schemas/AlignmentLevelEnum"}], "nullable": True}
)
class AlignmentLevelCodeField(serializers.CharField):
    """An alignment level code (none, weak, moderate, strong)."""


@extend_schema_field({"$ref": "#/components/schemas/DecisionEnum"})
class DecisionCodeField(serializers.CharField):
    """A review decision code (continue, scale, pivot, pause, stop)."""


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)


class ComparedReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField()
    status = serializers.ChoiceField(choices=choices.ReviewStatus.choices)


class ComparedInitiativeSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = _stage()
    alignment_level = _level()
    decision = serializers.ChoiceField(choices=choices.Decision.choices)


StageMoveSerializer = _shape(
    "StageMoveSerializer",
    "An initiative whose stage differs between the two reviews' snapshots.",
    key=serializers.CharField(),
    name=serializers.CharField(),
    **{"from": _stage()},
    to=_stage(),
)
AlignmentChangeSerializer = _shape(
    "AlignmentChangeSerializer",
    "An initiative whose alignment level or primary goal changed.",
    key=serializers.CharField(),
    name=serializers.CharField(),
    **{"from": AlignmentLevelCodeField(allow_null=True)},
    to=AlignmentLevelCodeField(allow_null=True),
    primary_goal_from=serializers.CharField(allow_null=True),
    primary_goal_to=serializers.CharField(allow_null=True),
)
BudgetChangeSerializer = _shape(
    "BudgetChangeSerializer",
    "An initiative whose budget changed; deltas are null when the currency changed.",
    key=serializers.CharField(),
    name=serializers.CharField(),
    currency_from=serializers.CharField(allow_null=True),
    currency=serializers.CharField(allow_null=True),
    planned_from=_money(),
    planned_to=_money(),
    planned_delta=_money(),
    spent_from=_money(),
    spent_to=_money(),
    spent_delta=_money(),
)
DecisionChangeSerializer = _shape(
    "DecisionChangeSerializer",
    "An initiative the two reviews decided differently on.",
    key=serializers.CharField(),
    name=serializers.CharField(),
    **{"from": DecisionCodeField()},
    to=DecisionCodeField(),
)
GoalProgressChangeSerializer = _shape(
    "GoalProgressChangeSerializer",
    "A primary goal whose recorded progress changed, in percentage points.",
    goal=serializers.CharField(),
    from_pct=serializers.FloatField(allow_null=True),
    to_pct=serializers.FloatField(allow_null=True),
    delta_pct=serializers.FloatField(allow_null=True),
)


class ReviewComparisonSerializer(serializers.Serializer):
    """What changed since the previous review, from the decisions' frozen snapshots."""

    review = ComparedReviewSerializer()
    previous = ComparedReviewSerializer(allow_null=True)
    new = ComparedInitiativeSerializer(many=True)
    gone = ComparedInitiativeSerializer(many=True)
    stage_moves = StageMoveSerializer(many=True)
    alignment_changes = AlignmentChangeSerializer(many=True)
    budget_changes = BudgetChangeSerializer(many=True)
    decision_changes = DecisionChangeSerializer(many=True)
    goal_progress_changes = GoalProgressChangeSerializer(many=True)
