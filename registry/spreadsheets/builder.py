"""The mapping builder's reasoning: what each column of an unseen spreadsheet probably is, and
the YAML mapping the PMO's choices make.

Suggestions come from the column's name (Jira's "Issue key", ServiceNow's "Short description",
the federal inventory's "development_stage") and from its content: dates, e-mail addresses,
amounts, words of our stage/kind/risk vocabularies, names of registered departments, long
text. Each field is suggested for one column at most, the best-scored one. The PMO's choices
become the same YAML a hand-written mapping is, validated by `imports.parse_mapping`, so the
builder, the import page and `manage.py import_initiatives --mapping NAME` share one mechanism.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registry.choices import Kind, RiskTier, Stage
from registry.models import Department
from registry.models import ImportMapping as SavedMapping
from registry.spreadsheets import imports

SAMPLE_VALUES = 3
MAX_DISTINCT = 60  # value maps list at most this many distinct words of a column
# Content is judged on a column's first filled cells (a date column shows itself in far
# fewer); counts and distinct words cover every row, so no word misses its value map.
CONTENT_SAMPLE = 300
LONG_TEXT = 80  # an average cell this long is prose: a summary, not a name

# Fields the builder offers, in the order the page lists them; the labels are the page's.
FIELD_LABELS: dict[str, Any] = {
    "name": gettext_lazy("Name"),
    "summary": gettext_lazy("Summary"),
    "kind": gettext_lazy("Kind"),
    "stage": gettext_lazy("Stage"),
    "risk_tier": gettext_lazy("Risk tier"),
    "lead_department": gettext_lazy("Lead department"),
    "owner_email": gettext_lazy("Owner (e-mail)"),
    "owner_name": gettext_lazy("Owner (name)"),
    "start_date": gettext_lazy("Start date"),
    "target_date": gettext_lazy("Target date"),
    "end_date": gettext_lazy("End date"),
    "budget_planned": gettext_lazy("Budget planned"),
    "budget_spent": gettext_lazy("Budget spent"),
    "expected_benefit": gettext_lazy("Expected benefit"),
    "hypothesis": gettext_lazy("Hypothesis"),
    "success_criteria": gettext_lazy("Success criteria"),
    "learnings": gettext_lazy("Learnings"),
    "tags": gettext_lazy("Tags"),
    "external_url": gettext_lazy("Link (URL)"),
    "customer_facing": gettext_lazy("Customer-facing"),
    "uses_personal_data": gettext_lazy("Uses personal data"),
    "confidential": gettext_lazy("Confidential"),
}
# Fields whose words the PMO maps onto ours, one select per distinct value.
VALUE_MAP_FIELDS: dict[str, type[models.TextChoices] | None] = {
    "stage": Stage,
    "kind": Kind,
    "risk_tier": RiskTier,
    "lead_department": None,  # onto registered departments, or created as written
}
NEW_DEPARTMENT = "__new__"  # a department word left as written: created by the import
LEAVE_BLANK = "__blank__"  # a word that means "not set"
DATE_FIELDS = ("start_date", "target_date", "end_date")

# Column names (normalised: lower case, words only) that say what a column holds.
NAME_HINTS: dict[str, tuple[str, ...]] = {
    "id": ("id", "key", "issue key", "number", "ticket", "use case id", "ref", "reference"),
    "name": ("name", "title", "use case name", "initiative", "project", "short description"),
    "summary": ("description", "summary", "problem solved", "details", "abstract", "purpose"),
    "kind": ("kind", "type", "category", "classification", "ai type", "technique", "issue type"),
    "stage": ("stage", "status", "state", "phase", "development stage", "lifecycle"),
    "risk_tier": ("risk", "risk tier", "risk level", "is high impact", "high impact", "ai act"),
    "lead_department": (
        *("department", "agency", "agency name", "business unit", "unit", "division"),
        *("assignment group", "team", "owning department", "lead department", "org"),
    ),
    "owner_email": ("email", "e mail", "contact email", "owner email", "contact", "mail"),
    "owner_name": ("owner", "assignee", "assigned to", "reporter", "lead", "contact name"),
    "start_date": ("start", "start date", "created", "opened", "go live", "operational date"),
    "target_date": ("target", "target date", "due", "due date", "deadline", "planned end"),
    "end_date": ("end", "end date", "resolved", "closed", "completed"),
    "budget_planned": ("budget", "planned budget", "budget planned", "cost", "estimate"),
    "budget_spent": ("spent", "budget spent", "actual cost", "actuals"),
    "expected_benefit": ("benefit", "benefits", "expected benefit", "value", "impact"),
    "hypothesis": ("hypothesis",),
    "success_criteria": ("success criteria", "kpi", "kpis", "acceptance criteria"),
    "learnings": ("learnings", "lessons", "lessons learned"),
    "tags": ("tags", "labels", "topic", "topic area", "keywords", "components"),
    "external_url": ("url", "link", "code url", "website"),
    "customer_facing": ("customer facing", "customer-facing", "external"),
    "uses_personal_data": ("pii", "has pii", "personal data", "uses personal data"),
    "confidential": ("confidential", "is withheld", "withheld", "internal only"),
}
# Words other tools use for our stages, kinds and risk tiers (normalised).
WORD_HINTS: dict[str, dict[str, str]] = {
    "stage": {
        **dict.fromkeys(("backlog", "new", "open", "to do", "todo", "draft"), "idea"),
        **dict.fromkeys(("pre-deployment", "submitted", "planned", "planning"), "proposed"),
        **dict.fromkeys(("under review", "requested", "assess", "assessment"), "proposed"),
        **dict.fromkeys(("approved", "accepted", "ready"), "approved"),
        **dict.fromkeys(("poc", "proof of concept", "trial", "testing", "in progress"), "pilot"),
        **dict.fromkeys(("piloting", "experiment", "mvp", "implement", "build"), "pilot"),
        **dict.fromkeys(("rollout", "roll-out", "scaling up", "expanding"), "scaling"),
        **dict.fromkeys(("deployed", "live", "in production", "operational", "done"), "production"),
        **dict.fromkeys(("decommissioned", "retired", "sunset", "closed"), "retired"),
        **dict.fromkeys(("on hold", "paused", "blocked"), "paused"),
        **dict.fromkeys(("cancelled", "canceled", "rejected", "abandoned", "won't do"), "stopped"),
    },
    "kind": {
        **dict.fromkeys(("virtual agent", "bot", "chat bot", "conversational ai"), "chatbot"),
        **dict.fromkeys(("ivr", "voice bot", "voice assistant"), "voicebot"),
        **dict.fromkeys(("agent assistance", "copilot", "agent copilot"), "agent_assist"),
        **dict.fromkeys(("rpa", "agentic ai", "workflow automation", "triage"), "automation"),
        **dict.fromkeys(
            ("machine learning", "classical ml", "forecasting"), "predictive_analytics"
        ),
        **dict.fromkeys(("classical/predictive machine learning",), "predictive_analytics"),
        **dict.fromkeys(
            ("recommendation", "next best action", "next best offer"), "personalization"
        ),
        **dict.fromkeys(
            ("generative ai", "genai", "llm", "content generation"), "generative_content"
        ),
        **dict.fromkeys(
            ("sentiment analysis", "voice of the customer", "voc"), "sentiment_analytics"
        ),
    },
    "risk_tier": {
        **dict.fromkeys(("low", "minimal risk", "not high-impact", "none"), "minimal"),
        **dict.fromkeys(("medium", "moderate", "limited risk", "transparency"), "limited"),
        **dict.fromkeys(("high-impact", "high risk", "critical"), "high"),
        **dict.fromkeys(("unacceptable", "banned", "prohibited practice"), "prohibited"),
    },
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
AMOUNT = re.compile(r"^[€$£]?\s*-?[\d.,' ]*\d\s*(?:€|eur|usd|\$|k)?$", re.IGNORECASE)
BOOLEAN_WORDS = imports.TRUE_WORDS | imports.FALSE_WORDS


def check_readable(data: bytes, *, filename: str) -> None:
    """Refuse, with a message that says why, files the importer would misread."""
    if not data.strip():
        raise imports.ImportFileError(_("The file is empty."))
    if data.startswith(imports.OLE_MAGIC) and filename.lower().endswith((".xlsx", ".xlsm")):
        # Excel stores an encrypted workbook in an OLE container, not as a zip archive.
        raise imports.ImportFileError(
            _("The workbook is password-protected; save it without a password and upload it again.")
        )
    if data.startswith((imports.XLSX_MAGIC, imports.OLE_MAGIC)):
        return
    text, _encoding = imports.decode_text(data[:65536])
    control = sum(1 for char in text if ord(char) < 32 and char not in "\t\n\r")
    if control > max(2, len(text) // 100):
        raise imports.ImportFileError(
            _(
                "The file is not text in an encoding the import reads (UTF-8, UTF-16 with a "
                "byte order mark, Windows-1252): save it as CSV in UTF-8, or as XLSX."
            )
        )


def column_key(name: str) -> str:
    """A column name as the hints spell it: 'Issue_Key ' → 'issue key'."""
    return " ".join(re.sub(r"[_\s-]+", " ", imports.normalise_word(name)).split())


@dataclass
class ColumnProfile:
    """One column of the uploaded file, as the builder shows it."""

    name: str
    samples: list[str]
    distinct: list[str]  # its distinct values, most frequent first (at most MAX_DISTINCT)
    distinct_count: int
    filled: int
    rows: int
    suggestion: str = ""
    reason: str = ""
    scores: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def unique(self) -> bool:
        return self.rows > 0 and self.filled == self.rows and self.distinct_count == self.rows


def _is_date(text: str) -> bool:
    try:
        imports.parse_date(text, imports.DATE_FORMATS)
    except imports.InvalidValueError:
        return False
    return not text.isdigit() or len(text) == 4 and 1900 < int(text) < 2100


def vocabulary_word(field_name: str, value: str) -> str:
    """Our code for another tool's word ('Deployed' → production), or '' if unknown."""
    word = imports.normalise_word(value)
    choices = VALUE_MAP_FIELDS.get(field_name)
    if choices is not None:
        code = imports.choice_value(field_name, value)
        if code in choices.values:
            return str(code)
    hints = WORD_HINTS.get(field_name, {})
    if word in hints:
        return hints[word]
    # "a) Pre-deployment – The use case is …", "Generative AI: AI that …": the lead words.
    lead = re.split(r"\s+[–—-]\s|:", re.sub(r"^[a-z]\)\s*", "", word), maxsplit=1)[0].strip()
    if lead != word:
        return vocabulary_word(field_name, lead)
    return ""


