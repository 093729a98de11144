"""How many rows a list holds: exact, unless the client asks for an estimate.

A list's `count` is exact, filtered or not (`ExactCountPaginator`): a figure that says 1,001
after a sync of 3,609 rows, or 3,142 for 3,055, is worse than none. What keeps it affordable
is counting the filtered set of primary keys and nothing else (`exact_count`): the page query
carries the derived values (scalar subqueries), the to-one joins of its columns and an
ordering, none of which changes how many rows match. Counted as `SELECT count(*) FROM …
WHERE <filters>`, without those joins (`_drop_unused_joins`), PostgreSQL answers from the
narrowest index that decides the filters — the unfiltered live portfolio from an index-only
scan of the partial live-key index (29 MB at a million initiatives, not the 1 GB table).
docs/PERFORMANCE.md has the figures.

An estimate is there for a client that asks for one (`?count=estimate` in the API:
`EstimatedCountPaginator`): exact up to `REGISTRY_EXACT_COUNT_LIMIT` matches (1,000 by
default), PostgreSQL's own row estimate beyond (EXPLAIN, no rows read), and always labelled
(`count_is_exact`). With an estimate, page numbers past it are still served (the last page
is found by an empty page, not by the estimate), and "is there a next page" is answered by
fetching one row more than the page holds, never from the estimate.

The admin's changelist shows two counts, the filtered result and the "N total" of
everything the user may see; `exact_counts` answers both in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql import Query
from django.db.models.sql.constants import LOUTER
from django.db.models.sql.datastructures import Join
from django.utils.functional import cached_property

DEFAULT_EXACT_COUNT_LIMIT = 1_000


def exact_count_limit() -> int:
    """Up to how many matches an estimated count is still exact."""
    return int(getattr(settings, "REGISTRY_EXACT_COUNT_LIMIT", DEFAULT_EXACT_COUNT_LIMIT))


def _keys(queryset: QuerySet) -> QuerySet:
    """The queryset's filtered primary keys: no ordering, no annotation or related object
    selected, and none of the joins only they needed (`_drop_unused_joins`).
    """
    keys = queryset.order_by().values("pk")
    _drop_unused_joins(keys.query, keys.db)
    return keys


def _joins_one_row(join: Join) -> bool:
    """A join that neither multiplies nor removes rows: to one row (a foreign key or a
    one-to-one, either way), outer or on a non-null key.
    """
    field = join.join_field
    to_one = getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False)
    return (
        to_one
        and join.filtered_relation is None
        and (join.join_type == LOUTER or not join.nullable)
    )


def _drop_unused_joins(query: Query, using: str) -> None:
    """Leave out of the FROM clause the to-one joins that only the page's columns and
    derived values used.

    The page query joins the owner, the lead department and the report rollup for what it
    shows; they do not change how many rows match. PostgreSQL removes such unused LEFT
    JOINs itself, but only after it has decided that the joined key columns are needed —
    which rules out an index-only scan: the unfiltered count of 100k initiatives read the
    whole table (84 ms) instead of the live-key index (15 ms). A join stays when the
    filters refer to it (in the compiled WHERE, subqueries' outer references included),
    when a kept join hangs from it, or when it can change the number of rows.
    """
    if query.group_by is not None or query.combinator:
        return
    compiler = query.get_compiler(using=using)
    try:
        where, _params = compiler.compile(query.where)
    except FullResultSet:
        where = ""
    except EmptyResultSet:
        return  # matches nothing; the count says 0 without reading a row
    needed = set()
    for alias, join in query.alias_map.items():
        if not isinstance(join, Join):
            needed.add(alias)  # the base table
        elif not _joins_one_row(join) or f"{compiler.quote_name_unless_alias(alias)}." in where:
            needed.add(alias)
    pending = list(needed)
    while pending:
        parent = getattr(query.alias_map[pending.pop()], "parent_alias", None)
        if parent is not None and parent not in needed:
            needed.add(parent)
            pending.append(parent)
    for alias in query.alias_map:
        if alias not in needed:
            query.alias_refcount[alias] = 0


def exact_count(queryset: QuerySet) -> int:
    """How many rows the queryset selects, counted over its filtered primary keys."""
    return _keys(queryset).count()


def exact_counts(querysets: Sequence[QuerySet]) -> list[int]:
    """Exact counts of several querysets of one database in one statement (a scalar
    subquery each; a queryset whose SQL repeats an earlier one's is counted once).
    """
    statements: list[tuple[str, tuple[Any, ...]]] = []
    slots: list[int | None] = []
    for queryset in querysets:
        try:
            sql, params = _keys(queryset).query.get_compiler(using=queryset.db).as_sql()
        except EmptyResultSet:
            slots.append(None)  # matches nothing (an empty IN list): 0, no SQL
            continue
        statement = (sql, tuple(params))
        if statement not in statements:
            statements.append(statement)
        slots.append(statements.index(statement))
    if not statements:
        return [0] * len(querysets)
    # Django's compiled SQL, whose values stay parameters: nothing from a request is pasted in.
    select = ", ".join(
        f"(SELECT count(*) FROM ({sql}) AS counted_{n})"  # noqa: S608 # nosec B608
        for n, (sql, _p) in enumerate(statements)
    )
    params = [param for _sql, statement_params in statements for param in statement_params]
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute(f"SELECT {select}", params)
        row = cursor.fetchone()
    return [0 if slot is None else int(row[slot]) for slot in slots]


def planner_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows the queryset returns (reads no rows)."""
    plan = _keys(queryset).explain(format="json")
    data = json.loads(plan) if isinstance(plan, str) else plan
    return int(data[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int) -> tuple[int, bool]:
    """(count, exact): the exact count up to `limit`, else the planner's estimate (at least
    `limit + 1`). One query, or two for large results.
    """
    seen = _keys(queryset)[: limit + 1].count()
    if seen <= limit:
        return seen, True
    return max(seen, planner_estimate(queryset)), False


class ExactCountPaginator(Paginator):
    """Django's paginator, counting the filtered primary keys (see the module docstring)."""

    count_is_exact = True

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        if isinstance(self.object_list, QuerySet):
            return exact_count(self.object_list)
        return len(self.object_list)


class EstimatedPage(Page):
    """A page that knows whether another follows from one extra row, not from the count."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


class EstimatedCountPaginator(ExactCountPaginator):
    """Exact up to the limit, the planner's estimate beyond — only where a client asked."""

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
