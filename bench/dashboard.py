"""`python -m bench.dashboard`: the portfolio dashboard's server time, HTML size and queries.

Run in-process against a seeded benchmark database (`DATABASE_URL=…/bench_10k`), for the PMO
(who sees everything, so the rollups answer) and for a viewer (confidential work filtered out,
so the reports are computed from the initiatives). Server time is the time from request to
rendered response inside Django — no network, no browser — the median of `--requests` runs
after one warm-up. The issue that asked for it measured 4.8 MB and 4–8 s at 9,000 initiatives;
the target is ≤ 1 s and ≤ 500 KB at 10,000 and 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

DASHBOARD = "/admin/registry/board/"


def measure(client: Any, params: dict[str, str], *, requests: int) -> dict[str, Any]:
    from django.db import connection

    queries: list[str] = []

    def count(execute: Any, sql: str, *args: Any) -> Any:
        queries.append(sql)
        return execute(sql, *args)

    # Counted on the way to the database (the request closes its connection at the end).
    with connection.execute_wrapper(count):
        response = client.get(DASHBOARD, params)
    if response.status_code != 200:
        raise RuntimeError(f"the dashboard answered {response.status_code}")
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(DASHBOARD, params)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "html_bytes": len(response.content),
        "queries": len(queries),
        "requests": len(samples),
    }


def run(*, requests: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from registry.models import Initiative
    from registry.permissions import VIEWER

    users = get_user_model().objects
    pmo = users.get(username="bench-pmo")
    viewer, _created = users.get_or_create(username="bench-viewer", defaults={"is_staff": True})
    viewer.groups.add(Group.objects.get(name=VIEWER))
    report: dict[str, Any] = {"initiatives": Initiative.objects.count(), "pages": {}}
    for role, user in (("pmo", pmo), ("viewer", viewer)):
        client = Client(SERVER_NAME="localhost")
        client.force_login(user)
        for scope, params in (("whole portfolio", {"period": ""}), ("this quarter", {})):
            for group in ("function", "department"):
                label = f"{role}, {scope}, heatmap by {group}"
                report["pages"][label] = measure(
                    client, {**params, "group": group}, requests=requests
                )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.bench_settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    json.dump(run(requests=args.requests), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
