"""Keyset cursor pagination for feeds that tools poll: no row skipped, none repeated.

A page continues strictly after the (time, key) position of the last row the client got —
for initiatives (updated_at, id), for the change feed (pgh_created_at, event id), each event
table paged apart (`registry.api.changes`). DRF's own CursorPagination keeps a position on
the first field plus an offset among equal values; rows written by one set-based sync share
one timestamp, so an offset walks past rows that move while a client pages (and gives up
beyond 1,000 equal values). A keyset position cannot:
a row not yet delivered either still sits after the position, or is updated and moves to
the end, where it is delivered after its update.

Rows become visible at commit, but carry a time taken earlier: `updated_at` when the row
was saved, and history events (hence tombstones) the start of their transaction. A page
therefore stops before the start of the oldest other transaction still open (less a settle
margin for the application's clock), so a slow transaction's rows cannot land behind a
client's position: they appear once it commits. A transaction left open for long delays the
feed (it never loses rows). Other processes are seen in `pg_stat_activity`, which shows
them when they connect as the same database role (or when the role may read all stats).

A view may merge tombstones (rows that no longer exist, from history) into the same order by
offering `feed_tombstones()`: a queryset annotated with `feed_at` and `feed_key`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

DEFAULT_SETTLE_SECONDS = 1.0
TOMBSTONE_ORDERING = ("feed_at", "feed_key")
# Row ids are PostgreSQL bigints; a key outside them cannot point at a row.
BIGINT_MAX = 2**63 - 1


def settle_margin() -> datetime.timedelta:
    """How far before a writing transaction's start a page stops (application clock skew and
    the moment between taking a timestamp and sending the statement). Setting:
    REGISTRY_FEED_SETTLE_SECONDS.
    """
    return datetime.timedelta(
        seconds=float(getattr(settings, "REGISTRY_FEED_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))
    )


def settled_before() -> datetime.datetime | None:
    """The time before which every row a feed may show is committed: the start of the oldest
    other open transaction, less the settle margin; None when there is none.

    Any open transaction counts, not only those that have written yet: events are stamped
    with their transaction's start, even when the transaction writes only later.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT min(xact_start) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND backend_type = 'client backend' AND xact_start IS NOT NULL
            """
        )
        (oldest,) = cursor.fetchone()
    return oldest - settle_margin() if oldest is not None else None


def _with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in changes]
    query += [(k, v) for k, v in changes.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


class KeysetPagination(pagination.BasePagination):
    """Pages after a (time, key) position, oldest first; see the module docstring.

    The answer has `next` (more rows now; null when the feed is drained), `previous` (always
    null: a feed is read forwards) and `resume` (where to continue on the next poll, after
    the last row of this page), besides `results`.
    """

    ordering: tuple[str, str] = ("updated_at", "id")
    # The type of the key half of a position: a row id, unless a feed keys by something else
    # (the change feed: "<table>:<event id>"). A cursor with a key of another type is a 400.
    key_type: type = int
    cursor_query_param = "cursor"
    cursor_query_description = gettext_lazy(
        "Continue after the row this cursor points at; take it from `next` or `resume`."
    )
    page_size = api_settings.PAGE_SIZE
    page_size_query_param: str | None = None
    page_size_query_description = gettext_lazy("Number of results to return per page.")
    max_page_size: int | None = None
    template = "rest_framework/pagination/previous_and_next.html"

    def get_page_size(self, request: Request) -> int | None:
        return self.page_size

    # -- cursors -------------------------------------------------------------------------------

    def encode_cursor(self, position: tuple[datetime.datetime, Any]) -> str:
        payload = json.dumps(
            {"t": position[0].isoformat(), "k": position[1]}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def decode_cursor(self, request: Request) -> tuple[datetime.datetime, Any] | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            moment = datetime.datetime.fromisoformat(payload["t"])
            key = payload["k"]
            if moment.tzinfo is None or not self.valid_key(key):
                raise ValueError(key)
            moment.astimezone(datetime.UTC)  # OverflowError beyond the year 9999
        except (
            binascii.Error,
            ValueError,
            TypeError,
            KeyError,
            UnicodeDecodeError,
            OverflowError,
            RecursionError,
        ):
            raise ValidationError(
                {self.cursor_query_param: [_("This cursor is not valid; start again.")]},
                code="invalid",
            ) from None
        return moment, key

    def valid_key(self, key: Any) -> bool:
        """Whether a decoded key can be a position of this feed: of `key_type` (a bool is not
        an int here), and a row id within bigint.
        """
        if isinstance(key, bool) or not isinstance(key, self.key_type):
            return False
        if isinstance(key, int):
            return 0 <= key <= BIGINT_MAX
        return bool(key)

    # -- the page ------------------------------------------------------------------------------

    def _after(self, queryset: QuerySet, ordering: tuple[str, str]) -> QuerySet:
        time_field, key_field = ordering
        queryset = queryset.order_by(time_field, key_field)
        if self.position is not None:
            moment, key = self.position
            # A row-value comparison, which the (time, key) index answers as one range;
            # the equivalent `time > t OR (time = t AND key > k)` makes PostgreSQL filter
            # every row of the index before the position.
            queryset = queryset.filter(
                TupleGreaterThan(Tuple(F(time_field), F(key_field)), (moment, key))
            )
        if self.horizon is not None:
            queryset = queryset.filter(**{f"{time_field}__lt": self.horizon})
        return queryset

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list | None:
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.position = self.decode_cursor(request)
        self.horizon = settled_before()
        sources: list[tuple[QuerySet, tuple[str, str]]] = [(queryset, self.ordering)]
        tombstones = getattr(view, "feed_tombstones", None)
        extra = tombstones() if callable(tombstones) else None
        if extra is not None:
            sources.append((extra, TOMBSTONE_ORDERING))
        candidates: list[tuple[tuple[datetime.datetime, Any], Any]] = []
        for source, ordering in sources:
            time_field, key_field = ordering
            for obj in self._after(source, ordering)[: self.page_size + 1]:
                candidates.append(((getattr(obj, time_field), getattr(obj, key_field)), obj))
        if len(sources) > 1:
            # Merged sources share the key type (ids); one source keeps the database's order.
            candidates.sort(key=lambda candidate: candidate[0])
        self.has_next = len(candidates) > self.page_size
        page = candidates[: self.page_size]
        self.last_position = page[-1][0] if page else self.position
        self.page = [obj for _position, obj in page]
        self.display_page_controls = self.has_next
        return self.page

    def get_next_link(self) -> str | None:
        if not self.has_next or self.last_position is None:
            return None
        return _with_query(
            self.base_url, **{self.cursor_query_param: self.encode_cursor(self.last_position)}
        )

    def get_resume_link(self) -> str:
        cursor = self.encode_cursor(self.last_position) if self.last_position else None
        return _with_query(self.base_url, **{self.cursor_query_param: cursor})

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "next": self.get_next_link(),
                "previous": None,
                "resume": self.get_resume_link(),
                "results": data,
            }
        )

    def get_html_context(self) -> dict[str, Any]:
        return {"previous_url": None, "next_url": self.get_next_link()}

    def to_html(self) -> str:
        from django.template import loader

        return loader.get_template(self.template).render(self.get_html_context())

    # -- schema --------------------------------------------------------------------------------

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "resume"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": _("More rows now; null once the feed is drained."),
                },
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "resume": {
                    "type": "string",
                    "format": "uri",
                    "description": _(
                        "Poll this later: it continues after the last row of this page."
                    ),
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        parameters = [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": str(self.cursor_query_description),
                "schema": {"type": "string"},
            }
        ]
        if self.page_size_query_param:
            parameters.append(
                {
                    "name": self.page_size_query_param,
                    "required": False,
                    "in": "query",
                    "description": str(self.page_size_query_description),
                    "schema": {"type": "integer"},
                }
            )
        return parameters
