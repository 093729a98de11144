"""Voice reviews and the learning library, as resources.

- `/initiatives/{key}/voice-reviews/`: the PMO's reviews of how a customer-facing AI speaks
  (list, record). Reviews are records: never edited or deleted.
- `/learnings/`: what pilots, stopped initiatives and review decisions taught; full-text
  search (`q`) and filters by goal, kind, touchpoint, outcome and quarter; corrected with
  PATCH (If-Match), never deleted through the API.
- `/learnings/similar/`: what earlier pilots like an initiative (or an idea being written)
  taught — the learning half of "join or justify".

Views only parse, call `registry.services.learning` or `registry.selectors.learning`, and
answer; the rules (who records, which initiatives, visibility) live there.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from registry import choices
from registry import permissions as rules
from registry.api.core.authentication import request_actor, request_token
from registry.api.core.permissions import InitiativePartAccess, ReadOnly
from registry.api.core.relations import TIMESTAMPS, initiative_field
from registry.api.core.viewsets import RegistryViewSet, bound
from registry.models import Alignment, Initiative, Learning, VoiceReview
from registry.quarters import quarter_of
from registry.selectors import learning as selectors
from registry.selectors.filters import (
    OrderingFilter,
    QuarterFilter,
    by_goal_code,
    by_initiative_key,
)
from registry.selectors.visibility import (
    visible_initiatives,
    visible_review_decisions,
    visible_voice_reviews,
)
from registry.services.learning import learning_record, learning_update, voice_review_record

# --- voice reviews --------------------------------------------------------------------------


class VoiceReviewSerializer(serializers.ModelSerializer):
    """One review of how a customer-facing AI speaks: passed, needs changes or failed."""

    initiative = serializers.CharField(source="initiative.key", read_only=True)
    reviewer: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    reviewed_at = serializers.DateTimeField(
        required=False, help_text=_("When the review was held; default: now.")
    )

    class Meta:
        model = VoiceReview
        fields = [
            "id",
            "initiative",
            "outcome",
            "note",
            "reviewed_at",
            "reviewer",
            "reviewer_name",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "initiative", "reviewer", "reviewer_name", *TIMESTAMPS]


class VoiceReviewAccess(ReadOnly):
    """Everyone with a role reads; the PMO records (`permissions.can_record_voice_review`,
    asked again by the service)."""

    def may_write(self, request: Request, view: Any) -> bool:
        self.message = _("Only the PMO records voice reviews.")
        return rules.can_record_voice_review(request.user, request_token(request))


@extend_schema_view(
    list=extend_schema(
        description=_(
            "The voice reviews of one initiative, latest first. 404 for an initiative you "
            "may not see."
        )
    ),
    create=extend_schema(
        description=_(
            "Record a voice review (PMO only; 403 otherwise). Only AI that speaks to "
            "customers is reviewed: a chatbot, voicebot or generative-content initiative "
            "marked customer-facing or serving a touchpoint (else 400 naming `initiative`). "
            "The pilot → scaling move needs the latest review to have passed."
        )
    ),
)
class VoiceReviewViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Voice reviews nested under their initiative."""

    serializer_class = VoiceReviewSerializer
    permission_classes = [VoiceReviewAccess]
    filter_backends: list = []

    def initiative(self) -> Initiative:
        if not hasattr(self, "_initiative"):
            self._initiative = get_object_or_404(
                visible_initiatives(self.request.user), key=self.kwargs["key"]
            )
        return self._initiative

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return VoiceReview.objects.none()
        return (
            visible_voice_reviews(self.request.user)
            .filter(initiative=self.initiative())
            .select_related("initiative", "reviewer")
            .order_by("-reviewed_at", "-id")
        )

    def perform_create(self, serializer: BaseSerializer) -> None:
        review = voice_review_record(
            actor=request_actor(self.request),
            initiative=self.initiative(),
            outcome=serializer.validated_data["outcome"],
            note=serializer.validated_data.get("note", ""),
            reviewed_at=serializer.validated_data.get("reviewed_at"),
        )
        serializer.instance = self.get_queryset().get(pk=review.pk)


# --- learnings ------------------------------------------------------------------------------


class ReviewDecisionField(serializers.PrimaryKeyRelatedField):
    """A review decision by id, among those the requester may see."""

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        return visible_review_decisions(getattr(request, "user", None))


class LearningSerializer(serializers.ModelSerializer):
    """What a pilot, a stopped initiative or a review decision taught."""

    url = serializers.HyperlinkedIdentityField(view_name="api:learning-detail")
    initiative = initiative_field()
    review_decision = ReviewDecisionField(
        allow_null=True,
        required=False,
        help_text=_("Id of the review decision (on this initiative) the learning comes from."),
    )
    quarter = serializers.SerializerMethodField(
        help_text=_("The quarter it was drawn in, e.g. 2026-Q3.")
    )
    recorded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Learning
        fields = [
            "url",
            "id",
            "initiative",
            "review_decision",
            "hypothesis",
            "outcome",
            "effect",
            "lesson",
            "recorded_on",
            "quarter",
            "recorded_by",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "quarter", "recorded_by", "version", *TIMESTAMPS]

    def get_quarter(self, obj: Learning) -> str:
        return quarter_of(obj.recorded_on)

    def validate_initiative(self, value: Initiative) -> Initiative:
        if self.instance is not None and value.pk != self.instance.initiative_id:
            raise serializers.ValidationError(
                _("A learning stays with its initiative; record a new one instead."),
                code="immutable",
            )
        return value


