"""Health probes, Prometheus metrics, JSON request logs and request ids, through real requests."""

from __future__ import annotations

import datetime
import io
import json
import logging
import socket
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pghistory.models import Events
from prometheus_client.parser import text_string_to_metric_families

from registry import metrics
from registry.middleware import observability
from registry.models import Vision
from registry.models.webhooks import WorkerHeartbeat
from registry.outbox.worker import beat, fan_out
from registry.services.tokens import api_token_create
from registry.services.webhooks import (
    DeliveryStatus,
    OutboxEvent,
    WebhookDelivery,
    webhook_subscription_create,
)
from tests import factories

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def fresh_worker(db):
    beat(worker_id="test-worker", started_at=timezone.now())


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.DEBUG, logger="registry.request")
    return caplog


def log_line(caplog, path: str) -> dict:
    """The request's log record, rendered by the JSON formatter as it would be printed."""
    records = [r for r in caplog.records if r.name == "registry.request" and r.path == path]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    return json.loads(observability.JsonFormatter().format(records[0]))


# --- health -----------------------------------------------------------------------------------


def test_healthz_answers_without_the_database_even_by_ip(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = Client().get("/healthz", HTTP_HOST="10.0.3.17")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_ready_with_database_migrations_and_a_fresh_worker(fresh_worker):
    response = Client().get("/readyz", HTTP_HOST="10.0.3.17")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "unapplied": []}
    worker = body["checks"]["worker"]
    assert worker["ok"] is True
    assert worker["required"] is True
    assert worker["age_seconds"] < 5


def test_readyz_fails_on_a_stale_or_missing_worker_unless_not_required(db, settings):
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["last_heartbeat"] is None

    beat(worker_id="old", started_at=timezone.now())
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - datetime.timedelta(seconds=61))
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["ok"] is False

    settings.READYZ_REQUIRE_WORKER = False
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == {
        **response.json()["checks"]["worker"],
        "ok": False,
        "required": False,
    }