def _share(values: Sequence[str], test: Any) -> float:
    return sum(1 for value in values if test(value)) / len(values) if values else 0.0


def _content_scores(values: Sequence[str], department_words: set[str]) -> dict[str, float]:
    """How well the values look like each field's (0 to 1)."""
    if not values:
        return {}
    distinct = set(values)
    average = sum(len(value) for value in values) / len(values)
    scores = {
        "owner_email": _share(values, EMAIL.match),
        "external_url": _share(values, URL.match),
        "lead_department": _share(
            list(distinct), lambda v: imports.normalise_word(v) in department_words
        ),
        "summary": 0.8 if average >= LONG_TEXT else 0.0,
    }
    dates = _share(values, _is_date)
    for name in DATE_FIELDS:
        # A date is some date: the name says which; without one, a start date.
        scores[name] = dates * (0.7 if name == "start_date" else 0.6)
    if len(distinct) <= MAX_DISTINCT:
        for name in ("stage", "kind", "risk_tier"):
            scores[name] = _share(list(distinct), lambda v, n=name: bool(vocabulary_word(n, v)))
        booleans = _share(list(distinct), lambda v: imports.normalise_word(v) in BOOLEAN_WORDS)
        for name in ("customer_facing", "uses_personal_data", "confidential"):
            scores[name] = booleans * 0.4
    amounts = _share(values, lambda v: bool(AMOUNT.match(v)) and any(c.isdigit() for c in v))
    scores["budget_planned"] = amounts * 0.4 if dates < 0.5 else 0.0
    return scores


