"""Hostile input against gunicorn with DEBUG off, in CI: every query parameter of every list,
report and feed of the schema, and the sync batch body (reliability/hostile.py). Asserted:
no 5xx, no dropped connection. `python -m reliability.hostile` is the same run on a
registry of its own, in two roles.
"""

from __future__ import annotations

import pytest

from reliability.hostile import run
from reliability.live import LiveServer, production_env
from reliability.seed import seed_roles
from tests.processes import database_url


@pytest.fixture
def live_registry(transactional_db, tmp_path):
    tokens = seed_roles()
    env = production_env(database_url(), DATABASE_CONN_MAX_AGE="0")
    with LiveServer(env, workers=2, log_path=tmp_path / "gunicorn.log") as server:
        yield server, tokens


@pytest.mark.timeout(900)
def test_hostile_input_finds_no_server_error(live_registry):
    server, tokens = live_registry
    summary = run(server.url, tokens, roles=("pmo",))
    print(  # the figures docs/RELIABILITY.md quotes (pytest -s)
        f"\nhostile: {summary['cases']} cases, {summary['operations']} operations, "
        f"{summary['parameters']} query parameters, {summary['server_errors']} server errors, "
        f"statuses {summary['statuses']}"
    )
    assert summary["operations"] >= 25
    assert summary["cases"] > 5000
    assert summary["server_errors"] == 0, summary["first_server_errors"]