class LearningFilterSet(filters.FilterSet):
    q = filters.CharFilter(
        method="search",
        help_text=_(
            'Full text over hypothesis, effect and lesson (words, "phrases", or, -not); '
            "best match first."
        ),
    )
    initiative = by_initiative_key()
    goal = by_goal_code(method="aligned_to", help_text=_("Initiatives aligned to this goal."))
    kind = filters.MultipleChoiceFilter(field_name="initiative__kind", choices=choices.Kind.choices)
    touchpoint = filters.MultipleChoiceFilter(
        choices=choices.Touchpoint.choices, method="at_touchpoint"
    )
    outcome = filters.MultipleChoiceFilter(choices=choices.LearningOutcome.choices)
    quarter = QuarterFilter(
        method="in_quarter", help_text=_("Drawn in this quarter, e.g. 2026-Q3.")
    )
    ordering = OrderingFilter(fields=("recorded_on", "updated_at", "created_at"))

    class Meta:
        model = Learning
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.search_learnings(queryset, value) if value.strip() else queryset

    def aligned_to(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        aligned = Alignment.objects.filter(initiative=OuterRef("initiative_id"), goal=value)
        return queryset.filter(Exists(aligned))

    def at_touchpoint(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        return queryset.filter(initiative__touchpoints__overlap=value) if value else queryset

    def in_quarter(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return selectors.in_quarter(queryset, value) if value else queryset


class SimilarParametersSerializer(serializers.Serializer):
    initiative = serializers.CharField(
        required=False, help_text=_("Key of an initiative: learnings of others like it.")
    )
    text = serializers.CharField(
        required=False, help_text=_("Or: what an idea is about (name, summary, hypothesis).")
    )
    kind = serializers.ChoiceField(choices=choices.Kind.choices, required=False)
    touchpoint = serializers.ListField(
        child=serializers.ChoiceField(choices=choices.Touchpoint.choices), required=False
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("initiative") and not (attrs.get("text") or "").strip():
            raise serializers.ValidationError(
                {"initiative": [_("Give an initiative's key, or the text of an idea.")]},
                code="required",
            )
        return attrs


class SimilarLearningsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    refuted = serializers.IntegerField()
    inconclusive = serializers.IntegerField()
    summary = serializers.CharField(help_text=_("One sentence, in the reader's language."))
    results = LearningSerializer(many=True)


class LearningAccess(InitiativePartAccess):
    """Recording follows the initiative (the service checks it on the payload)."""

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        return True  # the service checks the stored learning's initiative


@extend_schema_view(
    list=extend_schema(
        description=_(
            "The learning library: newest first (with `q`, best match first). Learnings of "
            "confidential initiatives only for those who may see them."
        )
    ),
    create=extend_schema(
        description=_(
            "Record a learning of a pilot (or what it became), a stopped initiative or a "
            "review decision on it; whoever may change the initiative may."
        )
    ),
)
class LearningViewSet(RegistryViewSet):
    """What the organisation learned from its experiments; never deleted through the API."""

    serializer_class = LearningSerializer
    filterset_class = LearningFilterSet
    permission_classes = [LearningAccess]
    versioned = True
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.visible_learnings(self.request.user).select_related(
            "initiative", "recorded_by"
        )

    def perform_create(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        row = learning_record(
            actor=request_actor(self.request), initiative=data.pop("initiative"), data=data
        )
        serializer.instance = self.refetch(row)

    def perform_update(self, serializer: BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("initiative", None)
        row = learning_update(
            actor=request_actor(self.request), learning=bound(serializer), data=data
        )
        serializer.instance = self.refetch(row)

    @extend_schema(
        parameters=[
            SimilarParametersSerializer,
            OpenApiParameter("touchpoint", str, many=True, enum=choices.Touchpoint.values),
        ],
        responses=SimilarLearningsSerializer,
        description=_(
            "Learnings of other initiatives like this one (by text, kind and touchpoints): "
            '"three pilots tried this; two refuted it". Give `initiative` (a key), or '
            "`text` with `kind` and `touchpoint` for an idea not yet registered."
        ),
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def similar(self, request: Request) -> Response:
        params = SimilarParametersSerializer(
            data={
                **request.query_params.dict(),
                "touchpoint": request.query_params.getlist("touchpoint"),
            }
        )
        params.is_valid(raise_exception=True)
        values = params.validated_data
        subject: Any
        if values.get("initiative"):
            subject = visible_initiatives(request.user).filter(key=values["initiative"]).first()
            if subject is None:
                raise serializers.ValidationError(
                    {
                        "initiative": [
                            _("No initiative with key '%(key)s'.") % {"key": values["initiative"]}
                        ]
                    },
                    code="does_not_exist",
                )
        else:
            subject = {
                "summary": values["text"],
                "kind": values.get("kind", ""),
                "touchpoints": values.get("touchpoint", []),
            }
        found = selectors.similar_learnings(request.user, subject)
        return Response(SimilarLearningsSerializer(found, context={"request": request}).data)
