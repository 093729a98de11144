"""Fault runs on a PostgreSQL and a gunicorn started here (never a shared server).

- `database_outage`: traffic (reads and writes) while PostgreSQL is stopped with
  `pg_ctl stop -m immediate` and started again: every answer is 200 or a fast 503 in the JSON
  error shape with Retry-After, and the service answers 200 again by itself.
- `kill_mid_sync`: gunicorn killed with SIGKILL in the middle of a 100,000-item sync (20
  batches of 5,000 through the API), restarted, the whole sync re-run; compared with a clean
  run on a second database by a checksum over the synced fields.
- `concurrent_syncs`: two integrations of one source syncing 10,000 overlapping ids at the
  same time, in opposite orders: no duplicate, no deadlock.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

from reliability.live import PROJECT_DIR, LiveServer, production_env, run_manage
from reliability.pg import DisposablePostgres

SOURCE = "jira"
SYNCED_IDS = "JIRA-%"  # the runs' own items (the demo portfolio has jira initiatives too)
SYNCED_COLUMNS = (
    "external_id",
    "name",
    "summary",
    "kind",
    "stage",
    "budget_planned",
    "budget_spent",
    "start_date",
    "target_date",
    "risk_tier",
    "touchpoints",
    "journey_stages",
    "customer_facing",
    "hypothesis",
)


def sync_item(n: int, *, flavour: str = "") -> dict:
    """One synced initiative; the same n always gives the same item."""
    return {
        "external_id": f"JIRA-{n:06d}",
        "name": f"Initiative {n}{flavour}",
        "summary": f"Synced initiative number {n}: routes chats, drafts answers, learns.",
        "kind": ("chatbot", "automation", "agent_assist", "personalization")[n % 4],
        "stage": ("idea", "proposed")[n % 2],
        "budget_planned": f"{(n % 97) * 1000}.00",
        "budget_spent": f"{(n % 13) * 100}.00",
        "start_date": "2026-01-01",
        "target_date": "2026-12-31",
        "risk_tier": ("minimal", "limited")[n % 2],
        "touchpoints": [("chat", "web", "email", "phone")[n % 4]],
        "journey_stages": [("support", "billing", "onboarding")[n % 3]],
        "customer_facing": n % 3 == 0,
        "hypothesis": f"Hypothesis {n}",
    }


# --- a scratch registry on a disposable PostgreSQL --------------------------------------------


@contextmanager
def scratch_postgres(workdir: Path) -> Iterator[DisposablePostgres]:
    # Not under workdir: a test's tmp_path lives in pytest's base folder, which every new
    # pytest session resets to mode 700 — PostgreSQL (another system user) would lose its
    # data directory mid-run. A folder of its own in the temp directory keeps it reachable.
    pg = DisposablePostgres().init().start()
    try:
        yield pg
    finally:
        if pg.log.exists():  # kept beside the run's other logs
            (workdir / "postgres.log").write_bytes(pg.log.read_bytes())
        pg.remove()


def prepare_database(pg: DisposablePostgres, name: str, **env: str) -> tuple[dict, dict]:
    """Create, migrate and seed a database; returns (environment, role tokens)."""
    environment = production_env(pg.create_database(name), **env)
    run_manage(environment, "migrate", "--no-input", "-v0")
    seeded = subprocess.run(  # noqa: S603 (this project's seed module) # nosec B603
        [sys.executable, "-m", "reliability.seed"],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return environment, json.loads(seeded.stdout.strip().splitlines()[-1])


def add_integration_token(environment: dict, name: str) -> str:
    """A second integration account of the same source, with its own token."""
    script = (
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        "from registry.services.tokens import api_token_create\n"
        f"user, _ = get_user_model().objects.get_or_create(username={name!r})\n"
        "user.groups.add(Group.objects.get(name='integration'))\n"
        f"print(api_token_create(name={name!r}, user=user, source={SOURCE!r})[1])\n"
    )
    return run_manage(environment, "shell", "-c", script).strip().splitlines()[-1]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(int(share * len(ordered)), len(ordered) - 1)], 3)


# --- PostgreSQL stopped mid-traffic ------------------------------------------------------


def database_outage(
    *, workdir: Path, outage_seconds: float = 8.0, threads: int = 4, workers: int = 3
) -> dict:
    with scratch_postgres(workdir) as pg:
        environment, tokens = prepare_database(pg, "outage")
        server = LiveServer(environment, workers=workers, log_path=workdir / "gunicorn.log")
        server.start()
        try:
            return _outage_traffic(
                pg, server, tokens["pmo"], outage_seconds=outage_seconds, threads=threads
            )
        finally:
            server.stop()


def _outage_traffic(
    pg: DisposablePostgres, server: LiveServer, token: str, *, outage_seconds: float, threads: int
) -> dict:
    session_headers = _auth(token)
    key = requests.get(
        f"{server.url}/api/v1/initiatives/?page_size=1", headers=session_headers, timeout=30
    ).json()["results"][0]["key"]
    records: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()
    phase = {"name": "before"}

    def traffic(n: int) -> None:
        session = requests.Session()
        session.headers.update(session_headers)
        while not stop.is_set():
            write = n % 2 == 1
            started = time.monotonic()
            try:
                if write:
                    response = session.patch(
                        f"{server.url}/api/v1/initiatives/{key}/",
                        json={"learnings": f"written at {time.time()}"},
                        timeout=30,
                    )
                else:
                    response = session.get(
                        f"{server.url}/api/v1/initiatives/?page_size=5", timeout=30
                    )
                status = response.status_code
                error = response.json()["errors"][0]["code"] if status >= 400 else ""
                retry_after = response.headers.get("Retry-After", "")
                is_json = response.headers.get("Content-Type", "").startswith("application/json")
            except requests.RequestException as exc:
                status, error, retry_after, is_json = 0, type(exc).__name__, "", False
            with lock:
                records.append(
                    {
                        "t": time.monotonic(),
                        "phase": phase["name"],
                        "status": status,
                        "seconds": time.monotonic() - started,
                        "error": error,
                        "retry_after": retry_after,
                        "json": is_json,
                        "write": write,
                    }
                )
            time.sleep(0.05)

    pool = ThreadPoolExecutor(max_workers=threads)
    futures = [pool.submit(traffic, n) for n in range(threads)]
    time.sleep(3)
    phase["name"] = "outage"
    stopped_at = time.monotonic()
    pg.stop("immediate")
    time.sleep(outage_seconds)
    phase["name"] = "recovery"
    pg.start()
    restarted_at = time.monotonic()
    # Traffic goes on until every thread has had a few successes again, at most 60 s.
    deadline = restarted_at + 60
    while time.monotonic() < deadline:
        with lock:
            recent = [r for r in records if r["t"] > restarted_at and r["status"] == 200]
        if len(recent) >= 4 * threads:
            break
        time.sleep(0.2)
    time.sleep(2)
    stop.set()
    for future in futures:
        future.result()
    pool.shutdown()

    during = [r for r in records if stopped_at <= r["t"] < restarted_at]
    failed = [r for r in records if r["status"] != 200]
    after = [r for r in records if r["t"] >= restarted_at]
    first_ok = min((r["t"] for r in after if r["status"] == 200), default=None)
    last_failure = max((r["t"] for r in after if r["status"] != 200), default=restarted_at)
    return {
        "requests": len(records),
        "statuses": dict(Counter(str(r["status"]) for r in records)),
        "during_outage": {
            "requests": len(during),
            "statuses": dict(Counter(str(r["status"]) for r in during)),
            "max_seconds": round(max((r["seconds"] for r in during), default=0), 3),
            "median_seconds": _percentile([r["seconds"] for r in during], 0.5),
            "p95_seconds": _percentile([r["seconds"] for r in during], 0.95),
            "writes": sum(r["write"] for r in during),
        },
        "failures_all_503_json_retry_after": all(
            r["status"] == 503
            and r["json"]
            and r["retry_after"]
            and r["error"] == "database_unavailable"
            for r in failed
        ),
        "server_errors_500": sum(r["status"] == 500 for r in records),
        "recovery_seconds_to_first_200": round(first_ok - restarted_at, 2) if first_ok else None,
        "recovery_seconds_to_last_failure": round(last_failure - restarted_at, 2),
        "ok_after_recovery": sum(r["status"] == 200 for r in after),
        "outage_seconds": outage_seconds,
        "gunicorn_restarted": False,
    }


# --- gunicorn killed in the middle of a large sync ----------------------------------------


def post_batch(url: str, token: str, items: list[dict], timeout: float = 600) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/initiatives/sync/",
        json={"source": SOURCE, "items": items},
        headers=_auth(token),
        timeout=timeout,
    )


def batches(total: int, size: int) -> list[list[dict]]:
    return [[sync_item(n) for n in range(start, start + size)] for start in range(0, total, size)]


def run_sync(url: str, token: str, all_batches: list[list[dict]]) -> Counter:
    results: Counter = Counter()
    for items in all_batches:
        response = post_batch(url, token, items)
        response.raise_for_status()
        for result, count in response.json()["counts"].items():
            results[result] += count
    return results


def checksum(database_url: str) -> dict:
    """md5 over every synced initiative's synced fields, in external-id order, plus counts."""
    columns = ", ".join(SYNCED_COLUMNS)
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT {columns} FROM registry_initiative WHERE source = %s "  # noqa: S608 # nosec B608
            "AND external_id LIKE %s ORDER BY external_id",
            [SOURCE, SYNCED_IDS],
        ).fetchall()
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM registry_initiative "
            "WHERE source = %s AND external_id LIKE %s",
            [SOURCE, SYNCED_IDS],
        ).fetchone()
        events = dict(
            conn.execute(
                "SELECT pgh_label, count(*) FROM registry_initiativeevent e "
                "JOIN registry_initiative i ON i.id = e.pgh_obj_id WHERE i.source = %s "
                "AND i.external_id LIKE %s GROUP BY pgh_label",
                [SOURCE, SYNCED_IDS],
            ).fetchall()
        )
        stage_changes = conn.execute(
            "SELECT count(*) FROM registry_stagechange s JOIN registry_initiative i "
            "ON i.id = s.initiative_id WHERE i.source = %s AND i.external_id LIKE %s",
            [SOURCE, SYNCED_IDS],
        ).fetchone()[0]
    digest = hashlib.md5(
        "\n".join(repr(row) for row in rows).encode(), usedforsecurity=False
    ).hexdigest()
    return {
        "rows": counts[0],
        "distinct_external_ids": counts[1],
        "md5": digest,
        "history_events": events,
        "stage_changes": stage_changes,
    }


