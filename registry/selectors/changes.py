"""The change feed `/changes/`: recorded changes oldest first, paged by cursor.

pghistory's `Events` view is a UNION ALL of every event table that computes each event's
diff (a lookup of the object's previous event) before any filter, order or limit applies,
so a page of it cost the whole history. Here each event table is paged on its own
(pgh_created_at, pgh_id) index and the streams are merged in one statement; only then are
the page's rows read through `Events`, for which PostgreSQL pushes the per-table `pgh_id`
condition into the view's branches, so diffs are computed for those rows alone. A page
costs the same statements, and time in proportion to its size, whatever the history holds.

The order is (pgh_created_at, event table, pgh_id), tables by label, so an event's id
(`registry.AlignmentEvent:42`), the cursor's key, names a position on its own.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import IsNull
from pghistory import core, utils
from pghistory.models import Events

from registry.models import Initiative
from registry.permissions import is_pmo
from registry.selectors.visibility import hidden_initiative_ids, visible_initiatives


def event_tables() -> list[type[Model]]:
    """Every event model, in the feed's order among events of one moment."""
    return sorted(core.event_models(), key=lambda model: model._meta.label)


def tracked_label(model: type[Model]) -> str:
    return model.pgh_tracked_model._meta.label  # type: ignore[attr-defined]


def initiative_columns(model: type[Model]) -> list[str]:
    """Columns of an event table that point at an initiative (pgh_obj of its own events)."""
    return [f.attname for f in model._meta.fields if utils.related_model(f) is Initiative]


class Position(NamedTuple):
    """Where an event sits in the feed."""

    at: datetime.datetime
    table: int  # index into event_tables()
    pgh_id: int


class EventTables:
    """The events of each table as a queryset of its own event model: what the change feed's
    FilterSet narrows and its pagination pages, in place of `Events.objects`.
    """

    model = Events  # what django-filter and the schema generator ask of a queryset

    def __init__(self, tables: dict[type[Model], QuerySet]) -> None:
        self.tables = tables

    @classmethod
    def visible_to(cls, user: Any) -> EventTables:
        """Without events of confidential initiatives (or of their parts) the user may not
        see, exactly as `Initiative.objects.visible_to` hides the initiatives.
        """
        tables = cls({model: model._default_manager.all() for model in event_tables()})
        if is_pmo(user):
            return tables
        visible = visible_initiatives(user)
        deleted = Initiative.pgh_event_models["delete"]  # type: ignore[attr-defined]

        def shown(column: str) -> Q:
            hidden = Initiative.objects.filter(pk=OuterRef(column), confidential=True).exclude(
                Exists(visible.filter(pk=OuterRef("pk")))
            )
            # Gone from the table, an initiative's delete event still says it was confidential.
            deleted_confidential = deleted.objects.filter(
                pgh_obj_id=OuterRef(column), pgh_label="delete", confidential=True
            )
            # Scalar subqueries, which PostgreSQL answers per event by primary key; an EXISTS
            # here is planned as a hash of every (visible) initiative, built for each page.
            return Q(**{f"{column}__isnull": True}) | (
                Q(IsNull(Subquery(hidden.order_by().values("pk")[:1]), True))
                & Q(IsNull(Subquery(deleted_confidential.order_by().values("pk")[:1]), True))
            )

        return tables.per_table(
            lambda model: functools.reduce(
                operator.and_, map(shown, initiative_columns(model)), Q()
            )
        )

    def all(self) -> EventTables:
        return self

    def filter(self, *args: Any, **kwargs: Any) -> EventTables:
        """The same condition on every table (fields every event table has)."""
        return EventTables({m: qs.filter(*args, **kwargs) for m, qs in self.tables.items()})

    def per_table(self, condition: Callable[[type[Model]], Q | None]) -> EventTables:
        """Each table filtered by its own condition; a table whose condition is None is left
        out (nothing in it can match).
        """
        kept = {}
        for model, queryset in self.tables.items():
            q = condition(model)
            if q is not None:
                kept[model] = queryset.filter(q)
        return EventTables(kept)

    def of_objects(self, labels: set[str]) -> EventTables:
        """Events of these tracked models (`registry.Initiative`, …)."""
        return self.per_table(lambda model: Q() if tracked_label(model) in labels else None)

    def of_object_id(self, object_id: str) -> EventTables:
        """Events of the objects with this primary key (as the feed's `object_id` shows it)."""
        canonical = object_id.isascii() and object_id.isdigit() and object_id == str(int(object_id))
        pk = int(object_id) if canonical else None
        return self.per_table(
            lambda model: Q(pgh_obj_id=pk) if pk is not None and hasattr(model, "pgh_obj") else None
        )

    def referencing(self, initiative: Initiative) -> EventTables:
        """Events of the initiative and of what points at it (alignments, team, links, …)."""

        def condition(model: type[Model]) -> Q | None:
            columns = initiative_columns(model)
            if not columns:
                return None
            return functools.reduce(operator.or_, (Q(**{c: initiative.pk}) for c in columns))

        return self.per_table(condition)

    def with_context(self, key: str, value: str) -> EventTables:
        """Events whose history context has `key` = value (actor, channel)."""
        return self.filter(**{f"pgh_context__metadata__{key}": value})

    # -- reading a page ------------------------------------------------------------------------

    def positions(
        self, *, after: Position | None, before: datetime.datetime | None, limit: int
    ) -> list[Position]:
        """The first `limit` positions after `after` and before `before`: per table the first
        `limit` in its index order, merged by PostgreSQL in one statement.
        """
        parts = []
        for table, model in enumerate(event_tables()):
            queryset = self.tables.get(model)
            if queryset is None:
                continue
            if after is not None:
                queryset = queryset.filter(after_position(after, table))
            if before is not None:
                queryset = queryset.filter(pgh_created_at__lt=before)
            parts.append(
                queryset.order_by("pgh_created_at", "pgh_id")
                .annotate(feed_table=Value(table))
                .values_list("pgh_created_at", "feed_table", "pgh_id")[:limit]
            )
        if not parts:
            return []
        rows = parts[0]
        if len(parts) > 1:
            merged = parts[0].union(*parts[1:], all=True)
            rows = merged.order_by("pgh_created_at", "feed_table", "pgh_id")[:limit]
        return [Position(*row) for row in rows]

    @staticmethod
    def events(positions: list[Position]) -> list[Events]:
        """The events at these positions, in their order, with data and diff."""
        if not positions:
            return []
        models = event_tables()
        ids: dict[type[Model], list[int]] = defaultdict(list)
        for position in positions:
            ids[models[position.table]].append(position.pgh_id)
        condition = functools.reduce(
            operator.or_,
            (Q(pgh_model=model._meta.label, pgh_id__in=pks) for model, pks in ids.items()),
        )
        found = {
            (event.pgh_model, event.pgh_id): event
            for event in Events.objects.across(*ids).filter(condition)
        }
        keys = [(models[p.table]._meta.label, p.pgh_id) for p in positions]
        return [found[key] for key in keys if key in found]  # pruned meanwhile: gone


