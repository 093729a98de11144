"""The quarterly review's verbs over the API, on top of the reviews resource.

`GET /reviews/{id}/initiatives/` lists what the review covers with derived values and its
decision; `POST …/decide/` records a decision (optionally applying the lifecycle move);
`POST …/close/` closes it once every initiative is decided; `GET …/compare/` shows what
changed since the previous review; `PATCH /reviews/{id}/` edits an open review's summary and
date. Every rule is `registry.services.reviews`'; a closed review answers 409 `review_closed` to any
write.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db import models, transaction
from django.db.models import (
    OuterRef,
    QuerySet,
    Subquery,
)
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.validators import UniqueTogetherValidator

from registry import choices
from registry.api.core.fields import NullableChoiceField
from registry.api.core.idempotency import idempotent
from registry.api.core.pagination import PageNumberPagination
from registry.api.core.relations import TIMESTAMPS, initiative_field, review_field, vision_field
from registry.api.core.viewsets import RegistryViewSet, acting_user
from registry.models import (
    Initiative,
    Review,
    ReviewDecision,
    Vision,
)
from registry.selectors.filters import OrderingFilter, QuarterFilter, by_id, by_initiative_key
from registry.selectors.reviews import comparison_visible_to, review_compare, review_initiatives
from registry.selectors.visibility import visible_review_decisions
from registry.services import reviews
from registry.services.reviews import ReviewClosedError, review_decide, review_open


def refuse_if_closed(review: Review) -> None:
    """Any write to a closed review is a conflict, whatever the payload."""
    if review.is_closed:
        raise reviews.ReviewClosedError(
            _("The %(period)s review is closed; it can no longer change.")
            % {"period": review.period}
        )


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
    paused_from = NullableChoiceField(choices=choices.Stage.choices)
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


class ComparedReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField()
    status = serializers.ChoiceField(choices=choices.ReviewStatus.choices)


def _stage(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=choices.Stage.choices, allow_null=True, **kwargs)


def _level(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=choices.AlignmentLevel.choices, allow_null=True, **kwargs
    )


class ComparedInitiativeSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    stage = _stage()
    alignment_level = _level()
    decision = serializers.ChoiceField(choices=choices.Decision.choices)


def _shape(class_name: str, doc: str, /, **fields: Any) -> type[serializers.Serializer]:
    """A serializer class from keyword fields, for keys such as `from` that are Python words."""
    namespace = {"__doc__": doc, "__module__": __name__, **fields}
    return type(class_name, (serializers.Serializer,), namespace)


StageMoveSerializer = _shape(
    "StageMoveSerializer",
    "An initiative whose stage differs between the two reviews' snapshots.",
    key=serializers.CharField(),
    name=serializers.CharField(),
    **{"from": _stage()},
    to=_stage(),
)


# `from`/`to` of alignment and decision changes reuse the enums the rest of the API defines
# (drf-spectacular would otherwise name a second enum after the field `from`).
@extend_schema_field(
    {"allOf": [{"$ref": "#/components/schemas/AlignmentLevelEnum"}], "nullable": True}
)
class AlignmentLevelCodeField(serializers.CharField):
    """An alignment level code (none, weak, moderate, strong)."""


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


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)


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


@extend_schema_field({"$ref": "#/components/schemas/DecisionEnum"})
class DecisionCodeField(serializers.CharField):
    """A review decision code (continue, scale, pivot, pause, stop)."""


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
        slug_field="username", read_only=True, allow_null=True
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


class ReviewFilterSet(filters.FilterSet):
    vision = by_id(Vision.objects.all(), str(_("vision with id")))
    period = QuarterFilter()
    status = filters.ChoiceFilter(choices=choices.ReviewStatus.choices)
    ordering = OrderingFilter(fields=("period", "held_on"))

    class Meta:
        model = Review
        fields: list[str] = []


@extend_schema(
    methods=["PATCH"],
    request=ReviewEditSerializer,
    responses={200: ReviewSerializer},
    description=_("Change an open review's summary or meeting date; a closed review is 409."),
)
class ReviewViewSet(RegistryViewSet):
    """Quarterly portfolio reviews: open (PMO), go through the initiatives, decide, close,
    compare with the previous quarter. A closed review never changes (409 `review_closed`).
    """

    queryset = Review.objects.select_related("vision")
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilterSet

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = serializer.validated_data
        review = review_open(
            vision=data["vision"],
            period=data["period"],
            held_on=data.get("held_on"),
            summary=data.get("summary", ""),
            actor=acting_user(self.request),
        )
        serializer.instance = self.refetch(review)

    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "partial_update":
            return ReviewEditSerializer
        return super().get_serializer_class()

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            review = self.get_object()
            refuse_if_closed(review)
            payload = ReviewEditSerializer(data=request.data, partial=True)
            payload.is_valid(raise_exception=True)
            reviews.review_update(
                review=review,
                actor=acting_user(request),
                summary=payload.validated_data.get("summary"),
                held_on=payload.validated_data.get("held_on"),
            )
        return Response(
            ReviewSerializer(self.refetch(review), context=self.get_serializer_context()).data
        )

    # --- the initiatives the review covers ----------------------------------------------------

    @extend_schema(
        responses={200: ReviewInitiativeSerializer(many=True)},
        description=_(
            "The initiatives the review covers — while open, every live initiative active in "
            "its quarter; once closed, exactly those it decided on — with alignment level, "
            "primary goal and its progress (against the review's vision), silo flag, budget, "
            "and this review's decision, rationale and frozen snapshot (null while undecided). "
            "Confidential initiatives only for those who may see them."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=PageNumberPagination,
        serializer_class=ReviewInitiativeSerializer,
    )
    def initiatives(self, request: Request, pk: str | None = None) -> Response:
        review = self.get_object()
        decisions = ReviewDecision.objects.filter(review=review, initiative=OuterRef("pk"))
        rows = review_initiatives(review, user=request.user).annotate(
            snapshot=Subquery(decisions.values("snapshot")[:1], output_field=models.JSONField())
        )
        page = self.paginate_queryset(rows)
        data = ReviewInitiativeSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)

    # --- decide, close --------------------------------------------------------------------------

    @extend_schema(
        request=ReviewDecideSerializer,
        responses={
            201: ReviewDecisionSerializer,
            200: OpenApiResponse(
                ReviewDecisionSerializer,
                description=_("An earlier decision of this review on the initiative was replaced."),
            ),
        },
        description=_(
            "Record the review's decision on one initiative, with a snapshot frozen now. With "
            "`apply_move`, scale/pause/stop also move it through the lifecycle gates in the "
            "same step. 409: `review_closed`, `not_in_review`, or the gate's refusal "
            "(`gate_not_met`, `transition_not_allowed`)."
        ),
    )
    @action(detail=True, methods=["post"], serializer_class=ReviewDecideSerializer)
    @idempotent
    def decide(self, request: Request, pk: str | None = None) -> Response:
        with transaction.atomic():
            review = self.get_object()
            refuse_if_closed(review)
            payload = ReviewDecideSerializer(
                data=request.data, context=self.get_serializer_context()
            )
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            replaced = ReviewDecision.objects.filter(
                review=review, initiative=data["initiative"]
            ).exists()
            decision = reviews.review_decide(
                review=review,
                initiative=data["initiative"],
                decision=data["decision"],
                rationale=data["rationale"],
                apply_move=data["apply_move"],
                note=data["note"],
                actor=acting_user(request),
            )
            fresh = ReviewDecision.objects.select_related("review", "initiative", "decided_by").get(
                pk=decision.pk
            )
        body = ReviewDecisionSerializer(fresh, context=self.get_serializer_context()).data
        code = status.HTTP_200_OK if replaced else status.HTTP_201_CREATED
        return Response(body, status=code)

    @extend_schema(
        request=ReviewCloseSerializer,
        responses={200: ReviewSerializer},
        description=_(
            "Close the review: it and its decisions never change again. 409 "
            "`undecided_initiatives` names those still without a decision; 409 `review_closed` "
            "if it is closed already."
        ),
    )
    @action(detail=True, methods=["post"], serializer_class=ReviewCloseSerializer)
    @idempotent
    def close(self, request: Request, pk: str | None = None) -> Response:
        with transaction.atomic():
            review = self.get_object()
            refuse_if_closed(review)
            payload = ReviewCloseSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            reviews.review_close(
                review=review,
                actor=acting_user(request),
                summary=payload.validated_data["summary"],
                held_on=payload.validated_data["held_on"],
            )
        return Response(
            ReviewSerializer(self.refetch(review), context=self.get_serializer_context()).data
        )

    # --- compare --------------------------------------------------------------------------------

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "previous",
                OpenApiTypes.INT,
                description=_(
                    "Id of the review to compare with; default: the same vision's review of "
                    "the latest earlier quarter."
                ),
            )
        ],
        responses={200: ReviewComparisonSerializer},
        description=_(
            "What changed since the previous review, from the decisions' frozen snapshots: new "
            "and gone initiatives, stage moves, alignment, budget and decision changes, and "
            "goal progress per primary goal (percentage points)."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        serializer_class=ReviewComparisonSerializer,
    )
    def compare(self, request: Request, pk: str | None = None) -> Response:
        review = self.get_object()
        previous = self.previous_review(request, review)
        comparison = review_compare(review=review, previous=previous)
        comparison = comparison_visible_to(comparison, user=request.user)
        return Response(ReviewComparisonSerializer(comparison).data)

    @staticmethod
    def previous_review(request: Request, review: Review) -> Review | None:
        raw = request.query_params.get("previous")
        if not raw:
            return None
        found = Review.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if found is None:
            raise serializers.ValidationError(
                {"previous": [_("No review with id '%(value)s'.") % {"value": raw}]},
                code="does_not_exist",
            )
        if found.pk == review.pk:
            raise serializers.ValidationError(
                {"previous": [_("Compare a review with another one, not with itself.")]},
                code="invalid",
            )
        return found


class ReviewDecisionFilterSet(filters.FilterSet):
    review = by_id(Review.objects.all(), str(_("review with id")))
    initiative = by_initiative_key()
    decision = filters.MultipleChoiceFilter(choices=choices.Decision.choices)
    ordering = OrderingFilter(fields=("decided_at",))

    class Meta:
        model = ReviewDecision
        fields: list[str] = []


class ReviewDecisionViewSet(RegistryViewSet):
    """A review's verdict per initiative, with the snapshot frozen when it was made.

    POST records the decision (or replaces this review's earlier decision on the same
    initiative while the review is open).
    """

    serializer_class = ReviewDecisionSerializer
    filterset_class = ReviewDecisionFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return visible_review_decisions(self.request.user).select_related(
            "review", "initiative", "decided_by"
        )

    @extend_schema(
        responses={
            201: ReviewDecisionSerializer,
            200: OpenApiResponse(
                ReviewDecisionSerializer,
                description=_("An earlier decision of this review was replaced."),
            ),
        }
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            replaced = ReviewDecision.objects.filter(
                review=data["review"], initiative=data["initiative"]
            ).exists()
            decision = review_decide(
                review=data["review"],
                initiative=data["initiative"],
                decision=data["decision"],
                rationale=data.get("rationale", ""),
                actor=acting_user(request),
            )
            fresh = self.refetch(decision)
        body = self.get_serializer(fresh).data
        code = status.HTTP_200_OK if replaced else status.HTTP_201_CREATED
        return Response(body, status=code, headers=self.get_success_headers(body))
