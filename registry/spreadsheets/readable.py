"""The initiative list as a workbook for the board: labels in the reader's language, one
column per goal, frozen header, autofilter, widths that fit.

The re-importable layout (`registry.spreadsheets.exports`) keeps vocabulary codes and the
alignments as JSON so the importer can read it back; opened in Excel it showed
`customer-service`, a JSON column and a header that scrolled away. This workbook is for
reading and filtering: every code becomes its label, each goal an alignment is made to gets
its own column ("Strong · primary"), dates and times are local, in the reader's format
(`registry.spreadsheets.xlsx_locale`). It is never imported back; the CSV is.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.choices import ALIGNMENT_LEVEL_BY_STRENGTH, AlignmentLevel
from registry.i18n.labels import label_of
from registry.models import Initiative
from registry.services import lifecycle
from registry.spreadsheets.cells import xlsx_text
from registry.spreadsheets.xlsx_locale import cell_format

MIN_WIDTH, MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Column:
    header: Any
    value: Callable[[Initiative], Any]
    kind: str | None = None  # "money" for amounts


def _field(name: str) -> Callable[[Initiative], Any]:
    return lambda initiative: getattr(initiative, name)


def _label(vocabulary: str, name: str) -> Callable[[Initiative], str]:
    return lambda initiative: label_of(vocabulary, getattr(initiative, name))


def _labels(vocabulary: str, name: str) -> Callable[[Initiative], str]:
    return lambda initiative: ", ".join(
        label_of(vocabulary, code) for code in getattr(initiative, name) or []
    )


def _names(relation: str) -> Callable[[Initiative], str]:
    return lambda initiative: ", ".join(
        sorted(str(obj) for obj in getattr(initiative, relation).all())
    )


def _yes_no(name: str) -> Callable[[Initiative], str]:
    return lambda initiative: _("Yes") if getattr(initiative, name) else _("No")


def _local(value: datetime.datetime | None) -> datetime.datetime | None:
    """A stored time in the registry's time zone, without the offset Excel cannot hold."""
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _gate_gaps(initiative: Initiative) -> str:
    gaps = lifecycle.gate_gaps(
        initiative, has_primary_alignment=getattr(initiative, "primary_goal_id", None) is not None
    )
    return ", ".join(label_of("gate", gap) for gap in gaps)


def _alignment_level(initiative: Initiative) -> str:
    return label_of("alignment_level", getattr(initiative, "alignment_level", None) or "none")


COLUMNS: tuple[Column, ...] = (
    Column(gettext_lazy("Key"), _field("key")),
    Column(gettext_lazy("Name"), _field("name")),
    Column(gettext_lazy("Kind"), _label("kind", "kind")),
    Column(gettext_lazy("Stage"), _label("stage", "stage")),
    Column(gettext_lazy("Alignment level"), _alignment_level),
    Column(gettext_lazy("Primary goal"), lambda i: getattr(i, "primary_goal_code", None) or ""),
    Column(gettext_lazy("Owner"), lambda i: i.owner.name if i.owner else ""),
    Column(gettext_lazy("Lead department"), lambda i: str(i.lead_department or "")),
    Column(gettext_lazy("Participating departments"), _names("departments")),
    Column(gettext_lazy("Systems"), _names("systems")),
    Column(gettext_lazy("Tags"), _names("tags")),
    Column(gettext_lazy("Touchpoints"), _labels("touchpoint", "touchpoints")),
    Column(gettext_lazy("Journey stages"), _labels("journey_stage", "journey_stages")),
    Column(gettext_lazy("Interaction mode"), _label("interaction_mode", "interaction_mode")),
    Column(gettext_lazy("Autonomy"), _label("autonomy", "autonomy")),
    Column(gettext_lazy("Risk tier"), _label("risk_tier", "risk_tier")),
    Column(gettext_lazy("Customer-facing"), _yes_no("customer_facing")),
    Column(gettext_lazy("Uses personal data"), _yes_no("uses_personal_data")),
    Column(gettext_lazy("Confidential"), _yes_no("confidential")),
    Column(gettext_lazy("Budget planned"), _field("budget_planned"), "money"),
    Column(gettext_lazy("Budget spent"), _field("budget_spent"), "money"),
    Column(gettext_lazy("Currency"), _field("currency")),
    Column(gettext_lazy("Start date"), _field("start_date")),
    Column(gettext_lazy("Target date"), _field("target_date")),
    Column(gettext_lazy("End date"), _field("end_date")),
    Column(gettext_lazy("Summary"), _field("summary")),
    Column(gettext_lazy("Hypothesis"), _field("hypothesis")),
    Column(gettext_lazy("Success criteria"), _field("success_criteria")),
    Column(gettext_lazy("Learnings"), _field("learnings")),
    Column(gettext_lazy("Missing gate evidence"), _gate_gaps),
    Column(gettext_lazy("Source"), _field("source")),
    Column(gettext_lazy("External ID"), _field("external_id")),
    Column(gettext_lazy("Updated at"), lambda i: _local(i.updated_at)),
)
# The goal columns go after these many fixed columns (after "Primary goal").
GOALS_AFTER = 6


