"""The registry's own spreadsheet layout: export the portfolio as CSV or XLSX, import it back.

An export is a round trip: importing it (`manage.py import_initiatives FILE --mapping
registry-export`, or the admin's import page) gives the same initiatives — into the same
registry nothing changes (every row "unchanged"); into an empty one, the initiatives come back
field by field with their keys, owners, departments, systems, tags, alignments and stages.

Rows are addressed by the registry's key (AI-0042), not by a tool's (source, external id):
an export holds initiatives of every source, and those the PMO registered by hand have no
external id at all. `sync_by_key` is that key-addressed variant of
`registry.sync.upsert.sync_batch`,
built from the same planning and set-based writing steps, so an imported row obeys the rules
of a synced one (natural keys, lifecycle gates on a stage change, gate gaps on create). A row
whose key the registry does not have creates the initiative under that key (the key sequence
moves past it); its source and external id are taken as they are, and never changed on an
existing initiative through an import.

A blank cell leaves a field as it is (the importer's rule), so lists and texts are exported
blank when empty. Cells that spreadsheet programs would run as formulas (text starting with
=, +, -, @, a tab or a carriage return) get a leading apostrophe in CSV and XLSX alike
(`registry.spreadsheets.cells`), which the layout's mapping removes again; in XLSX every text
cell is typed as text too.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.choices import Channel
from registry.models import INITIATIVE_KEY_SEQUENCE, Alignment, Initiative, InitiativeQuerySet
from registry.permissions import Actor
from registry.services import lifecycle
from registry.services.history import history_context
from registry.spreadsheets.cells import escape_formula, xlsx_text
from registry.spreadsheets.cells import unescape_formula as unescape_formula  # for the import
from registry.sync import upsert as sync

MAPPING_NAME = "registry-export"
DEFAULT_SOURCE = "registry-export"
LIST_SEPARATOR = "; "
KEY_PATTERN = re.compile(r"AI-(\d+)")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The sync identity of an initiative: set when a row creates it, never changed by an import.
IDENTITY_FIELDS = ("source", "external_id")


# --- export -----------------------------------------------------------------------------------


def export_queryset(queryset: QuerySet[Initiative]) -> InitiativeQuerySet:
    """Everything the layout reads, in a constant number of queries, ordered by key."""
    return (
        queryset.with_alignment_level()  # type: ignore[attr-defined]
        .with_primary_goal()
        .select_related("owner", "lead_department")
        .prefetch_related(
            "departments",
            "systems",
            "tags",
            Prefetch(
                "alignments",
                queryset=Alignment.objects.select_related("goal").order_by(
                    "-is_primary", "-strength", "goal__code"
                ),
            ),
        )
        .order_by("key")
    )


def _slugs(objects: Iterable[Any], attribute: str = "slug") -> list[str]:
    return sorted(getattr(obj, attribute) for obj in objects)


def alignments_cell(initiative: Initiative) -> str:
    """The alignments as JSON: goal code, strength, primary, expected impact, rationale."""
    entries = [
        {
            "goal": a.goal.code,
            "strength": a.strength,
            "is_primary": a.is_primary,
            "expected_impact": None if a.expected_impact is None else str(a.expected_impact),
            "rationale": a.rationale,
        }
        for a in sorted(
            initiative.alignments.all(), key=lambda a: (not a.is_primary, -a.strength, a.goal.code)
        )
    ]
    return json.dumps(entries, ensure_ascii=False) if entries else ""


@dataclass(frozen=True)
class Column:
    """One column of the layout; `imported` columns are read back by the mapping."""

    name: str
    value: Callable[[Initiative], Any]
    imported: bool = True


def _field(name: str) -> Callable[[Initiative], Any]:
    return lambda initiative: getattr(initiative, name)


COLUMNS: tuple[Column, ...] = (
    Column("key", _field("key")),
    Column("name", _field("name")),
    Column("kind", _field("kind")),
    Column("stage", _field("stage")),
    Column("summary", _field("summary")),
    Column("owner_email", lambda i: i.owner.email if i.owner else None),
    Column("owner_name", lambda i: i.owner.name if i.owner else None),
    Column("lead_department", lambda i: i.lead_department.slug if i.lead_department else None),
    Column("departments", lambda i: _slugs(i.departments.all())),
    Column("systems", lambda i: _slugs(i.systems.all())),
    Column("tags", lambda i: _slugs(i.tags.all())),
    Column("alignments", alignments_cell),
    Column("touchpoints", _field("touchpoints")),
    Column("journey_stages", _field("journey_stages")),
    Column("interaction_mode", _field("interaction_mode")),
    Column("customer_segments", _field("customer_segments")),
    Column("customer_facing", _field("customer_facing")),
    Column("autonomy", _field("autonomy")),
    Column("risk_tier", _field("risk_tier")),
    Column("uses_personal_data", _field("uses_personal_data")),
    Column("confidential", _field("confidential")),
    Column("budget_planned", _field("budget_planned")),
    Column("budget_spent", _field("budget_spent")),
    Column("currency", _field("currency")),
    Column("start_date", _field("start_date")),
    Column("target_date", _field("target_date")),
    Column("end_date", _field("end_date")),
    Column("hypothesis", _field("hypothesis")),
    Column("success_criteria", _field("success_criteria")),
    Column("expected_benefit", _field("expected_benefit")),
    Column("learnings", _field("learnings")),
    Column("source", _field("source")),
    Column("external_id", _field("external_id")),
    Column("external_url", _field("external_url")),
    # For readers; the import leaves these to the registry.
    Column("alignment_level", lambda i: getattr(i, "alignment_level", None), imported=False),
    Column("primary_goal", lambda i: getattr(i, "primary_goal_code", None), imported=False),
    Column(
        "gate_gaps",
        lambda i: lifecycle.gate_gaps(
            i, has_primary_alignment=getattr(i, "primary_goal_id", None) is not None
        ),
        imported=False,
    ),
    Column("version", _field("version"), imported=False),
    Column("updated_at", _field("updated_at"), imported=False),
)
HEADERS: tuple[str, ...] = tuple(column.name for column in COLUMNS)
# Column widths of the XLSX (characters) where the header's length would be too narrow.
XLSX_WIDTHS: dict[str, int] = {
    "name": 36,
    "summary": 48,
    "owner_email": 28,
    "owner_name": 22,
    "alignments": 48,
    "hypothesis": 48,
    "success_criteria": 40,
    "expected_benefit": 36,
    "learnings": 40,
    "external_url": 36,
    "updated_at": 26,
}


def cell_text(value: Any) -> str:
    """A value as the importer reads it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)


