"""Spreadsheet import: CSV/XLSX rows mapped onto sync items and written by `registry.sync.upsert`.

The importer only reads, cleans and maps rows (a YAML mapping in `registry/spreadsheets/mappings/`
says
how); `sync_batch` validates and writes them, so an imported initiative obeys exactly the
rules of a synced one. Real spreadsheets are messy, hence: encoding detection (UTF-8 with or
without BOM, cp1252), placeholder words ("N/A", "TBD", …) treated as blank, duplicate rows
reported and skipped, and a stable id derived from the content for rows that have none.

A blank cell leaves the field as it is (omitted from the item), so a re-import never wipes
what the PMO added after onboarding; a mapped column that has a value owns the field.

Mapping format (see the shipped mappings for worked examples)::

    name: …                      # shown in the admin; `source:` is the default source name
    placeholders: ["N/A", …]     # whole-cell words meaning blank (replaces the defaults)
    format: {delimiter: ";", encoding: cp1252, sheet: …}   # all optional; sniffed otherwise
    id: {columns: [agency, id], separator: ":", derive_from: [use_case_name, agency]}
    create_missing_tags: true    # else unknown tags reject the row
    create_missing_departments: true      # names are slugified; department_function: other
    fields:                      # any sync field but alignments; a string means {column: …}
      name: {column: Title, truncate: 200}
      summary: {concat: [Summary, {column: Office, label: Office}], separator: "\\n\\n"}
      kind: {value: other, only_on_create: true}
      stage: {column: Stage, map: {Deployed: production}, default: idea,
              unmapped: default|keep|drop|error, blank: idea, pattern: '^(\\w+)'}
      start_date: {column: Go-live, formats: ["%d.%m.%Y"], on_invalid: blank}
      tags: {columns: [Topic, Techniques], split: ";,", map: {Other: null}}
      owner: {email: Contact, name: Owner}   # without a name, only registered people
      external_url: {template: "https://jira.example.com/browse/{Key}"}
      uses_personal_data: {column: has_pii, optional: true}   # skipped if the file lacks it

The registry's own export layout (registry/spreadsheets/mappings/registry-export.yaml) addresses
rows by
the registry's key instead: `identity: key` (the id column holds AI-0042), which also lets
`source`, `external_id` and `alignments` (a JSON cell) be imported, and `format:
{unescape_formulas: true}` drops the apostrophe the export puts before formula-like text.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify
from django.utils.translation import gettext as _

from registry.choices import (
    Autonomy,
    Channel,
    DepartmentFunction,
    Gate,
    InteractionMode,
    JourneyStage,
    Kind,
    RiskTier,
    Stage,
    Touchpoint,
)
from registry.models import Department, Initiative, Person, System, Tag, tag_slug
from registry.services.history import history_context
from registry.services.tags import may_create_tags
from registry.spreadsheets import dates, exports
from registry.spreadsheets.cells import escape_formula
from registry.spreadsheets.exports import unescape_formula
from registry.sync import upsert as sync

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
DEFAULT_CHUNK_SIZE = 1000
DEFAULT_PLACEHOLDERS: tuple[str, ...] = (
    *("n/a", "na", "n.a.", "#n/a", "not available", "not applicable", "none", "null", "nil"),
    *("-", "--", "tbd", "tba", "to be determined", "unknown", "?"),
)
DERIVED_ID_PREFIX = "derived-"
CSV_DELIMITERS = (",", ";", "\t", "|")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # a legacy .xls workbook

# The shape of each field a mapping may fill.
TEXT_FIELDS = frozenset({"summary", "expected_benefit", "hypothesis", "success_criteria"})
TEXT_FIELDS |= {"learnings"}
CHOICE_CLASSES: dict[str, type[models.TextChoices]] = {
    "kind": Kind,
    "stage": Stage,
    "risk_tier": RiskTier,
    "interaction_mode": InteractionMode,
    "autonomy": Autonomy,
    "touchpoints": Touchpoint,
    "journey_stages": JourneyStage,
}
CHOICE_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(choices.values) for name, choices in CHOICE_CLASSES.items()
}
BOOLEAN_FIELDS = frozenset({"customer_facing", "uses_personal_data", "confidential"})
DATE_FIELDS = frozenset({"start_date", "target_date", "end_date"})
DECIMAL_FIELDS = frozenset({"budget_planned", "budget_spent"})
LIST_FIELDS = frozenset({"departments", "systems", "tags", "touchpoints", "journey_stages"})
LIST_FIELDS |= {"customer_segments"}
LINE_FIELDS = frozenset({"name", "currency", "external_url", "lead_department"})
LINE_FIELDS |= set(CHOICE_FIELDS) - LIST_FIELDS
SINGLE_VALUE_FIELDS = TEXT_FIELDS | LINE_FIELDS | BOOLEAN_FIELDS | DATE_FIELDS | DECIMAL_FIELDS
# A cell holding the alignments as JSON (the registry's own layout, registry.spreadsheets.exports).
JSON_FIELDS = frozenset({"alignments"})
# The sync identity as a field: only where rows are addressed by key (identity: key).
IDENTITY_FIELDS = frozenset({"source", "external_id"})
SINGLE_VALUE_FIELDS |= JSON_FIELDS | IDENTITY_FIELDS
IMPORTABLE_FIELDS = SINGLE_VALUE_FIELDS | LIST_FIELDS | {"owner"}
IDENTITIES = ("external_id", "key")

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "x", "ja", "oui", "si", "checked"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "nein", "non", "unchecked"})
DATE_FORMATS: tuple[str, ...] = (
    *("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y"),
    *("%b %d, %Y", "%m/%Y", "%Y-%m", "%B %Y", "%b %Y", "%Y"),
)
SOURCE_KEYS = ("column", "columns", "value", "values", "concat", "template")
SPEC_KEYS = frozenset(
    {*SOURCE_KEYS, "separator", "urlencode", "map", "default", "blank", "unmapped", "split"}
    | {"pattern", "truncate", "optional", "only_on_create", "on_invalid", "formats"}
)
OWNER_KEYS = frozenset({"email", "name", "optional", "only_on_create"})
UNMAPPED_CHOICES = ("default", "keep", "drop", "error")
MAPPING_KEYS = frozenset(
    {"name", "description", "source", "format", "placeholders", "id", "fields", "identity"}
    | {"create_missing_tags", "create_missing_departments", "department_function"}
    | {"date_order"}
)
TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
EXTERNAL_ID_MAX_LENGTH: int = (
    cast(models.CharField, Initiative._meta.get_field("external_id")).max_length or 200
)


class MappingError(ValueError):
    """The mapping file itself is wrong (unknown key, a target outside our vocabulary, …)."""


class ImportFileError(ValueError):
    """The file cannot be read as a table that the mapping fits."""


class InvalidValueError(ValueError):
    """One cell's value cannot become the field's value."""


# --- reading spreadsheets ---------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    """One data row; `number` is the row as a spreadsheet program shows it (header = 1)."""

    number: int
    values: dict[str, str]


@dataclass
class Table:
    headers: list[str]
    rows: list[SourceRow]
    file_format: str
    encoding: str = ""
    blank_rows: int = 0


def decode_text(data: bytes, encoding: str = "") -> tuple[str, str]:
    """The text and the encoding used: UTF-8 with or without BOM, else cp1252."""
    if encoding:
        return data.decode(encoding), encoding
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five byte values undefined; latin-1 decodes anything.
        return data.decode("latin-1"), "latin-1"


def clean_cell(value: Any) -> str:
    """A cell as text: line breaks normalised, Excel's escaped CR and stray BOMs removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return (value.date() if value.time() == datetime.time() else value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\ufeff", "").replace("\x00", "").strip()


def _unique_headers(raw: Sequence[Any]) -> list[str]:
    headers: list[str] = []
    seen: Counter[str] = Counter()
    for position, value in enumerate(raw, start=1):
        name = " ".join(clean_cell(value).split()) or f"column {position}"
        seen[name] += 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


