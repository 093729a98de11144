"""`python -m bench.seed --initiatives N [--database-url URL] [--create]`.

Replaces the portfolio of the target database with a synthetic one of N initiatives (see
`bench.data`). Meant for databases made for benchmarks, never for real data: it
empties the registry's tables first, so it asks for `--yes` unless the database name starts
with `bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import django
import environ
import psycopg
from django.core.management import call_command
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


class SeedRefusedError(Exception):
    """The target is not a benchmark database, or the size makes no sense."""


def seed(
    *,
    initiatives: int,
    database_url: str = "",
    create: bool = False,
    random_seed: int | None = None,
    yes: bool = False,
    log: Any = None,
) -> dict[str, Any]:
    """Migrate the target and fill it with `initiatives` synthetic ones; the timing report."""
    if initiatives < 1:
        raise SeedRefusedError("--initiatives must be at least 1.")
    log = log or (lambda text: print(text, file=sys.stderr))
    alias = "default"
    if database_url:
        # Point the default connection at the target, so migrate and its post-migrate
        # hooks (role groups) work on the same database as the generator.
        connections["default"].close()
        connections.databases[alias].update(environ.Env.db_url_config(database_url))
    config = connections.databases[alias]
    name = config["NAME"]
    if not str(name).startswith("bench") and not yes:
        raise SeedRefusedError(
            f"bench.seed empties the registry in '{name}'; use a database named bench_… "
            "or pass --yes."
        )
    if create and create_database(config):
        log(f"created database {name}")
    started = time.perf_counter()
    call_command("migrate", database=alias, verbosity=0, interactive=False)
    migrate_seconds = time.perf_counter() - started
    kwargs: dict[str, Any] = {"initiatives": initiatives, "using": alias, "log": log}
    if random_seed is not None:
        kwargs["seed"] = random_seed
    report = Generator(**kwargs).run()
    report.steps = {"migrate": round(migrate_seconds, 2), **report.steps}
    return {
        "database": name,
        "initiatives": initiatives,
        "sizes": report.sizes.__dict__,
        "rows": report.rows,
        "seconds": report.steps,
        "total_seconds": report.total_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build a synthetic portfolio of N initiatives for benchmarks "
        "(empties the registry)."
    )
    parser.add_argument("--initiatives", type=int, required=True, help="How many, e.g. 100000.")
    parser.add_argument("--database-url", default="", help="Target (default: DATABASE_URL).")
    parser.add_argument("--create", action="store_true", help="Create the database if missing.")
    parser.add_argument("--seed", type=int, default=None, help="Random seed (default fixed).")
    parser.add_argument("--yes", action="store_true", help="Allow a database not named bench…")
    parser.add_argument("--json", action="store_true", help="Print the timing report as JSON.")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    django.setup()
    try:
        summary = seed(
            initiatives=args.initiatives,
            database_url=args.database_url,
            create=args.create,
            random_seed=args.seed,
            yes=args.yes,
        )
    except SeedRefusedError as refused:
        print(refused, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        rows = ", ".join(f"{k} {v}" for k, v in summary["rows"].items())
        print(
            f"{summary['database']}: {args.initiatives} initiatives in "
            f"{summary['total_seconds']:.1f}s ({rows})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
