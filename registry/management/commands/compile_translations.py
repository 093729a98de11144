"""`manage.py compile_translations`: compile the committed .po catalogues into .mo files.

Django's compilemessages needs GNU gettext's msgfmt on the machine; polib does the same in
pure Python, so `make run` on a fresh machine needs nothing but Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile every django.po under LOCALE_PATHS into its django.mo (pure Python)."

    def handle(self, *args: Any, **options: Any) -> None:
        for locale_dir in map(Path, settings.LOCALE_PATHS):
            for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/django.po")):
                catalogue = polib.pofile(str(po_path))
                catalogue.save_as_mofile(str(po_path.with_suffix(".mo")))
                self.stdout.write(
                    f"{po_path.parent.parent.name}: {len(catalogue.translated_entries())} "
                    "messages compiled"
                )