def _table_from_rows(
    rows: Iterator[tuple[int, Sequence[Any]]], *, file_format: str, encoding: str = ""
) -> Table:
    table = Table(headers=[], rows=[], file_format=file_format, encoding=encoding)
    for number, raw in rows:
        cells = [clean_cell(value) for value in raw]
        if not table.headers:
            if any(cells):
                table.headers = _unique_headers(raw)
            continue
        if not any(cells):
            table.blank_rows += 1
            continue
        cells += [""] * (len(table.headers) - len(cells))
        table.rows.append(SourceRow(number, dict(zip(table.headers, cells, strict=False))))
    if not table.headers:
        raise ImportFileError(_("The file is empty: it has no header row."))
    return table


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in CSV_DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def read_csv(data: bytes, *, encoding: str = "", delimiter: str = "") -> Table:
    text, used = decode_text(data, encoding)
    # Multi-paragraph cells can exceed csv's default 128 KiB field limit.
    csv.field_size_limit(16 * 1024 * 1024)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter or _sniff_delimiter(text)
    )
    try:
        # Rows count records, not physical lines: a multi-line cell stays in one row.
        return _table_from_rows(enumerate(reader, start=1), file_format="csv", encoding=used)
    except csv.Error as error:
        raise ImportFileError(
            _("The CSV file cannot be read near line %(line)d: %(error)s")
            % {"line": reader.line_num, "error": error}
        ) from error