def export_csv(initiatives: Iterable[Initiative]) -> bytes:
    """UTF-8 with a BOM (so spreadsheet programs read it as such), one row per initiative."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for initiative in initiatives:
        writer.writerow([escape_formula(cell_text(column.value(initiative))) for column in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(initiatives: Iterable[Initiative]) -> bytes:
    """One sheet; amounts as numbers, dates as dates, booleans as booleans, the rest as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="initiatives")
    # Set before the first row: a write-only sheet writes its views and columns with it.
    sheet.freeze_panes = "C2"  # the header, key and name stay in view
    for index, name in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = XLSX_WIDTHS.get(
            name, max(12, len(name) + 3)
        )
    sheet.append(list(HEADERS))
    count = 0
    for initiative in initiatives:
        count += 1
        row = []
        for column in COLUMNS:
            value = column.value(initiative)
            if isinstance(value, datetime.datetime):
                value = cell_text(value)  # with its offset, as text: Excel has no time zones
            if isinstance(value, bool | Decimal | int | datetime.date) or value is None:
                row.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=xlsx_text(cell_text(value)))
            cell.data_type = "s"  # never a formula
            row.append(cell)
        sheet.append(row)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(extension: str, *, now: datetime.datetime | None = None) -> str:
    """`initiatives-20261208-0130.csv`: stamped in the registry's time zone, the time the
    pages show, not UTC."""
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M")
    return f"initiatives-{stamp}.{extension}"


# --- import by key ------------------------------------------------------------------------------


def canonical_key(value: Any) -> str | None:
    """`AI-0042` as the key sequence writes it, or None for anything else."""
    text = str(value or "").strip().upper()
    match = KEY_PATTERN.fullmatch(text)
    if not match or int(match.group(1)) < 1:
        return None
    number = int(match.group(1))
    return f"AI-{number:04d}" if text == f"AI-{number:04d}" else None


