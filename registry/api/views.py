"""Viewsets of the v1 API. They declare querysets, serializers, filters and permissions, and
hand every write with a rule to the registry's modules (lifecycle, archive, reviews).

Writes lock the row they change (`SELECT … FOR UPDATE`) before reading it, so the If-Match
comparison, the permission check and the write all see the same version.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.db.models import Case, F, IntegerField, Model, Prefetch, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from pghistory.models import Events
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from registry import choices
from registry import permissions as rules
from registry.api import fast_read, filtersets, serializers
from registry.api.changes import ChangeFeedPagination, EventTables
from registry.api.core.authentication import request_token
from registry.api.core.concurrency import check_if_match, etag_for
from registry.api.core.errors import Conflict
from registry.api.core.idempotency import idempotent
from registry.api.core.json_renderer import FastJSONRenderer
from registry.api.core.pagination import InitiativePagination, PageNumberPagination
from registry.api.core.permissions import (
    InitiativeAccess,
    InitiativePartAccess,
    NoteAccess,
    PMOWrites,
    ReadOnly,
)
from registry.api.core.renderers import CSVRenderer
from registry.api.feeds import (
    AlignmentFeedMixin,
    AlignmentTombstoneSerializer,
    GoalFeedMixin,
    GoalTombstoneSerializer,
    InitiativeFeedMixin,
    InitiativeTombstoneSerializer,
    feed_item_schema,
)
from registry.api.saved_view_filters import InitiativeListFilterSet
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    Initiative,
    InitiativeQuerySet,
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
from registry.selectors import reports
from registry.services import lifecycle
from registry.services.archive import (
    goal_archive,
    goal_restore,
    initiative_archive,
    initiative_restore,
)
from registry.services.history import actor_label
from registry.services.reviews import review_decide, review_open

# Lifecycle order for `ordering=stage` (side stages last).
STAGE_RANK = Case(
    *(When(stage=stage, then=Value(rank)) for rank, stage in enumerate(choices.Stage.values)),
    output_field=IntegerField(),
)


def actor_name(request: Request) -> str:
    """Who acts, as history and StageChange name them: the token's name or the username."""
    token = request_token(request)
    return token.name if token is not None else actor_label(request.user)


def acting_user(request: Request) -> Any:
    return request.user if getattr(request.user, "is_authenticated", False) else None


def bound(serializer: BaseSerializer) -> Any:
    """The object an update's (or a saved) serializer is bound to."""
    assert serializer.instance is not None
    return serializer.instance


def visible_initiatives(request: Request) -> InitiativeQuerySet:
    return Initiative.objects.visible_to(request.user)


class RegistryViewSet(viewsets.ModelViewSet):
    """Shared plumbing of every resource.

    - Filters apply to lists only (a detail URL addresses one object, archived or not).
    - Writes run in one transaction, lock their row first and — where `versioned` — check
      If-Match against the locked version, bump it and answer with the new ETag.
    - The answer to a write is re-read through `get_queryset()`, so it carries the same
      annotations (derived values) as a read.
    """

    versioned = False
    etag_actions = frozenset({"retrieve", "create", "update", "partial_update"})
    if_match_actions = frozenset({"update", "partial_update", "destroy"})
    permission_classes = [PMOWrites]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Any:
        if self.request.method in SAFE_METHODS:
            return super().get_object()
        # Writes run in a transaction; OPTIONS metadata probes with a cloned PUT outside any
        # transaction, where a row lock is neither possible nor needed.
        if transaction.get_connection().in_atomic_block:
            self.lock_row()
        obj = super().get_object()
        if self.versioned:
            check_if_match(self.request, obj.version)
        return obj

    def lock_row(self) -> None:
        """Take the row lock before the row is read, for the rest of the transaction."""
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        model = self.get_queryset().model
        try:
            rows = model._default_manager.select_for_update().filter(
                **{self.lookup_field: self.kwargs[lookup_url_kwarg]}
            )
            list(rows.values_list("pk", flat=True))
        except (TypeError, ValueError):
            return  # not a valid id ("null" for an integer pk): get_object answers 404

    def refetch(self, instance: Model) -> Model:
        return self.get_queryset().get(pk=instance.pk)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = self.refetch(serializer.save())

    def perform_update(self, serializer: BaseSerializer) -> None:
        extra = {"version": bound(serializer).version + 1} if self.versioned else {}
        serializer.instance = self.refetch(serializer.save(**extra))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) == "csv":
            # Errors keep the one JSON error shape, even when CSV was asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            self.versioned
            and self.action in self.etag_actions
            and 200 <= response.status_code < 300
            and isinstance(data, dict)
            and "version" in data
        ):
            response["ETag"] = etag_for(data["version"])
        return response


