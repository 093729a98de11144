"""Pagination: numbered pages for browsing, a cursor for feeds that tools poll.

`page_size` is capped at 500; a non-numeric `page`, `page_size`, a bad `cursor` or `count`
is a 400 that names the parameter.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.core.keyset import KeysetPagination
from registry.selectors.counting import (
    EstimatedCountPaginator,
    ExactCountPaginator,
    exact_count_limit,
)

MAX_PAGE_SIZE = 500
COUNT_MODES = ("exact", "estimate")


def _page_size(request: Request, param: str, default: int | None) -> int | None:
    raw = request.query_params.get(param)
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ValidationError(
            {param: [_("Give a whole number from 1 to %(max)s.") % {"max": MAX_PAGE_SIZE}]},
            code="invalid",
        )
    return min(size, MAX_PAGE_SIZE)


def _count_mode(request: Request, param: str) -> str:
    raw = request.query_params.get(param)
    if raw is None or raw == "":
        return COUNT_MODES[0]
    if raw not in COUNT_MODES:
        raise ValidationError(
            {param: [_("Give one of: %(modes)s.") % {"modes": ", ".join(COUNT_MODES)}]},
            code="invalid",
        )
    return raw


class PageNumberPagination(pagination.PageNumberPagination):
    """`count`, `count_exact`, `next`, `previous`, `results`; `?page=` and `?page_size=`
    (≤ 500).

    `count` is exact, counted over the filtered primary keys (registry.selectors.counting).
    `?count=estimate` asks for PostgreSQL's estimate instead when more than
    REGISTRY_EXACT_COUNT_LIMIT rows match; `count_exact` says which one the answer holds.
    """

    django_paginator_class = ExactCountPaginator
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    count_query_param = "count"

    def get_page_size(self, request: Request) -> int | None:
        return _page_size(request, self.page_size_query_param, self.page_size)

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list | None:
        estimate = _count_mode(request, self.count_query_param) == "estimate"
        self.django_paginator_class = EstimatedCountPaginator if estimate else ExactCountPaginator
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_exact": getattr(paginator, "count_is_exact", True),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paged = super().get_paginated_response_schema(schema)
        properties = paged["properties"]
        properties["count"]["description"] = _(
            "How many rows match the filters: exact, unless `count=estimate` was asked for "
            "and `count_exact` is false."
        )
        paged["properties"] = {
            "count": properties.pop("count"),
            "count_exact": {
                "type": "boolean",
                "example": True,
                "description": _(
                    "True when `count` is exact (always, unless `count=estimate` was asked "
                    "for and more rows matched than are counted exactly); false when it is "
                    "PostgreSQL's estimate."
                ),
            },
            **properties,
        }
        paged["required"] = ["count", "count_exact", "results"]
        return paged

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.count_query_param,
                "required": False,
                "in": "query",
                "description": str(
                    _(
                        "`exact` (the default) or `estimate`: above %(limit)s matches, "
                        "PostgreSQL's row estimate instead of counting them (cheaper on very "
                        "large results; `count_exact` is then false)."
                    )
                    % {"limit": exact_count_limit()}
                ),
                "schema": {"type": "string", "enum": list(COUNT_MODES), "default": "exact"},
            },
        ]

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        number = super().get_page_number(request, paginator)
        if number in self.last_page_strings:
            return number
        try:
            if int(number) < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise ValidationError(
                {self.page_query_param: [_("Give a page number from 1.")]}, code="invalid"
            ) from None
        return number


class CursorPagination(KeysetPagination):
    """Stable pages over a growing feed, ordered by (updated_at, id): a keyset position, so
    rows that change while a client pages are neither skipped nor repeated (see keyset).
    """

    ordering = ("updated_at", "id")
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int | None:
        return _page_size(request, self.page_size_query_param, self.page_size)


class InitiativePagination(pagination.BasePagination):
    """Numbered pages, or a cursor ordered by (updated_at, id) when the client asks for an
    `updated_since` feed (or follows a `cursor`), so an incremental sync never skips a row.
    """

    feed_params = ("updated_since", "cursor")

    def __init__(self) -> None:
        self.pages = PageNumberPagination()
        self.cursor = CursorPagination()
        self.active: pagination.BasePagination = self.pages

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list | None:
        use_cursor = any(request.query_params.get(p) for p in self.feed_params)
        self.active = self.cursor if use_cursor else self.pages
        page = self.active.paginate_queryset(queryset, request, view)
        self.display_page_controls = bool(getattr(self.active, "display_page_controls", False))
        return page

    def get_paginated_response(self, data: Any) -> Response:
        return self.active.get_paginated_response(data)

    def to_html(self) -> str:
        return self.active.to_html()

    def get_paginated_response_schema(self, schema: dict) -> dict:
        # The numbered page; registry.api.core.schema adds the feed page beside it (oneOf),
        # whose results may hold tombstones.
        return self.pages.get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            *self.pages.get_schema_operation_parameters(view),
            *self.cursor.get_schema_operation_parameters(view)[:1],
        ]
