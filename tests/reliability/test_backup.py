"""The restore drill, in CI: back up a registry holding the demo portfolio, restore it into a
scratch database, wipe that database, restore again, and compare every table (row count and
a checksum of its rows), every sequence, function and trigger with the original.
"""

from __future__ import annotations

import sys

import psycopg
import pytest
from django.db import connection

from reliability.backup import PROJECT_DIR, fingerprint, wipe
from reliability.seed import seed_roles
from tests import processes
from tests.processes import database_url


def url_of(database: str) -> str:
    return database_url(database)  # TCP or the embedded server's Unix socket


def run_backup_command(*args: str, database: str) -> str:
    """`python -m reliability.backup …` as `make backup`/`make restore` run it."""
    result = processes.run(
        [sys.executable, "-m", "reliability.backup", *args],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "BACKUP_DATABASE_URL": url_of(database)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def scratch_database(transactional_db):
    name = f"{connection.settings_dict['NAME']}_restore"
    admin = url_of("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_wipe_restore_gives_back_every_table(scratch_database, tmp_path):
    seed_roles()  # the demo portfolio, logins and tokens: every kind of row, history included
    source = connection.settings_dict["NAME"]
    original = fingerprint(url_of(source))
    assert int(original["registry_initiative"].split(":")[0]) > 50
    assert int(original["registry_initiativeevent"].split(":")[0]) > 50

    dump = tmp_path / "registry.dump"
    output = run_backup_command("backup", "--out", str(dump), database=source)
    assert "Backup written" in output
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    # Restore into an empty database: the same rows, sequences, functions and triggers.
    run_backup_command("restore", str(dump), "--yes", database=scratch_database)
    assert fingerprint(url_of(scratch_database)) == original

    # Wipe it, restore again: still identical.
    wipe(url_of(scratch_database))
    assert "registry_initiative" not in fingerprint(url_of(scratch_database))
    run_backup_command("restore", str(dump), "--yes", database=scratch_database)
    restored = fingerprint(url_of(scratch_database))
    assert restored == original
    assert len(restored) > 40


def test_restore_without_confirmation_changes_nothing(scratch_database, tmp_path):
    result = processes.run(
        [sys.executable, "-m", "reliability.backup", "restore", str(tmp_path / "x.dump")],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "BACKUP_DATABASE_URL": url_of(scratch_database)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--yes" in result.stdout
