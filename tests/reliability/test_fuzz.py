"""Schemathesis in CI: a bounded run of all four phases against gunicorn on loopback, in
every role, from the registry's own OpenAPI schema. `make fuzz` is the full run.

The server is a real gunicorn (production settings: DEBUG off) serving the test database,
which holds the demo portfolio. Asserted: no 5xx at all (schemathesis' ST101 and the
server's own counters), no authentication or object-level authorization bypass (ST401,
ST402), every anonymous call refused with 401, and every answer inside the schema: its
status, content type, documented headers and body (ST103–ST111, schemathesis' response
conformance checks).
"""

from __future__ import annotations

import os

import pytest

from reliability.fuzz import ROLES, fuzz_live
from reliability.live import LiveServer, production_env
from reliability.seed import seed_roles
from tests.processes import database_url

CI_MAX_EXAMPLES = int(os.environ.get("REGISTRY_CI_FUZZ_EXAMPLES", "2"))
# The coverage phase (every boundary of every parameter: ~5,000 cases per role whatever the
# example count, two minutes a role here) runs in `make fuzz`; CI runs the other phases for
# every role.
CI_PHASES = dict.fromkeys(ROLES, "examples,fuzzing,stateful")


def session_database_url() -> str:
    """The URL of the database this test session runs on (pytest-django's test_<name>)."""
    return database_url()  # TCP or the embedded server's Unix socket


@pytest.fixture
def live_registry(transactional_db, tmp_path):
    """gunicorn (2 workers) on the test database, seeded with the demo and role tokens."""
    tokens = seed_roles()
    url = session_database_url()
    metrics_token = os.urandom(16).hex()
    (tmp_path / "prometheus").mkdir()
    env = production_env(
        url,
        METRICS_TOKEN=metrics_token,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        DATABASE_CONN_MAX_AGE="0",
    )
    server = LiveServer(env, workers=2, log_path=tmp_path / "gunicorn.log").start()
    try:
        yield server, tokens, metrics_token
    finally:
        server.stop()


def test_schemathesis_finds_no_server_error_and_no_auth_bypass(live_registry, tmp_path):
    server, tokens, metrics_token = live_registry
    summary = fuzz_live(
        base_url=server.url,
        tokens=tokens,
        max_examples=CI_MAX_EXAMPLES,
        report_dir=tmp_path / "reports",
        metrics_token=metrics_token,
        roles=ROLES,
        phases=CI_PHASES,
    )
    print(  # the figures docs/RELIABILITY.md quotes (pytest -s)
        f"\nfuzz: {summary['cases']} cases, {summary['requests']} API requests, "
        f"{summary['server_errors']} server errors, {summary['auth_failures']} auth failures, "
        f"{summary['conformance_failures']} answers outside the schema"
    )
    roles = summary["roles"]
    assert set(roles) == set(ROLES)
    for role, run in roles.items():
        assert run["generated"] > 0, role
        assert run["phases"]["fuzzing"] != "skip", role
        assert run["phases"]["stateful"] != "skip", role
        assert run["failures"].get("ST101", 0) == 0, (role, run["failure_operations"])
        assert run["server_errors"] == 0, (role, run["server_statuses"])
        assert run["auth_failures"] == 0, (role, run["failures"], run["server_statuses"])
        assert run["conformance_failures"] == 0, (role, run["failures"], run["failure_operations"])
    # 401 from every route; 404 only for URLs that match no route at all.
    assert set(roles["anonymous"]["server_statuses"]) <= {"401", "404", "413"}
    assert summary["server_errors"] == 0
    assert summary["auth_failures"] == 0
    assert summary["conformance_failures"] == 0
