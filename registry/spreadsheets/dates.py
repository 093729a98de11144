"""Calendar dates as spreadsheets really write them.

A federal inventory of 3,611 rows lost 491 start dates because the cells carried a time part
(`01/15/2015 00:00:00`, `09/24/2024 12:00:00 AM`, `2024-09-24T00:00:00`), were written day
first with dots (`24.09.2024`) or arrived as Excel serial numbers (`45559`). This module reads
all of them. A date field holds no time: a midnight time is noise and dropped silently; any
other time is dropped too, but said (`ParsedDate.dropped_time`) so the report can list it.

Whether `05/06/2024` is the 6th of May or the 5th of June is decided once per file, from the
values that settle it (`09/24/2024` can only be month first, `24/09/2024` only day first):
`detect_order` looks at a whole column before any row is read, and says what it decided and
why. Dotted dates (`24.09.2024`) are always day first, as everywhere they are written.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MONTH_FIRST = "month_first"
DAY_FIRST = "day_first"
DATE_ORDERS = (MONTH_FIRST, DAY_FIRST)
# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in). Only numbers that fall
# between 1954 and 2119 are taken for serials: a bare 2024 is a year, not a day in 1905.
EXCEL_EPOCH = datetime.date(1899, 12, 30)
SERIAL_RANGE = (20000, 80000)
# Written-out formats tried after the numeric ones (and after a mapping's own `formats`).
TEXT_FORMATS: tuple[str, ...] = (
    *("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y"),
    *("%m/%Y", "%Y-%m", "%B %Y", "%b %Y", "%Y"),
)

_TIME = (
    r"(?:(?:[ T]+|\s*,\s*)(?P<time>(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,]\d+)?)?\s*(?P<half>[AaPp]\.?\s?[Mm]\.?)?)"
    r"\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?)?"
)
NUMERIC = re.compile(
    rf"^(?P<a>\d{{1,4}})(?P<sep>[/.\-])(?P<b>\d{{1,2}})(?P=sep)(?P<c>\d{{2,4}})\.?{_TIME}$"
)
SERIAL = re.compile(r"^(?P<days>\d{5})(?:\.(?P<fraction>\d+))?$")
TRAILING_TIME = re.compile(rf"^(?P<date>.+?){_TIME}$")


class DateError(ValueError):
    """The text is not a date in any form this module knows."""


@dataclass(frozen=True)
class ParsedDate:
    """A calendar day, and what of the cell a date field cannot keep."""

    value: datetime.date
    dropped_time: str = ""  # "15:30", when the cell had a time other than midnight
    serial: bool = False  # read as an Excel serial number
    ambiguous: bool = False  # day and month both ≤ 12: the file's order decided


@dataclass
class OrderDecision:
    """How one file writes its slash dates, and the rows that told us."""

    order: str
    month_first_rows: list[int] = field(default_factory=list)
    day_first_rows: list[int] = field(default_factory=list)
    ambiguous_rows: list[int] = field(default_factory=list)
    assumed: bool = False  # nothing in the file settles it: the mapping's default applies

    @property
    def conflict(self) -> bool:
        return bool(self.month_first_rows and self.day_first_rows)

    def explain(self) -> str:
        order = _("month first") if self.order == MONTH_FIRST else _("day first")
        if self.conflict:
            return _(
                "The file writes dates both month first (rows %(month)s) and day first (rows "
                "%(day)s); dates that fit both, such as 05/06/2024, are read %(order)s."
            ) % {
                "month": _first(self.month_first_rows),
                "day": _first(self.day_first_rows),
                "order": order,
            }
        if self.assumed:
            return _(
                "No date in the file shows whether day or month comes first; %(count)d dates "
                "that fit both (rows %(rows)s) are read %(order)s, the mapping's default."
            ) % {
                "count": len(self.ambiguous_rows),
                "rows": _first(self.ambiguous_rows),
                "order": order,
            }
        evidence = self.month_first_rows if self.order == MONTH_FIRST else self.day_first_rows
        return _(
            "Dates are read %(order)s: rows %(rows)s can only be read that way, so %(count)d "
            "dates that fit both orders are read so too."
        ) % {"order": order, "rows": _first(evidence), "count": len(self.ambiguous_rows)}


def _first(rows: Sequence[int], limit: int = 5) -> str:
    shown = ", ".join(str(row) for row in rows[:limit])
    return shown + (" …" if len(rows) > limit else "")


def _numeric_parts(text: str) -> re.Match[str] | None:
    return NUMERIC.match(" ".join(text.split()))


def slash_order(text: str) -> str | None:
    """Which order a single slash or dash date forces: MONTH_FIRST, DAY_FIRST, '' (either)."""
    match = _numeric_parts(text)
    if not match or len(match["a"]) == 4 or match["sep"] == ".":
        return None
    first, second = int(match["a"]), int(match["b"])
    if first > 12 >= second:
        return DAY_FIRST
    if second > 12 >= first:
        return MONTH_FIRST
    if first <= 12 and second <= 12 and first != second:
        return ""
    return None


def detect_order(cells: Iterable[tuple[int, str]], *, default: str = MONTH_FIRST) -> OrderDecision:
    """Decide a file's day/month order from (row, text) cells of its date columns."""
    month_first: list[int] = []
    day_first: list[int] = []
    ambiguous: list[int] = []
    for row, text in cells:
        forced = slash_order(text)
        if forced == MONTH_FIRST:
            month_first.append(row)
        elif forced == DAY_FIRST:
            day_first.append(row)
        elif forced == "":
            ambiguous.append(row)
    if len(day_first) > len(month_first):
        order = DAY_FIRST
    elif month_first:
        order = MONTH_FIRST
    else:
        order = default
    return OrderDecision(
        order=order,
        month_first_rows=month_first,
        day_first_rows=day_first,
        ambiguous_rows=ambiguous,
        assumed=not (month_first or day_first),
    )


