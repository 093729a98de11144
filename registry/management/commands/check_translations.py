"""`manage.py check_translations`: fail when a marked string lacks a translation.

Runs makemessages into a copy of the catalogues (the committed ones stay untouched), then
fails on any entry that is empty, fuzzy or whose placeholders do not match the original.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from registry.management.commands.makemessages import PROJECT_IGNORE_PATTERNS
from tools.translation_check import (
    catalogue_path,
    catalogue_problems,
    catalogue_stats,
    gettext_in_fstrings,
    project_sources,
)

SHOWN_PROBLEMS = 40


def translated_languages() -> list[str]:
    """Languages that need a catalogue: all of LANGUAGES except the source language."""
    return [code for code, _name in settings.LANGUAGES if code != "en"]


class Command(BaseCommand):
    help = (
        "Fail when a string marked for translation has no translation (empty or fuzzy entry, "
        "or mismatched placeholders), after extracting the strings afresh."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--locale-dir",
            type=Path,
            help="Catalogue folder to check (default: the first of LOCALE_PATHS).",
        )
        parser.add_argument(
            "-l",
            "--locale",
            action="append",
            help="Language to check (repeatable; default: every language but English).",
        )
        parser.add_argument(
            "--no-extract",
            action="store_true",
            help="Check the catalogues as they are, without running makemessages first.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        locale_dir = Path(options["locale_dir"] or settings.LOCALE_PATHS[0])
        languages = options["locale"] or translated_languages()
        with tempfile.TemporaryDirectory(prefix="check-translations-") as scratch:
            checked_dir = Path(scratch) / "locale"
            if locale_dir.is_dir():
                shutil.copytree(locale_dir, checked_dir)
            else:
                checked_dir.mkdir()
            if not options["no_extract"]:
                self.extract(checked_dir, languages)
            failures = self.hidden_messages() if not options["no_extract"] else []
            for language in languages:
                path = catalogue_path(checked_dir, language)
                if not path.is_file():
                    failures.append(f"{language}: there is no catalogue at {path.name}")
                    continue
                text = path.read_text(encoding="utf-8")
                problems = catalogue_problems(text)
                total, translated = catalogue_stats(text)
                if problems:
                    failures.append(
                        f"{language}: {len(problems)} problem(s), {translated} of {total} "
                        "messages translated"
                    )
                    failures.extend(f"  {problem}" for problem in problems[:SHOWN_PROBLEMS])
                    if len(problems) > SHOWN_PROBLEMS:
                        failures.append(f"  … and {len(problems) - SHOWN_PROBLEMS} more")
                else:
                    self.stdout.write(f"{language}: all {total} messages translated.")
        if failures:
            raise CommandError(
                "Untranslated strings (run `manage.py makemessages -l de --no-obsolete`, "
                "translate, then `manage.py compilemessages`):\n" + "\n".join(failures)
            )

    def hidden_messages(self) -> list[str]:
        """Messages marked where makemessages cannot extract them (inside f-strings)."""
        base_dir = Path(settings.BASE_DIR)
        hidden = [
            f"  {problem}"
            for path in project_sources(base_dir, PROJECT_IGNORE_PATTERNS)
            for problem in gettext_in_fstrings(
                path.read_text(encoding="utf-8"), path.relative_to(base_dir).as_posix()
            )
        ]
        return ["Marked messages makemessages cannot see:", *hidden] if hidden else []

    def extract(self, locale_dir: Path, languages: list[str]) -> None:
        """makemessages into `locale_dir`: new strings appear there as empty entries."""
        with override_settings(LOCALE_PATHS=[locale_dir]):
            call_command(
                "makemessages",
                locale=languages,
                no_obsolete=True,
                # The project's own catalogue folders must not be found (and written to)
                # during the walk; every string goes to the copy instead.
                ignore_patterns=["locale"],
                verbosity=0,
                stdout=io.StringIO(),
            )