def read_xlsx(data: bytes, *, sheet: str = "") -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("The XLSX file cannot be opened: %s") % error) from error
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise ImportFileError(
                _("The workbook has no sheet '%(sheet)s'; it has %(sheets)s.")
                % {"sheet": sheet, "sheets": ", ".join(workbook.sheetnames)}
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        rows = enumerate(worksheet.iter_rows(values_only=True), start=1)
        return _table_from_rows(rows, file_format="xlsx")
    finally:
        workbook.close()


def read_table(
    data: bytes, *, filename: str = "", encoding: str = "", delimiter: str = "", sheet: str = ""
) -> Table:
    """Read CSV or XLSX, told apart by content (an .xlsx is a zip archive)."""
    if data.startswith(XLSX_MAGIC):
        return read_xlsx(data, sheet=sheet)
    if data.startswith(OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise ImportFileError(_("Old .xls workbooks are not supported; save as .xlsx or CSV."))
    return read_csv(data, encoding=encoding, delimiter=delimiter)


# --- mappings ---------------------------------------------------------------------------------


def normalise_word(value: str) -> str:
    """Compare vocabulary words loosely: case, spacing, dash and quote styles ignored."""
    text = unicodedata.normalize("NFKC", value).casefold()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"[\u2018\u2019\u201a\u201b`]", "'", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Part:
    """One piece of a concatenation: a column (optionally labelled) or a constant."""

    column: str = ""
    label: str = ""
    value: str = ""


@dataclass
class FieldSpec:
    """How one sync field's value is taken from a row."""

    field: str
    columns: tuple[str, ...] = ()
    constant: Any = None
    parts: tuple[Part, ...] = ()
    separator: str = "\n\n"
    template: str = ""
    urlencode: bool = True
    value_map: dict[str, Any] | None = None
    map_words: tuple[str, ...] = ()
    default: Any = None
    has_default: bool = False
    blank: Any = None
    has_blank: bool = False
    unmapped: str = "keep"
    split: str = ";,"
    pattern: re.Pattern[str] | None = None
    truncate: int | None = None
    optional: bool = False
    only_on_create: bool = False
    on_invalid: str = "reject"
    # A mapping's own strptime formats, tried before the formats `dates.parse` knows.
    formats: tuple[str, ...] = ()
    email_column: str = ""
    name_column: str = ""

    @property
    def source_columns(self) -> list[str]:
        columns = [*self.columns, *(part.column for part in self.parts if part.column)]
        columns += TEMPLATE_FIELD.findall(self.template)
        columns += [column for column in (self.email_column, self.name_column) if column]
        return list(dict.fromkeys(columns))


@dataclass
class IdSpec:
    columns: tuple[str, ...]
    separator: str = ":"
    derive_from: tuple[str, ...] = ()


@dataclass
class ImportMapping:
    """A parsed, validated mapping file."""

    slug: str
    name: str
    description: str
    default_source: str
    id: IdSpec
    fields: dict[str, FieldSpec]
    placeholders: frozenset[str]
    create_missing_tags: bool = False
    create_missing_departments: bool = False
    department_function: str = DepartmentFunction.OTHER
    delimiter: str = ""
    encoding: str = ""
    sheet: str = ""
    path: Path | None = None
    # "external_id": rows are a source's, by its ids; "key": by the registry's keys.
    identity: str = "external_id"
    unescape_formulas: bool = False
    # How slash dates that fit both orders (05/06/2024) are read when the file does not say.
    date_order: str = dates.MONTH_FIRST

    def required_columns(self) -> list[str]:
        columns = [*self.id.columns, *self.id.derive_from]
        for spec in self.fields.values():
            if not spec.optional:
                columns += spec.source_columns
        return list(dict.fromkeys(columns))

    def column_of(self, field_name: str) -> str:
        """The source column(s) a field comes from, to point users at the right cell."""
        if field_name == "external_id":
            return ", ".join(self.id.columns or self.id.derive_from)
        spec = self.fields.get(field_name)
        return ", ".join(spec.source_columns) if spec else ""


def _as_str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MappingError(_("%s must be a column name or a list of column names.") % where)


def _check_target(field_name: str, value: Any, where: str) -> Any:
    """A constant or value-map target must already be in our vocabulary."""
    if value is None:
        return None
    if field_name in BOOLEAN_FIELDS:
        if not isinstance(value, bool):
            raise MappingError(_("%s: use true or false.") % where)
        return value
    if field_name in CHOICE_FIELDS and str(value) not in CHOICE_FIELDS[field_name]:
        raise MappingError(
            _("%(where)s: '%(value)s' is not one of %(choices)s.")
            % {
                "where": where,
                "value": value,
                "choices": ", ".join(sorted(CHOICE_FIELDS[field_name])),
            }
        )
    return str(value)


def _parse_owner_spec(raw: dict[str, Any], where: str) -> FieldSpec:
    unknown = sorted(set(raw) - OWNER_KEYS)
    if unknown or "email" not in raw:
        raise MappingError(_("%s takes an email column and optionally a name column.") % where)
    return FieldSpec(
        field="owner",
        email_column=str(raw["email"]),
        name_column=str(raw.get("name") or ""),
        optional=bool(raw.get("optional", False)),
        only_on_create=bool(raw.get("only_on_create", False)),
    )


def _parse_concat(raw: Any, where: str) -> tuple[Part, ...]:
    if not isinstance(raw, list) or not raw:
        raise MappingError(_("%s must list columns.") % where)
    parts = []
    for position, part in enumerate(raw):
        if isinstance(part, str):
            parts.append(Part(column=part))
        elif isinstance(part, dict) and ("column" in part or "value" in part):
            parts.append(
                Part(
                    column=str(part.get("column") or ""),
                    label=str(part.get("label") or ""),
                    value=str(part.get("value") or ""),
                )
            )
        else:
            raise MappingError(
                _("%s: each part is a column name, {column, label} or {value}.")
                % f"{where}[{position}]"
            )
    return tuple(parts)


def parse_field_spec(field_name: str, raw: Any) -> FieldSpec:
    """One entry of `fields:`; a plain string is shorthand for {column: …}."""
    where = f"fields.{field_name}"
    if field_name not in IMPORTABLE_FIELDS:
        raise MappingError(
            _("%(where)s: '%(field)s' cannot be imported; use one of %(fields)s.")
            % {"where": where, "field": field_name, "fields": ", ".join(sorted(IMPORTABLE_FIELDS))}
        )
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, dict):
        raise MappingError(_("%s must be a column name or a mapping.") % where)
    if field_name == "owner":
        return _parse_owner_spec(raw, where)
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise MappingError(
            _("%(where)s: unknown keys %(keys)s.") % {"where": where, "keys": ", ".join(unknown)}
        )
    sources = [key for key in SOURCE_KEYS if key in raw]
    if len(sources) != 1:
        raise MappingError(
            _("%(where)s needs exactly one of %(keys)s.")
            % {"where": where, "keys": ", ".join(SOURCE_KEYS)}
        )
    is_list = field_name in LIST_FIELDS
    spec = FieldSpec(field=field_name)
    source = sources[0]
    if source == "column":
        spec.columns = _as_str_tuple(raw["column"], f"{where}.column")
        if len(spec.columns) > 1 and not is_list:
            raise MappingError(_("%s: use concat to combine several columns.") % where)
    elif source == "columns":
        if not is_list:
            raise MappingError(_("%s: use concat to combine several columns.") % where)
        spec.columns = _as_str_tuple(raw["columns"], f"{where}.columns")
    elif source in ("value", "values"):
        constant = raw[source]
        if constant in (None, "", []):
            raise MappingError(_("%s: a constant value must not be empty.") % where)
        if is_list:
            constant = constant if isinstance(constant, list) else [constant]
            spec.constant = [_check_target(field_name, v, f"{where}.{source}") for v in constant]
        else:
            spec.constant = _check_target(field_name, constant, f"{where}.{source}")
    elif source == "concat":
        if field_name not in TEXT_FIELDS | {"name"}:
            raise MappingError(_("%s: concat builds text fields only.") % where)
        spec.parts = _parse_concat(raw["concat"], f"{where}.concat")
    else:
        if is_list:
            raise MappingError(_("%s: a template builds a single value.") % where)
        spec.template = str(raw["template"])
        spec.urlencode = bool(raw.get("urlencode", True))
        if not TEMPLATE_FIELD.search(spec.template):
            raise MappingError(_("%s: the template names no {column}.") % where)
    spec.separator = str(raw.get("separator", spec.separator))
    if "map" in raw:
        if not isinstance(raw["map"], dict):
            raise MappingError(_("%s.map must map source words onto our values.") % where)
        spec.value_map = {
            normalise_word(str(key)): _check_target(field_name, value, f"{where}.map[{key}]")
            for key, value in raw["map"].items()
        }
        spec.map_words = tuple(str(key) for key in raw["map"])
    if "default" in raw:
        spec.default = _check_target(field_name, raw["default"], f"{where}.default")
        spec.has_default = True
    if "blank" in raw:
        spec.blank = _check_target(field_name, raw["blank"], f"{where}.blank")
        spec.has_blank = True
    spec.unmapped = str(raw.get("unmapped") or ("default" if spec.has_default else "keep"))
    if spec.unmapped not in UNMAPPED_CHOICES:
        raise MappingError(
            _("%(where)s.unmapped must be one of %(choices)s.")
            % {"where": where, "choices": ", ".join(UNMAPPED_CHOICES)}
        )
    if spec.unmapped == "default" and not spec.has_default:
        raise MappingError(_("%s.unmapped is 'default' but no default is given.") % where)
    spec.split = str(raw.get("split", spec.split) or "")
    if "pattern" in raw:
        try:
            spec.pattern = re.compile(str(raw["pattern"]), re.DOTALL)
        except re.error as error:
            raise MappingError(f"{where}.pattern: {error}") from error
    if "truncate" in raw:
        if not isinstance(raw["truncate"], int) or raw["truncate"] < 2:
            raise MappingError(_("%s.truncate must be a length of at least 2.") % where)
        spec.truncate = raw["truncate"]
    spec.optional = bool(raw.get("optional", False))
    spec.only_on_create = bool(raw.get("only_on_create", False))
    spec.on_invalid = str(raw.get("on_invalid") or "reject")
    if spec.on_invalid not in ("reject", "blank"):
        raise MappingError(_("%s.on_invalid must be reject or blank.") % where)
    if "formats" in raw:
        spec.formats = _as_str_tuple(raw["formats"], f"{where}.formats")
    return spec


def parse_mapping(data: Any, *, slug: str = "", path: Path | None = None) -> ImportMapping:
    """Validate a mapping (as loaded from YAML) into an ImportMapping; MappingError if wrong."""
    if not isinstance(data, Mapping):
        raise MappingError(_("A mapping file holds a YAML mapping at the top level."))
    unknown = sorted(set(data) - MAPPING_KEYS)
    if unknown:
        raise MappingError(_("Unknown top-level keys: %s.") % ", ".join(unknown))
    raw_id = data.get("id")
    if isinstance(raw_id, str):
        raw_id = {"column": raw_id}
    # A layout without an id column (the 2024 inventory) derives every id from content.
    if not isinstance(raw_id, dict) or not (
        "column" in raw_id or "columns" in raw_id or raw_id.get("derive_from")
    ):
        raise MappingError(_("The mapping needs an id: a column or a list of columns."))
    id_columns = raw_id.get("column", raw_id.get("columns"))
    id_spec = IdSpec(
        columns=_as_str_tuple(id_columns, "id.columns") if id_columns is not None else (),
        separator=str(raw_id.get("separator", ":")),
        derive_from=_as_str_tuple(raw_id["derive_from"], "id.derive_from")
        if raw_id.get("derive_from")
        else (),
    )
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise MappingError(_("The mapping needs fields: which column fills which field."))
    fields = {str(name): parse_field_spec(str(name), raw) for name, raw in raw_fields.items()}
    function = str(data.get("department_function") or DepartmentFunction.OTHER)
    if function not in DepartmentFunction.values:
        raise MappingError(
            _("department_function must be one of %s.") % ", ".join(DepartmentFunction.values)
        )
    identity = str(data.get("identity") or "external_id")
    if identity not in IDENTITIES:
        raise MappingError(_("identity must be one of %s.") % ", ".join(IDENTITIES))
    key_only = sorted(set(fields) & (JSON_FIELDS | IDENTITY_FIELDS)) if identity != "key" else []
    if key_only:
        raise MappingError(
            _(
                "fields.%(field)s: '%(field)s' cannot be imported here; only by the registry's own "
                "layout (identity: key)."
            )
            % {"field": key_only[0]}
        )
    file_format = data.get("format") or {}
    format_keys = {"delimiter", "encoding", "sheet", "unescape_formulas"}
    if not isinstance(file_format, dict) or set(file_format) - format_keys:
        raise MappingError(_("format may set delimiter, encoding and sheet."))
    if file_format.get("encoding"):
        try:
            codecs.lookup(str(file_format["encoding"]))
        except LookupError as error:
            raise MappingError(_("Unknown encoding '%s'.") % file_format["encoding"]) from error
    date_order = str(data.get("date_order") or dates.MONTH_FIRST)
    if date_order not in dates.DATE_ORDERS:
        raise MappingError(_("date_order must be one of %s.") % ", ".join(dates.DATE_ORDERS))
    placeholders = data.get("placeholders", DEFAULT_PLACEHOLDERS)
    if not isinstance(placeholders, list | tuple):
        raise MappingError(_("placeholders must be a list of words."))
    return ImportMapping(
        slug=slug,
        name=str(data.get("name") or slug or _("Unnamed mapping")),
        description=str(data.get("description") or "").strip(),
        default_source=str(data.get("source") or slug),
        id=id_spec,
        fields=fields,
        placeholders=frozenset(normalise_word(str(p)) for p in placeholders) | {""},
        create_missing_tags=bool(data.get("create_missing_tags", False)),
        create_missing_departments=bool(data.get("create_missing_departments", False)),
        department_function=function,
        delimiter=str(file_format.get("delimiter") or ""),
        encoding=str(file_format.get("encoding") or ""),
        sheet=str(file_format.get("sheet") or ""),
        path=path,
        identity=identity,
        unescape_formulas=bool(file_format.get("unescape_formulas", False)),
        date_order=date_order,
    )


def load_mapping(path: str | Path) -> ImportMapping:
    """A mapping by file path, or by the name of a shipped mapping (e.g. us-federal-2023)."""
    candidate = Path(path)
    if not candidate.is_file() and not candidate.suffix and "/" not in str(path):
        candidate = MAPPINGS_DIR / f"{path}.yaml"
        if not candidate.is_file() and (saved := load_saved_mapping(str(path))) is not None:
            return saved
    if not candidate.is_file():
        raise MappingError(_("There is no mapping file '%s'.") % path)
    try:
        data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise MappingError(f"{candidate.name}: {error}") from error
    return parse_mapping(data, slug=candidate.stem, path=candidate)


def load_saved_mapping(name: str) -> ImportMapping | None:
    """A mapping the PMO saved in the admin's mapping builder, by name; None if there is none."""
    from registry.models.import_mappings import ImportMapping as SavedMapping

    saved = SavedMapping.objects.filter(name=name).values_list("yaml", flat=True).first()
    if saved is None:
        return None
    try:
        data = yaml.safe_load(saved)
    except yaml.YAMLError as error:
        raise MappingError(f"{name}: {error}") from error
    return parse_mapping(data, slug=name)


def shipped_mappings() -> list[ImportMapping]:
    """The mappings that come with the project (registry/spreadsheets/mappings/*.yaml)."""
    return [load_mapping(path) for path in sorted(MAPPINGS_DIR.glob("*.yaml"))]


# --- mapping rows onto sync items -------------------------------------------------------------


@dataclass
class RowIssue:
    """A refusal or an adjustment of one row; `code` names its cause, to group the report."""

    field: str
    message: str
    column: str = ""
    code: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "column": self.column,
            "code": self.code or "invalid",
            "message": self.message,
        }


