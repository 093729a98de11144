"""Markdown tables from the JSON results of the last `make bench` run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(results: Path) -> str:
    parts = []
    last = results / "last-run.json"
    report = json.loads(last.read_text()) if last.exists() else {}
    if not report and (results / "compare.json").exists():
        report = json.loads((results / "compare.json").read_text())
    compare = report.get("compare", {})
    if compare:
        rows = []
        for group, variants in compare.items():
            for name, v in variants.items():
                if not isinstance(v, dict):
                    continue
                queries = v.get("queries")
                if "queries_page_size_1" in v:
                    queries = (
                        f"{v['queries_page_size_1']}/{v['queries']}/{v['queries_page_size_100']}"
                    )
                rows.append(
                    [
                        group,
                        name,
                        v["rps"],
                        v["p50_ms"],
                        v["p95_ms"],
                        queries,
                        variants.get("ratio_api_raw", "") if name == "api" else "",
                    ]
                )
        parts.append(
            "### Side by side (8 clients)\n\n"
            + _table(
                [
                    "endpoint",
                    "variant",
                    "req/s",
                    "p50 ms",
                    "p95 ms",
                    "queries (page 1/50/100)",
                    "API/raw",
                ],
                rows,
            )
        )
    sync = report.get("sync")
    if sync:
        rows = [
            [
                name,
                v["items_per_s"],
                v["queries"],
                v.get("queries_batch_10"),
                v.get("queries_batch_1000"),
            ]
            for name, v in sync.items()
            if isinstance(v, dict)
        ]
        parts.append(
            f"### Batch sync of {report['args']['sync_items']} items "
            f"(API/raw {sync.get('ratio_api_raw', 'not run')}, module/raw "
            f"{sync.get('ratio_module_raw', '–')})\n\n"
            + _table(
                [
                    "variant",
                    "items/s",
                    "queries (whole run)",
                    "queries, batch of 10",
                    "queries, batch of 1000",
                ],
                rows,
            )
        )
    feed = report.get("feed")
    if feed:
        parts.append("### Change feed by cursor\n\n" + _table(list(feed), [list(feed.values())]))
    growth_file = results / "growth.json"
    if growth_file.exists():
        growth = json.loads(growth_file.read_text())
        sizes = growth["sizes"]
        names = list(sizes)
        labels = list(next(iter(sizes.values()))["timings"])
        rows = [
            [label]
            + [sizes[n]["timings"][label]["p50_ms"] for n in names]
            + [growth["ratio_1m_1k"].get(label, "")]
            + [sizes[names[-1]]["timings"][label]["queries"]]
            for label in labels
        ]
        parts.append(
            "### Growth (p50 ms, one client)\n\n"
            + _table(["request", *names, "t(1M)/t(1k)", "queries"], rows)
        )
        scans = [
            [
                n,
                k,
                v["statements"],
                v["execution_ms"],
                v["seq_scans_on_initiative"],
                v.get("seq_scan_rows_read", ""),
            ]
            for n in names
            for k, v in sizes[n]["explain"].items()
        ]
        parts.append(
            "### EXPLAIN ANALYZE\n\n"
            + _table(
                [
                    "database",
                    "request",
                    "statements",
                    "SQL ms",
                    "seq scans on initiative",
                    "rows they read",
                ],
                scans,
            )
        )
    return "\n\n".join(parts) + "\n"
