"""The one rule for text the registry writes into a spreadsheet cell, CSV or XLSX.

Spreadsheet programs run a cell as a formula when its text starts with `=`, `+`, `-` or
`@`, and some also after a leading tab or carriage return (OWASP, "CSV injection"). Every
text cell the product writes — list and report CSVs, the registry's own export, review
exports including their About sheet — goes through `escape_formula`, which puts an
apostrophe before such text; the registry's import mapping takes it off again with
`unescape_formula`, so an export reads back to the same state. A plain number (`-12.5`,
`+3`) stays as it is: it runs nothing and must stay a number.

Text that already starts with an apostrophe followed by such a character gets one more
apostrophe, so the import's unescaping gives back exactly the text that was written.

XLSX cells additionally lose the control characters the file format cannot hold
(openpyxl refuses them), and are typed as text where the writer sets types.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Characters a spreadsheet may treat as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could read `text` (or, behind apostrophes, what the import
    makes of it) as a formula."""
    rest = text.lstrip(QUOTE)
    if not rest.startswith(FORMULA_STARTS):
        return False
    if rest != text:  # apostrophes the import would take off, then a formula's start
        return True
    return NUMBER.fullmatch(text) is None


def escape_formula(text: str) -> str:
    """`text` as a cell that no spreadsheet runs; `unescape_formula` is its inverse."""
    if _runs_as_formula(text):
        return QUOTE + text
    return text


def unescape_formula(text: str) -> str:
    """The inverse of `escape_formula`, for the import."""
    if text.startswith(QUOTE) and _runs_as_formula(text[1:]):
        return text[1:]
    return text


def xlsx_text(value: Any) -> str:
    """A text value for an XLSX cell: escaped, without characters XLSX cannot hold."""
    return escape_formula(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
