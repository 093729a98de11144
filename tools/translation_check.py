"""Is every marked string translated? A reader for gettext catalogues and the rules it checks.

`manage.py check_translations` (part of `make lint`) runs makemessages into a copy of the
catalogues and applies these rules, so a string marked for translation without a German
entry, or a translation left fuzzy, fails the build instead of reaching a German PMO as
English.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import polib

# %(name)s, %s, %d … as Python's %-formatting reads them (`%%` is a literal percent sign).
PERCENT_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]+)\))?[#0 +-]*\d*(?:\.\d+)?(?P<type>[sdifr%])"
)

# {name} of str.format(); `{{` is a literal brace.
BRACE_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")


@dataclass
class CatalogueEntry:
    """One message of a .po file: its id(s), translation(s) and flags."""

    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def where(self) -> str:
        return self.references[0] if self.references else f"line {self.line}"


def parse_po(text: str) -> list[CatalogueEntry]:
    """The entries of a .po file (header included), in file order, read by polib (the same
    reader makemessages' own `add_mapping_texts` uses)."""
    catalogue = polib.pofile(text)
    metadata = "".join(f"{name}: {value}\n" for name, value in catalogue.ordered_metadata())
    header = CatalogueEntry(msgstr={0: metadata}, line=1)
    if catalogue.metadata_is_fuzzy:
        header.flags.add("fuzzy")
    entries = [header]
    for item in catalogue:
        msgstr = (
            {int(index): value for index, value in item.msgstr_plural.items()}
            if item.msgid_plural
            else {0: item.msgstr}
        )
        entries.append(
            CatalogueEntry(
                msgid=item.msgid,
                msgid_plural=item.msgid_plural or "",
                msgctxt=item.msgctxt,
                msgstr=msgstr,
                flags=set(item.flags),
                references=[f"{path}:{line}" if line else path for path, line in item.occurrences],
                obsolete=bool(item.obsolete),
                line=item.linenum,
            )
        )
    return entries


def _placeholders(text: str) -> list[str]:
    found = []
    for match in PERCENT_PLACEHOLDER.finditer(text):
        if match["type"] == "%":
            continue
        found.append(f"%({match['name']})" if match["name"] else f"%{match['type']}")
    return found


def entry_problems(entry: CatalogueEntry) -> list[str]:
    """What is wrong with one entry: untranslated, fuzzy, or placeholders that do not match."""
    if entry.obsolete:
        return []
    if entry.is_header:
        # A fuzzy header is ignored by msgfmt: no charset, no plural rule.
        return ["the catalogue's header is marked fuzzy"] if "fuzzy" in entry.flags else []
    label = f"{entry.where}: {entry.msgid!r}"
    if "fuzzy" in entry.flags:
        return [f"{label} is fuzzy (check the translation, then drop the flag)"]
    translations = list(entry.msgstr.values()) or [""]
    if any(not text.strip() for text in translations):
        return [f"{label} has no translation"]
    problems = []
    if "python-brace-format" in entry.flags:
        expected_fields = set(BRACE_FIELD.findall(entry.msgid + entry.msgid_plural))
        for text in translations:
            unknown_fields = sorted(set(BRACE_FIELD.findall(text)) - expected_fields)
            if unknown_fields:
                problems.append(
                    f"{label}: the translation uses unknown placeholders {unknown_fields}"
                )
    if "python-format" not in entry.flags:
        return problems
    expected_named = {p for p in _placeholders(entry.msgid) if p.startswith("%(")}
    expected_named |= {p for p in _placeholders(entry.msgid_plural) if p.startswith("%(")}
    expected_positional = sorted(p for p in _placeholders(entry.msgid) if not p.startswith("%("))
    for text in translations:
        found = _placeholders(text)
        named = {p for p in found if p.startswith("%(")}
        if named - expected_named:
            unknown = sorted(named - expected_named)
            problems.append(f"{label}: the translation uses unknown placeholders {unknown}")
        positional = sorted(p for p in found if not p.startswith("%("))
        if positional != expected_positional:
            problems.append(
                f"{label}: the translation has {positional or 'no'} positional placeholders, "
                f"the original {expected_positional or 'none'}"
            )
    return problems


def catalogue_problems(text: str) -> list[str]:
    """Every problem in a .po file's text; empty when each entry is translated and clean."""
    return [problem for entry in parse_po(text) for problem in entry_problems(entry)]


def catalogue_stats(text: str) -> tuple[int, int]:
    """(messages, translated messages) of a .po file, header and obsolete entries left out."""
    entries = [e for e in parse_po(text) if not e.is_header and not e.obsolete]
    translated = [e for e in entries if not entry_problems(e)]
    return len(entries), len(translated)


def catalogue_path(locale_dir: Path, language: str, domain: str = "django") -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


GETTEXT_NAMES = frozenset(
    {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}
)


def gettext_in_fstrings(source: str, filename: str = "<source>") -> list[str]:
    """`f"{_('No goal')} …"`: makemessages cannot see a message marked inside an f-string,
    so it would never be translated. Each such call, as `file:line: message`.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id in GETTEXT_NAMES
            ):
                found.append(
                    f"{filename}:{inner.lineno}: {ast.unparse(inner)} is inside an "
                    "f-string, where makemessages cannot see it; assign it to a name first"
                )
    return found


def project_sources(base_dir: Path, ignored: tuple[str, ...]) -> list[Path]:
    """The project's .py files, without hidden folders and the ignored ones (`tests/*` …)."""
    prefixes = tuple(pattern.rstrip("*").rstrip("/") + "/" for pattern in ignored)
    sources = []
    for path in sorted(base_dir.rglob("*.py")):
        relative = path.relative_to(base_dir).as_posix()
        if any(part.startswith(".") for part in path.relative_to(base_dir).parts):
            continue
        if relative.startswith(prefixes) or ".egg-info/" in relative:
            continue
        sources.append(path)
    return sources
