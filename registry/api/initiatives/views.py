"""`/initiatives/`: the portfolio, filtered, as JSON (the fast read path) or CSV; writes,
lifecycle moves, archive and restore, and each initiative's history.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Model, Prefetch, QuerySet, Value, When
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from registry import choices
from registry.api.changes import ChangeSerializer
from registry.api.core.authentication import request_actor
from registry.api.core.feeds import InitiativeFeedMixin
from registry.api.core.idempotency import idempotent
from registry.api.core.json_renderer import FastJSONRenderer
from registry.api.core.pagination import InitiativePagination, PageNumberPagination
from registry.api.core.permissions import (
    InitiativeAccess,
)
from registry.api.core.renderers import CSVRenderer
from registry.api.core.viewsets import RegistryViewSet, bound
from registry.api.initiatives import fast_read
from registry.api.initiatives.filters import InitiativeListFilterSet
from registry.api.initiatives.serializers import (
    InitiativeCsvSerializer,
    InitiativeOverlapsSerializer,
    InitiativeSerializer,
    InitiativeWriteSerializer,
    TransitionSerializer,
)
from registry.models import (
    Alignment,
    Initiative,
    InitiativeQuerySet,
    TeamRole,
)
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import reports
from registry.selectors.changes import initiative_history
from registry.selectors.learning import similar_learnings
from registry.selectors.visibility import visible_initiatives
from registry.services import lifecycle
from registry.services.archive import (
    initiative_archive,
    initiative_restore,
)
from registry.services.initiatives import initiative_create, initiative_update

# Lifecycle order for `ordering=stage` (side stages last).
STAGE_RANK = Case(
    *(When(stage=stage, then=Value(rank)) for rank, stage in enumerate(choices.Stage.values)),
    output_field=IntegerField(),
)


@functools.cache
def initiative_rows() -> InitiativeQuerySet:
    """Every initiative as JSON reads show it: named tuples of `fast_read.ROW_FIELDS` with the
    derived values, orderable by `stage_rank`.

    Built once per process and cloned per request: resolving the derived values' expression
    trees cost more than the page's SQL (a queryset declared on a viewset is reused the
    same way). Visibility and filters are applied to the clone.
    """
    return (
        Initiative.objects.with_derived()
        .annotate(stage_rank=STAGE_RANK, **fast_read.row_annotations())
        .values_list(*fast_read.ROW_FIELDS, named=True)
    )


@extend_schema_view(
    list=extend_schema(
        description=_(
            "The portfolio, filtered. `?format=csv` (or `Accept: text/csv`) gives the same "
            "rows, unpaginated, as CSV. With `updated_since`, pages follow a cursor ordered by "
            "(updated_at, id); archived initiatives appear with `archived_at` set, and ones "
            "deleted in the admin as tombstones (`deleted: true`)."
        ),
        responses={
            # Numbered pages of initiatives, or (with updated_since) feed pages whose rows
            # may be tombstones: registry.api.core.schema documents both.
            (200, "application/json"): InitiativeSerializer,
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=_("One row per initiative; lists joined with '; '."),
            ),
        },
    ),
    destroy=extend_schema(
        description=_("Archives the initiative (nothing is deleted); POST …/restore/ undoes it.")
    ),
    create=extend_schema(
        request=InitiativeSerializer,
        responses={201: InitiativeWriteSerializer},
    ),
    update=extend_schema(
        request=InitiativeSerializer,
        responses={200: InitiativeWriteSerializer},
    ),
    partial_update=extend_schema(
        request=InitiativeSerializer,
        responses={200: InitiativeWriteSerializer},
    ),
)
class InitiativeViewSet(InitiativeFeedMixin, RegistryViewSet):
    """AI initiatives, addressed by key (AI-0042)."""

    serializer_class = InitiativeSerializer
    filterset_class = InitiativeListFilterSet  # the initiative filters plus ?view=
    pagination_class = InitiativePagination
    permission_classes = [InitiativeAccess]
    lookup_field = "key"
    versioned = True
    etag_actions = frozenset(
        {"retrieve", "create", "update", "partial_update", "transition", "restore"}
    )
    if_match_actions = frozenset({"update", "partial_update", "destroy", "transition", "restore"})
    csv_columns = InitiativeCsvSerializer.Meta.fields

    @staticmethod
    def annotated(queryset: InitiativeQuerySet) -> InitiativeQuerySet:
        """Model instances with everything the serializer reads, in a constant number of
        queries (not the full-text vector, which only filters): writes' answers, CSV and the
        browsable API. JSON reads take `initiative_rows` instead.
        """
        return (
            queryset.defer("search_vector")
            .with_derived()
            .annotate(stage_rank=STAGE_RANK)
            .select_related("owner", "lead_department", "created_by", "updated_by")
            .prefetch_related(
                "departments",
                "systems",
                "tags",
                Prefetch(
                    "alignments",
                    queryset=Alignment.objects.select_related("goal").order_by(
                        "-is_primary", "-strength", "id"
                    ),
                ),
                Prefetch("team", queryset=TeamRole.objects.select_related("person")),
            )
        )

    def light_read(self) -> bool:
        """JSON list and detail reads take the direct path: the initiatives as named tuples
        (`initiative_rows`), their relations as tuples, no nested serializers.
        """
        renderer = getattr(self.request, "accepted_renderer", None)
        return (
            getattr(self, "action", None) in ("list", "retrieve")
            and getattr(renderer, "format", None) == "json"
            and not getattr(self, "format_kwarg", None)
        )

    def get_queryset(self) -> QuerySet:
        if self.light_read():
            return visible_initiatives(self.request.user, initiative_rows().all())
        return self.annotated(visible_initiatives(self.request.user))

    def get_serializer(self, *args: Any, **kwargs: Any) -> BaseSerializer:
        if args and self.light_read():
            rows = args[0] if kwargs.get("many") else [args[0]]
            if isinstance(rows, QuerySet):
                rows = list(rows)
                args = (rows, *args[1:])
            ids = [row.id for row in rows if fast_read.is_row(row)]
            kwargs["context"] = {
                **self.get_serializer_context(),
                "related": fast_read.fetch_related(ids),
            }
        return super().get_serializer(*args, **kwargs)

    def refetch(self, instance: Model) -> Model:
        # Whoever wrote it gets the answer, even if the write made it invisible to them.
        return self.annotated(Initiative.objects.all()).get(pk=instance.pk)

    def get_renderers(self) -> list:
        renderers = [FastJSONRenderer(), BrowsableAPIRenderer()]
        if getattr(self, "action", None) == "list":
            renderers.append(CSVRenderer())
        return renderers

    def wants_csv(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) == "csv"

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "list" and self.wants_csv():
            return InitiativeCsvSerializer
        if self.action in ("create", "update", "partial_update"):
            return InitiativeWriteSerializer
        return super().get_serializer_class()

    def refetch_with_overlaps(self, instance: Model) -> Initiative:
        """Re-read the written initiative and attach "join or justify": the open initiatives
        of other departments it overlaps.
        """
        fresh = self.annotated(Initiative.objects.all()).get(pk=instance.pk)
        fresh.join_or_justify = reports.overlaps_for(  # type: ignore[attr-defined]
            fresh, user=self.request.user
        )
        fresh.similar_learnings = similar_learnings(  # type: ignore[attr-defined]
            self.request.user, fresh
        )
        return fresh

    def paginate_queryset(self, queryset: QuerySet) -> list | None:
        if self.wants_csv():
            return None  # the whole filtered list, for a spreadsheet
        return super().paginate_queryset(queryset)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        if self.wants_csv():
            response["Content-Disposition"] = 'attachment; filename="initiatives.csv"'
        return response

    def perform_create(self, serializer: BaseSerializer) -> None:
        initiative = initiative_create(
            actor=request_actor(self.request), data=serializer.validated_data
        )
        serializer.instance = self.refetch_with_overlaps(initiative)

    def perform_update(self, serializer: BaseSerializer) -> None:
        # The row is locked and If-Match checked by get_object, in this transaction.
        saved = initiative_update(
            actor=request_actor(self.request),
            initiative=bound(serializer),
            changes=serializer.validated_data,
        )
        serializer.instance = self.refetch_with_overlaps(saved)

    def perform_destroy(self, instance: Initiative) -> None:
        initiative_archive(initiative=instance, actor=request_actor(self.request))

    @extend_schema(
        request=TransitionSerializer,
        responses={200: InitiativeSerializer},
        description=_(
            "Move the initiative through its lifecycle gates. A refused move answers 409 with "
            "a machine code (gate_not_met, transition_not_allowed) and `missing` gates."
        ),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def transition(self, request: Request, key: str | None = None) -> Response:
        payload = TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            initiative = self.get_object()
            lifecycle.initiative_transition(
                initiative=initiative,
                to_stage=payload.validated_data["to"],
                note=payload.validated_data["note"],
                actor=request_actor(request),
                expected_version=initiative.version,
            )
            fresh = self.refetch(initiative)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        request=None,
        responses={200: InitiativeSerializer},
        description=_("Bring an archived initiative back into the portfolio."),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def restore(self, request: Request, key: str | None = None) -> Response:
        with transaction.atomic():
            initiative = self.get_object()
            initiative_restore(initiative=initiative, actor=request_actor(request))
            fresh = self.refetch(initiative)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        responses={200: InitiativeOverlapsSerializer},
        description=_(
            "Open initiatives of other lead departments that do the same thing as this one, "
            "among those the caller may see: each with its score and the reasons that make it "
            "up (similar name, the name's words in the other's text, shared words, different "
            "kinds, and the structured keys both share), best first (docs/OVERLAPS.md)."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        serializer_class=InitiativeOverlapsSerializer,
    )
    def overlaps(self, request: Request, key: str | None = None) -> Response:
        initiative = self.get_object()
        found = reports.overlaps_for(initiative, user=request.user)
        payload = {
            "key": initiative.key,
            "threshold": overlap_scoring.THRESHOLD,
            "count": len(found),
            "results": found,
        }
        return Response(InitiativeOverlapsSerializer(payload).data)

    @extend_schema(
        responses={200: ChangeSerializer(many=True)},
        description=_(
            "Recorded changes of the initiative and of its alignments, team, departments, "
            "systems, tags, dependencies and review decisions, newest first, with actor and "
            "channel."
        ),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=PageNumberPagination,
        serializer_class=ChangeSerializer,
    )
    def history(self, request: Request, key: str | None = None) -> Response:
        initiative = self.get_object()
        page = self.paginate_queryset(initiative_history(initiative, request.user))
        data = ChangeSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)