def _identity(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    source = item.get("source")
    external_id = item.get("external_id")
    return (
        None if source is None else str(source).strip(),
        None if external_id in (None, "") else str(external_id).strip(),
    )


def plan_identity(
    plan: sync.ItemPlan, item: Mapping[str, Any], taken: set[tuple[str, str]], key: str
) -> None:
    """A new initiative takes the row's key, source and external id; an existing one keeps
    its sync identity (a row that names another one is refused, not obeyed).
    """
    source, external_id = _identity(item)
    errors = plan.result.errors
    existing = plan.existing
    if existing is not None:
        if source is not None and source != existing.source:
            errors.append(
                sync.ItemError(
                    "source",
                    "identity_changed",
                    _("%(key)s belongs to source '%(source)s'; an import does not change it.")
                    % {"key": key, "source": existing.source},
                )
            )
        if "external_id" in item and external_id != existing.external_id:
            errors.append(
                sync.ItemError(
                    "external_id",
                    "identity_changed",
                    _("%(key)s has the external id '%(id)s'; an import does not change it.")
                    % {"key": key, "id": existing.external_id or ""},
                )
            )
        return
    source = source or ""
    if external_id is not None and not source:
        errors.append(
            sync.ItemError("external_id", "required", _("An external id needs a source."))
        )
        return
    if external_id is not None and (source, external_id) in taken:
        errors.append(
            sync.ItemError(
                "external_id",
                "unique",
                _("Another initiative already has the external id '%(id)s' of %(source)s.")
                % {"id": external_id, "source": source},
            )
        )
        return
    if external_id is not None:
        taken.add((source, external_id))
    plan.values.update(key=key, source=source, external_id=external_id)


def taken_identities(items: Sequence[Any]) -> set[tuple[str, str]]:
    """The (source, external id) pairs of live initiatives that rows could collide with."""
    ids = set()
    for item in items:
        if isinstance(item, Mapping):
            external_id = _identity(item)[1]
            if external_id:
                ids.add(external_id)
    if not ids:
        return set()
    return set(
        Initiative.objects.filter(external_id__in=ids, archived_at__isnull=True).values_list(
            "source", "external_id"
        )
    )


def advance_key_sequence(keys: Iterable[str]) -> None:
    """New keys come after the highest one imported, so the sequence never hands it out."""
    numbers = [int(key[3:]) for key in keys]
    if not numbers:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT setval('{INITIATIVE_KEY_SEQUENCE}', GREATEST(%s, (
                SELECT CASE WHEN is_called THEN last_value ELSE 0 END
                FROM {INITIATIVE_KEY_SEQUENCE})))
            """,
            [max(numbers)],
        )


def sync_by_key(
    *,
    source: str = DEFAULT_SOURCE,
    items: Sequence[Mapping[str, Any]],
    actor: Any = None,
    actor_name: str = "",
    atomic: bool = True,
    channel: str = Channel.IMPORT,
    dry_run: bool = False,
) -> sync.BatchResult:
    """Create or update initiatives addressed by their registry key (see the module docstring).

    Each item is a sync item plus `key` (and, for a new initiative, `source` and
    `external_id`). `source` names where the rows come from in the stage journal.
    """
    source = (source or DEFAULT_SOURCE).strip()
    if len(items) > sync.MAX_BATCH_ITEMS:
        raise sync.SyncError(
            _("A batch holds at most %(max)d items; this one has %(count)d.")
            % {"max": sync.MAX_BATCH_ITEMS, "count": len(items)},
            code="too_many_items",
            attr="items",
        )
    keys = [
        canonical_key(item.get("key")) or str(item.get("key") or "").strip()
        if isinstance(item, Mapping)
        else ""
        for item in items
    ]
    duplicates = sorted(key for key, count in Counter(keys).items() if key and count > 1)
    if duplicates:
        raise sync.SyncError(
            _("Duplicate keys in one batch: %(keys)s.") % {"keys": ", ".join(duplicates)},
            code="duplicate_key",
            attr="items",
        )
    with transaction.atomic(), history_context(channel=channel, actor=actor_name):
        # Key-addressed imports one at a time, rows locked against concurrent edits.
        sync.lock_source(f"key:{DEFAULT_SOURCE}", [], exclusive=True)
        valid = sorted({key for key in keys if canonical_key(key)})
        existing = {
            row.key: row
            for row in sync.load_for_diff(
                Initiative.objects.filter(key__in=valid)
                .order_by("key")
                .select_for_update(of=("self",))
            )
        }
        lookups = sync.resolve_lookups([item for item in items if isinstance(item, Mapping)])
        taken = taken_identities(items)
        plans = []
        for index, (item, key) in enumerate(zip(items, keys, strict=True)):
            plan = sync.ItemPlan(result=sync.ItemResult(index=index, external_id=key))
            plans.append(plan)
            errors = plan.result.errors
            if not isinstance(item, Mapping):
                errors.append(sync.ItemError(None, "invalid", _("Each item must be an object.")))
            elif not key:
                errors.append(sync.ItemError("key", "required", _("Each row needs a key.")))
            elif not canonical_key(key):
                errors.append(
                    sync.ItemError(
                        "key",
                        "invalid",
                        _("'%s' is not a registry key like AI-0042.") % key,
                    )
                )
            elif key in existing and existing[key].archived_at is not None:
                errors.append(
                    sync.ItemError("key", "archived", _("%s is archived; restore it first.") % key)
                )
            else:
                plan.existing = existing.get(key)
                body = {k: v for k, v in item.items() if k not in ("key", *IDENTITY_FIELDS)}
                sync.parse_item(plan, body, lookups)
                plan_identity(plan, item, taken, key)
                if plan.result.ok:
                    sync.check_item(plan, source=source, actor=Actor.of(actor))
            if errors:
                plan.result.result = "error"
        results = [plan.result for plan in plans]
        good = [plan for plan in plans if plan.result.ok]
        if dry_run:
            sync.preview_plans(good)
            for plan in good:
                plan.result.key = plan.result.key or plan.values.get("key")
            return sync.BatchResult(source=source, atomic=atomic, items=results, written=False)
        if atomic and len(good) < len(plans):
            return sync.BatchResult(source=source, atomic=atomic, items=results, written=False)
        sync.write_plans(
            source=source, plans=good, actor=Actor.of(actor).login, actor_name=actor_name
        )
        advance_key_sequence(plan.values["key"] for plan in good if plan.existing is None)
        return sync.BatchResult(source=source, atomic=atomic, items=results, written=True)
