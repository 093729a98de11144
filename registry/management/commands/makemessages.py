"""`manage.py makemessages`: Django's own, scoped to the project's translatable sources.

It always works from the project folder and skips what is not the product (tests, benchmarks,
fixtures, docs, build output), so `makemessages -l de --no-obsolete` puts exactly the
project's strings into registry/locale/de/LC_MESSAGES/django.po.
"""

from __future__ import annotations

import contextlib
from typing import Any

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
