"""`python -m tools.check_translations`: fail when a marked string lacks a translation.

Runs makemessages into a copy of the catalogues (the committed ones stay untouched), then
fails on any entry that is empty, fuzzy or whose placeholders do not match the original.
A developer's check (`make lint`), not part of the shipped package.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command
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


class TranslationCheckFailedError(Exception):
    """Some marked strings have no (valid) translation; the message lists them."""


def check(
    *, locale_dir: Path | None = None, languages: list[str] | None = None, extract: bool = True
) -> list[str]:
    """One line per checked language; raises TranslationCheckFailedError listing problems."""
    locale_dir = Path(locale_dir or settings.LOCALE_PATHS[0])
    languages = languages or translated_languages()
    report = []
    with tempfile.TemporaryDirectory(prefix="check-translations-") as scratch:
        checked_dir = Path(scratch) / "locale"
        if locale_dir.is_dir():
            shutil.copytree(locale_dir, checked_dir)
        else:
            checked_dir.mkdir()
        if extract:
            extract_messages(checked_dir, languages)
        failures = hidden_messages() if extract else []
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
                report.append(f"{language}: all {total} messages translated.")
    if failures:
        raise TranslationCheckFailedError(
            "Untranslated strings (run `manage.py makemessages -l de --no-obsolete`, "
            "translate, then `manage.py compile_translations`):\n" + "\n".join(failures)
        )
    return report


def hidden_messages() -> list[str]:
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


def extract_messages(locale_dir: Path, languages: list[str]) -> None:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locale-dir", type=Path, help="Catalogue folder to check.")
    parser.add_argument("-l", "--locale", action="append", help="Language (repeatable).")
    parser.add_argument("--no-extract", action="store_true", help="Check them as they are.")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    django.setup()
    try:
        report = check(
            locale_dir=args.locale_dir, languages=args.locale, extract=not args.no_extract
        )
    except TranslationCheckFailedError as failed:
        print(failed, file=sys.stderr)
        return 1
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