@dataclass
class RowOutcome:
    """What became of one spreadsheet row."""

    row: int
    external_id: str = ""
    name: str = ""
    derived_id: bool = False
    # created, updated, unchanged (as sync reports); rejected; duplicate (skipped);
    # not_written (fine, but an all-or-nothing import was refused).
    status: str = ""
    duplicate_of: int | None = None
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    key: str | None = None
    initiative_id: int | None = None
    stage: str | None = None
    gate_gaps: list[str] = field(default_factory=list)
    item: dict[str, Any] = field(default_factory=dict, repr=False)
    # Natural keys resolved against the database later: department names, owner.
    pending: dict[str, Any] = field(default_factory=dict, repr=False)
    # Values the importer made up (a fallback name): they seed a new initiative only.
    create_only: set[str] = field(default_factory=set, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "external_id": self.external_id,
            "name": self.name,
            "derived_id": self.derived_id,
            "status": self.status,
            "duplicate_of": self.duplicate_of,
            "key": self.key,
            "initiative_id": self.initiative_id,
            "stage": self.stage,
            "gate_gaps": list(self.gate_gaps),
            "errors": [issue.as_dict() for issue in self.errors],
            "warnings": [issue.as_dict() for issue in self.warnings],
        }


NAME_FALLBACK_LENGTH = 80
COLLISION_SEPARATOR = "~"


