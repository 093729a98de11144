"""`make bench`: the registry under load, side by side with its raw-PostgreSQL limit.

Starts gunicorn (gthread workers, production settings plus `portfolio.bench_settings`'
baseline endpoints) on loopback against the machine's PostgreSQL and drives it with wrk
(Debian's package) from a separate process. Variants of one comparison run interleaved
(A B C A B C …) so the machine's noise falls on all of them alike; each figure is the
median over the rounds.

Sections (all by default; `--only compare,sync,feed,growth,dashboard,overlaps`):
- compare: initiative list (page 50/100, filters), detail, reports, admin changelist —
  API against `raw` (same SQL on psycopg + orjson) and `pg` (json_agg) baselines;
- sync: a 10k-item batch (40 % new, 40 % changed, 20 % unchanged) through the API against
  COPY into a staging table + INSERT … ON CONFLICT;
- feed: the whole change feed paged by cursor;
- overlaps: join or justify (overlap scoring) for 1,000 initiatives spread over the
  portfolio, as PMO and viewer, and for one (bench.overlap_batch);
- growth: first page, cursor page at 90 % depth, filtered list, detail and report at
  1k, 100k and 1M initiatives (databases bench_1k, bench_100k, bench_1m, seeded when
  missing) with EXPLAIN (ANALYZE, BUFFERS) of each list query;
- dashboard: the portfolio dashboard's server time, HTML size and queries at 10k and 100k
  initiatives (bench_10k, bench_100k), for the PMO and a viewer (`bench.dashboard`).

Results go to bench/results/ (JSON and a Markdown summary).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LUA = str(ROOT / "bench" / "wrk" / "report.lua")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_100k"
GROWTH_SIZES = {"bench_1k": 1_000, "bench_100k": 100_000, "bench_1m": 1_000_000}
DASHBOARD_SIZES = {"bench_10k": 10_000, "bench_100k": 100_000}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the database and the server ---------------------------------------------------------------


def with_dbname(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def dbname(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def initiative_count(url: str) -> int | None:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM registry_initiative").fetchone()[0]
    except psycopg.Error:
        return None


def django_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "portfolio.bench_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key"),
        "LOG_FORMAT": "json",
    }


def manage(url: str, *args: str) -> str:
    return run_python(url, "manage.py", *args)


def run_python(url: str, *args: str) -> str:
    done = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=django_env(url),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def ensure_seeded(url: str, size: int) -> dict[str, Any] | None:
    """Seed the database when it is missing or holds another number of initiatives."""
    if initiative_count(url) == size:
        manage(url, "migrate", "--no-input", "-v0")  # the code may have new migrations
        return None
    log(f"seeding {dbname(url)} with {size} initiatives …")
    out = run_python(url, "-m", "bench.seed", "--initiatives", str(size), "--create", "--json")
    return json.loads(out)


class Server:
    """gunicorn on loopback; stopped (with its workers) when the block ends."""

    def __init__(self, url: str, *, port: int, workers: int, threads: int, logfile: Path) -> None:
        self.url, self.port, self.workers, self.threads = url, port, workers, threads
        self.logfile = logfile
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        with contextlib.suppress(OSError):
            request(self.port, "GET", "/healthz", timeout=2)
            raise RuntimeError(f"port {self.port} is taken: stop that server or use --port")
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        out = self.logfile.open("w")
        self.process = subprocess.Popen(
            [
                GUNICORN,
                "portfolio.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                f"--threads={self.threads}",
                "--worker-class=gthread",
                "--timeout=120",
            ],
            cwd=ROOT,
            env=django_env(self.url),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            with contextlib.suppress(OSError):
                status, _headers, _body = request(self.port, "GET", "/healthz")
                if status < 500:
                    return self
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.logfile}")
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 600,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            headers[name] = f"{headers[name]}\n{value}" if name in headers else value
        return response.status, headers, data
    finally:
        conn.close()


def admin_cookie(port: int) -> str:
    """Log bench-pmo into the admin (the generator sets its password) and return the cookie."""
    for attempt in range(3):
        try:
            return _admin_login(port)
        except RuntimeError:
            if attempt == 2:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def _admin_login(port: int) -> str:
    _status, headers, _body = request(port, "GET", "/admin/login/")
    csrf = headers.get("set-cookie", "").split("csrftoken=")[1].split(";")[0]
    form = urllib.parse.urlencode(
        {"username": "bench-pmo", "password": "bench-pmo", "csrfmiddlewaretoken": csrf}
    ).encode()
    status, headers, _body = request(
        port,
        "POST",
        "/admin/login/?next=/admin/",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"http://127.0.0.1:{port}/admin/login/",
        },
        body=form,
    )
    if status != 302:
        (RESULTS / "logs" / "admin-login.html").write_bytes(_body)
        raise RuntimeError(f"admin login failed ({status}); see logs/admin-login.html")
    session = headers["set-cookie"].split("sessionid=")[1].split(";")[0]
    return f"csrftoken={csrf}; sessionid={session}"


# --- load -------------------------------------------------------------------------------------


def wrk(port: int, path: str, *, seconds: float, connections: int, headers: dict[str, str]) -> dict:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout=30s",
        "-s",
        LUA,
        *[arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")],
        f"http://127.0.0.1:{port}{path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = [text for text in done.stdout.splitlines() if text.startswith("{")][-1]
    return json.loads(line)


def queries_of(port: int, path: str, headers: dict[str, str]) -> tuple[int, int]:
    status, answer, _body = request(port, "GET", path, headers=headers)
    if status >= 400:
        raise RuntimeError(f"{path} answered {status}")
    return status, int(answer.get("x-bench-queries", -1))


def with_page_size(path: str, size: int) -> str:
    parts = urllib.parse.urlsplit(path)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "page_size"]
    query.append(("page_size", str(size)))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def compare(
    port: int,
    groups: dict[str, dict[str, str]],
    *,
    headers: dict[str, dict[str, str]],
    rounds: int,
    seconds: float,
    connections: int,
) -> dict[str, Any]:
    """Each group's variants interleaved over the rounds; medians per variant."""
    results: dict[str, Any] = {}
    for group, variants in groups.items():
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        counts: dict[str, dict[str, int]] = {}
        for name, path in variants.items():
            h = headers[name]
            request(port, "GET", path, headers=h)  # warm up
            _status, one = queries_of(port, path, h)
            entry = {"queries": one}
            if "page_size" in path or "initiatives/?" in path or path.endswith("initiatives/"):
                entry["queries_page_size_1"] = queries_of(port, with_page_size(path, 1), h)[1]
                entry["queries_page_size_100"] = queries_of(port, with_page_size(path, 100), h)[1]
            counts[name] = entry
        for _round in range(rounds):
            for name, path in variants.items():
                runs[name].append(
                    wrk(port, path, seconds=seconds, connections=connections, headers=headers[name])
                )
        summary = {}
        for name, samples in runs.items():
            summary[name] = {
                "path": variants[name],
                "rps": round(statistics.median(s["rps"] for s in samples), 1),
                "p50_ms": round(statistics.median(s["p50_ms"] for s in samples), 1),
                "p95_ms": round(statistics.median(s["p95_ms"] for s in samples), 1),
                "non_2xx": sum(s["non_2xx"] for s in samples),
                **counts[name],
                "rounds": samples,
            }
        if "api" in summary and "raw" in summary and summary["raw"]["rps"]:
            summary["ratio_api_raw"] = round(summary["api"]["rps"] / summary["raw"]["rps"], 2)
        if "api" in summary and "pg" in summary and summary["pg"]["rps"]:
            summary["ratio_api_pg"] = round(summary["api"]["rps"] / summary["pg"]["rps"], 2)
        results[group] = summary
        log(
            f"  {group}: "
            + ", ".join(
                f"{n} {v['rps']} req/s p95 {v['p95_ms']} ms q={v['queries']}"
                for n, v in summary.items()
                if isinstance(v, dict)
            )
        )
    return results


