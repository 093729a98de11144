"""Webhooks end to end: triggers fill the outbox, the worker delivers to a loopback receiver.

The receiver is a real HTTP server in a thread; the worker posts to it over TCP. Tests that
need several database connections (a worker subprocess, two workers side by side) commit
their data (`transactional_db`); the rest run in the test's transaction, with the worker on
the same connection.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from rest_framework.routers import SimpleRouter

import portfolio.urls
import registry.api.urls
from registry.api.webhooks import WebhookSubscriptionViewSet
from registry.choices import ReviewStatus, Stage
from registry.metrics import WORKER_REGISTRY
from registry.models import IdempotencyRecord, Initiative, Review
from registry.models.webhooks import WorkerHeartbeat
from registry.outbox.signing import verify_signature
from registry.outbox.worker import Worker, claim, fan_out, prune
from registry.services import lifecycle
from registry.services.webhooks import (
    ALL_EVENT_TYPES,
    DeliveryStatus,
    EventType,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    webhook_subscription_create,
)
from registry.sync.upsert import sync_batch
from tests import factories
from tests.processes import database_url, output_of

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-0123456789abcdef"

# The webhooks viewset under the API's namespace, ahead of the project's own URLs.
_router = SimpleRouter()
_router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
urlpatterns = [
    path("api/v1/", include((_router.urls + list(registry.api.urls.urlpatterns), "api"))),
    *portfolio.urls.urlpatterns,
]


# --- a receiver on loopback -------------------------------------------------------------------


class Receiver:
    """Records every POST; `respond(n, headers, body)` decides the status (n counts from 1)."""

    def __init__(self, respond: Callable[[int, dict[str, str], bytes], int] | None = None):
        self.respond = respond or (lambda n, headers, body: 200)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                with receiver.lock:
                    receiver.requests.append((headers, body))
                    number = len(receiver.requests)
                receiver.arrived.set()
                status = receiver.respond(number, headers, body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the worker is gone

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/registry"

    def documents(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _headers, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def fast(settings):
    """No waiting between retries; small limits."""
    settings.WEBHOOK_BACKOFF_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.WEBHOOK_LEASE_SECONDS = 60
    return settings


def subscribe(url: str, *, events=ALL_EVENT_TYPES, name: str = "receiver", **filters):
    return webhook_subscription_create(name=name, url=url, events=events, secret=SECRET, **filters)


def drain(worker: Worker | None = None) -> int:
    return (worker or Worker(poll_seconds=0)).run_until_idle()


# --- what the triggers capture ----------------------------------------------------------------


@pytest.mark.django_db
def test_scripted_sequence_arrives_once_each_in_order_and_signed(receiver, fast, active_vision):
    subscribe(receiver.url)
    goal = factories.GoalFactory(vision=active_vision)
    a = factories.InitiativeFactory(name="Billing bot")
    b = factories.InitiativeFactory(name="Churn model")
    a.name = "Billing assistant"
    a.save()
    lifecycle.initiative_transition(initiative=a, to_stage=Stage.PROPOSED)
    factories.AlignmentFactory(initiative=a, goal=goal)
    # A set-based write (like a bulk sync) is captured by the trigger as well.
    Initiative.objects.filter(pk=b.pk).update(archived_at=timezone.now(), version=F("version") + 1)
    factories.MeasurementFactory(goal=goal, value="31.5")
    sync = sync_batch(
        source="jira",
        items=[
            {"external_id": "J-1", "name": "Triage", "kind": "automation"},
            {"external_id": "J-2", "name": "Voice", "kind": "voicebot"},
        ],
    )
    review = factories.ReviewFactory(vision=active_vision)
    Review.objects.filter(pk=review.pk).update(status=ReviewStatus.CLOSED, closed_at=timezone.now())

    drain()
    drain()  # nothing left: a second pass sends nothing again

    outbox_ids = list(OutboxEvent.objects.values_list("id", flat=True))
    documents = receiver.documents()
    assert sorted(d["event_id"] for d in documents) == sorted(outbox_ids)  # each exactly once
    assert len({headers["X-Registry-Delivery"] for headers, _ in receiver.requests}) == len(
        documents
    )
    for headers, body in receiver.requests:
        assert verify_signature(body, SECRET, headers["X-Registry-Signature"])
        assert headers["X-Registry-Signature"].startswith("sha256=")
        document = json.loads(body)
        assert headers["X-Registry-Event"] == document["event"]
        assert headers["X-Registry-Delivery"] == document["id"]
        assert headers["Content-Type"] == "application/json"

    by_initiative: dict[int, list[dict]] = defaultdict(list)
    for document in documents:
        initiative = document["data"].get("initiative")
        if initiative:
            by_initiative[initiative["id"]].append(document)
    for sequence in by_initiative.values():
        ids = [d["event_id"] for d in sequence]
        assert ids == sorted(ids)  # in order per initiative
    assert [d["event"] for d in by_initiative[a.pk]] == [
        "initiative.created",
        "initiative.updated",
        "initiative.stage_changed",
        "alignment.changed",
    ]
    assert [d["event"] for d in by_initiative[b.pk]] == [
        "initiative.created",
        "initiative.archived",
    ]
    updated, moved, aligned = by_initiative[a.pk][1:]
    assert updated["data"]["changed_fields"] == ["name"]
    assert moved["data"]["from_stage"] == "idea"
    assert moved["data"]["to_stage"] == "proposed"
    assert moved["data"]["initiative"] == {
        "id": a.pk,
        "key": a.key,
        "source": None,
        "external_id": None,
        "version": 2,
        "stage": "proposed",
        "archived_at": None,
    }
    assert aligned["data"]["operation"] == "created"
    assert aligned["data"]["alignment"]["goal"] == goal.code
    for item in sync.items:
        first = by_initiative[item.initiative_id][0]
        assert first["event"] == "initiative.created"
        assert first["data"]["initiative"]["source"] == "jira"
        assert first["data"]["initiative"]["external_id"] == item.external_id
    measurement = next(d for d in documents if d["event"] == "measurement.added")
    assert measurement["data"]["measurement"]["goal"] == goal.code
    assert measurement["data"]["measurement"]["value"] == "31.5000"
    closed = next(d for d in documents if d["event"] == "review.closed")
    assert closed["data"]["review"]["period"] == review.period
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == len(documents)


@pytest.mark.django_db
def test_a_save_that_changes_nothing_emits_nothing():
    initiative = factories.InitiativeFactory()
    before = OutboxEvent.objects.count()
    initiative.save()
    Initiative.objects.filter(pk=initiative.pk).update(updated_at=timezone.now())
    assert OutboxEvent.objects.count() == before


@pytest.mark.django_db
def test_a_rolled_back_change_emits_nothing(receiver, fast):
    subscribe(receiver.url)
    before = OutboxEvent.objects.count()

    def change_then_fail() -> None:
        with transaction.atomic():
            initiative = factories.InitiativeFactory()
            initiative.name = "Never happened"
            initiative.save()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert OutboxEvent.objects.count() == before
    assert drain() == 0
    assert receiver.requests == []

    kept = factories.InitiativeFactory()
    drain()
    assert [d["data"]["initiative"]["key"] for d in receiver.documents()] == [kept.key]


# --- retries, backoff, giving up --------------------------------------------------------------


@pytest.mark.django_db
def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(fast):
    receiver = Receiver(lambda n, headers, body: 500 if n <= 2 else 204)

    def attempts(outcome: str) -> float:
        sample = "registry_webhook_delivery_attempts_total"
        return WORKER_REGISTRY.get_sample_value(sample, {"outcome": outcome}) or 0.0

    before = {outcome: attempts(outcome) for outcome in ("retry", "success")}
    try:
        subscribe(receiver.url)
        initiative = factories.InitiativeFactory()
        drain()
    finally:
        receiver.close()
    # The worker's own metrics count each attempt by outcome.
    assert attempts("retry") - before["retry"] == 2
    assert attempts("success") - before["success"] == 1

    assert len(receiver.requests) == 3
    assert {headers["X-Registry-Delivery"] for headers, _ in receiver.requests} == {
        str(WebhookDelivery.objects.get().pk)
    }
    assert len({body for _headers, body in receiver.requests}) == 1  # the same bytes each time
    assert [headers["X-Registry-Attempt"] for headers, _ in receiver.requests] == ["1", "2", "3"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 3
    assert delivery.last_error == ""
    assert delivery.last_status_code == 204
    assert [entry["status_code"] for entry in delivery.attempt_log] == [500, 500, 204]
    assert delivery.attempt_log[0]["error"].startswith("HTTP 500")
    assert receiver.documents()[0]["data"]["initiative"]["key"] == initiative.key


@pytest.mark.django_db
def test_failures_back_off_exponentially(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    receiver = Receiver(lambda n, headers, body: 503)
    try:
        subscribe(receiver.url)
        factories.InitiativeFactory()
        worker = Worker(poll_seconds=0)
        drain(worker)
        assert len(receiver.requests) == 1  # the retry is not due yet
        delivery = WebhookDelivery.objects.get()
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        # 30 s ± 20 % jitter, counted from the attempt's start: plus the attempt's own time.
        assert 24 <= wait <= 37

        worker.clock = lambda: timezone.now() + datetime.timedelta(seconds=40)
        worker.run_once()
        assert len(receiver.requests) == 2
        delivery.refresh_from_db()
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 48 <= wait <= 72  # doubled
    finally:
        receiver.close()


@pytest.mark.django_db
def test_a_later_event_waits_until_the_earlier_one_is_delivered_or_given_up(fast):
    def respond(n: int, headers: dict[str, str], body: bytes) -> int:
        return 500 if headers["X-Registry-Event"] == "initiative.created" else 200

    receiver = Receiver(respond)
    try:
        subscribe(receiver.url)
        initiative = factories.InitiativeFactory()
        initiative.summary = "Now with a summary."
        initiative.save()
        other = factories.InitiativeFactory()
        drain()
    finally:
        receiver.close()

    mine = [
        headers["X-Registry-Event"]
        for headers, body in receiver.requests
        if json.loads(body)["data"]["initiative"]["id"] == initiative.pk
    ]
    assert mine == ["initiative.created"] * 3 + ["initiative.updated"]
    created, updated = WebhookDelivery.objects.filter(ordering_key=f"initiative:{initiative.pk}")
    created, updated = sorted([created, updated], key=lambda d: d.event_id)
    assert created.status == DeliveryStatus.FAILED
    assert created.attempts == 3
    assert created.last_error.startswith("HTTP 500")
    assert updated.status == DeliveryStatus.SUCCEEDED
    # Another initiative's queue is independent.
    assert (
        WebhookDelivery.objects.get(ordering_key=f"initiative:{other.pk}").status
        == DeliveryStatus.FAILED
    )


@pytest.mark.django_db
def test_unreachable_receiver_and_redirects_are_failures(fast):
    receiver = Receiver(lambda n, headers, body: 302)
    closed_port = Receiver()
    closed_url = closed_port.url
    closed_port.close()
    try:
        subscribe(receiver.url, name="redirects")
        subscribe(closed_url, name="nobody home")
        factories.InitiativeFactory()
        drain()
    finally:
        receiver.close()
    redirected = WebhookDelivery.objects.get(subscription__name="redirects")
    assert redirected.status == DeliveryStatus.FAILED
    assert redirected.last_status_code == 302
    refused = WebhookDelivery.objects.get(subscription__name="nobody home")
    assert refused.status == DeliveryStatus.FAILED
    assert refused.last_status_code is None
    assert "URLError" in refused.last_error


# --- filters and who gets what ----------------------------------------------------------------


@pytest.mark.django_db
def test_filters_by_source_department_and_goal(receiver, fast, active_vision):
    service, sales = factories.DepartmentFactory(), factories.DepartmentFactory()
    nps, csat = (
        factories.GoalFactory(vision=active_vision),
        factories.GoalFactory(vision=active_vision),
    )
    subscribe(receiver.url, name="jira", source="jira")
    subscribe(receiver.url, name="service", department=service)
    subscribe(receiver.url, name="nps", goal=nps)
    subscribe(receiver.url, name="all")
    subscribe(receiver.url, name="measurements only", events=[EventType.MEASUREMENT_ADDED])

    local = factories.InitiativeFactory(lead_department=service)
    synced = sync_batch(
        source="jira",
        items=[
            {
                "external_id": "J-7",
                "name": "Agent assist",
                "kind": "agent_assist",
                "lead_department": sales.slug,
                "departments": [service.slug],
            }
        ],
    ).items[0]
    factories.AlignmentFactory(initiative_id=synced.initiative_id, goal=nps)
    factories.MeasurementFactory(goal=nps)
    factories.MeasurementFactory(goal=csat)
    review = factories.ReviewFactory(vision=active_vision)
    Review.objects.filter(pk=review.pk).update(status="closed", closed_at=timezone.now())
    drain()

    received: dict[str, set[tuple[str, Any]]] = defaultdict(set)
    names = dict(WebhookDelivery.objects.values_list("id", "subscription__name"))
    for headers, body in receiver.requests:
        document = json.loads(body)
        data = document["data"]
        about = (
            data.get("initiative", {}).get("id")
            or data.get("measurement", {}).get("goal")
            or data.get("review", {}).get("period")
        )
        received[names[uuid.UUID(headers["X-Registry-Delivery"])]].add((document["event"], about))

    assert ("initiative.created", synced.initiative_id) in received["jira"]
    assert all(about == synced.initiative_id for _e, about in received["jira"])
    assert ("alignment.changed", synced.initiative_id) in received["jira"]
    # Lead or participating department.
    assert {about for _e, about in received["service"]} == {local.pk, synced.initiative_id}
    # Aligned initiatives, their alignments, the goal's measurements — nothing else.
    assert received["nps"] == {
        ("initiative.created", synced.initiative_id),
        ("alignment.changed", synced.initiative_id),
        ("measurement.added", nps.code),
    }
    assert ("review.closed", review.period) in received["all"]
    assert ("measurement.added", csat.code) in received["all"]
    assert {e for e, _about in received["measurements only"]} == {"measurement.added"}


@pytest.mark.django_db
def test_a_new_subscription_gets_only_what_happens_after_it(receiver, fast):
    factories.InitiativeFactory()
    time.sleep(0.01)
    subscribe(receiver.url)
    later = factories.InitiativeFactory()
    drain()
    assert [d["data"]["initiative"]["id"] for d in receiver.documents()] == [later.pk]


@pytest.mark.django_db
def test_an_inactive_subscription_gets_nothing_new(receiver, fast):
    subscription = subscribe(receiver.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    factories.InitiativeFactory()
    drain()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
    assert not OutboxEvent.objects.undispatched().exists()


# --- workers: killed, stopped, side by side ---------------------------------------------------


def _worker_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": database_url(),  # TCP or the embedded server's Unix socket
        "WORKER_POLL_SECONDS": "0.1",
        "LOG_FORMAT": "json",
        # The receiver runs on loopback: allowed explicitly, as in tests/outbox/conftest.py.
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        **extra,
    }
    return env


def _start_worker(**extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker"],
        cwd=ROOT,
        env=_worker_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_redelivered_with_its_id():
    release = threading.Event()

    def respond(n: int, headers: dict[str, str], body: bytes) -> int:
        if n == 1:
            release.wait(30)  # the first worker dies while we hold its request
        return 200

    receiver = Receiver(respond)
    try:
        subscribe(receiver.url)
        initiative = factories.InitiativeFactory()
        worker = _start_worker()
        try:
            assert receiver.arrived.wait(30), output_of(worker)
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
            release.set()

        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.locked_by  # the dead worker's lease is still on it
        second = Worker(poll_seconds=0)
        assert second.run_until_idle() == 0  # not before the lease expires
        second.clock = lambda: timezone.now() + datetime.timedelta(seconds=61)
        second.run_until_idle()
    finally:
        receiver.close()

    assert len(receiver.requests) == 2
    (first_headers, first_body), (again_headers, again_body) = receiver.requests
    assert first_headers["X-Registry-Delivery"] == again_headers["X-Registry-Delivery"]
    assert first_body == again_body
    assert json.loads(again_body)["data"]["initiative"]["key"] == initiative.key
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 2
    assert delivery.attempt_log[0]["error"].startswith("abandoned")
    assert delivery.attempt_log[1]["status_code"] == 200


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_delivery_in_flight_and_gives_back_the_rest():
    def respond(n: int, headers: dict[str, str], body: bytes) -> int:
        time.sleep(1.5)
        return 200

    receiver = Receiver(respond)
    try:
        subscribe(receiver.url)
        first = factories.InitiativeFactory()
        second = factories.InitiativeFactory()
        worker = _start_worker()
        try:
            assert receiver.arrived.wait(30), output_of(worker)
            worker.send_signal(signal.SIGTERM)
            try:
                output, _ = worker.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the worker did not stop within 30 s of SIGTERM:\n{output_of(worker)}")
        finally:
            if worker.poll() is None:
                worker.kill()
    finally:
        receiver.close()

    assert worker.returncode == 0, output.decode()
    assert len(receiver.requests) == 1
    delivered_id = receiver.documents()[0]["data"]["initiative"]["id"]
    assert delivered_id in (first.pk, second.pk)
    delivered = WebhookDelivery.objects.get(ordering_key=f"initiative:{delivered_id}")
    assert delivered.status == DeliveryStatus.SUCCEEDED
    left = WebhookDelivery.objects.exclude(pk=delivered.pk).get()
    assert left.status == DeliveryStatus.PENDING
    assert (left.attempts, left.locked_by, left.locked_until) == (0, "", None)
    assert not WorkerHeartbeat.objects.exists()  # a clean stop removes its heartbeat
    assert b"worker stopped" in output


@pytest.mark.django_db(transaction=True)
def test_two_workers_side_by_side_deliver_every_event_once_in_order(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 0

    def respond(n: int, headers: dict[str, str], body: bytes) -> int:
        time.sleep(0.005)
        return 200

    receiver = Receiver(respond)
    try:
        subscribe(receiver.url)
        for number in range(10):
            initiative = factories.InitiativeFactory()
            for revision in range(2):
                initiative.summary = f"Revision {number}.{revision}"
                initiative.save()
        expected = OutboxEvent.objects.count()
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                worker = Worker(worker_id=name, poll_seconds=0, batch_size=2)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if not worker.run_once() and not (
                        WebhookDelivery.objects.pending().exists()
                        or OutboxEvent.objects.undispatched().exists()
                    ):
                        break
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    finally:
        receiver.close()

    assert not errors, errors
    documents = receiver.documents()
    assert sorted(d["event_id"] for d in documents) == sorted(
        OutboxEvent.objects.values_list("id", flat=True)
    )
    assert len(documents) == expected == 30
    per_initiative: dict[int, list[int]] = defaultdict(list)
    for document in documents:
        per_initiative[document["data"]["initiative"]["id"]].append(document["event_id"])
    assert all(ids == sorted(ids) for ids in per_initiative.values())
    assert not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists()


@pytest.mark.django_db
def test_claims_skip_rows_leased_by_another_worker(fast):
    subscribe("http://127.0.0.1:9/unused")
    factories.InitiativeFactory()
    factories.InitiativeFactory()
    fan_out()
    mine = claim(worker_id="a", limit=1, lease_seconds=60)
    theirs = claim(worker_id="b", limit=10, lease_seconds=60)
    assert len(mine) == 1
    assert len(theirs) == 1
    assert mine[0].delivery.pk != theirs[0].delivery.pk
    assert claim(worker_id="c", limit=10, lease_seconds=60) == []


@pytest.mark.django_db
def test_heartbeat_and_pruning(fast, settings):
    settings.WEBHOOK_RETENTION_DAYS = 30
    subscribe("http://127.0.0.1:9/unused")
    factories.InitiativeFactory()
    worker = Worker(worker_id="host:1:abc", poll_seconds=0)
    worker.run_until_idle()  # nobody listens: three attempts, then it gives up
    beat = WorkerHeartbeat.objects.get()
    assert beat.worker_id == "host:1:abc"
    assert (timezone.now() - beat.beat_at).total_seconds() < 5

    old = timezone.now() - datetime.timedelta(days=31)
    WebhookDelivery.objects.update(created_at=old)
    OutboxEvent.objects.update(dispatched_at=old)
    assert prune() == 2  # the finished (given up) delivery, then its event
    assert not WebhookDelivery.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_the_worker_deletes_expired_idempotency_records(fast, settings):
    settings.REGISTRY_IDEMPOTENCY_HOURS = 24
    now = timezone.now()
    for key, hours in (("fresh", 23.9), ("expired", 24.1), ("ancient", 24 * 30)):
        record = IdempotencyRecord.objects.create(
            owner="token:1", key=key, method="POST", path="/", request_hash="x", status_code=201
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            created_at=now - datetime.timedelta(hours=hours)
        )
    Worker(worker_id="host:1:abc", poll_seconds=0).run_once()  # its first pass prunes
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    settings.REGISTRY_IDEMPOTENCY_HOURS = 1
    assert prune() == 1
    assert not IdempotencyRecord.objects.exists()


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(pmo_client):
    return pmo_client


WEBHOOKS = "/api/v1/webhooks/"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_creates_a_subscription_and_shows_the_secret_once(api, active_vision):
    department = factories.DepartmentFactory(slug="service")
    goal = factories.GoalFactory(vision=active_vision, code="G-NPS")
    response = api.post(
        WEBHOOKS,
        {
            "name": "bi",
            "url": "https://bi.example.com/hooks",
            "events": ["initiative.created", "initiative.stage_changed"],
            "department": "service",
            "goal": "G-NPS",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["department"]["slug"] == "service"
    assert body["goal"]["code"] == "G-NPS"
    assert body["events"] == ["initiative.created", "initiative.stage_changed"]
    subscription = WebhookSubscription.objects.get(name="bi")
    assert subscription.secret == body["secret"]
    assert (subscription.department, subscription.goal) == (department, goal)

    detail = api.get(f"{WEBHOOKS}{subscription.pk}/").json()
    assert "secret" not in detail
    assert detail["pending_deliveries"] == 0

    changed = api.patch(
        f"{WEBHOOKS}{subscription.pk}/",
        {"is_active": False, "department": None},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert changed.json()["is_active"] is False
    assert "secret" not in changed.json()

    rotated = api.post(f"{WEBHOOKS}{subscription.pk}/rotate-secret/").json()
    subscription.refresh_from_db()
    assert rotated["secret"] == subscription.secret != body["secret"]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"events": ["initiative.deleted"]}, "events.0"),
        ({"events": []}, "events"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"secret": "short"}, "secret"),
        ({"goal": "G-NOPE"}, "goal"),
    ],
)
def test_api_refuses_bad_subscriptions_with_the_error_shape(api, payload, attr):
    data = {"name": "x", "url": "https://x.example.com/", "events": ["review.closed"], **payload}
    response = api.post(WEBHOOKS, data, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "validation_error"
    assert attr in [error["attr"] for error in body["errors"]]
    assert body["request_id"] == response["X-Request-ID"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_is_for_the_pmo_only(viewer_user, contributor_user):
    subscribe("https://x.example.com/")
    assert Client().get(WEBHOOKS).status_code in (401, 403)
    for user in (viewer_user, contributor_user):
        client = Client()
        client.force_login(user)
        assert client.get(WEBHOOKS).status_code == 403
        response = client.post(
            WEBHOOKS,
            {"name": "y", "url": "https://y.example.com/", "events": ["review.closed"]},
            content_type="application/json",
        )
        assert response.status_code == 403


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_ping_deliveries_and_redeliver(api, receiver, fast):
    subscription = subscribe(receiver.url)
    response = api.post(f"{WEBHOOKS}{subscription.pk}/ping/")
    assert response.status_code == 202
    drain()
    assert [headers["X-Registry-Event"] for headers, _ in receiver.requests] == ["ping"]
    headers, body = receiver.requests[0]
    assert verify_signature(body, SECRET, headers["X-Registry-Signature"])

    log = api.get(f"{WEBHOOKS}{subscription.pk}/deliveries/?status=succeeded").json()
    assert log["count"] == 1
    entry = log["results"][0]
    assert entry["event"] == "ping"
    assert entry["status"] == "succeeded"
    assert entry["attempts"] == 1
    assert entry["id"] == headers["X-Registry-Delivery"]
    assert api.get(f"{WEBHOOKS}{subscription.pk}/deliveries/?status=bogus").status_code == 400

    again = api.post(
        f"{WEBHOOKS}{subscription.pk}/redeliver/",
        {"deliveries": [entry["id"]]},
        content_type="application/json",
    )
    assert again.status_code == 202
    assert again.json() == {"redelivered": 1}
    drain()
    assert len(receiver.requests) == 2
    assert receiver.requests[1][0]["X-Registry-Delivery"] == entry["id"]
    assert receiver.requests[1][1] == body

    other = subscribe("https://other.example.com/", name="other")
    refused = api.post(
        f"{WEBHOOKS}{other.pk}/redeliver/",
        {"deliveries": [entry["id"]]},
        content_type="application/json",
    )
    assert refused.status_code == 400


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_list_runs_the_same_queries_for_1_and_50_subscriptions(api):
    subscribe("https://one.example.com/", name="s-0")
    api.get(WEBHOOKS)  # warm up session and permission caches
    with CaptureQueriesContext(connection) as one:
        assert api.get(WEBHOOKS).json()["count"] == 1
    for number in range(1, 50):
        subscribe(f"https://{number}.example.com/", name=f"s-{number}")
    with CaptureQueriesContext(connection) as fifty:
        assert api.get(WEBHOOKS).json()["count"] == 50
    assert len(one) == len(fifty)


# --- the admin --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_delivery_log_shows_attempts_and_redelivers(pmo_client, fast):
    receiver = Receiver(lambda n, headers, body: 500 if n <= 3 else 200)
    try:
        subscribe(receiver.url)
        initiative = factories.InitiativeFactory()
        drain()
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == DeliveryStatus.FAILED

        changelist = pmo_client.get("/admin/registry/webhookdelivery/")
        assert changelist.status_code == 200
        page = changelist.content.decode()
        assert "Gave up" in page
        assert "HTTP 500" in page
        detail = pmo_client.get(f"/admin/registry/webhookdelivery/{delivery.pk}/change/")
        assert detail.status_code == 200
        assert initiative.key in detail.content.decode()

        response = pmo_client.post(
            "/admin/registry/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
            follow=True,
        )
        assert response.status_code == 200
        assert "queued again" in response.content.decode()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
        drain()
    finally:
        receiver.close()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert receiver.requests[-1][0]["X-Registry-Delivery"] == str(delivery.pk)


@pytest.mark.django_db
def test_admin_adds_a_subscription_with_event_checkboxes(pmo_client):
    page = pmo_client.get("/admin/registry/webhooksubscription/add/")
    assert page.status_code == 200
    assert 'value="initiative.stage_changed"' in page.content.decode()
    response = pmo_client.post(
        "/admin/registry/webhooksubscription/add/",
        {
            "name": "service desk",
            "url": "https://desk.example.com/hook",
            "events": ["initiative.created", "review.closed"],
            "secret": "a-long-enough-secret-value",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    subscription = WebhookSubscription.objects.get(name="service desk")
    assert subscription.events == ["initiative.created", "review.closed"]
    assert subscription.created_by.username == "pmo"


@pytest.mark.django_db
def test_the_webhook_admin_is_not_for_viewers(viewer_user):
    client = Client()
    client.force_login(viewer_user)
    assert client.get("/admin/registry/webhooksubscription/").status_code == 403
    assert client.get("/admin/registry/webhookdelivery/").status_code == 403
