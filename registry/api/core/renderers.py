"""CSV for people who paste the portfolio into slides: `?format=csv` or `Accept: text/csv`.

Every cell goes through the one escaping rule of `registry.spreadsheets.cells`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

from registry.spreadsheets.cells import escape_formula

LIST_SEPARATOR = "; "


def _text(value: Any) -> str:
    """A JSON value flattened into one cell's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return _text(next(iter(value.values()), "")) if value else ""
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_text(item) for item in value)
    return str(value)


def _cell(value: Any) -> str:
    """One spreadsheet cell: the flattened text, never a formula."""
    return escape_formula(_text(value))


class CSVRenderer(BaseRenderer):
    """Renders a list of flat objects; the view names the columns (`csv_columns`)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        view = (renderer_context or {}).get("view")
        rows: Iterable[Mapping[str, Any]]
        if isinstance(data, Mapping) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data] if isinstance(data, Mapping) else []
        rows = list(rows)
        columns = list(getattr(view, "csv_columns", None) or (rows[0].keys() if rows else []))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
        # A BOM so that spreadsheet programs read the file as UTF-8.
        return ("\ufeff" + buffer.getvalue()).encode(self.charset)
