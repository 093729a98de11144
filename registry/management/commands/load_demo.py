"""`manage.py load_demo`: the demo portfolio, once, and the demo logins, every time."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.demo import (
    DEFAULT_DEMO_PATH,
    DemoDataError,
    ensure_demo_logins,
    ensure_demo_saved_views,
    load_demo_portfolio,
)
from registry.models import Vision


class Command(BaseCommand):
    help = (
        "Load the demo portfolio of Nordlicht Energie GmbH into an empty registry and "
        "create the demo logins (pmo, viewer, contributor). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--path",
            default=str(DEFAULT_DEMO_PATH),
            help="The demo portfolio file (default: fixtures/demo_portfolio.yaml).",
        )

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        # Real data must never be mixed with the demo: any vision means "not empty".
        if Vision.objects.exists():
            self.stdout.write("Demo portfolio already loaded (a vision exists); nothing changed.")
        else:
            try:
                summary = load_demo_portfolio(path)
            except (DemoDataError, OSError) as exc:
                raise CommandError(f"The demo portfolio was not loaded: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"Loaded the demo portfolio from {path}:"))
            for line in summary.lines():
                self.stdout.write(f"  {line}")

        logins = ensure_demo_logins()
        self.stdout.write("Demo logins (admin at /admin/):")
        for login in logins:
            self.stdout.write(f"  {login.username:<12} password {login.password:<17} {login.role}")

        views = ensure_demo_saved_views()
        self.stdout.write("Shared saved views (the review's standing queries):")
        for view in views:
            self.stdout.write(f"  {view.slug:<28} {view.query}")
