"""The active vision's report figures, kept current by the database on every write.

The portfolio report and the alignment matrix aggregate the whole live portfolio. Computed
from the initiatives, that is a pass over every initiative and alignment: seconds at a
million initiatives. Instead, triggers keep three tables (migration 0009) current:

- `InitiativeRollup`: per initiative, what it last contributed — the report columns, its
  quarter of start and end, and its alignment to the active vision (strongest strength,
  primary goal, the goals it serves). It is also where the list API reads alignment level
  and primary goal from (`InitiativeQuerySet.with_alignment_level`).
- `PortfolioRollup`: per breakdown cell (dimension, code) and slice (confidential, open,
  aligned, start and end quarter), the number of initiatives and their budgets — as
  *deltas*: a change appends −old and +new rows instead of updating a shared counter row,
  so concurrent writers never wait for each other or deadlock on a hot row. Reads sum them;
  `compact()` (the worker, every minute) folds them into one row per cell.
- `AlignmentRollup`: the same for the alignment matrix, per (goal, lead department,
  strength) over open initiatives.

`registry_rollup_refresh(ids)` is the one rule: it recomputes the initiatives' contributions
from their current rows (`registry_rollup_state`), and appends the difference. Statement
triggers on initiatives, alignments and goals call it with the rows they touched (a sync
batch is one call); a change of which vision is active rebuilds everything
(`registry_rollup_rebuild`). Refreshes lock the initiatives' rollup rows first, so two
transactions changing one initiative serialise and neither appends a stale difference.

A quarter is stored as year × 4 + quarter − 1, so "active in 2026-Q4" (dates overlapping the
quarter) is `start_quarter <= q AND end_quarter >= q`, open ends counting as open, exactly as
`InitiativeQuerySet.active_in`.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from registry.quarters import quarter_number

# --- maintenance ------------------------------------------------------------------------------


def rebuild(using: BaseDatabaseWrapper = connection) -> None:
    """Recompute every rollup from the initiatives (after a load with triggers off)."""
    with using.cursor() as cursor:
        cursor.execute("SELECT registry_rollup_rebuild()")


def compact() -> int:
    """Fold the appended deltas into one row per cell; returns the rows left.

    Safe beside writers (their new deltas are not in this statement's snapshot, so they stay)
    and beside readers (they see the deltas or the folded rows, never both).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT registry_rollup_compact()")
        return cursor.fetchone()[0]


def delta_rows() -> int:
    """Rows in both rollups (a measure of how much `compact()` has to fold)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM registry_portfoliorollup)"
            " + (SELECT count(*) FROM registry_alignmentrollup)"
        )
        return cursor.fetchone()[0]


# --- reading ----------------------------------------------------------------------------------


def _in_quarter(quarter: int | None) -> str:
    """Rows active in the quarter; the quarter is an int of our own, so it is inlined."""
    if quarter is None:
        return "TRUE"
    return (
        f"(r.start_quarter IS NULL OR r.start_quarter <= {int(quarter)}) AND "
        f"(r.end_quarter IS NULL OR r.end_quarter >= {int(quarter)})"
    )


def _slices(
    *,
    rollup_sql: str,
    own_sql: str,
    quarter: int | None,
    everything: bool,
    visible_sql: str | None,
) -> str:
    """The rollup rows the viewer may count. The PMO counts confidential work from the rollup
    too; anyone else only the public slices, plus the confidential initiatives they may see
    (`visible_sql`: their team's), computed from those initiatives' own rollup rows.
    """
    rows = f"SELECT * FROM ({rollup_sql}) r WHERE {_in_quarter(quarter)}"
    if everything:
        return rows
    rows += " AND NOT r.confidential"
    if visible_sql is None:
        return rows
    return f"""{rows}
        UNION ALL
        SELECT * FROM ({own_sql}) r
        WHERE r.confidential AND r.initiative_id IN ({visible_sql}) AND {_in_quarter(quarter)}
    """


_PORTFOLIO_COLUMNS = (
    "dimension, code, confidential, open, aligned, start_quarter, end_quarter, "
    "initiatives, budget_planned, budget_spent"
)
_ALIGNMENT_COLUMNS = (
    "goal_id, lead_department_id, strength, confidential, start_quarter, end_quarter, "
    "initiatives, budget_planned"
)


DIMENSIONS = frozenset(
    {
        "stage",
        "kind",
        "lead_department",
        "primary_goal",
        "alignment_level",
        "risk_tier",
        "interaction_mode",
        "currency",
        "total",
    }
)


def portfolio_cells(
    *,
    everything: bool,
    visible: tuple[str, list[Any]] | None,
    period: str | None,
    dimension: str | None = None,
) -> list[dict[str, Any]]:
    """Sums per (dimension, code, open, aligned) over the live portfolio the viewer may see.

    `everything`: the viewer sees confidential work (the PMO). Otherwise `visible` is the
    compiled SQL of the confidential initiatives they may see anyway, or None. `dimension`
    limits the answer to one breakdown.
    """
    if dimension is not None and dimension not in DIMENSIONS:
        raise ValueError(dimension)
    only = f"WHERE dimension = '{dimension}'" if dimension else ""
    visible_sql, params = visible if visible else (None, [])
    source = _slices(
        rollup_sql=f"SELECT {_PORTFOLIO_COLUMNS}, NULL::bigint AS initiative_id "
        "FROM registry_portfoliorollup",
        own_sql="SELECT c.*, s.initiative_id FROM registry_initiativerollup s "
        "CROSS JOIN LATERAL registry_rollup_cells(s) c WHERE s.live",
        quarter=quarter_number(period) if period else None,
        everything=everything,
        visible_sql=visible_sql,
    )
    return _fetch(
        f"""
        SELECT dimension, code, open, aligned, sum(initiatives)::bigint AS initiatives,
               sum(budget_planned) AS budget_planned, sum(budget_spent) AS budget_spent
        FROM ({source}) x {only}
        GROUP BY dimension, code, open, aligned
        HAVING sum(initiatives) > 0
        """,
        params,
    )


def alignment_cells(
    *, everything: bool, visible: tuple[str, list[Any]] | None, period: str | None
) -> list[dict[str, Any]]:
    """Sums per (goal, lead department, strength) over the open initiatives the viewer sees."""
    visible_sql, params = visible if visible else (None, [])
    source = _slices(
        rollup_sql=f"SELECT {_ALIGNMENT_COLUMNS}, NULL::bigint AS initiative_id "
        "FROM registry_alignmentrollup",
        own_sql="SELECT c.*, s.initiative_id FROM registry_initiativerollup s "
        "CROSS JOIN LATERAL registry_rollup_alignment_cells(s) c WHERE s.live AND s.open",
        quarter=quarter_number(period) if period else None,
        everything=everything,
        visible_sql=visible_sql,
    )
    return _fetch(
        f"""
        SELECT goal_id, lead_department_id, strength, sum(initiatives)::bigint AS initiatives,
               sum(budget_planned) AS budget_planned
        FROM ({source}) x
        GROUP BY goal_id, lead_department_id, strength
        HAVING sum(initiatives) > 0
        """,
        params,
    )


def _fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