# --- organisation and strategy --------------------------------------------------------------


class VisionViewSet(RegistryViewSet):
    """CX visions. At most one is active; a vision is retired, not deleted."""

    queryset = Vision.objects.select_related("executive_sponsor")
    serializer_class = serializers.VisionSerializer
    filterset_class = filtersets.VisionFilterSet
    http_method_names = ["get", "post", "put", "patch", "head", "options"]


@extend_schema_view(
    list=extend_schema(
        responses=feed_item_schema(
            "GoalFeedItem", serializers.GoalSerializer, GoalTombstoneSerializer
        ),
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
    serializer_class = serializers.GoalSerializer
    filterset_class = filtersets.GoalFilterSet
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
        goal_archive(goal=instance)

    @extend_schema(
        request=None,
        responses={200: serializers.GoalSerializer},
        description=_("Bring an archived goal back."),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def restore(self, request: Request, code: str | None = None) -> Response:
        with transaction.atomic():
            goal = self.get_object()
            goal_restore(goal=goal)
            fresh = self.refetch(goal)
        return Response(self.get_serializer(fresh).data)


class MeasurementViewSet(RegistryViewSet):
    """Observed values of goals' metrics; the latest gives a goal its current value."""

    queryset = Measurement.objects.select_related("goal")
    serializer_class = serializers.MeasurementSerializer
    filterset_class = filtersets.MeasurementFilterSet


class DepartmentViewSet(RegistryViewSet):
    """Organisational units, addressed by slug; one still in use cannot be deleted (409)."""

    queryset = Department.objects.all()
    serializer_class = serializers.DepartmentSerializer
    filterset_class = filtersets.DepartmentFilterSet
    lookup_field = "slug"


class PersonViewSet(RegistryViewSet):
    """Owners, sponsors and team members."""

    queryset = Person.objects.select_related("department")
    serializer_class = serializers.PersonSerializer
    filterset_class = filtersets.PersonFilterSet


class SystemViewSet(RegistryViewSet):
    """Platforms and data assets initiatives use, addressed by slug."""

    queryset = System.objects.select_related("owner_department")
    serializer_class = serializers.SystemSerializer
    filterset_class = filtersets.SystemFilterSet
    lookup_field = "slug"


class TagViewSet(RegistryViewSet):
    """Labels the PMO manages, addressed by name."""

    queryset = Tag.objects.all()
    serializer_class = serializers.TagSerializer
    filterset_class = filtersets.TagFilterSet
    lookup_field = "name"


# --- initiatives ----------------------------------------------------------------------------


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
            (200, "application/json"): feed_item_schema(
                "InitiativeFeedItem",
                serializers.InitiativeSerializer,
                InitiativeTombstoneSerializer,
            ),
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
        request=serializers.InitiativeSerializer,
        responses={201: serializers.InitiativeWriteSerializer},
    ),
    update=extend_schema(
        request=serializers.InitiativeSerializer,
        responses={200: serializers.InitiativeWriteSerializer},
    ),
    partial_update=extend_schema(
        request=serializers.InitiativeSerializer,
        responses={200: serializers.InitiativeWriteSerializer},
    ),
)
class InitiativeViewSet(InitiativeFeedMixin, RegistryViewSet):
    """AI initiatives, addressed by key (AI-0042)."""

    serializer_class = serializers.InitiativeSerializer
    filterset_class = InitiativeListFilterSet  # the initiative filters plus ?view=
    pagination_class = InitiativePagination
    permission_classes = [InitiativeAccess]
    lookup_field = "key"
    versioned = True
    etag_actions = frozenset(
        {"retrieve", "create", "update", "partial_update", "transition", "restore"}
    )
    if_match_actions = frozenset({"update", "partial_update", "destroy", "transition", "restore"})
    csv_columns = serializers.InitiativeCsvSerializer.Meta.fields

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
            return initiative_rows().all().visible_to(self.request.user)
        return self.annotated(visible_initiatives(self.request))

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
            return serializers.InitiativeCsvSerializer
        if self.action in ("create", "update", "partial_update"):
            return serializers.InitiativeWriteSerializer
        return super().get_serializer_class()

    def refetch_with_overlaps(self, instance: Model) -> Initiative:
        """Re-read the written initiative and attach "join or justify": the open initiatives
        of other departments it overlaps.
        """
        fresh = self.annotated(Initiative.objects.all()).get(pk=instance.pk)
        fresh.join_or_justify = reports.overlaps_for(  # type: ignore[attr-defined]
            fresh, user=self.request.user
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

    def refuse_if_archived(self, initiative: Initiative) -> None:
        if initiative.archived_at is not None:
            raise Conflict(
                _("%(key)s is archived; restore it first.") % {"key": initiative.key},
                code="archived",
            )

    def perform_create(self, serializer: BaseSerializer) -> None:
        request = self.request
        token = request_token(request)
        source = serializer.validated_data.get("source") or ""
        if not source and token is not None and rules.is_integration(request.user):
            source = token.source
        if not rules.can_create_initiative(request.user, source=source, token=token):
            raise PermissionDenied(
                _("An integration registers only initiatives of its own source (%(source)s).")
                % {"source": getattr(token, "source", "") or "—"}
            )
        user = acting_user(request)
        initiative = serializer.save(source=source, created_by=user, updated_by=user)
        lifecycle.record_initial_stage(
            initiative=initiative, actor=user, actor_name=actor_name(request)
        )
        serializer.instance = self.refetch_with_overlaps(initiative)

    def perform_update(self, serializer: BaseSerializer) -> None:
        initiative = bound(serializer)
        self.refuse_if_archived(initiative)
        request = self.request
        source = serializer.validated_data.get("source", initiative.source)
        if source != initiative.source and not rules.can_create_initiative(
            request.user, source=source, token=request_token(request)
        ):
            raise PermissionDenied(_("You may not move an initiative to another source."))
        self.refuse_hand_over(initiative, serializer.validated_data)
        saved = serializer.save(version=initiative.version + 1, updated_by=acting_user(request))
        serializer.instance = self.refetch_with_overlaps(saved)

    def refuse_hand_over(self, initiative: Initiative, data: dict) -> None:
        """A new owner or lead department outside the writer's department: PMO only (403)."""
        owner, lead = data.get("owner", initiative.owner), data.get("lead_department")
        changes = []
        if owner is not None and owner != initiative.owner:
            changes.append(owner.department_id)
        if lead is not None and lead != initiative.lead_department:
            changes.append(lead.pk)
        token = request_token(self.request)
        if any(
            not rules.can_hand_over_to(self.request.user, department_id=dept, token=token)
            for dept in changes
        ):
            raise PermissionDenied(
                _(
                    "Only the PMO hands %(key)s to an owner or lead department outside your "
                    "own department."
                )
                % {"key": initiative.key}
            )

    def perform_destroy(self, instance: Initiative) -> None:
        initiative_archive(initiative=instance, actor=acting_user(self.request))

    @extend_schema(
        request=serializers.TransitionSerializer,
        responses={200: serializers.InitiativeSerializer},
        description=_(
            "Move the initiative through its lifecycle gates. A refused move answers 409 with "
            "a machine code (gate_not_met, transition_not_allowed) and `missing` gates."
        ),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def transition(self, request: Request, key: str | None = None) -> Response:
        payload = serializers.TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            initiative = self.get_object()
            self.refuse_if_archived(initiative)
            lifecycle.initiative_transition(
                initiative=initiative,
                to_stage=payload.validated_data["to"],
                note=payload.validated_data["note"],
                actor=acting_user(request),
                actor_name=actor_name(request),
                expected_version=initiative.version,
            )
            fresh = self.refetch(initiative)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        request=None,
        responses={200: serializers.InitiativeSerializer},
        description=_("Bring an archived initiative back into the portfolio."),
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def restore(self, request: Request, key: str | None = None) -> Response:
        with transaction.atomic():
            initiative = self.get_object()
            initiative_restore(initiative=initiative, actor=acting_user(request))
            fresh = self.refetch(initiative)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(
        responses={200: serializers.ChangeSerializer(many=True)},
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
        serializer_class=serializers.ChangeSerializer,
    )
    def history(self, request: Request, key: str | None = None) -> Response:
        initiative = self.get_object()
        events = Events.objects.references(initiative).order_by("-pgh_created_at", "-pgh_slug")
        page = self.paginate_queryset(events)
        data = serializers.ChangeSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(data.data)


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
            "AlignmentFeedItem", serializers.AlignmentSerializer, AlignmentTombstoneSerializer
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

    serializer_class = serializers.AlignmentSerializer
    filterset_class = filtersets.AlignmentFilterSet
    versioned = True

    def get_queryset(self) -> QuerySet:
        return Alignment.objects.filter(
            initiative__in=visible_initiatives(self.request).values("pk")
        ).select_related("initiative", "goal")

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

    serializer_class = serializers.TeamRoleSerializer
    filterset_class = filtersets.TeamRoleFilterSet

    def get_queryset(self) -> QuerySet:
        return TeamRole.objects.filter(
            initiative__in=visible_initiatives(self.request).values("pk")
        ).select_related("initiative", "person")


class DependencyViewSet(InitiativePartViewSet):
    """Initiative A needs initiative B; cycles are refused (400)."""

    serializer_class = serializers.DependencySerializer
    filterset_class = filtersets.DependencyFilterSet
    initiative_attr = "from_initiative"

    def get_queryset(self) -> QuerySet:
        visible = visible_initiatives(self.request).values("pk")
        return (
            Dependency.objects.filter(from_initiative__in=visible, to_initiative__in=visible)
            .select_related("from_initiative", "to_initiative")
            .order_by("pk")
        )


class NoteViewSet(RegistryViewSet):
    """Journal entries on initiatives (writable like the initiative), goals and reviews
    (PMO). The author is whoever writes it; only the PMO deletes notes.
    """

    serializer_class = serializers.NoteSerializer
    filterset_class = filtersets.NoteFilterSet
    permission_classes = [NoteAccess]

    def get_queryset(self) -> QuerySet:
        hidden = Initiative.objects.exclude(pk__in=visible_initiatives(self.request).values("pk"))
        return Note.objects.exclude(initiative__in=hidden.values("pk")).select_related(
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

    serializer_class = serializers.StageChangeSerializer
    filterset_class = filtersets.StageChangeFilterSet
    permission_classes = [ReadOnly]

    def get_queryset(self) -> QuerySet:
        return StageChange.objects.filter(
            initiative__in=visible_initiatives(self.request).values("pk")
        ).select_related("initiative", "by")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset) if self.action == "list" else queryset


# --- quarterly review -----------------------------------------------------------------------


class ReviewViewSet(RegistryViewSet):
    """Quarterly portfolio reviews. Opened here (PMO); closing follows its own workflow."""

    queryset = Review.objects.select_related("vision")
    serializer_class = serializers.ReviewSerializer
    filterset_class = filtersets.ReviewFilterSet
    http_method_names = ["get", "post", "head", "options"]

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


class ReviewDecisionViewSet(RegistryViewSet):
    """A review's verdict per initiative, with the snapshot frozen when it was made.

    POST records the decision (or replaces this review's earlier decision on the same
    initiative while the review is open).
    """

    serializer_class = serializers.ReviewDecisionSerializer
    filterset_class = filtersets.ReviewDecisionFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return ReviewDecision.objects.filter(
            initiative__in=visible_initiatives(self.request).values("pk")
        ).select_related("review", "initiative", "decided_by")

    @extend_schema(
        responses={
            201: serializers.ReviewDecisionSerializer,
            200: OpenApiResponse(
                serializers.ReviewDecisionSerializer,
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


# --- the change feed ------------------------------------------------------------------------


class ChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit feed: every recorded change with actor, channel and changed fields, oldest
    first, paged by cursor so a tool can poll it with `since` and follow `next`.
    """

    serializer_class = serializers.ChangeSerializer
    filterset_class = filtersets.ChangeFilterSet
    pagination_class = ChangeFeedPagination
    permission_classes = [ReadOnly]

    def get_queryset(self) -> EventTables:  # type: ignore[override]
        return EventTables.visible_to(self.request.user)
