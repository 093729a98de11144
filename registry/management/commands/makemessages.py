"""`manage.py makemessages`: Django's own, scoped to the project's translatable sources.

It always works from the project folder and skips what is not the product (tests, benchmarks,
fixtures, docs, build output), so `makemessages -l de --no-obsolete` puts exactly the
project's strings into registry/locale/de/LC_MESSAGES/django.po. The names and descriptions
of the shipped import mappings (YAML, which xgettext cannot read) are extracted too; the
import pages show them through gettext.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.commands import makemessages

# Folders whose strings no user of the product reads (the default ignores, such as `.*`
# for .venv and .pgdata, still apply).
PROJECT_IGNORE_PATTERNS: tuple[str, ...] = (
    "tests/*",
    "bench/*",
    "fixtures/*",
    "docs/*",
    "build/*",
    "dist/*",
    "staticfiles/*",
    "artifacts/*",
    "node_modules/*",
    "*.egg-info/*",
    "registry/migrations/*",
)


class Command(makemessages.Command):
    help = makemessages.Command.help + " Scoped to the registry's own sources."

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("use_default_ignore_patterns", True):
            options["ignore_patterns"] = [
                *options.get("ignore_patterns", []),
                *PROJECT_IGNORE_PATTERNS,
            ]
        with contextlib.chdir(settings.BASE_DIR):
            super().handle(*args, **options)

    def build_potfiles(self) -> list[str]:
        potfiles = super().build_potfiles()
        if self.domain == "django" and potfiles:
            add_mapping_texts(Path(potfiles[0]), Path(settings.BASE_DIR))
        return potfiles


def _po_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def add_mapping_texts(potfile: Path, base_dir: Path) -> None:
    """Append the shipped mappings' names and descriptions to a .pot file (once each)."""
    from registry.spreadsheets import imports

    text = potfile.read_text(encoding="utf-8")
    known = {entry.msgid for entry in polib.pofile(text) if entry.msgctxt is None}
    entries = []
    for mapping in imports.shipped_mappings():
        where = Path(imports.MAPPINGS_DIR, f"{mapping.slug}.yaml").relative_to(base_dir)
        for message in (mapping.name, mapping.description):
            if message and message not in known:
                known.add(message)
                entries.append(f'#: {where.as_posix()}\nmsgid {_po_string(message)}\nmsgstr ""\n')
    if entries:
        potfile.write_text(text.rstrip("\n") + "\n\n" + "\n".join(entries), encoding="utf-8")
