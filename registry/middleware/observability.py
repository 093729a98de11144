"""Watching the registry run: request ids, JSON request logs, Prometheus metrics, health checks.

- `ObservabilityMiddleware` (first in MIDDLEWARE) gives every request an id (the caller's
  `X-Request-ID` if sane, else a new one), echoes it in the response, adds it to JSON error
  bodies and to every log record of the request, and writes one JSON log line per request
  (logger `registry.request`) with route, status, duration, query count, user or token.
- `/healthz` (alive, no database) and `/readyz` (database, migrations, worker heartbeat)
  answer load balancers and orchestrators; `/metrics` serves Prometheus text, behind a bearer
  token. The middleware answers these three itself, before host validation and the HTTPS
  redirect, because probes and scrapers call by pod IP over plain HTTP.

This module is imported by the LOGGING configuration, before the apps are loaded: models are
imported inside functions only.
"""

from __future__ import annotations

import contextlib
import datetime
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import pythonjsonlogger.json
from django.conf import settings
from django.core.signals import request_finished
from django.db import DatabaseError, connection, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.functional import empty
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from registry.metrics import HTTP_DB_QUERIES, HTTP_LATENCY, HTTP_REQUESTS, MULTIPROC_DIR

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted from callers as is; anything else (too long, odd characters) is replaced, so a
# request id can never inject into a log line or a header.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_request_id: ContextVar[str] = ContextVar("registry_request_id", default="")

request_logger = logging.getLogger("registry.request")
logger = logging.getLogger(__name__)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def current_request_id() -> str:
    """The id of the request being served in this context ('' outside a request)."""
    return _request_id.get()


def new_request_id(incoming: str | None) -> str:
    if incoming and REQUEST_ID_PATTERN.match(incoming):
        return incoming
    return uuid.uuid4().hex


# --- logs -------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get()
        return True


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line: ts, level, logger, message, plus the record's extra fields
    (`exc` for an exception), by python-json-logger. What stays here is the registry's
    shape: its field names, a UTC time in milliseconds, no empty request id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("json_default", str)
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        if "exc_info" in log_data:
            log_data["exc"] = log_data.pop("exc_info")
        if not log_data.get("request_id"):
            log_data.pop("request_id", None)


# --- metrics ----------------------------------------------------------------------------------