def _name_scores(name: str) -> dict[str, float]:
    key = column_key(name)
    scores: dict[str, float] = {}
    for target, hints in NAME_HINTS.items():
        if key in hints:
            scores[target] = 1.0
        elif any(re.search(rf"\b{re.escape(hint)}\b", key) for hint in hints if len(hint) > 3):
            scores[target] = 0.6
    return scores


def profile_column(
    name: str, values: Sequence[str], *, placeholders: frozenset[str], department_words: set[str]
) -> ColumnProfile:
    filled = [value for value in values if imports.normalise_word(value) not in placeholders]
    counts = Counter(filled)
    profile = ColumnProfile(
        name=name,
        samples=list(dict.fromkeys(filled))[:SAMPLE_VALUES],
        distinct=[value for value, _n in counts.most_common(MAX_DISTINCT)],
        distinct_count=len(counts),
        filled=len(filled),
        rows=len(values),
    )
    by_name = _name_scores(name)
    by_content = _content_scores(filled[:CONTENT_SAMPLE], department_words)
    for target in {*by_name, *by_content}:
        score = by_name.get(target, 0.0) + by_content.get(target, 0.0)
        if score >= 0.5:
            profile.scores[target] = score
    sample = filled[:CONTENT_SAMPLE]
    average = sum(map(len, sample)) / len(sample) if sample else 0
    if column_key(name) == "summary" and average < LONG_TEXT:
        del profile.scores["summary"]  # Jira's "Summary" is the title: short text
        profile.scores["name"] = max(profile.scores.get("name", 0.0), 0.9)
    if profile.unique and average < 40:
        profile.scores["id"] = profile.scores.get("id", 0.0) + 0.5
    return profile