def _first_words(text: str, limit: int) -> str:
    """The first words of a text, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:.") + "…"


def content_digest(outcome: RowOutcome) -> str:
    """A short, order-independent fingerprint of everything a row says."""
    content = json.dumps({**outcome.item, **outcome.pending}, sort_keys=True, default=str)
    return hashlib.blake2b(content.encode(), digest_size=4).hexdigest()


def derived_id(sources: Sequence[str]) -> str:
    """A stable id from content (e.g. title + agency): same words, same id, any row order."""
    normalised = [" ".join(re.findall(r"\w+", normalise_word(text))) for text in sources]
    digest = hashlib.blake2b("\x1f".join(normalised).encode(), digest_size=8).hexdigest()
    return f"{DERIVED_ID_PREFIX}{digest}"


def choice_value(field_name: str, value: Any) -> Any:
    """Our code for a word that already is one of our values or labels ('Production')."""
    choices = CHOICE_CLASSES.get(field_name)
    if choices is None or not isinstance(value, str) or value in choices.values:
        return value
    word = normalise_word(value)
    for code, label in choices.choices:
        if word in (normalise_word(code), normalise_word(str(label))):
            return code
    return value


def parse_date(
    text: str, formats: Sequence[str] = (), *, order: str = dates.MONTH_FIRST
) -> dates.ParsedDate:
    """A cell as a calendar day (see `registry.spreadsheets.dates`); InvalidValueError if none."""
    try:
        return dates.parse(text, order=order, formats=formats)
    except dates.DateError as error:
        raise InvalidValueError(
            _("'%s' is not a date this mapping understands.") % " ".join(text.split())
        ) from error


def parse_amount(text: str) -> str:
    """'12.500,00 €' and '$12,500.00' both become 12500.00: the last separator is decimal."""
    text = re.sub(r"[^\d.,\-]", "", text)
    comma, dot = text.rfind(","), text.rfind(".")
    if comma >= 0 and dot >= 0:
        thousands = "." if comma > dot else ","
        text = text.replace(thousands, "").replace(",", ".")
    elif comma >= 0:
        # A lone comma with one or two digits after it is a decimal comma; else thousands.
        text = text.replace(",", ".") if re.search(r",\d{1,2}$", text) else text.replace(",", "")
    return text


def convert(name: str, value: Any, spec: FieldSpec) -> Any:
    """A mapped value in the form the sync module expects for the field."""
    if name in BOOLEAN_FIELDS:
        if isinstance(value, bool):
            return value
        word = normalise_word(str(value))
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        raise InvalidValueError(_("'%s' is neither yes nor no.") % value)
    if name in DATE_FIELDS:
        return parse_date(str(value), spec.formats).value.isoformat()
    if name in DECIMAL_FIELDS:
        text = parse_amount(str(value))
        try:
            return str(Decimal(text))
        except InvalidOperation as error:
            raise InvalidValueError(_("'%s' is not an amount.") % value) from error
    if name in TEXT_FIELDS | IDENTITY_FIELDS:
        return str(value).strip()
    if name in JSON_FIELDS:
        try:
            decoded = json.loads(str(value))
        except ValueError as error:
            raise InvalidValueError(_("'%s' is not a JSON list.") % value) from error
        if not isinstance(decoded, list):
            raise InvalidValueError(_("'%s' is not a JSON list.") % value)
        return decoded
    # One-line fields: a line break inside a title cell is layout, not content.
    return " ".join(str(value).split())


class RowMapper:
    """Turns source rows into sync items, without touching the database."""

    def __init__(
        self, mapping: ImportMapping, headers: Sequence[str], *, date_order: str = ""
    ) -> None:
        self.mapping = mapping
        self.date_order = date_order or mapping.date_order
        # Ambiguous dates are listed row by row only when nothing in the file settles them.
        self.report_ambiguous_dates = True
        present = set(headers)
        # An optional field whose columns the file lacks is left out, not reported.
        self.fields = [
            spec
            for spec in mapping.fields.values()
            if not spec.optional or all(column in present for column in spec.source_columns)
        ]

    def is_blank(self, text: str) -> bool:
        return normalise_word(text) in self.mapping.placeholders

    def cell(self, row: SourceRow, column: str) -> str:
        value = row.values.get(column, "").strip()
        if self.mapping.unescape_formulas:
            value = unescape_formula(value)
        return "" if self.is_blank(value) else value

    def external_id(self, row: SourceRow) -> tuple[str, bool]:
        parts = [" ".join(self.cell(row, column).split()) for column in self.mapping.id.columns]
        if parts and all(parts):
            return self.mapping.id.separator.join(parts), False
        sources = [self.cell(row, column) for column in self.mapping.id.derive_from]
        if not any(sources):
            return "", False
        return derived_id(sources), True

    def map_row(self, row: SourceRow) -> RowOutcome:
        outcome = RowOutcome(row=row.number)
        outcome.external_id, outcome.derived_id = self.external_id(row)
        id_column = self.mapping.column_of("external_id")
        if not outcome.external_id:
            message = (
                _("The row has no id, and nothing to derive one from.")
                if self.mapping.id.derive_from
                else _("The row has no id.")
            )
            outcome.errors.append(RowIssue("external_id", message, id_column, code="no_id"))
        elif len(outcome.external_id) > EXTERNAL_ID_MAX_LENGTH:
            original = outcome.external_id
            digest = hashlib.blake2b(original.encode(), digest_size=4).hexdigest()
            suffix = COLLISION_SEPARATOR + digest
            outcome.external_id = original[: EXTERNAL_ID_MAX_LENGTH - len(suffix)] + suffix
            outcome.warnings.append(
                RowIssue(
                    "external_id",
                    _("The id is longer than %(max)d characters; imported under the id %(id)s.")
                    % {"max": EXTERNAL_ID_MAX_LENGTH, "id": outcome.external_id},
                    id_column,
                    code="id_shortened",
                )
            )
        for spec in self.fields:
            try:
                self.map_field(outcome, row, spec)
            except InvalidValueError as invalid:
                issue = RowIssue(spec.field, str(invalid), self.mapping.column_of(spec.field))
                if spec.on_invalid == "blank":
                    issue.message = _("%s Left blank.") % issue.message
                    issue.code = "left_blank"
                    outcome.warnings.append(issue)
                else:
                    outcome.errors.append(issue)
        if "name" in self.mapping.fields and not outcome.item.get("name"):
            self.fall_back_name(outcome)
        outcome.name = str(outcome.item.get("name") or "")
        return outcome

    def fall_back_name(self, outcome: RowOutcome) -> None:
        """A row without a name is still imported, named after its summary or its id."""
        # The summary's first line: later lines are often labelled extras ("Bureau: …").
        lines = [
            " ".join(line.split()) for line in str(outcome.item.get("summary") or "").split("\n")
        ]
        summary = next((line for line in lines if line), "")
        if summary:
            name, basis = _first_words(summary, NAME_FALLBACK_LENGTH), _("its summary")
        elif outcome.external_id:
            name, basis = outcome.external_id, _("its id")
        else:
            return
        outcome.item["name"] = name
        outcome.create_only.add("name")
        outcome.warnings.append(
            RowIssue(
                "name",
                _("The row has no name; it is named '%(name)s' after %(basis)s.")
                % {"name": name, "basis": basis},
                self.mapping.column_of("name"),
                code="name_fallback",
            )
        )

    def map_date(self, outcome: RowOutcome, spec: FieldSpec, text: str) -> None:
        parsed = parse_date(text, spec.formats, order=self.date_order)
        column = self.mapping.column_of(spec.field)
        shown = " ".join(text.split())
        day = parsed.value.isoformat()
        if parsed.dropped_time:
            outcome.warnings.append(
                RowIssue(
                    spec.field,
                    _("'%(text)s' has the time %(time)s; the field keeps only the day %(day)s.")
                    % {"text": shown, "time": parsed.dropped_time, "day": day},
                    column,
                    code="time_dropped",
                )
            )
        if parsed.serial:
            outcome.warnings.append(
                RowIssue(
                    spec.field,
                    _("'%(text)s' is an Excel date number; read as %(day)s.")
                    % {"text": shown, "day": day},
                    column,
                    code="excel_serial",
                )
            )
        if parsed.ambiguous and self.report_ambiguous_dates:
            order = _("month first") if self.date_order == dates.MONTH_FIRST else _("day first")
            outcome.warnings.append(
                RowIssue(
                    spec.field,
                    _("'%(text)s' fits both day and month first; read %(order)s as %(day)s.")
                    % {"text": shown, "order": order, "day": day},
                    column,
                    code="ambiguous_date",
                )
            )
        outcome.item[spec.field] = day

    def map_field(self, outcome: RowOutcome, row: SourceRow, spec: FieldSpec) -> None:
        name = spec.field
        if name == "owner":
            email = self.cell(row, spec.email_column)
            person = self.cell(row, spec.name_column) if spec.name_column else ""
            if email:
                outcome.pending["owner"] = (email, " ".join(person.split()))
            return
        if name in LIST_FIELDS:
            values = self.list_value(row, spec)
            if values:
                (outcome.pending if name == "departments" else outcome.item)[name] = values
            return
        value = self.scalar_value(row, spec)
        if value is None:
            return
        if name in DATE_FIELDS:
            self.map_date(outcome, spec, str(value))
            return
        value = convert(name, choice_value(name, value), spec)
        if isinstance(value, str) and spec.truncate and len(value) > spec.truncate:
            outcome.warnings.append(
                RowIssue(
                    name,
                    _("Shortened from %(length)d to %(max)d characters.")
                    % {"length": len(value), "max": spec.truncate},
                    self.mapping.column_of(name),
                    code="shortened",
                )
            )
            value = value[: spec.truncate - 1].rstrip() + "…"
        if spec.on_invalid == "blank" and name in sync.SCALAR_FIELDS:
            # Check now what sync would refuse, so the row keeps its other values.
            try:
                model_field = Initiative._meta.get_field(name)
                assert isinstance(model_field, models.Field)
                model_field.clean(value, None)
            except ValidationError as error:
                raise InvalidValueError(" ".join(error.messages)) from error
        (outcome.pending if name == "lead_department" else outcome.item)[name] = value

    def raw_text(self, row: SourceRow, spec: FieldSpec) -> str:
        if spec.parts:
            pieces = []
            for part in spec.parts:
                text = part.value or self.cell(row, part.column)
                if text:
                    pieces.append(f"{part.label}: {text}" if part.label else text)
            return spec.separator.join(pieces)
        if spec.template:
            values = {column: self.cell(row, column) for column in spec.source_columns}
            if not all(values.values()):
                return ""
            return TEMPLATE_FIELD.sub(
                lambda m: (
                    quote(values[m.group(1)], safe="") if spec.urlencode else values[m.group(1)]
                ),
                spec.template,
            )
        return self.cell(row, spec.columns[0])

    def extract(self, text: str, spec: FieldSpec) -> str:
        """The part of a cell the mapping's pattern picks out (group 1, else the match)."""
        if spec.pattern is None or not text:
            return text
        match = spec.pattern.search(text)
        if match is None:
            return ""
        return (match.group(1) if match.groups() else match.group(0)).strip()

    def translate(self, text: str, spec: FieldSpec) -> Any:
        """One non-blank word through the value map; None drops it."""
        if spec.value_map is None:
            return text
        word = normalise_word(text)
        if word in spec.value_map:
            return spec.value_map[word]
        if spec.unmapped == "error":
            raise InvalidValueError(
                _("'%(value)s' is not in the mapping's vocabulary (%(words)s).")
                % {"value": text, "words": ", ".join(spec.map_words)}
            )
        if spec.unmapped == "drop":
            return None
        if spec.unmapped == "default":
            return spec.default
        return text

    def scalar_value(self, row: SourceRow, spec: FieldSpec) -> Any:
        if spec.constant is not None:
            return spec.constant
        text = self.extract(self.raw_text(row, spec), spec)
        if self.is_blank(text):
            if spec.has_blank:
                return spec.blank
            return spec.default if spec.has_default else None
        return self.translate(text, spec)

    def list_value(self, row: SourceRow, spec: FieldSpec) -> list[Any]:
        if spec.constant is not None:
            return list(spec.constant)
        values = []
        for column in spec.columns:
            text = self.cell(row, column)
            pieces = re.split(f"[{re.escape(spec.split)}\n]", text) if spec.split else [text]
            for piece in pieces:
                word = self.extract(piece.strip(), spec)
                if not self.is_blank(word):
                    mapped = choice_value(spec.field, self.translate(word, spec))
                    if mapped not in (None, ""):
                        values.append(mapped)
        if not values and spec.has_blank and spec.blank is not None:
            values = [spec.blank]
        return list(dict.fromkeys(values))


