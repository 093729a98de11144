"""`/changes/`: the audit feed, every recorded change oldest first, paged by cursor (the
event tables it reads are `registry.selectors.changes`).
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    extend_schema_field,
)
from pghistory.models import Events
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from registry import choices
from registry.api.core.keyset import settled_before
from registry.api.core.pagination import CursorPagination
from registry.api.core.permissions import (
    ReadOnly,
)
from registry.models import (
    Initiative,
)
from registry.selectors.changes import EventTables, Position, event_tables
from registry.selectors.filters import SinceFilter, by_initiative_key


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

    def _from_context(self, obj: Events, key: str) -> str | None:
        return str((obj.pgh_context or {}).get(key) or "") or None

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text=_(
                "The user name or token name; null for a write outside any request or "
                "command (a raw SQL update, a shell)."
            ),
        )
    )
    def get_actor(self, obj: Events) -> str | None:
        return self._from_context(obj, "actor")

    @extend_schema_field(serializers.ChoiceField(choices=choices.Channel.choices, allow_null=True))
    def get_channel(self, obj: Events) -> str | None:
        return self._from_context(obj, "channel")


def _tracked_object_types() -> list[tuple[str, str]]:
    from django.apps import apps

    labels = sorted(
        {
            model.pgh_tracked_model._meta.label
            for model in apps.get_app_config("registry").get_models()
            if hasattr(model, "pgh_tracked_model")
        }
    )
    return [(label.split(".", 1)[1].lower(), label) for label in labels]


class ChangeFilterSet(filters.FilterSet):
    """Filters of the audit feed: what changed, who changed it, through which channel, when.

    They narrow each event table on its own (`registry.api.changes.EventTables`), which the
    feed then pages table by table.
    """

    object_type = filters.MultipleChoiceFilter(
        choices=lambda: [(value, value) for value, _label in _tracked_object_types()],
        method="filter_object_type",
        help_text=_("initiative, goal, alignment, teamrole, … Repeatable."),
    )
    object_id = filters.CharFilter(method="filter_object_id")
    initiative = by_initiative_key(
        method="filter_initiative",
        help_text=_("Changes of this initiative and of its alignments, team and links."),
    )
    actor = filters.CharFilter(
        method="filter_context", help_text=_("A username or a token's name.")
    )
    channel = filters.ChoiceFilter(choices=choices.Channel.choices, method="filter_context")
    label = filters.CharFilter(field_name="pgh_label")
    since = SinceFilter(field_name="pgh_created_at", lookup_expr="gte")
    until = SinceFilter(field_name="pgh_created_at", lookup_expr="lt")

    class Meta:
        model = Events
        fields: list[str] = []

    def filter_queryset(self, queryset: EventTables) -> EventTables:  # type: ignore[override]
        # django-filter's own loop asserts a QuerySet after each filter; these are several.
        for name, value in self.form.cleaned_data.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset

    def filter_object_type(self, queryset: EventTables, name: str, value: list[str]) -> EventTables:
        labels = dict(_tracked_object_types())
        return queryset.of_objects({labels[v] for v in value})

    def filter_object_id(self, queryset: EventTables, name: str, value: str) -> EventTables:
        return queryset.of_object_id(value)

    def filter_initiative(self, queryset: EventTables, name: str, value: Initiative) -> EventTables:
        return queryset.referencing(value)

    def filter_context(self, queryset: EventTables, name: str, value: str) -> EventTables:
        return queryset.with_context(name, value)


class ChangeFeedPagination(CursorPagination):
    """Cursor pages of the change feed over `EventTables`; the cursor is (time, event id)."""

    key_type = str  # "<table label>:<event id>", checked by decode_position

    def slug(self, position: Position) -> str:
        return f"{event_tables()[position.table]._meta.label}:{position.pgh_id}"

    def decode_position(self, request: Request) -> Position | None:
        cursor = self.decode_cursor(request)
        if cursor is None:
            return None
        moment, key = cursor
        label, _sep, pgh_id = str(key).rpartition(":")
        labels = [model._meta.label for model in event_tables()]
        if label not in labels or not (pgh_id.isascii() and pgh_id.isdigit() and len(pgh_id) < 19):
            raise ValidationError(
                {self.cursor_query_param: [_("This cursor is not valid; start again.")]},
                code="invalid",
            )
        return Position(moment, labels.index(label), int(pgh_id))

    def paginate_queryset(  # type: ignore[override]
        self, queryset: EventTables, request: Request, view: Any = None
    ) -> list | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        after = self.decode_position(request)
        self.position = (after.at, self.slug(after)) if after else None
        # Rows of transactions still open carry an earlier time: stop before them (keyset).
        self.horizon = settled_before()
        positions = queryset.positions(after=after, before=self.horizon, limit=self.page_size + 1)
        self.has_next = len(positions) > self.page_size
        positions = positions[: self.page_size]
        self.last_position = (
            (positions[-1].at, self.slug(positions[-1])) if positions else self.position
        )
        self.page = EventTables.events(positions)
        self.display_page_controls = self.has_next
        return self.page


class ChangeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit feed: every recorded change with actor, channel and changed fields, oldest
    first, paged by cursor so a tool can poll it with `since` and follow `next`.
    """

    serializer_class = ChangeSerializer
    filterset_class = ChangeFilterSet
    pagination_class = ChangeFeedPagination
    permission_classes = [ReadOnly]

    def get_queryset(self) -> EventTables:  # type: ignore[override]
        return EventTables.visible_to(self.request.user)