def _reason(profile: ColumnProfile, target: str) -> str:
    if target in _name_scores(profile.name) or column_key(profile.name) == "summary":
        return _("by its name")
    return _("by its content")


def profile_table(table: imports.Table, *, placeholders: Iterable[str] = ()) -> list[ColumnProfile]:
    """Each column with samples, distinct values and the field it most probably fills."""
    words = frozenset(imports.normalise_word(p) for p in placeholders) or frozenset(
        imports.normalise_word(p) for p in imports.DEFAULT_PLACEHOLDERS
    )
    words |= {""}
    department_words = {
        imports.normalise_word(word)
        for pair in Department.objects.values_list("name", "slug")
        for word in pair
    }
    rows = table.rows
    profiles = [
        profile_column(
            header,
            [row.values.get(header, "") for row in rows],
            placeholders=words,
            department_words=department_words,
        )
        for header in table.headers
    ]
    # Each field to its best column; each column gets its best field still free.
    claims = sorted(
        (
            (score, target, index)
            for index, p in enumerate(profiles)
            for target, score in p.scores.items()
        ),
        key=lambda claim: (-claim[0], claim[2]),
    )
    taken: set[str] = set()
    for _score, target, index in claims:
        profile = profiles[index]
        if profile.suggestion or target in taken:
            continue
        profile.suggestion, profile.reason = target, _reason(profile, target)
        taken.add(target)
    return profiles


def suggested_value_map(field_name: str, words: Iterable[str]) -> dict[str, str]:
    """Each word's suggested target: our code, a department's slug, or '' (choose one)."""
    if field_name != "lead_department":
        return {word: vocabulary_word(field_name, word) for word in words}
    departments: dict[str, str] = {}
    for slug, name in Department.objects.values_list("slug", "name"):
        departments[imports.normalise_word(slug)] = slug
        departments[imports.normalise_word(name)] = slug
    return {word: departments.get(imports.normalise_word(word), NEW_DEPARTMENT) for word in words}