@dataclass
class Notice:
    """Something the importer decided for the whole file (e.g. the order of day and month)."""

    code: str
    message: str
    rows: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "rows": list(self.rows)}


def _check_columns(table: Table, mapping: ImportMapping) -> None:
    missing = [column for column in mapping.required_columns() if column not in table.headers]
    if missing:
        raise ImportFileError(
            _(
                "The file lacks the columns %(missing)s that the mapping '%(mapping)s' needs. "
                "Its columns are: %(columns)s."
            )
            % {
                "missing": ", ".join(missing),
                "mapping": mapping.name,
                "columns": ", ".join(table.headers),
            }
        )


def _date_cells(table: Table, mapper: RowMapper) -> Iterator[tuple[int, str]]:
    columns = [
        column
        for spec in mapper.fields
        if spec.field in DATE_FIELDS and not spec.formats
        for column in spec.source_columns
    ]
    for row in table.rows:
        for column in columns:
            text = mapper.cell(row, column)
            if text:
                yield row.number, text


def decide_date_order(table: Table, mapper: RowMapper) -> Notice | None:
    """Read ambiguous slash dates the way the file's unambiguous ones are written."""
    decision = dates.detect_order(_date_cells(table, mapper), default=mapper.mapping.date_order)
    mapper.date_order = decision.order
    mapper.report_ambiguous_dates = decision.assumed or decision.conflict
    if not decision.ambiguous_rows and not decision.conflict:
        return None
    rows = decision.ambiguous_rows
    return Notice("date_order", decision.explain(), rows[:NOTICE_ROWS])


NOTICE_ROWS = 10


def _disambiguate(
    outcome: RowOutcome, first: RowOutcome, by_id: dict[str, RowOutcome], id_column: str
) -> None:
    """Another row already has this id: keep both, this one under a suffixed, stable id."""
    original = outcome.external_id
    suffix = COLLISION_SEPARATOR + content_digest(outcome)
    candidate = original[: EXTERNAL_ID_MAX_LENGTH - len(suffix)] + suffix
    twin = by_id.get(candidate)
    if twin is not None:
        # Same content as a row already moved to this id: a plain duplicate of that one.
        outcome.external_id, outcome.status, outcome.duplicate_of = candidate, "duplicate", twin.row
        return
    mine, theirs = {**outcome.item, **outcome.pending}, {**first.item, **first.pending}
    differing = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
    outcome.external_id = candidate
    by_id[candidate] = outcome
    outcome.warnings.append(
        RowIssue(
            "external_id",
            _(
                "Same id %(id)s as row %(row)d but different values (%(fields)s); imported "
                "under the id %(new)s."
            )
            % {"id": original, "row": first.row, "fields": ", ".join(differing), "new": candidate},
            id_column,
            code="id_collision",
        )
    )


def map_rows(table: Table, mapping: ImportMapping) -> tuple[list[RowOutcome], list[Notice]]:
    """Every row mapped, and what was decided for the whole file.

    A later row with an earlier row's id and the same values is a duplicate (skipped, said);
    with other values it is kept under the id plus a suffix from its content, so the same
    file imports the same way every time and no row is lost.
    """
    _check_columns(table, mapping)
    mapper = RowMapper(mapping, table.headers)
    notices = [notice for notice in [decide_date_order(table, mapper)] if notice]
    outcomes = [mapper.map_row(row) for row in table.rows]
    id_column = mapping.column_of("external_id")
    by_id: dict[str, RowOutcome] = {}
    for outcome in outcomes:
        if not outcome.external_id or outcome.errors:
            continue
        first = by_id.setdefault(outcome.external_id, outcome)
        if first is outcome:
            continue
        if {**outcome.item, **outcome.pending} == {**first.item, **first.pending}:
            outcome.status, outcome.duplicate_of = "duplicate", first.row
            continue
        _disambiguate(outcome, first, by_id, id_column)
    for outcome in outcomes:
        if outcome.errors:
            outcome.status = "rejected"
    return outcomes, notices


def map_table(table: Table, mapping: ImportMapping) -> list[RowOutcome]:
    """Every row mapped (see `map_rows`, which also says what was decided for the file)."""
    return map_rows(table, mapping)[0]


# --- resolving natural keys (the only database reads before sync) -----------------------------


def department_slug(name: str) -> str:
    return slugify(name)[: Department._meta.get_field("slug").max_length].strip("-")


def tag_name(value: str) -> str:
    """The slug a tag word stands for: 'Machine Learning' is the tag machine-learning."""
    return tag_slug(value)


@dataclass
class References:
    """Natural keys of the rows resolved in a few queries, and what was created for them."""

    departments: dict[str, str] = field(default_factory=dict)  # normalised word -> slug
    tags: dict[str, str] = field(default_factory=dict)  # word -> tag slug
    tag_labels: dict[str, str] = field(default_factory=dict)  # slug -> label sent to sync
    known_tags: set[str] = field(default_factory=set)  # slugs
    systems: dict[str, str] = field(default_factory=dict)  # word -> slug
    people: set[str] = field(default_factory=set)
    tags_created: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)


def _resolve_departments(words: dict[str, str], mapping: ImportMapping, refs: References) -> None:
    """Cells may name a department by slug or by name; create the rest if the mapping says so."""
    if not words:
        return
    slugs = {department_slug(name) for name in words.values()} | set(words.values())
    found = Department.objects.filter(slug__in=slugs).values_list("slug", "name")
    by_name = (
        Department.objects.annotate(lower=Lower("name"))
        .filter(lower__in=list(words))
        .values_list("slug", "name")
    )
    for slug, name in [*found, *by_name]:
        refs.departments[normalise_word(slug)] = slug
        refs.departments[normalise_word(name)] = slug
    known_slugs = set(refs.departments.values())
    for word, name in words.items():
        if word not in refs.departments and department_slug(name) in known_slugs:
            refs.departments[word] = department_slug(name)
    if not mapping.create_missing_departments:
        return
    new: dict[str, Department] = {}
    max_name = Department._meta.get_field("name").max_length
    for word, name in sorted(words.items()):
        slug = department_slug(name)
        if word in refs.departments or not slug:
            continue
        new.setdefault(
            slug,
            Department(name=name[:max_name], slug=slug, function=mapping.department_function),
        )
        refs.departments[word] = slug
    # In a stable order, and tolerant of a concurrent import creating the same ones.
    Department.objects.bulk_create(new.values(), ignore_conflicts=True)
    refs.departments_created = sorted(department.name for department in new.values())


def _resolve_systems(words: set[str], refs: References) -> None:
    if not words:
        return
    candidates = {slugify(word) for word in words} | words
    by_word: dict[str, str] = {}
    for slug in System.objects.filter(slug__in=candidates).values_list("slug", flat=True):
        by_word[normalise_word(slug)] = slug
    lowered = [normalise_word(word) for word in words]
    for slug, name in (
        System.objects.annotate(lower=Lower("name"))
        .filter(lower__in=lowered)
        .values_list("slug", "name")
    ):
        by_word[normalise_word(name)] = slug
    for word in words:
        found = by_word.get(normalise_word(word)) or by_word.get(slugify(word))
        if found:
            refs.systems[word] = found


