"""Backups of the registry's database: `make backup` and `make restore` (docs/RELIABILITY.md).

`python -m reliability.backup backup [--out FILE]` writes a pg_dump in custom format (every
table, sequence, function and history trigger); `python -m reliability.backup restore FILE
--yes` replaces the database's contents with it. Both act on DATABASE_URL, or on the
embedded PostgreSQL when it is unset. The PostgreSQL client tools are picked to match the
server: the machine's (/usr/lib/postgresql/<major>/bin) or the pgserver wheel's.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DIR = PROJECT_DIR / "backups"


def database_url() -> str:
    from portfolio.db import database_url as project_database_url

    return project_database_url(PROJECT_DIR)


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.info.server_version) // 10000


def tool(name: str, major: int) -> str:
    """The client tool of the server's major version, or the oldest newer one."""
    from reliability.pg import server_bin_dir

    candidates: list[tuple[int, Path]] = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        if folder.parent.name.isdigit():
            candidates.append((int(folder.parent.name), folder / name))
    version = subprocess.run(  # noqa: S603 (the wheel's own pg_dump) # nosec B603
        [str(server_bin_dir() / "pg_dump"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    wheel_major = int(re.search(r"(\d+)\.", version).group(1))  # type: ignore[union-attr]
    candidates.append((wheel_major, server_bin_dir() / name))
    usable = sorted((m, path) for m, path in candidates if m >= major and path.exists())
    if not usable:
        raise SystemExit(f"No {name} for PostgreSQL {major} (or newer) found.")
    return str(usable[0][1])


def backup(url: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 (pg_dump with fixed options) # nosec B603
        [tool("pg_dump", server_major(url)), "--format=custom", "--no-owner", "-f", str(out), url],
        check=True,
    )
    return out


def wipe(url: str) -> None:
    """Drop everything in the public schema (the restore drill's "the database is gone")."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def restore(url: str, dump: Path) -> None:
    """Replace the database's objects with the dump's, in one transaction."""
    subprocess.run(  # noqa: S603 (pg_restore with fixed options) # nosec B603
        [
            tool("pg_restore", server_major(url)),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "-d",
            url,
            str(dump),
        ],
        check=True,
    )


def fingerprint(url: str) -> dict[str, str]:
    """Row count and md5 of every table's rows, and every sequence's position."""
    result: dict[str, str] = {}
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' "  # noqa: S608 # nosec B608
                f"ORDER BY t::text), '')) FROM \"{table}\" t"
            ).fetchone()
            result[table] = f"{count}:{digest}"
        for (sequence,) in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall():
            query = f'SELECT last_value, is_called FROM "{sequence}"'  # a catalog name  # nosec B608
            value = conn.execute(query).fetchone()
            result[f"sequence:{sequence}"] = repr(value)
        functions = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public'"
        ).fetchone()[0]
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
        ).fetchone()[0]
    result["functions"] = str(functions)
    result["triggers"] = str(triggers)
    return result


def digest(fingerprints: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(fingerprints.items())).encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup", help="write a custom-format dump")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    make.add_argument("--out", type=Path, default=DEFAULT_DIR / f"registry-{stamp}.dump")
    back = commands.add_parser("restore", help="replace the database's contents with a dump")
    back.add_argument("dump", type=Path)
    back.add_argument("--yes", action="store_true", help="confirm: the current data is replaced")
    args = parser.parse_args(argv)
    url = os.environ.get("BACKUP_DATABASE_URL") or database_url()
    if args.command == "backup":
        out = backup(url, args.out)
        print(f"Backup written: {out} ({out.stat().st_size:,} bytes)")
        print(f"Fingerprint of the database: {digest(fingerprint(url))}")
        return 0
    if not args.yes:
        print("restore replaces every table of the database; add --yes (make restore CONFIRM=yes)")
        return 2
    restore(url, args.dump)
    print(f"Restored {args.dump}. Fingerprint of the database: {digest(fingerprint(url))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
