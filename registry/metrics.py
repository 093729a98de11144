"""The registry's Prometheus metrics, defined once for the web processes and the worker.

Surfaces record into them (the request middleware, the sync API, the webhook worker);
`/metrics` and the worker's own port serve them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram

# Multiprocess mode (gunicorn): prometheus_client keeps values in files under this folder,
# one per process, and /metrics merges them. It must exist before the first value is written.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

HTTP_REQUESTS = Counter(
    "registry_http_requests",
    "HTTP requests by route name, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "registry_http_request_duration_seconds",
    "Time from the request entering the middleware stack to its response.",
    ["route", "method"],
)
HTTP_DB_QUERIES = Histogram(
    "registry_http_request_db_queries",
    "Database queries run while serving one request.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377),
)
SYNC_ITEMS = Counter(
    "registry_sync_items",
    "Items received by the sync API, by source and result (created, updated, unchanged, error).",
    ["source", "result"],
)
# The worker's own metrics, served by `run_worker` on WORKER_METRICS_PORT; kept out of the
# web processes' registry, where they would only ever read zero.
WORKER_REGISTRY = CollectorRegistry(auto_describe=True)
DELIVERY_ATTEMPTS = Counter(
    "registry_webhook_delivery_attempts",
    "Webhook delivery attempts made by this worker, by outcome.",
    ["outcome"],
    registry=WORKER_REGISTRY,
)
DELIVERY_DURATION = Histogram(
    "registry_webhook_delivery_duration_seconds",
    "Time a webhook receiver took to answer (or fail), by outcome.",
    ["outcome"],
    registry=WORKER_REGISTRY,
)


def record_sync_items(counts: Mapping[str, int], *, source: str = "") -> None:
    """Count a sync batch's items by result; the sync API calls this after each batch."""
    for result, count in counts.items():
        if count:
            SYNC_ITEMS.labels(source=source or "-", result=result).inc(count)