def after_position(position: Position, table: int) -> Q:
    """Rows of `table` after `position`, as one range of its (pgh_created_at, pgh_id) index.

    A row-value comparison: `time > t OR (time = t AND id > k)` would make PostgreSQL filter
    every row of the index before the position.
    """
    if table < position.table:
        return Q(pgh_created_at__gt=position.at)
    if table > position.table:
        return Q(pgh_created_at__gte=position.at)
    moment = Tuple(F("pgh_created_at"), F("pgh_id"))
    return Q(TupleGreaterThan(moment, (position.at, position.pgh_id)))


# Keys of an event's data that name another initiative than the one whose history is read
# (a dependency's two ends, the initiative of an alignment, team role or decision).
RELATED_INITIATIVE_KEYS = ("initiative_id", "from_initiative_id", "to_initiative_id")


def initiative_history(initiative: Initiative, user: Any) -> QuerySet:
    """Recorded changes of the initiative and of what points at it, newest first — without
    the events of rows that also point at an initiative the user may not see (a dependency
    on a confidential initiative, with its note).
    """
    events = Events.objects.references(initiative).order_by("-pgh_created_at", "-pgh_slug")
    if is_pmo(user):
        return events
    hidden = hidden_initiative_ids(user)
    assert hidden is not None
    deleted = Initiative.pgh_event_models["delete"]  # type: ignore[attr-defined]
    deleted_confidential = deleted.objects.filter(pgh_label="delete", confidential=True)
    for key in RELATED_INITIATIVE_KEYS:
        # 0 where the event has no such key: NOT IN must not drop those events.
        other = f"_other_{key}"
        events = (
            events.alias(**{other: Coalesce(Cast(KT(f"pgh_data__{key}"), BigIntegerField()), 0)})
            .exclude(**{f"{other}__in": hidden})
            .exclude(**{f"{other}__in": deleted_confidential.values("pgh_obj_id")})
        )
    return events