def _clock(match: re.Match[str]) -> str:
    """The time of day as HH:MM, or '' for midnight."""
    if not match["time"]:
        return ""
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    half = (match["half"] or "").replace(".", "").replace(" ", "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise DateError(match["time"])
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise DateError(match["time"])
    if (hour, minute, second) == (0, 0, 0):
        return ""
    return f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if second else "")


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        return year + (1900 if year >= 69 else 2000)  # as strptime's %y
    return year


def _from_numeric(match: re.Match[str], order: str) -> ParsedDate:
    a, b, c = match["a"], match["b"], match["c"]
    ambiguous = False
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    else:
        year = _year(c)
        first, second = int(a), int(b)
        if match["sep"] == "." or first > 12:
            day, month = first, second
        elif second > 12:
            month, day = first, second
        else:
            ambiguous = first != second
            month, day = (first, second) if order == MONTH_FIRST else (second, first)
    try:
        value = datetime.date(year, month, day)
    except ValueError as error:
        raise DateError(match.string) from error
    return ParsedDate(value, dropped_time=_clock(match), ambiguous=ambiguous)


def _from_serial(match: re.Match[str]) -> ParsedDate | None:
    days = int(match["days"])
    if not SERIAL_RANGE[0] <= days <= SERIAL_RANGE[1]:
        return None
    dropped = ""
    if match["fraction"] and int(match["fraction"]):
        seconds = round(float(f"0.{match['fraction']}") * 86400)
        dropped = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    value = EXCEL_EPOCH + datetime.timedelta(days=days)
    return ParsedDate(value, dropped_time=dropped, serial=True)


def _strptime(text: str, formats: Sequence[str]) -> datetime.date | None:
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    return None


def parse(text: str, *, order: str = MONTH_FIRST, formats: Sequence[str] = ()) -> ParsedDate:
    """One cell as a calendar day; `formats` (a mapping's own strptime formats) are tried first.

    Raises DateError when nothing fits.
    """
    text = " ".join(str(text).split())
    if not text:
        raise DateError(text)
    timed = TRAILING_TIME.match(text)
    bare, dropped = text, ""
    if timed and timed["time"]:
        bare, dropped = timed["date"].strip().rstrip(","), _clock(timed)
    if formats:
        found = _strptime(bare, formats)
        if found:
            return ParsedDate(found, dropped_time=dropped)
    numeric = _numeric_parts(text)
    if numeric:
        return _from_numeric(numeric, order)
    serial = SERIAL.match(text)
    if serial:
        parsed = _from_serial(serial)
        if parsed:
            return parsed
    found = _strptime(bare, TEXT_FORMATS)
    if found:
        return ParsedDate(found, dropped_time=dropped)
    raise DateError(text)