# --- what to measure ------------------------------------------------------------------------


def sample_values(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        n = conn.execute("SELECT count(*) FROM registry_initiative").fetchone()[0]
        middle = conn.execute(
            "SELECT key FROM registry_initiative WHERE archived_at IS NULL ORDER BY key "
            "OFFSET %s LIMIT 1",
            [n // 2],
        ).fetchone()[0]
        deep, deep_id = conn.execute(
            "SELECT updated_at, id FROM registry_initiative ORDER BY updated_at, id "
            "OFFSET %s LIMIT 1",
            [int(n * 0.9)],
        ).fetchone()
    return {"initiatives": n, "detail_key": middle, "cursor_90": feed_cursor(deep, deep_id)}


def feed_cursor(moment: Any, pk: int) -> str:
    """A feed cursor positioned after (updated_at, id), in the API's format: the keyset
    position (registry.api.core.keyset), or DRF's cursor where that module is not there.
    """
    if (ROOT / "registry" / "api" / "core" / "keyset.py").exists():
        payload = json.dumps({"t": moment.isoformat(), "k": pk}, separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return base64.b64encode(urllib.parse.urlencode({"p": str(moment)}).encode()).decode()


LIST_FILTERS = {
    "list50": "page_size=50",
    "list100": "page_size=100",
    "stage": "page_size=50&stage=pilot",
    "goal": "page_size=50&goal=G-NPS",
    "alignment": "page_size=50&alignment=none",
    "q": "page_size=50&q=billing",
    "combined": "page_size=50&stage=pilot&goal=G-CSAT&alignment=strong",
}


def compare_groups(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    for group, query in LIST_FILTERS.items():
        groups[f"initiatives {group}"] = {
            "api": f"/api/v1/initiatives/?{query}",
            "raw": f"/bench/raw/initiatives/?{query}",
            "pg": f"/bench/pg/initiatives/?{query}",
        }
    key = values["detail_key"]
    groups["initiative detail"] = {
        "api": f"/api/v1/initiatives/{key}/",
        "raw": f"/bench/raw/initiatives/{key}/",
        "pg": f"/bench/pg/initiatives/{key}/",
    }
    groups["report portfolio"] = {
        "api": "/api/v1/reports/portfolio/",
        "raw": "/bench/raw/reports/portfolio/",
    }
    groups["report alignment-matrix"] = {
        "api": "/api/v1/reports/alignment-matrix/",
        "raw": "/bench/raw/reports/alignment-matrix/",
    }
    groups["admin changelist"] = {"admin": "/admin/registry/initiative/"}
    return groups


def growth_paths(values: dict[str, Any]) -> dict[str, str]:
    return {
        "first page": "/api/v1/initiatives/?page_size=50",
        "cursor page at 90%": f"/api/v1/initiatives/?cursor={values['cursor_90']}&page_size=50",
        "filtered (stage)": "/api/v1/initiatives/?page_size=50&stage=pilot",
        "filtered (goal)": "/api/v1/initiatives/?page_size=50&goal=G-NPS",
        "filtered (q)": "/api/v1/initiatives/?page_size=50&q=billing",
        "detail": f"/api/v1/initiatives/{values['detail_key']}/",
        "report portfolio": "/api/v1/reports/portfolio/",
        "report alignment-matrix": "/api/v1/reports/alignment-matrix/",
        "admin changelist": "/admin/registry/initiative/",
    }


# --- sync --------------------------------------------------------------------------------------


def sync_items(
    prefix: str, count: int, *, changed_from: int, changed_to: int, version: str
) -> list:
    """Sync payloads; items in [changed_from, changed_to) carry `version` in their text."""
    kinds = ("chatbot", "automation", "agent_assist", "personalization")
    journeys = ("support", "billing", "onboarding")
    items = []
    for n in range(count):
        mark = version if changed_from <= n < changed_to else "v1"
        items.append(
            {
                "external_id": f"{prefix}-{n}",
                "name": f"Synced initiative {n}",
                "summary": f"Imported from the tracker ({mark}).",
                "kind": kinds[n % len(kinds)],
                "budget_planned": str(1000 * (n % 50 + 1)),
                "risk_tier": "limited",
                "touchpoints": ["chat", "web"],
                # With kind and touchpoints: join or justify finds real overlaps in the
                # seeded portfolio, thousands per item at 100k initiatives.
                "journey_stages": [journeys[n % len(journeys)]],
                "lead_department": "nordlicht-service",
                "tags": ["gdpr-1", "quick-win-1"],
                "alignments": [{"goal": "G-NPS", "strength": 2, "is_primary": True}],
            }
        )
    return items


def sync_plan(total: int) -> tuple[list, list]:
    """(preload, measured): 60 % exist beforehand; of the measured batch 40 % are new,
    40 % changed and 20 % unchanged.
    """
    existing = int(total * 0.6)
    preload = sync_items("X", existing, changed_from=0, changed_to=0, version="v1")
    changed = int(total * 0.4)
    measured = sync_items("X", total, changed_from=0, changed_to=changed, version="v2")
    # Items [0, 40 %) changed, [40 %, 60 %) unchanged, [60 %, 100 %) new.
    return preload, measured


def post_batches(
    port: int, path: str, source: str, items: list, headers: dict
) -> tuple[float, int, dict]:
    """POST items in batches of at most 5,000; seconds, queries and result counts."""
    started = time.perf_counter()
    queries = 0
    counts: dict[str, int] = {}
    for start in range(0, len(items), 5000):
        body = json.dumps({"source": source, "items": items[start : start + 5000]}).encode()
        status, answer, data = request(
            port, "POST", path, headers={**headers, "Content-Type": "application/json"}, body=body
        )
        if status >= 400:
            raise RuntimeError(f"{path} answered {status}: {data[:500]!r}")
        queries += int(answer.get("x-bench-queries", 0))
        for name, value in json.loads(data).get("counts", {}).items():
            counts[name] = counts.get(name, 0) + value
    return time.perf_counter() - started, queries, counts


SYNC_VARIANTS = {
    "api": "/api/v1/initiatives/sync/",
    "module": "/bench/module/sync/",
    "raw": "/bench/raw/sync/",
}


def sync_section(
    port: int, headers: dict, *, items: int, rounds: int, with_api: bool
) -> dict[str, Any]:
    preload, measured = sync_plan(items)
    variants = {name: path for name, path in SYNC_VARIANTS.items() if with_api or name != "api"}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    stamp = int(time.time())
    for round_no in range(rounds):
        for name, path in variants.items():
            source = f"bench-{name}-{stamp}-{round_no}"
            post_batches(port, path, source, preload, headers)
            seconds, queries, counts = post_batches(port, path, source, measured, headers)
            runs[name].append(
                {
                    "seconds": round(seconds, 3),
                    "items_per_s": round(items / seconds, 1),
                    "queries": queries,
                    "counts": counts,
                }
            )
            log(f"  sync {name} round {round_no}: {items / seconds:.0f} items/s, {counts}")
    result: dict[str, Any] = {}
    for name, samples in runs.items():
        result[name] = {
            "items_per_s": round(statistics.median(s["items_per_s"] for s in samples), 1),
            "queries": samples[-1]["queries"],
            "rounds": samples,
        }
    # Query count per batch must not depend on the batch's size.
    small = sync_items("S", 10, changed_from=0, changed_to=0, version="v1")
    large = sync_items("L", 1000, changed_from=0, changed_to=0, version="v1")
    for name, path in variants.items():
        _s, q_small, _c = post_batches(port, path, f"bench-q10-{name}-{stamp}", small, headers)
        _s, q_large, _c = post_batches(port, path, f"bench-q1000-{name}-{stamp}", large, headers)
        result[name]["queries_batch_10"] = q_small
        result[name]["queries_batch_1000"] = q_large
    for name in ("api", "module"):
        if name in result and result["raw"]["items_per_s"]:
            result[f"ratio_{name}_raw"] = round(
                result[name]["items_per_s"] / result["raw"]["items_per_s"], 2
            )
    return result


# --- the change feed -------------------------------------------------------------------------


def feed_section(port: int, headers: dict, *, max_seconds: float) -> dict[str, Any]:
    path: str | None = "/api/v1/changes/?page_size=500"
    pages = rows = 0
    timings: list[float] = []
    queries: list[int] = []
    started = time.perf_counter()
    while path and time.perf_counter() - started < max_seconds:
        t0 = time.perf_counter()
        status, answer, data = request(port, "GET", path, headers=headers)
        timings.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"changes answered {status}")
        body = json.loads(data)
        queries.append(int(answer.get("x-bench-queries", -1)))
        pages += 1
        rows += len(body["results"])
        following = body.get("next")
        path = (
            urllib.parse.urlsplit(following)._replace(scheme="", netloc="").geturl()
            if following
            else None
        )
    elapsed = time.perf_counter() - started
    return {
        "pages": pages,
        "rows": rows,
        "complete": path is None,
        "seconds": round(elapsed, 1),
        "rows_per_s": round(rows / elapsed, 1) if elapsed else None,
        "first_page_ms": round(timings[0] * 1000, 1) if timings else None,
        "median_page_ms": round(statistics.median(timings) * 1000, 1) if timings else None,
        "last_page_ms": round(timings[-1] * 1000, 1) if timings else None,
        "queries_per_page": sorted(set(queries)),
    }


# --- growth ------------------------------------------------------------------------------------


def timed_requests(
    port: int, path: str, headers: dict, *, count: int, budget_s: float = 60.0
) -> list[float]:
    """Milliseconds of up to `count` sequential requests (fewer when they are slow)."""
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < count and (not samples or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        status, _headers, _body = request(port, "GET", path, headers=headers)
        if status >= 400:
            raise RuntimeError(f"{path} answered {status}")
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def growth_section(base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    sizes = {}
    for name in args.growth_dbs.split(","):
        size = GROWTH_SIZES[name]
        url = with_dbname(base_url, name)
        seeded = ensure_seeded(url, size)
        values = sample_values(url)
        log(f"growth at {name} ({values['initiatives']} initiatives)")
        with Server(
            url,
            port=args.port,
            workers=args.workers,
            threads=args.threads,
            logfile=RESULTS / "logs" / f"gunicorn-{name}.log",
        ) as _server:
            token = manage(
                url, "create_token", f"bench-{int(time.time() * 1000)}", "--user", "bench-pmo"
            ).strip()
            api = {"Authorization": f"Token {token}"}
            admin = {"Cookie": admin_cookie(args.port)}
            timings = {}
            for label, path in growth_paths(values).items():
                h = admin if path.startswith("/admin/") else api
                request(args.port, "GET", path, headers=h)
                _status, queries = queries_of(args.port, path, h)
                # One client, one request at a time: the latency of the request itself.
                samples = timed_requests(args.port, path, h, count=args.growth_requests)
                timings[label] = {
                    "p50_ms": round(statistics.median(samples), 2),
                    "max_ms": round(max(samples), 2),
                    "requests": len(samples),
                    "queries": queries,
                }
                log(f"  {label}: p50 {timings[label]['p50_ms']} ms, q={queries}")
        explain_dir = RESULTS / "explain" / name
        subprocess.run(
            [
                PYTHON,
                "-m",
                "bench.explain",
                "--out",
                str(explain_dir),
                "--detail-key",
                values["detail_key"],
                "--cursor",
                values["cursor_90"],
            ],
            cwd=ROOT,
            env={**django_env(url), "LOG_LEVEL": "WARNING"},
            check=True,
        )
        scans = json.loads((explain_dir / "summary.json").read_text())
        sizes[name] = {
            "initiatives": values["initiatives"],
            "timings": timings,
            "explain": scans,
            "seed": seeded,
        }
    if not {"bench_1k", "bench_1m"} <= set(sizes):
        return {"sizes": sizes, "ratio_1m_1k": {}}
    small, large = sizes["bench_1k"]["timings"], sizes["bench_1m"]["timings"]
    ratios = {
        label: round(large[label]["p50_ms"] / small[label]["p50_ms"], 2)
        for label in small
        if small[label]["p50_ms"]
    }
    return {"sizes": sizes, "ratio_1m_1k": ratios}


def dashboard_section(base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """`bench.dashboard` in-process against each size: no server, no network in the figure."""
    sizes = {}
    for name in args.dashboard_dbs.split(","):
        url = with_dbname(base_url, name)
        ensure_seeded(url, DASHBOARD_SIZES[name])
        log(f"dashboard at {name}")
        out = run_python(url, "-m", "bench.dashboard", "--requests", str(args.dashboard_requests))
        sizes[name] = json.loads(out)
        for label, page in sizes[name]["pages"].items():
            log(f"  {label}: p50 {page['p50_ms']} ms, {page['html_bytes']} B, q={page['queries']}")
    return sizes


# --- orchestration -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    with psycopg.connect(DEFAULT_URL.rsplit("/", 1)[0] + "/postgres") as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
        settings = dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'effective_cache_size', 'jit', "
                "'max_parallel_workers_per_gather', 'random_page_cost')"
            ).fetchall()
        )
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgresql": server,
        "postgresql_settings": settings,
        "load_average_start": os.getloadavg(),
    }


def write(name: str, data: Any) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(data, indent=2, default=str) + "\n")


def _stop(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds the `with Server(…)` blocks: no orphan server


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or DEFAULT_URL,
    )
    parser.add_argument("--only", default="compare,sync,feed,growth,dashboard,overlaps")
    parser.add_argument("--dashboard-dbs", default=",".join(DASHBOARD_SIZES))
    parser.add_argument("--dashboard-requests", type=int, default=5)
    parser.add_argument("--match", default="", help="compare only groups containing these")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="wrk duration per variant and round"
    )
    parser.add_argument("--growth-requests", type=int, default=15)
    parser.add_argument("--growth-dbs", default=",".join(GROWTH_SIZES))
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--sync-items", type=int, default=10_000)
    parser.add_argument(
        "--no-sync-api",
        dest="sync_api",
        action="store_false",
        help="leave the API out of the sync comparison (module and raw only)",
    )
    parser.add_argument("--feed-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    if sections - {"overlaps"} and shutil.which("wrk") is None:
        log("wrk is missing: apt-get install -y wrk")
        return 2
    url = args.database_url
    report: dict[str, Any] = {"machine": machine(), "args": vars(args), "started": time.time()}
    if sections & {"compare", "sync", "feed"}:
        seeded = ensure_seeded(url, GROWTH_SIZES.get(dbname(url), 100_000))
        if seeded:
            write(f"seed-{dbname(url)}.json", seeded)
        values = sample_values(url)
        report["database"] = {"name": dbname(url), **values}
        log(f"benchmarking {dbname(url)} ({values['initiatives']} initiatives)")
        with Server(
            url,
            port=args.port,
            workers=args.workers,
            threads=args.threads,
            logfile=RESULTS / "logs" / "gunicorn.log",
        ):
            token = manage(
                url, "create_token", f"bench-{int(time.time() * 1000)}", "--user", "bench-pmo"
            ).strip()
            api = {"Authorization": f"Token {token}"}
            if "compare" in sections:
                groups = {
                    name: variants
                    for name, variants in compare_groups(values).items()
                    if not args.match or any(m in name for m in args.match.split(","))
                }
                admin = {"Cookie": admin_cookie(args.port)}
                headers = {"api": api, "raw": api, "pg": api, "admin": admin}
                report["compare"] = compare(
                    args.port,
                    groups,
                    headers=headers,
                    rounds=args.rounds,
                    seconds=args.seconds,
                    connections=args.connections,
                )
                write("compare.json", report)
            if "feed" in sections:
                report["feed"] = feed_section(args.port, api, max_seconds=args.feed_seconds)
                log(f"  feed: {report['feed']}")
                write("compare.json", report)
            # Last: the sync adds initiatives (the next run seeds the database afresh).
            if "sync" in sections:
                report["sync"] = sync_section(
                    args.port,
                    api,
                    items=args.sync_items,
                    rounds=args.rounds,
                    with_api=args.sync_api,
                )
                write("compare.json", report)
    if "overlaps" in sections:
        # Join or justify for a 1,000-item batch (bench.overlap_batch) on the benchmark
        # database, migrated (with the sync section's items when it ran).
        if not sections & {"compare", "sync", "feed"}:
            ensure_seeded(url, GROWTH_SIZES.get(dbname(url), 100_000))
        report["overlaps"] = json.loads(run_python(url, "-m", "bench.overlap_batch"))
        log(f"  overlaps: {report['overlaps']}")
        write("overlaps.json", report["overlaps"])
    if "growth" in sections:
        report["growth"] = growth_section(url, args)
        write("growth.json", report["growth"])
    if "dashboard" in sections:
        report["dashboard"] = dashboard_section(url, args)
        write("dashboard.json", report["dashboard"])
    report["load_average_end"] = os.getloadavg()
    report["finished"] = time.time()
    write("last-run.json", report)
    from bench.summary import markdown

    (RESULTS / "summary.md").write_text(markdown(RESULTS))
    log(f"results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
