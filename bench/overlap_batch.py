"""Join or justify for a sync batch at scale: `reports.overlaps_by_key` of 1,000 initiatives.

A sync batch answers each created or updated item with its overlaps (registry.sync,
`join_or_justify`). This times that call for `--batch` initiatives of a seeded benchmark
database (default 1,000 of bench_100k, spread over the portfolio), as the PMO and as a
viewer, and the single-initiative lookup an edit or intake makes:

    DATABASE_URL=postgres://…/bench_100k python -m bench.overlap_batch [--batch 1000]

`make bench` runs it as the `overlaps` section (`BENCH_ARGS="--only overlaps"`, results in
bench/results/overlaps.json); the figures are in docs/PERFORMANCE.md and docs/OVERLAPS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any


def measure(batch: int, repeat: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from registry import permissions
    from registry.models import Initiative
    from registry.selectors import reports

    total = Initiative.objects.count()
    step = max(1, total // batch)
    keys = list(Initiative.objects.order_by("id").values_list("key", flat=True)[::step][:batch])
    users = get_user_model().objects
    pmo = (
        users.filter(groups__name=permissions.PMO).first()
        or users.filter(is_superuser=True).first()
    )
    viewer = users.filter(groups__name=permissions.VIEWER).first() or pmo
    result: dict[str, Any] = {"initiatives": total, "batch": len(keys)}
    for role, user in (("pmo", pmo), ("viewer", viewer)):
        seconds, found = [], {}
        for _ in range(repeat):
            started = time.perf_counter()
            found = reports.overlaps_by_key(keys, user=user, limit=20)
            seconds.append(time.perf_counter() - started)
        counts = [item.count for item in found.values()]
        result[role] = {
            "seconds_median": round(statistics.median(seconds), 2),
            "seconds_max": round(max(seconds), 2),
            "items_with_overlaps": sum(1 for count in counts if count),
            "overlaps_median": statistics.median(counts) if counts else 0,
            "overlaps_max": max(counts) if counts else 0,
        }
    single = Initiative.objects.get(key=keys[len(keys) // 2])
    seconds = []
    for _ in range(max(3, repeat)):
        started = time.perf_counter()
        reports.overlaps_for(single, user=pmo)
        seconds.append(time.perf_counter() - started)
    result["single_ms_median"] = round(statistics.median(seconds) * 1000, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    import django

    django.setup()
    print(json.dumps(measure(args.batch, args.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
