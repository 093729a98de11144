"""`manage.py refresh_overlaps`: score the overlaps of every open initiative changed since its
last scan (the worker does it a batch at a time; this runs to the end)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from registry.services.overlaps import overlaps_refresh


class Command(BaseCommand):
    help = "Score the overlaps of every open initiative changed since its last scan."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=500, help="initiatives per statement")

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        started = time.monotonic()
        total = 0
        while scanned := overlaps_refresh(limit=batch):
            total += scanned
            self.stdout.write(f"{total} scanned ({time.monotonic() - started:.0f} s)")
        self.stdout.write(
            self.style.SUCCESS(f"{total} initiatives scanned in {time.monotonic() - started:.1f} s")
        )