class DatabaseCollector:
    """Gauges read from the database at scrape time, so every web process reports the same.

    Outbox backlog, deliveries by status (failures included), the oldest waiting work, and
    the workers' heartbeats.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Max, Min, Q

        from registry.models.webhooks import WorkerHeartbeat
        from registry.services.webhooks import DeliveryStatus, OutboxEvent, WebhookDelivery

        up = GaugeMetricFamily(
            "registry_metrics_database_up", "1 if the metrics queries reached the database."
        )
        try:
            now = timezone.now()
            outbox = OutboxEvent.objects.undispatched().aggregate(
                backlog=Count("id"), oldest=Min("occurred_at")
            )
            by_status = dict(
                WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).order_by()
            )
            pending = WebhookDelivery.objects.pending().aggregate(
                retrying=Count("id", filter=Q(attempts__gt=0)), oldest=Min("created_at")
            )
            max_age = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
            workers = WorkerHeartbeat.objects.aggregate(
                latest=Max("beat_at"),
                alive=Count("pk", filter=Q(beat_at__gte=now - datetime.timedelta(seconds=max_age))),
            )
        except DatabaseError:
            logger.warning("metrics: database unreachable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        def age(moment: datetime.datetime | None) -> float:
            return max((now - moment).total_seconds(), 0.0) if moment else 0.0

        yield GaugeMetricFamily(
            "registry_outbox_backlog",
            "Outbox events not yet fanned out to subscriptions.",
            value=outbox["backlog"],
        )
        yield GaugeMetricFamily(
            "registry_outbox_oldest_event_age_seconds",
            "Age of the oldest event not yet fanned out (0 when none).",
            value=age(outbox["oldest"]),
        )
        deliveries = GaugeMetricFamily(
            "registry_webhook_deliveries",
            "Webhook deliveries in the log by status (failed = gave up after max attempts).",
            labels=["status"],
        )
        for status in DeliveryStatus.values:
            deliveries.add_metric([status], by_status.get(status, 0))
        yield deliveries
        yield GaugeMetricFamily(
            "registry_webhook_deliveries_retrying",
            "Pending deliveries whose last attempt failed and that wait for a retry.",
            value=pending["retrying"],
        )
        yield GaugeMetricFamily(
            "registry_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending delivery (0 when none).",
            value=age(pending["oldest"]),
        )
        yield GaugeMetricFamily(
            "registry_workers_alive",
            "Workers whose heartbeat is fresher than WORKER_HEARTBEAT_MAX_AGE_SECONDS.",
            value=workers["alive"],
        )
        yield GaugeMetricFamily(
            "registry_worker_heartbeat_age_seconds",
            "Seconds since the freshest worker heartbeat (-1 when no worker ever beat).",
            value=age(workers["latest"]) if workers["latest"] else -1,
        )


class _ProcessRegistry:
    """This process's own metrics (single-process mode)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def scrape() -> bytes:
    """The Prometheus text exposition of every metric."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def _metrics_allowed(request: HttpRequest) -> bool | None:
    """True: serve; False: 401; None: metrics are off (404)."""
    token = settings.METRICS_TOKEN
    if not token:
        return True if settings.DEBUG else None
    scheme, _sep, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; `Authorization: Bearer <METRICS_TOKEN>` (open only in DEBUG)."""
    allowed = _metrics_allowed(request)
    if allowed is None:
        raise Http404
    if not allowed:
        response = JsonResponse(
            {
                "type": "client_error",
                "errors": [
                    {
                        "code": "not_authenticated",
                        "attr": None,
                        "detail": "A valid metrics token is needed.",
                    }
                ],
            },
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


# --- health -----------------------------------------------------------------------------------

_migrations_applied = False  # once true, stays true for this process


def check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database means "not ready"
        logger.warning("readyz: database check failed", exc_info=True)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "duration_ms": round((time.perf_counter() - started) * 1000, 2)}


def check_migrations() -> dict[str, Any]:
    global _migrations_applied
    if _migrations_applied:
        return {"ok": True, "unapplied": []}
    from django.db.migrations.executor import MigrationExecutor

    try:
        loader = MigrationExecutor(connection).loader
        unapplied = sorted(
            f"{app}.{name}"
            for app, name in loader.graph.nodes
            if (app, name) not in loader.applied_migrations
        )
    except Exception as exc:
        logger.warning("readyz: migration check failed", exc_info=True)
        return {"ok": False, "error": type(exc).__name__}
    _migrations_applied = not unapplied
    return {"ok": not unapplied, "unapplied": unapplied}


def check_worker() -> dict[str, Any]:
    from django.db.models import Max

    from registry.models.webhooks import WorkerHeartbeat

    max_age = settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
    required = settings.READYZ_REQUIRE_WORKER
    try:
        latest = WorkerHeartbeat.objects.aggregate(latest=Max("beat_at"))["latest"]
    except Exception as exc:
        return {"ok": False, "required": required, "error": type(exc).__name__}
    age = (timezone.now() - latest).total_seconds() if latest else None
    return {
        "ok": age is not None and age <= max_age,
        "required": required,
        "last_heartbeat": latest.isoformat() if latest else None,
        "age_seconds": round(age, 1) if age is not None else None,
        "max_age_seconds": max_age,
    }


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else, the database included."""
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: database reachable, no unapplied migration, a worker's heartbeat is fresh."""
    checks: dict[str, dict[str, Any]] = {"database": check_database()}
    if checks["database"]["ok"]:
        checks["migrations"] = check_migrations()
        checks["worker"] = check_worker()
    else:
        skipped = {"ok": False, "error": "database unreachable"}
        checks["migrations"] = dict(skipped)
        checks["worker"] = {**skipped, "required": settings.READYZ_REQUIRE_WORKER}
    ready = (
        checks["database"]["ok"]
        and checks["migrations"]["ok"]
        and (checks["worker"]["ok"] or not checks["worker"]["required"])
    )
    return _no_store(
        JsonResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status=200 if ready else 503,
        )
    )


