"""Quarters as the review writes them (`2026-Q4`): parsing and their first and last days."""

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