def resolve_references(
    outcomes: list[RowOutcome], mapping: ImportMapping, *, actor: Any = None
) -> References:
    """Look up departments, tags, systems and owners of all rows; create what is allowed.

    Tags are labels ("Law Enforcement") or slugs; sync creates the missing ones when the
    mapping allows it and the actor may create tags (else it refuses the rows, naming them).
    """
    live = [outcome for outcome in outcomes if not outcome.status]
    refs = References()
    words: dict[str, str] = {}
    for outcome in live:
        names = [*outcome.pending.get("departments", ()), outcome.pending.get("lead_department")]
        for name in filter(None, names):
            words.setdefault(normalise_word(name), " ".join(name.split()))
    _resolve_departments(words, mapping, refs)
    for outcome in live:
        for word in outcome.item.get("tags", ()):
            label = " ".join(str(word).split())
            refs.tags[word] = tag_name(label)
            if refs.tags[word]:
                # One label per tag, the first in the file: the name a new tag gets.
                refs.tag_labels.setdefault(refs.tags[word], label)
    wanted_tags = set(refs.tag_labels)
    refs.known_tags = set(Tag.objects.filter(slug__in=wanted_tags).values_list("slug", flat=True))
    missing = wanted_tags - refs.known_tags
    if mapping.create_missing_tags and missing and may_create_tags(actor):
        refs.tags_created = sorted(refs.tag_labels[slug] for slug in missing)
        refs.known_tags |= missing
    _resolve_systems({word for o in live for word in o.item.get("systems", ())}, refs)
    emails = {o.pending["owner"][0].lower() for o in live if o.pending.get("owner")}
    refs.people = set(Person.objects.filter(email__in=emails).values_list("email", flat=True))
    for outcome in live:
        apply_references(outcome, mapping, refs)
        if outcome.errors:
            outcome.status = "rejected"
    return refs


def apply_references(outcome: RowOutcome, mapping: ImportMapping, refs: References) -> None:
    """Put resolved natural keys into the row's item; unknown ones reject the row."""

    def unknown(field_name: str, values: Sequence[str], hint: str) -> None:
        message = _("Unknown %(field)s: %(values)s.") % {
            "field": field_name.replace("_", " "),
            "values": ", ".join(values),
        }
        outcome.errors.append(
            RowIssue(
                field_name,
                f"{message} {hint}".strip(),
                mapping.column_of(field_name),
                code="does_not_exist",
            )
        )

    department_hint = _(
        "Create it in the admin first, or set create_missing_departments: true in the mapping."
    )
    lead = outcome.pending.get("lead_department")
    if lead:
        slug = refs.departments.get(normalise_word(lead))
        if slug:
            outcome.item["lead_department"] = slug
        else:
            unknown("lead_department", [lead], department_hint)
    if outcome.pending.get("departments"):
        names = outcome.pending["departments"]
        missing = [name for name in names if normalise_word(name) not in refs.departments]
        if missing:
            unknown("departments", missing, department_hint)
        else:
            outcome.item["departments"] = sorted(
                {refs.departments[normalise_word(name)] for name in names}
            )
    if "tags" in outcome.item:
        slugs = sorted({refs.tags[word] for word in outcome.item["tags"] if refs.tags[word]})
        missing = [refs.tag_labels[slug] for slug in slugs if slug not in refs.known_tags]
        if missing:
            hint = (
                _("Create them first, or set create_missing_tags: true in the mapping.")
                if not mapping.create_missing_tags
                else _("Only the PMO, or a token that may create tags, creates them.")
            )
            unknown("tags", missing, hint)
        outcome.item["tags"] = [refs.tag_labels[slug] for slug in slugs]
    if "systems" in outcome.item:
        words = outcome.item["systems"]
        missing = [word for word in words if word not in refs.systems]
        if missing:
            unknown("systems", missing, _("Register the systems in the admin first."))
        outcome.item["systems"] = sorted({refs.systems[w] for w in words if w in refs.systems})
    owner = outcome.pending.get("owner")
    if owner:
        email, name = owner[0].lower(), owner[1]
        try:
            validate_email(email)
        except ValidationError:
            outcome.warnings.append(
                RowIssue(
                    "owner",
                    _("'%s' is not an e-mail address; the owner is left unset.") % owner[0],
                    mapping.column_of("owner"),
                    code="owner_unset",
                )
            )
            return
        if email in refs.people:
            outcome.item["owner"] = email
        elif name:
            outcome.item["owner"] = {"email": email, "name": name}
        else:
            # Never invent a person from a bare (often shared) inquiry address.
            outcome.pending["owner_left_unset"] = True


def drop_create_only_fields(
    outcomes: list[RowOutcome], mapping: ImportMapping, source: str
) -> None:
    """Fields marked only_on_create seed new initiatives but never overwrite existing ones."""
    create_only = [name for name, spec in mapping.fields.items() if spec.only_on_create]
    if not create_only and not any(outcome.create_only for outcome in outcomes):
        return
    ids = [outcome.external_id for outcome in outcomes if not outcome.status]
    rows = (
        Initiative.objects.filter(key__in=ids)
        if mapping.identity == "key"
        else Initiative.objects.filter(source=source, external_id__in=ids)
    )
    existing = set(rows.filter(archived_at__isnull=True).values_list(mapping.identity, flat=True))
    for outcome in outcomes:
        if outcome.external_id in existing:
            for name in [*create_only, *outcome.create_only]:
                outcome.item.pop(name, None)


# --- the import ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """Everything an import did or would do, row by row."""

    source: str
    mapping: str
    filename: str
    file_format: str
    encoding: str
    dry_run: bool
    atomic: bool
    written: bool = False
    rows: list[RowOutcome] = field(default_factory=list)
    blank_rows: int = 0
    tags_created: list[str] = field(default_factory=list)
    departments_created: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        statuses = Counter(row.status for row in self.rows)
        return {
            "rows": len(self.rows),
            "created": statuses["created"],
            "updated": statuses["updated"],
            "unchanged": statuses["unchanged"],
            "rejected": statuses["rejected"],
            "duplicates": statuses["duplicate"],
            "not_written": statuses["not_written"],
            "derived_ids": sum(1 for row in self.rows if row.derived_id),
            "owners_left_unset": sum(1 for row in self.rows if row.pending.get("owner_left_unset")),
        }

    @property
    def rejected(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.status == "rejected"]

    @property
    def duplicates(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.status == "duplicate"]

    @property
    def failed(self) -> bool:
        """Rows were rejected in an all-or-nothing import, so nothing is (or would be) written."""
        return self.atomic and bool(self.rejected)

    def rejections(self) -> list[dict[str, Any]]:
        return [
            {"row": row.row, "external_id": row.external_id, **issue.as_dict()}
            for row in self.rejected
            for issue in row.errors
        ]

    def warnings(self) -> list[dict[str, Any]]:
        return [
            {"row": row.row, "external_id": row.external_id, **issue.as_dict()}
            for row in self.rows
            for issue in row.warnings
        ]

    def _groups(self, kind: str) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for row in self.rows:
            for issue in row.errors if kind == "errors" else row.warnings:
                code = issue.code or "invalid"
                group = groups.setdefault(
                    (code, issue.field, issue.column),
                    {
                        "code": code,
                        "field": issue.field,
                        "column": issue.column,
                        "count": 0,
                        "rows": [],
                        "example": issue.message,
                    },
                )
                group["count"] += 1
                if len(group["rows"]) < GROUP_ROWS:
                    group["rows"].append(row.row)
        return sorted(groups.values(), key=lambda group: (-group["count"], group["code"]))

    def warning_groups(self) -> list[dict[str, Any]]:
        """Warnings by cause (code, field, column): how many, the first rows, one example."""
        return self._groups("warnings")

    def rejection_groups(self) -> list[dict[str, Any]]:
        return self._groups("errors")

    def gate_gap_counts(self) -> dict[str, int]:
        """How many created or updated initiatives lack each piece of gate evidence."""
        counts: Counter[str] = Counter()
        for row in self.rows:
            if row.status in ("created", "updated"):
                counts.update(row.gate_gaps)
        return dict(counts.most_common())

    def gate_gap_labels(self) -> list[tuple[str, int]]:
        return [(str(Gate(gate).label), n) for gate, n in self.gate_gap_counts().items()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mapping": self.mapping,
            "filename": self.filename,
            "file_format": self.file_format,
            "encoding": self.encoding,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "written": self.written,
            "counts": self.counts(),
            "blank_rows": self.blank_rows,
            "tags_created": self.tags_created,
            "departments_created": self.departments_created,
            "gate_gaps": self.gate_gap_counts(),
            "notices": [notice.as_dict() for notice in self.notices],
            "rejection_groups": self.rejection_groups(),
            "warning_groups": self.warning_groups(),
            "rejections": self.rejections(),
            "warnings": self.warnings(),
            "duplicates": [
                {"row": row.row, "external_id": row.external_id, "duplicate_of": row.duplicate_of}
                for row in self.duplicates
            ],
        }


