"""Number and date formats of XLSX exports, for the reader's language.

Excel shows `#,##0.00` with the viewer's own separators (1.234,50 in German); dates get the
order and separators of the request's language, since Excel has no locale-neutral code for
them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language

DATE_FORMATS = {"de": "DD.MM.YYYY", "en": "YYYY-MM-DD"}
DATETIME_FORMATS = {"de": "DD.MM.YYYY HH:MM", "en": "YYYY-MM-DD HH:MM"}
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0"


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def cell_format(value: Any, *, kind: str | None = None) -> str | None:
    """The number format for a cell: by the column's kind (money, percent) or the value."""
    language = _language()
    if kind == "money":
        return MONEY_FORMAT
    if kind == "percent":
        return PERCENT_FORMAT
    if isinstance(value, datetime.datetime):
        return DATETIME_FORMATS.get(language, DATETIME_FORMATS["en"])
    if isinstance(value, datetime.date):
        return DATE_FORMATS.get(language, DATE_FORMATS["en"])
    return None


def format_cells(rows: Iterable[Iterable[Any]], kinds: dict[int, str] | None = None) -> None:
    """Set the number format of openpyxl cells; `kinds` maps column index (1-based) to a kind."""
    kinds = kinds or {}
    for row in rows:
        for cell in row:
            number_format = cell_format(cell.value, kind=kinds.get(cell.column))
            if number_format and cell.value not in (None, ""):
                cell.number_format = number_format