def kill_mid_sync(
    *,
    workdir: Path,
    total: int = 100_000,
    batch_size: int = 5000,
    kill_after_batches: int = 7,
    kill_delay: float = 1.5,
    workers: int = 2,
) -> dict:
    all_batches = batches(total, batch_size)
    with scratch_postgres(workdir) as pg:
        env_killed, tokens_killed = prepare_database(pg, "killed")
        env_clean, tokens_clean = prepare_database(pg, "clean")

        # 1. the clean run
        with LiveServer(env_clean, workers=workers, log_path=workdir / "clean.log") as server:
            started = time.monotonic()
            clean_results = run_sync(server.url, tokens_clean["integration"], all_batches)
            clean_seconds = time.monotonic() - started

        # 2. the killed run: SIGKILL while batch number `kill_after_batches` is being written
        server = LiveServer(env_killed, workers=workers, log_path=workdir / "killed.log").start()
        token = tokens_killed["integration"]
        run_sync(server.url, token, all_batches[:kill_after_batches])
        in_flight: dict = {}

        def send() -> None:
            try:
                batch = all_batches[kill_after_batches]
                in_flight["response"] = post_batch(server.url, token, batch)
            except requests.RequestException as exc:
                in_flight["error"] = type(exc).__name__

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(kill_delay)
        server.kill()
        sender.join(timeout=60)
        after_kill = checksum(env_killed["DATABASE_URL"])

        # 3. restart and re-run the whole sync
        server = LiveServer(env_killed, workers=workers, log_path=workdir / "rerun.log").start()
        try:
            rerun_results = run_sync(server.url, token, all_batches)
        finally:
            server.stop()
        killed = checksum(env_killed["DATABASE_URL"])
        clean = checksum(env_clean["DATABASE_URL"])
    return {
        "items": total,
        "batches": len(all_batches),
        "batch_size": batch_size,
        "clean_run_seconds": round(clean_seconds, 1),
        "clean_results": dict(clean_results),
        "killed_during_batch": kill_after_batches + 1,
        "in_flight_request": "answered" if "response" in in_flight else in_flight.get("error"),
        "rows_after_kill": after_kill["rows"],
        "whole_batches_after_kill": after_kill["rows"] % batch_size == 0,
        "rerun_results": dict(rerun_results),
        "killed_then_rerun": killed,
        "clean": clean,
        "checksums_equal": killed["md5"] == clean["md5"],
        "history_equal": killed["history_events"] == clean["history_events"]
        and killed["stage_changes"] == clean["stage_changes"],
    }


