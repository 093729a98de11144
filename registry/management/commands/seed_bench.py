"""`manage.py seed_bench --initiatives N [--database-url URL] [--create]`.

Replaces the portfolio of the target database with a synthetic one of N initiatives (see
`bench.data`). Meant for databases made for benchmarks, never for real data: it
empties the registry's tables first, so it asks for `--yes` unless the database name starts
with `bench`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import environ
import psycopg
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from bench.data import Generator


def _conninfo(config: dict[str, Any], dbname: str) -> str:
    parts = {
        "host": config.get("HOST") or "127.0.0.1",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or "postgres",
        "dbname": dbname,
    }
    if config.get("PASSWORD"):
        parts["password"] = config["PASSWORD"]
    return " ".join(f"{key}={value}" for key, value in parts.items())


def create_database(config: dict[str, Any]) -> bool:
    """Create the target database when it does not exist; True when it was created."""
    name = config["NAME"]
    with psycopg.connect(_conninfo(config, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        admin.execute(f'CREATE DATABASE "{name}"')
        return True


class Command(BaseCommand):
    help = "Build a synthetic portfolio of N initiatives for benchmarks (empties the registry)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--initiatives", type=int, required=True, help="How many, e.g. 100000.")
        parser.add_argument(
            "--database-url",
            default="",
            help="Target database (default: the configured one, DATABASE_URL).",
        )
        parser.add_argument(
            "--create", action="store_true", help="Create the database if it does not exist."
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed (default fixed).")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Allow a database not named bench…",
        )
        parser.add_argument("--json", action="store_true", help="Print the timing report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["initiatives"]
        if count < 1:
            raise CommandError("--initiatives must be at least 1.")
        alias = "default"
        if options["database_url"]:
            # Point the default connection at the target, so migrate and its post-migrate
            # hooks (role groups) work on the same database as the generator.
            connections["default"].close()
            connections.databases[alias].update(environ.Env.db_url_config(options["database_url"]))
        config = connections.databases[alias]
        name = config["NAME"]
        if not str(name).startswith("bench") and not options["yes"]:
            raise CommandError(
                f"seed_bench empties the registry in '{name}'; use a database named bench_… "
                "or pass --yes."
            )
        if options["create"] and create_database(config):
            self.stderr.write(f"created database {name}")
        started = time.perf_counter()
        call_command("migrate", database=alias, verbosity=0, interactive=False)
        migrate_seconds = time.perf_counter() - started
        kwargs: dict[str, Any] = {"initiatives": count, "using": alias, "log": self.stderr.write}
        if options["seed"] is not None:
            kwargs["seed"] = options["seed"]
        report = Generator(**kwargs).run()
        report.steps = {"migrate": round(migrate_seconds, 2), **report.steps}
        summary = {
            "database": name,
            "initiatives": count,
            "sizes": report.sizes.__dict__,
            "rows": report.rows,
            "seconds": report.steps,
            "total_seconds": report.total_seconds,
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(
                f"{name}: {count} initiatives in {report.total_seconds:.1f}s "
                f"({', '.join(f'{k} {v}' for k, v in report.rows.items())})"
            )
