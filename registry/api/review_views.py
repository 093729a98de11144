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

from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api import views
from registry.api.core.idempotency import idempotent
from registry.api.core.pagination import PageNumberPagination
from registry.api.review_serializers import (
    ReviewCloseSerializer,
    ReviewComparisonSerializer,
    ReviewDecideSerializer,
    ReviewEditSerializer,
    ReviewInitiativeSerializer,
)
from registry.api.serializers import ReviewDecisionSerializer, ReviewSerializer
from registry.models import Review, ReviewDecision
from registry.services import reviews


def refuse_if_closed(review: Review) -> None:
    """Any write to a closed review is a conflict, whatever the payload."""
    if review.is_closed:
        raise reviews.ReviewClosedError(
            _("The %(period)s review is closed; it can no longer change.")
            % {"period": review.period}
        )


@extend_schema(
    methods=["PATCH"],
    request=ReviewEditSerializer,
    responses={200: ReviewSerializer},
    description=_("Change an open review's summary or meeting date; a closed review is 409."),
)
class ReviewViewSet(views.ReviewViewSet):
    """Quarterly portfolio reviews: open (PMO), go through the initiatives, decide, close,
    compare with the previous quarter. A closed review never changes (409 `review_closed`).
    """

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
                actor=views.acting_user(request),
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
        rows = reviews.review_initiatives(review, user=request.user).annotate(
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
                actor=views.acting_user(request),
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
                actor=views.acting_user(request),
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
        comparison = reviews.review_compare(review=review, previous=previous)
        comparison = reviews.comparison_visible_to(comparison, user=request.user)
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