# --- the PMO's choices as a mapping ------------------------------------------------------------


@dataclass
class BuilderChoices:
    """What the PMO chose on the builder's page."""

    title: str
    source: str
    columns: dict[str, str]  # field (FIELD_LABELS' keys) -> column
    id_columns: list[str]
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    sheet: str = ""


def build_mapping_data(choices: BuilderChoices) -> dict[str, Any]:
    """The mapping as the YAML file spells it."""
    fields: dict[str, Any] = {}
    columns = dict(choices.columns)
    email, owner_name = columns.pop("owner_email", ""), columns.pop("owner_name", "")
    for name, column in columns.items():
        spec: dict[str, Any] = {"column": column}
        if name == "name":
            spec["truncate"] = 200
        if name == "tags":
            spec = {"columns": [column]}
        if name in DATE_FIELDS or name in ("budget_planned", "budget_spent", "external_url"):
            spec["on_invalid"] = "blank"
        words = choices.value_maps.get(name)
        if words is not None:
            spec["map"] = {
                word: None if target == LEAVE_BLANK else target
                for word, target in words.items()
                if target and target != NEW_DEPARTMENT
            }
            if name == "kind":  # kind is required: other words become "other"
                spec["unmapped"], spec["default"] = "default", str(Kind.OTHER.value)
            elif name in ("stage", "risk_tier"):  # other words: a warning, the field unset
                spec["unmapped"], spec["on_invalid"] = "error", "blank"
        fields[name] = spec
    if "kind" not in fields:
        fields["kind"] = {"value": str(Kind.OTHER.value), "only_on_create": True}
    if email:
        fields["owner"] = {"email": email, **({"name": owner_name} if owner_name else {})}
    name_column = choices.columns.get("name", "")
    identity: dict[str, Any] = {"columns": list(choices.id_columns)}
    if name_column:
        identity["derive_from"] = [name_column]
        identity["columns"] = identity["columns"] or [name_column]
    data: dict[str, Any] = {
        "name": choices.title,
        "description": _("Built in the admin's mapping builder."),
        "source": choices.source,
        "id": identity,
        "create_missing_departments": True,
        "create_missing_tags": True,
        "fields": fields,
    }
    if choices.sheet:
        data["format"] = {"sheet": choices.sheet}
    return data


def build_yaml(choices: BuilderChoices) -> str:
    return yaml.safe_dump(
        build_mapping_data(choices), allow_unicode=True, sort_keys=False, width=100
    )


def parse_built(yaml_text: str, *, slug: str) -> imports.ImportMapping:
    """The built YAML as the importer reads it; MappingError if it is wrong."""
    return imports.parse_mapping(yaml.safe_load(yaml_text), slug=slug)


# --- saved mappings ---------------------------------------------------------------------------


def mapping_rules(name: str) -> dict[str, Any]:
    """What `registry.services.import_mappings` checks a saved mapping with."""
    return {
        "validate": lambda data: imports.parse_mapping(data, slug=name),
        "reserved": {mapping.slug for mapping in imports.shipped_mappings()},
    }


def saved_mappings() -> list[imports.ImportMapping]:
    """The mappings the PMO saved, parsed; one that no longer parses is left out."""
    found = []
    for name, text in SavedMapping.objects.order_by("name").values_list("name", "yaml"):
        try:
            found.append(imports.parse_mapping(yaml.safe_load(text), slug=name))
        except (imports.MappingError, yaml.YAMLError):
            continue
    return found


def value_map_words(profiles: Sequence[ColumnProfile], column: str) -> list[str]:
    """The distinct words of a column, most frequent first: one select each on the page."""
    for profile in profiles:
        if profile.name == column:
            return profile.distinct
    return []
