"""`manage.py smoke_check`: the installation works end to end, or it says what is missing.

Migrated schema, demo data, a login and one real request through the whole stack (URLs,
middleware, admin, database) — what `make smoke` and CI run after the embedded-PostgreSQL
setup.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from registry.models import Initiative, Vision

CHANGELIST_PATH = "/admin/registry/initiative/"
DEFAULT_USERNAME = "pmo"


def unapplied_migrations(database: str = DEFAULT_DB_ALIAS) -> list[str]:
    """`app.migration` names not yet applied to the database, in the order they would run."""
    executor = MigrationExecutor(connections[database])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def request_host() -> str:
    """A host name the settings accept, so the request is not refused as a bad Host."""
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            break
        name = host.lstrip(".")
        if name and not name.startswith("["):
            return name
    return "127.0.0.1"


class Command(BaseCommand):
    help = (
        "Check that the database is migrated, the demo portfolio is loaded and the admin "
        "changelist of initiatives answers for the demo PMO. Exits non-zero otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--username",
            default=DEFAULT_USERNAME,
            help="The staff login the request is made as (default: the demo PMO, pmo).",
        )

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"The database is not migrated: {len(pending)} migration(s) not applied "
                f"({', '.join(pending[:5])}{' …' if len(pending) > 5 else ''}). "
                "Run `manage.py migrate`."
            )
        if not Vision.objects.exists():
            raise CommandError("The demo portfolio is not loaded. Run `manage.py load_demo`.")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(
                f"There is no active login '{username}'. Run `manage.py load_demo` to create "
                "the demo logins."
            )
        keys = set(Initiative.objects.live().values_list("key", flat=True))
        if not keys:
            raise CommandError("The registry holds no initiatives; the demo load is incomplete.")

        client = Client(HTTP_HOST=request_host())
        client.force_login(user)
        try:
            # secure=True: a production configuration redirects plain HTTP to HTTPS.
            response = client.get(CHANGELIST_PATH, secure=True)
        except Exception as exc:
            raise CommandError(f"GET {CHANGELIST_PATH} failed: {exc!r}") from exc
        finally:
            client.logout()
        if response.status_code != 200:
            raise CommandError(
                f"GET {CHANGELIST_PATH} as '{username}' answered {response.status_code}, "
                "expected 200."
            )
        page = response.content.decode(response.charset or "utf-8")
        if not any(key in page for key in keys):
            raise CommandError(
                f"GET {CHANGELIST_PATH} answered 200 but shows no initiative key; the "
                "changelist is not listing the registry's initiatives."
            )
        self.stdout.write(self.style.SUCCESS(f"smoke check passed: {len(keys)} initiatives"))
