"""Quarters as the review writes them (`2026-Q4`): parsing, their first and last days, the
quarter of a day, the quarters of a span, and the number the report rollups store."""

from __future__ import annotations

import datetime
import re

from django.utils.translation import gettext_lazy as _

QUARTER_PATTERN = re.compile(r"(?P<year>\d{4})-Q(?P<quarter>[1-4])")


# The same rule for the database: PostgreSQL regexes have no named groups.
QUARTER_SQL_PATTERN = r"^[0-9]{4}-Q[1-4]$"


def quarter_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of a quarter written as `2026-Q4`; ValueError when malformed."""
    match = QUARTER_PATTERN.fullmatch(period or "")
    if not match:
        raise ValueError(_("'%(period)s' is not a quarter like 2026-Q4.") % {"period": period})
    year, quarter = int(match["year"]), int(match["quarter"])
    start = datetime.date(year, 3 * quarter - 2, 1)
    end_month_start = datetime.date(
        year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1
    )
    return start, end_month_start - datetime.timedelta(days=1)


def quarter_of(day: datetime.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarters_between(start: datetime.date, end: datetime.date) -> list[str]:
    """Every quarter from the one holding `start` to the one holding `end`."""
    quarters = []
    year, quarter = start.year, (start.month - 1) // 3 + 1
    while (year, quarter) <= (end.year, (end.month - 1) // 3 + 1):
        quarters.append(f"{year}-Q{quarter}")
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return quarters


def quarter_number(period: str) -> int:
    """`2026-Q4` as the rollups store quarters (year × 4 + quarter − 1)."""
    quarter_bounds(period)  # the ValueError with the message for a malformed period
    match = QUARTER_PATTERN.fullmatch(period)
    assert match is not None
    return int(match["year"]) * 4 + int(match["quarter"]) - 1