def alignment_text(strength: int, is_primary: bool) -> str:
    """`Strong · primary`, `Weak`: an alignment's level in the reader's language."""
    level = str(AlignmentLevel(ALIGNMENT_LEVEL_BY_STRENGTH[strength]).label)
    primary = _("primary")  # outside the f-string, so makemessages sees it
    return f"{level} · {primary}" if is_primary else level


def goal_columns(initiatives: list[Initiative]) -> list[Column]:
    """One column per goal any exported initiative is aligned to, by code."""
    goals = {a.goal.code: a.goal for i in initiatives for a in i.alignments.all()}

    def cell(code: str) -> Callable[[Initiative], str]:
        def value(initiative: Initiative) -> str:
            for alignment in initiative.alignments.all():
                if alignment.goal.code == code:
                    return alignment_text(alignment.strength, alignment.is_primary)
            return ""

        return value

    return [Column(f"{code} · {goals[code].title}", cell(code)) for code in sorted(goals)]


def _width(values: Iterable[Any]) -> int:
    longest = max((len(str(v)) for v in values if v not in (None, "")), default=0)
    return max(MIN_WIDTH, min(MAX_WIDTH, longest + 2))


def readable_xlsx(initiatives: Iterable[Initiative]) -> bytes:
    """The workbook; `initiatives` as `exports.export_queryset` prepares them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = list(initiatives)
    columns = [*COLUMNS[:GOALS_AFTER], *goal_columns(rows), *COLUMNS[GOALS_AFTER:]]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Initiatives")[:31]
    sheet.append([str(column.header) for column in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for initiative in rows:
        values = []
        for column in columns:
            value = column.value(initiative)
            if isinstance(value, str):
                value = xlsx_text(value)
            values.append(value)
        sheet.append(values)
        for index, cell in enumerate(sheet[sheet.max_row], start=1):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
            number_format = cell_format(cell.value, kind=columns[index - 1].kind)
            if number_format and cell.value not in (None, ""):
                cell.number_format = number_format
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        # The widest of the header and the first rows (reading cells never creates new ones).
        sample = sheet.iter_rows(
            min_row=2, max_row=min(sheet.max_row, 60), min_col=index, max_col=index
        )
        values = [column.header, *(row[0].value for row in sample)]
        shown = [
            v.strftime("%d.%m.%Y %H:%M") if isinstance(v, datetime.datetime) else v for v in values
        ]
        sheet.column_dimensions[letter].width = _width(
            f"{v:,.2f}" if isinstance(v, Decimal | float) else v for v in shown
        )
    sheet.freeze_panes = "C2"  # the header and the key and name stay in view
    sheet.auto_filter.ref = sheet.dimensions
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = ["COLUMNS", "alignment_text", "goal_columns", "readable_xlsx"]