GROUP_ROWS = 10
REPORT_CSV_COLUMNS = (
    *("row", "external_id", "name", "status", "key", "kind", "code", "field", "column"),
    "message",
)


def report_rows(report: ImportReport) -> Iterator[dict[str, Any]]:
    """The report line by line: every source row with its outcome, one line per issue."""
    for notice in report.notices:
        yield {"kind": "notice", "code": notice.code, "message": notice.message}
    for row in report.rows:
        base = {
            "row": row.row,
            "external_id": row.external_id,
            "name": row.name,
            "status": row.status,
            "key": row.key or "",
        }
        issues = [("error", issue) for issue in row.errors]
        issues += [("warning", issue) for issue in row.warnings]
        if row.status == "duplicate":
            yield {
                **base,
                "kind": "duplicate",
                "code": "duplicate",
                "message": _("Same values as row %(row)s; skipped.") % {"row": row.duplicate_of},
            }
        elif not issues:
            yield {**base, "kind": "ok"}
        for kind, issue in issues:
            yield {**base, "kind": kind, **issue.as_dict()}


def write_report_csv(report: ImportReport, stream: Any) -> None:
    """Write the report as CSV (for `import_initiatives --report` and downloads)."""
    writer = csv.DictWriter(stream, fieldnames=REPORT_CSV_COLUMNS, restval="")
    writer.writeheader()
    for line in report_rows(report):
        writer.writerow(
            {
                key: escape_formula(str(value)) if isinstance(value, str) else value
                for key, value in line.items()
            }
        )


def report_csv(report: ImportReport) -> str:
    """The report as CSV text."""
    stream = io.StringIO()
    write_report_csv(report, stream)
    return stream.getvalue()


Progress = Callable[[str, int, int], None]


def _sync_chunks(
    outcomes: list[RowOutcome],
    *,
    source: str,
    filename: str,
    mapping: ImportMapping,
    actor: Any,
    actor_name: str,
    dry_run: bool,
    atomic: bool,
    chunk_size: int,
    progress: Progress | None,
) -> bool:
    """Send the good rows through sync_batch chunk by chunk; True if sync refused any."""
    pending = [outcome for outcome in outcomes if not outcome.status]
    phase = "checking" if dry_run else "importing"
    refused = False
    if progress:
        progress(phase, 0, len(pending))
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start : start + chunk_size]
        items = [
            {
                **outcome.item,
                mapping.identity: outcome.external_id,
                "note": _("Imported from %(file)s, row %(row)d, with the mapping %(mapping)s.")
                % {
                    "file": filename or _("a spreadsheet"),
                    "row": outcome.row,
                    "mapping": mapping.name,
                },
            }
            for outcome in chunk
        ]
        # Once an all-or-nothing import has a refusal, later chunks are only checked.
        upsert = (
            exports.sync_by_key
            if mapping.identity == "key"
            else partial(sync.sync_batch, create_tags=mapping.create_missing_tags)
        )
        result = upsert(
            source=source,
            items=items,
            actor=actor,
            actor_name=actor_name,
            atomic=atomic,
            channel=Channel.IMPORT,
            dry_run=dry_run or (atomic and refused),
        )
        for outcome, item in zip(chunk, result.items, strict=True):
            if item.errors:
                refused = True
                outcome.status = "rejected"
                outcome.errors += [
                    RowIssue(
                        error.attr or "",
                        error.detail,
                        mapping.column_of((error.attr or "").split(".")[0]),
                        code=error.code,
                    )
                    for error in item.errors
                ]
            else:
                outcome.status = item.result or "not_written"
                outcome.key, outcome.stage = item.key, item.stage
                outcome.initiative_id = item.initiative_id
                outcome.gate_gaps = list(item.gate_gaps)
        if progress:
            progress(phase, min(start + chunk_size, len(pending)), len(pending))
    return refused


def import_table(
    table: Table,
    *,
    mapping: ImportMapping,
    source: str,
    filename: str = "",
    actor: Any = None,
    actor_name: str = "",
    dry_run: bool = False,
    atomic: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Map a table's rows and sync them as initiatives of `source`; see `import_file`."""
    source = (source or "").strip()
    if not source:
        raise sync.SyncError(_("An import needs a source name."), code="required", attr="source")
    if not 1 <= chunk_size <= sync.MAX_BATCH_ITEMS:
        raise ValueError(f"chunk_size must be between 1 and {sync.MAX_BATCH_ITEMS}.")
    report = ImportReport(
        source=source,
        mapping=mapping.name,
        filename=filename,
        file_format=table.file_format,
        encoding=table.encoding,
        dry_run=dry_run,
        atomic=atomic,
        blank_rows=table.blank_rows,
    )
    report.rows, report.notices = map_rows(table, mapping)
    if progress:
        progress("reading", len(report.rows), len(report.rows))
    actor_name = actor_name or f"import:{source}"
    options: dict[str, Any] = {
        "source": source,
        "filename": filename,
        "mapping": mapping,
        "actor": actor,
        "actor_name": actor_name,
        "chunk_size": chunk_size,
        "progress": progress,
    }

    def prepare() -> None:
        refs = resolve_references(report.rows, mapping, actor=actor)
        report.tags_created, report.departments_created = (
            refs.tags_created,
            refs.departments_created,
        )
        drop_create_only_fields(report.rows, mapping, source)

    with history_context(channel=Channel.IMPORT, actor=actor_name, import_file=filename):
        if dry_run or atomic:
            # One transaction for everything. A dry run or a refusal rolls it all back,
            # tags and departments created for the rows included.
            with transaction.atomic():
                prepare()
                refused_early = bool(report.rejected)
                refused = _sync_chunks(
                    report.rows, dry_run=dry_run or refused_early, atomic=True, **options
                )
                report.written = not (dry_run or refused or refused_early)
                if not report.written:
                    transaction.set_rollback(True)
            if not dry_run and not report.written:
                for row in report.rows:
                    if row.status in ("created", "updated", "unchanged"):
                        row.status, row.key, row.initiative_id = "not_written", None, None
        else:
            # Reference data first; then each chunk commits on its own, so good rows stay.
            with transaction.atomic():
                prepare()
            _sync_chunks(report.rows, dry_run=False, atomic=False, **options)
            report.written = True
    return report


def import_file(
    data: bytes,
    *,
    mapping: ImportMapping,
    source: str,
    filename: str = "",
    actor: Any = None,
    actor_name: str = "",
    dry_run: bool = False,
    atomic: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV or XLSX file's rows as initiatives of `source`, through the sync module.

    `atomic` (the default) writes every row or none; otherwise good rows are written and bad
    ones reported. `dry_run` reports what would happen and writes nothing. History shows
    the channel `import` and `actor_name`, by default `import:<source>`.
    """
    table = read_table(
        data,
        filename=filename,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        sheet=mapping.sheet,
    )
    return import_table(
        table,
        mapping=mapping,
        source=source,
        filename=filename,
        actor=actor,
        actor_name=actor_name,
        dry_run=dry_run,
        atomic=atomic,
        chunk_size=chunk_size,
        progress=progress,
    )
