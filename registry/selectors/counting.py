"""Counts that cost the same however large the portfolio grows.

A numbered page shows how many rows match. Counting them exactly reads every match, so a
page of 50 out of a million would cost a scan of the million. `EstimatedCountPaginator`
counts exactly up to `REGISTRY_EXACT_COUNT_LIMIT` rows (1,000 by default: bounded work),
and beyond that answers PostgreSQL's own estimate of the row count (EXPLAIN, no rows read):
"about 48,000" is as useful as the exact figure on a list nobody pages to the end of (20
pages of 50 are counted exactly), and small results — the ones people read to the last row
— stay exact. A filtered count checks its filter per row (semi-joins for goal or alignment),
so the limit bounds that work too.

When the count is an estimate, page numbers past it are still served (the last page is
found by an empty page, not by the estimate), and "is there a next page" is answered by
fetching one row more than the page holds, never from the estimate.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

DEFAULT_EXACT_COUNT_LIMIT = 1_000


def exact_count_limit() -> int:
    return int(getattr(settings, "REGISTRY_EXACT_COUNT_LIMIT", DEFAULT_EXACT_COUNT_LIMIT))


def planner_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows the queryset returns (reads no rows)."""
    plan = queryset.order_by().values("pk").explain(format="json")
    data = json.loads(plan) if isinstance(plan, str) else plan
    return int(data[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int) -> tuple[int, bool]:
    """(count, exact): the exact count up to `limit`, else the planner's estimate (at least
    `limit + 1`). One query, or two for large results.
    """
    seen = queryset.order_by().values("pk")[: limit + 1].count()
    if seen <= limit:
        return seen, True
    return max(seen, planner_estimate(queryset)), False


class EstimatedPage(Page):
    """A page that knows whether another follows from one extra row, not from the count."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class EstimatedCountPaginator(Paginator):
    """Django's paginator with bounded counting (see the module docstring)."""

    count_is_exact = True

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        total, self.count_is_exact = bounded_count(object_list, exact_count_limit())
        return total

    def validate_number(self, number: Any) -> int:
        if self.count and not self.count_is_exact:
            try:
                value = int(number)
            except (TypeError, ValueError):
                return super().validate_number(number)
            if value < 1:
                return super().validate_number(number)
            return value  # past the estimate is allowed; an empty page ends the list
        return super().validate_number(number)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if self.count_is_exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return EstimatedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)