# --- two tools, overlapping ids, at the same time ----------------------------------------


def concurrent_syncs(
    *, workdir: Path, ids: int = 10_000, batch_size: int = 2500, workers: int = 4
) -> dict:
    with scratch_postgres(workdir) as pg:
        environment, tokens = prepare_database(pg, "concurrent")
        second = add_integration_token(environment, "servicedesk-sync")
        deadlocks_before = pg.deadlocks("concurrent")
        forward = [sync_item(n, flavour=" (tool A)") for n in range(ids)]
        backward = [sync_item(n, flavour=" (tool B)") for n in reversed(range(ids))]
        answers: Counter = Counter()
        lock = threading.Lock()
        server = LiveServer(environment, workers=workers, log_path=workdir / "gunicorn.log")
        with server:

            def tool(token: str, items: list[dict]) -> None:
                for start in range(0, len(items), batch_size):
                    response = post_batch(server.url, token, items[start : start + batch_size])
                    with lock:
                        answers[response.status_code] += 1

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(tool, tokens["integration"], forward),
                    pool.submit(tool, second, backward),
                ]
                for future in futures:
                    future.result()
            seconds = time.monotonic() - started
        state = checksum(environment["DATABASE_URL"])
        deadlocks = pg.deadlocks("concurrent") - deadlocks_before
    return {
        "ids": ids,
        "tools": 2,
        "batches_per_tool": -(-ids // batch_size),
        "answers": {str(k): v for k, v in answers.items()},
        "rows": state["rows"],
        "duplicates": state["rows"] - state["distinct_external_ids"],
        "deadlocks": deadlocks,
        "seconds": round(seconds, 1),
    }
