"""EXPLAIN (ANALYZE, BUFFERS) of every statement the API runs for each list request.

Run by bench/run.py inside the bench settings against one database:
`python -m bench.explain --out DIR --detail-key AI-0042 --cursor CURSOR`. Writes one text file
per request and summary.json (statements, execution time, sequential scans on the
initiative table and the rows they read: a scan under the bounded count's LIMIT stops after
so many matches, whatever the table's size).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def requests_to_explain(detail_key: str, cursor: str) -> dict[str, str]:
    return {
        "first-page": "/api/v1/initiatives/?page_size=50",
        "cursor-90": f"/api/v1/initiatives/?cursor={cursor}&page_size=50",
        "stage": "/api/v1/initiatives/?page_size=50&stage=pilot",
        "goal": "/api/v1/initiatives/?page_size=50&goal=G-NPS",
        "alignment": "/api/v1/initiatives/?page_size=50&alignment=none",
        "q": "/api/v1/initiatives/?page_size=50&q=billing",
        "combined": "/api/v1/initiatives/?page_size=50&stage=pilot&goal=G-CSAT&alignment=strong",
        "detail": f"/api/v1/initiatives/{detail_key}/",
        "admin-changelist": "/admin/registry/initiative/",
    }


FILTERED = {"stage", "goal", "alignment", "q", "combined"}
SEQ_SCAN = re.compile(
    r"Seq Scan on registry_initiative\b(?!_).*?actual time=\S+ rows=(\d+) loops=(\d+)"
)
REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


def seq_scan_rows(plan: str) -> list[int]:
    """Rows each sequential scan of the initiative table read (kept plus filtered out)."""
    lines = plan.splitlines()
    found = []
    for index, line in enumerate(lines):
        match = SEQ_SCAN.search(line)
        if not match:
            continue
        kept, loops = int(match.group(1)), int(match.group(2))
        removed = 0
        for following in lines[index + 1 :]:
            if "->" in following:
                break
            if hit := REMOVED.search(following):
                removed = int(hit.group(1))
        found.append((kept + removed) * loops)
    return found


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--detail-key", required=True)
    parser.add_argument("--cursor", required=True)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-pmo"))
    summary: dict[str, Any] = {}
    for name, path in requests_to_explain(args.detail_key, args.cursor).items():
        client.get(path)  # warm up (session, content types)
        statements: list[tuple[str, Any]] = []

        def record(execute, sql, params, many, context, statements=statements):  # noqa: ANN001
            statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        texts = []
        seq_scans: list[int] = []
        total_ms = 0.0
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            texts.append(f"-- {sql[:300]}\n{plan}\n")
            seq_scans += seq_scan_rows(plan)
            found = re.search(r"Execution Time: ([\d.]+) ms", plan)
            total_ms += float(found.group(1)) if found else 0.0
        (out / f"{name}.txt").write_text(f"GET {path}\n\n" + "\n".join(texts))
        summary[name] = {
            "path": path,
            "statements": len(statements),
            "execution_ms": round(total_ms, 2),
            "seq_scans_on_initiative": len(seq_scans),
            "seq_scan_rows_read": sum(seq_scans),
            "filtered": name in FILTERED,
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