# Answered by the middleware before anything that validates the Host or redirects to HTTPS.
PROBES: dict[str, tuple[str, Callable[[HttpRequest], HttpResponse]]] = {
    "/healthz": ("healthz", healthz),
    "/readyz": ("readyz", readyz),
    "/metrics": ("metrics", metrics),
}


# --- middleware -------------------------------------------------------------------------------


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def route_name(request: HttpRequest) -> str:
    """A low-cardinality name for what was requested: the URL name, never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    if request.path_info.startswith(static_prefix):
        return "static"
    return "unmatched"


def _user_name(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    # A lazy user nobody looked at stays unevaluated: logging must not cost a session query.
    if user is None or getattr(user, "_wrapped", None) is empty:
        return ""
    if not getattr(user, "is_authenticated", False):
        return ""
    return user.get_username()


def add_request_id_to_error(response: HttpResponse, request_id: str) -> None:
    """Put `request_id` into a JSON error body (the API's error shape and any other)."""
    if response.streaming or "json" not in response.get("Content-Type", ""):
        return
    try:
        document = json.loads(response.content)
    except ValueError:
        return
    if not isinstance(document, dict) or "request_id" in document:
        return
    document["request_id"] = request_id
    response.content = json.dumps(document, ensure_ascii=False).encode()
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))


class ObservabilityMiddleware:
    """Request id, one JSON log line and the metrics of every request; answers the probes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Cleared on request_finished, not here: Django logs 4xx/5xx responses (logger
        # django.request) after the middleware chain has returned.
        _request_id.set(request_id)
        started = time.perf_counter()
        counter = _QueryCounter()
        probe = PROBES.get(request.path_info)
        with contextlib.ExitStack() as stack:
            for conn in connections.all():
                stack.enter_context(conn.execute_wrapper(counter))
            response = probe[1](request) if probe else self.get_response(request)
        duration = time.perf_counter() - started
        route = probe[0] if probe else route_name(request)
        if response.status_code >= 400:
            add_request_id_to_error(response, request_id)
        response[REQUEST_ID_HEADER] = request_id
        self.observe(request, response, route=route, duration=duration, queries=counter.count)
        return response

    def observe(
        self,
        request: HttpRequest,
        response: HttpResponse,
        *,
        route: str,
        duration: float,
        queries: int,
    ) -> None:
        method = request.method if request.method in KNOWN_METHODS else "other"
        status = response.status_code
        HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
        HTTP_LATENCY.labels(route=route, method=method).observe(duration)
        HTTP_DB_QUERIES.labels(route=route).observe(queries)
        auth = getattr(request, "auth", None)
        if route in PROBES_BY_NAME:
            # Probes come every few seconds: quiet while fine, a warning when not.
            level = logging.DEBUG if status < 400 else logging.WARNING
        elif status >= 500:
            level = logging.ERROR
        else:
            level = logging.INFO
        request_logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "request_id": request.request_id,  # type: ignore[attr-defined]
                "method": request.method,
                "path": request.path,
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "db_queries": queries,
                "user": _user_name(request),
                "token": getattr(auth, "name", "") or "",
                "remote_addr": request.META.get("REMOTE_ADDR", ""),
            },
        )


PROBES_BY_NAME = frozenset(name for name, _view in PROBES.values())


def _forget_request_id(**_kwargs: Any) -> None:
    _request_id.set("")


request_finished.connect(
    _forget_request_id, dispatch_uid="registry.middleware.observability.request_id"
)