def test_readyz_fails_while_a_migration_is_unapplied(fresh_worker, monkeypatch):
    monkeypatch.setattr(observability, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'registry' AND name = %s",
            ["0005_webhooks_outbox"],
        )
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert "registry.0005_webhooks_outbox" in response.json()["checks"]["migrations"]["unapplied"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_when_the_database_is_down_and_recovers():
    beat(worker_id="test-worker", started_at=timezone.now())
    real_host, real_port = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", _closed_port()
    try:
        response = Client().get("/readyz")
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"] == {"ok": False, "error": "OperationalError"}
        assert checks["migrations"]["ok"] is False
        assert Client().get("/healthz").status_code == 200  # alive all the same
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = real_host, real_port
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


# --- metrics ----------------------------------------------------------------------------------


def scrape(client: Client, token: str = METRICS_TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_the_token_and_are_off_without_one(db, settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404  # DEBUG is off in tests
    settings.METRICS_TOKEN = METRICS_TOKEN
    refused = Client().get("/metrics")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert refused.json()["request_id"] == refused["X-Request-ID"]
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {METRICS_TOKEN}").status_code == 401
    assert scrape(Client())


def test_metrics_count_requests_by_route_latency_and_queries(db, settings, pmo_client):
    settings.METRICS_TOKEN = METRICS_TOKEN
    client = Client()
    before = scrape(client)
    for _ in range(2):
        assert pmo_client.get("/admin/registry/webhooksubscription/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    after = scrape(client)

    route = "admin:registry_webhooksubscription_changelist"
    counted = {"route": route, "method": "GET", "status": "200"}
    assert (
        value(after, "registry_http_requests_total", **counted)
        - value(before, "registry_http_requests_total", **counted)
        == 2
    )
    latency = {"route": route, "method": "GET"}
    assert (
        value(after, "registry_http_request_duration_seconds_count", **latency)
        - value(before, "registry_http_request_duration_seconds_count", **latency)
        == 2
    )
    assert value(after, "registry_http_request_duration_seconds_sum", **latency) > value(
        before, "registry_http_request_duration_seconds_sum", **latency
    )
    queries = value(after, "registry_http_request_db_queries_sum", route=route) - value(
        before, "registry_http_request_db_queries_sum", route=route
    )
    assert queries >= 2  # a changelist reads the session, the user, the rows
    # Unknown paths are one label, never the raw path.
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "registry_http_requests_total", **unmatched) >= 1
    assert not any("/no/such/page/" in str(key) for key in after)


def test_metrics_report_sync_items_outbox_backlog_and_delivery_failures(
    db, settings, local_webhooks
):
    settings.METRICS_TOKEN = METRICS_TOKEN
    client = Client()
    before = scrape(client)
    metrics.record_sync_items(
        {"created": 3, "updated": 1, "unchanged": 0, "error": 2}, source="jira"
    )
    after = scrape(client)
    for result, count in (("created", 3), ("updated", 1), ("error", 2)):
        labels = {"source": "jira", "result": result}
        assert (
            value(after, "registry_sync_items_total", **labels)
            - value(before, "registry_sync_items_total", **labels)
            == count
        )

    webhook_subscription_create(
        name="bi", url="http://127.0.0.1:9/", events=["initiative.created"], secret="x" * 20
    )
    factories.InitiativeFactory()
    factories.InitiativeFactory()
    samples = scrape(client)
    assert value(samples, "registry_outbox_backlog") == OutboxEvent.objects.undispatched().count()
    assert value(samples, "registry_outbox_backlog") >= 2
    assert value(samples, "registry_metrics_database_up") == 1

    fan_out()
    WebhookDelivery.objects.filter(pk=WebhookDelivery.objects.first().pk).update(
        status=DeliveryStatus.FAILED, attempts=10, last_error="HTTP 500"
    )
    samples = scrape(client)
    assert value(samples, "registry_outbox_backlog") == 0
    assert value(samples, "registry_webhook_deliveries", status="failed") == 1
    assert value(samples, "registry_webhook_deliveries", status="pending") == 1
    assert value(samples, "registry_worker_heartbeat_age_seconds") == -1
    beat(worker_id="w", started_at=timezone.now())
    assert value(scrape(client), "registry_workers_alive") == 1


# --- logs and request ids ---------------------------------------------------------------------


def test_one_json_log_line_per_request_with_the_documented_fields(request_log, pmo_client):
    with CaptureQueriesContext(connection) as queries:
        response = pmo_client.get(
            "/admin/registry/webhookdelivery/", HTTP_X_REQUEST_ID="trace-4711.a"
        )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-4711.a"
    line = log_line(request_log, "/admin/registry/webhookdelivery/")
    assert set(line) >= {
        "ts",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "db_queries",
        "user",
        "token",
    }
    assert line["request_id"] == "trace-4711.a"
    assert line["logger"] == "registry.request"
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "admin:registry_webhookdelivery_changelist"
    assert line["status"] == 200
    assert line["user"] == "pmo"
    assert line["token"] == ""
    assert line["db_queries"] == len(queries)
    assert 0 < line["duration_ms"] < 60_000


def test_the_log_names_the_api_token_and_errors_carry_the_request_id(request_log, pmo_user):
    _token, secret = api_token_create(name="jira-sync", user=pmo_user)
    client = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    response = client.get("/api/v1/initiatives/AI-9999/")
    assert response.status_code == 404
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert body["errors"]  # the API's own error shape is kept
    line = log_line(request_log, "/api/v1/initiatives/AI-9999/")
    assert line["token"] == "jira-sync"
    assert line["user"] == "pmo"
    assert line["route"] == "api:initiative-detail"
    assert line["status"] == 404
    assert line["request_id"] == response["X-Request-ID"]


def test_a_bad_incoming_request_id_is_replaced(request_log, db):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="evil\nid with spaces")
    generated = response["X-Request-ID"]
    assert generated != "evil\nid with spaces"
    assert uuid.UUID(generated).hex == generated
    line = log_line(request_log, "/healthz")
    assert line["request_id"] == generated
    assert line["level"] == "DEBUG"  # probes stay quiet while they pass


def test_other_loggers_carry_the_request_id_too(db):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(observability.RequestIdFilter())
    handler.setFormatter(observability.JsonFormatter())
    django_request = logging.getLogger("django.request")
    django_request.addHandler(handler)
    try:
        response = Client().get("/no/such/page/", HTTP_X_REQUEST_ID="req-404")
    finally:
        django_request.removeHandler(handler)
    assert response.status_code == 404
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines
    assert lines[0]["request_id"] == "req-404"
    assert lines[0]["logger"] == "django.request"


def test_history_rows_carry_the_request_id(pmo_client):
    response = pmo_client.post(
        "/api/v1/visions/",
        {
            "title": "Effortless service",
            "statement": "Every customer gets an answer on the first contact.",
            "horizon_start": "2026-01-01",
            "horizon_end": "2028-12-31",
            "status": "draft",
        },
        content_type="application/json",
        HTTP_X_REQUEST_ID="create-vision-1",
    )
    assert response.status_code == 201, response.content
    vision = Vision.objects.get(title="Effortless service")
    event = Events.objects.filter(pgh_obj_model="registry.Vision", pgh_obj_id=vision.pk).get()
    assert event.pgh_context["request_id"] == "create-vision-1"
