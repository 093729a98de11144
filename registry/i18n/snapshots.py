"""A review decision's frozen snapshot, as a reader of any language sees it.

The snapshot is stored with stable English codes (stage, kind, levels) so it never changes;
these helpers turn it into labelled rows in the active language, with dates and amounts
formatted for the locale.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.choices import AlignmentLevel, Kind, RiskTier, Stage

SNAPSHOT_LABELS: dict[str, Promise] = {
    "key": gettext_lazy("key"),
    "name": gettext_lazy("name"),
    "stage": gettext_lazy("stage"),
    "paused_from": gettext_lazy("paused from"),
    "kind": gettext_lazy("kind"),
    "alignment_level": gettext_lazy("alignment level"),
    "alignment_strength": gettext_lazy("strength"),
    "primary_goal": gettext_lazy("primary goal"),
    "goal_progress": gettext_lazy("progress"),
    "lead_department": gettext_lazy("lead department"),
    "budget_planned": gettext_lazy("planned budget"),
    "budget_spent": gettext_lazy("budget spent"),
    "currency": gettext_lazy("currency"),
    "owner": gettext_lazy("owner"),
    "risk_tier": gettext_lazy("risk tier"),
    "is_silo": gettext_lazy("silo"),
    "applied_move": gettext_lazy("stage move"),
    "taken_at": gettext_lazy("taken at"),
}
CHOICE_VALUES: dict[str, Any] = {
    "stage": Stage,
    "paused_from": Stage,
    "kind": Kind,
    "alignment_level": AlignmentLevel,
    "risk_tier": RiskTier,
}
HIDDEN_WHEN_EMPTY = frozenset({"paused_from"})


def _label_of(choices: Any, code: Any) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


def _number(value: Any, decimal_pos: int | None = None) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return formats.number_format(
        number, decimal_pos=decimal_pos, use_l10n=True, force_grouping=True
    )


def _money(value: Any, currency: str) -> str:
    return f"{_number(value, 2)} {currency}".strip()


def _moment(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if isinstance(moment, datetime.datetime):
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    return str(value)


def _progress(progress: dict[str, Any]) -> str:
    pct = progress.get("progress_pct")
    text = f"{progress.get('goal', '')}: " + (
        f"{_number(pct, 1)} %" if pct is not None else _("no measurement yet")
    )
    if progress.get("current") is not None:
        observed = parse_date(progress.get("observed_on") or "")
        text += " " + (
            _("(current %(value)s on %(date)s)")
            % {
                "value": _number(progress["current"]),
                "date": formats.date_format(observed, "SHORT_DATE_FORMAT") if observed else "—",
            }
        )
    return text


def snapshot_rows(snapshot: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) pairs of a snapshot in a fixed order, in the active language."""
    if not snapshot:
        return []
    currency = snapshot.get("currency") or ""
    rows = []
    for key, label in SNAPSHOT_LABELS.items():
        if key not in snapshot:
            continue
        value = snapshot[key]
        if key in HIDDEN_WHEN_EMPTY and not value:
            continue
        if value is None or value == "":
            shown = "—"
        elif key in CHOICE_VALUES:
            shown = _label_of(CHOICE_VALUES[key], value)
        elif key in ("budget_planned", "budget_spent"):
            shown = _money(value, currency)
        elif key == "owner":
            shown = f"{value.get('name', '')} ({value.get('email', '')})"
        elif key == "goal_progress":
            shown = _progress(value)
        elif key == "is_silo":
            shown = _("yes") if value else _("no")
        elif key == "applied_move":
            shown = " → ".join(
                _label_of(Stage, value.get(end)) for end in ("from", "to") if value.get(end)
            )
        elif key == "taken_at":
            shown = _moment(value)
        else:
            shown = str(value)
        rows.append((str(label), shown))
    # Keys a later version of the snapshot may add are still shown, as they are.
    rows.extend((key, str(value)) for key, value in snapshot.items() if key not in SNAPSHOT_LABELS)
    return rows
