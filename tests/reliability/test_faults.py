"""The slow reliability runs (`make reliability`, `pytest -m reliability`): full-size lost
updates, PostgreSQL stopped mid-traffic, gunicorn killed mid-sync, concurrent syncs.

Each runs on a PostgreSQL and a gunicorn it starts itself (reliability.pg, reliability.live)
and writes its figures to reliability/results/<name>.json, which docs/RELIABILITY.md quotes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reliability import faults
from reliability.concurrency import lost_updates, writes_without_if_match
from reliability.live import LiveServer

pytestmark = pytest.mark.reliability

RESULTS = Path(__file__).resolve().parents[2] / "reliability" / "results"


def record(name: str, figures: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")


def test_1000_read_modify_writes_lose_nothing(tmp_path):
    with faults.scratch_postgres(tmp_path) as pg:
        environment, tokens = faults.prepare_database(
            pg, "lostupdates", REGISTRY_REQUIRE_IF_MATCH="true"
        )
        with LiveServer(environment, workers=4, log_path=tmp_path / "gunicorn.log") as server:
            import requests

            key = requests.get(
                f"{server.url}/api/v1/initiatives/?page_size=1",
                headers={"Authorization": f"Token {tokens['pmo']}"},
                timeout=30,
            ).json()["results"][0]["key"]
            result = lost_updates(
                base_url=server.url, token=tokens["pmo"], key=key, clients=20, cycles=50
            )
            required = writes_without_if_match(
                base_url=server.url, token=tokens["pmo"], key=key, attempts=100
            )
    record(
        "lost_updates",
        {
            "clients": result.clients,
            "cycles": result.cycles,
            "expected_changes": result.expected,
            "applied_changes": result.applied,
            "version_growth": result.version_growth,
            "lost": result.lost,
            "retries_on_412": result.retries_412,
            "other_errors": dict(result.other_errors),
            "seconds": result.seconds,
            "gunicorn_workers": 4,
            "writes_without_if_match": required.attempts,
            "answers_without_if_match": dict(required.answers),
            "changed_without_if_match": required.changed,
        },
    )
    assert result.applied == result.expected == 1000
    assert result.version_growth == 1000
    assert not result.other_errors
    assert dict(required.answers) == {428: 100}
    assert not required.changed


def test_database_stopped_mid_traffic_503_then_recovers_by_itself(tmp_path):
    figures = faults.database_outage(workdir=tmp_path)
    record("database_outage", figures)
    assert figures["server_errors_500"] == 0
    assert figures["failures_all_503_json_retry_after"]
    assert figures["during_outage"]["requests"] > 0
    # Fail fast: no waiting on a dead database (the slowest answer includes requests that
    # were already running when the database went away, on a busy machine).
    assert figures["during_outage"]["p95_seconds"] < 1.0
    assert figures["during_outage"]["max_seconds"] < 5.0
    assert set(figures["statuses"]) <= {"200", "503"}
    assert figures["recovery_seconds_to_first_200"] is not None
    assert figures["recovery_seconds_to_first_200"] < 10
    assert figures["ok_after_recovery"] > 0


def test_gunicorn_killed_mid_sync_then_rerun_equals_a_clean_run(tmp_path):
    figures = faults.kill_mid_sync(workdir=tmp_path)
    record("kill_mid_sync", figures)
    assert figures["whole_batches_after_kill"], figures["rows_after_kill"]
    assert figures["killed_then_rerun"]["rows"] == figures["items"]
    assert figures["killed_then_rerun"]["distinct_external_ids"] == figures["items"]
    assert figures["checksums_equal"]
    assert figures["history_equal"], (figures["killed_then_rerun"], figures["clean"])


def test_two_tools_syncing_overlapping_ids_make_no_duplicate_and_no_deadlock(tmp_path):
    figures = faults.concurrent_syncs(workdir=tmp_path)
    record("concurrent_syncs", figures)
    assert figures["answers"] == {"200": 2 * figures["batches_per_tool"]}
    assert figures["rows"] == figures["ids"]
    assert figures["duplicates"] == 0
    assert figures["deadlocks"] == 0
