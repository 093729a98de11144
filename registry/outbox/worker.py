"""The webhook worker: fans outbox events out to subscriptions and delivers them.

A small outbox worker on PostgreSQL rather than a task library: the events already live in
a table written by triggers, so all a worker needs is to claim rows safely —
`SELECT … FOR UPDATE SKIP LOCKED` — which lets any number of workers run side by side
without a broker, and keeps the whole pipeline inside the one database the registry already
has.

One loop (`Worker.run_once`):

1. heartbeat — upsert this worker's row; `/readyz` checks the freshest one;
2. fan out — one worker at a time (advisory lock), in event-id order: each undispatched
   outbox event becomes one WebhookDelivery per matching subscription;
3. deliver — claim due deliveries with a lease (`locked_until`), POST each one signed, and
   record the attempt: success, a retry with exponential backoff, or giving up after
   WEBHOOK_MAX_ATTEMPTS. Only the head of each (subscription, ordering key) queue is
   claimable, so an initiative's later event never overtakes an earlier one that is still
   pending; a worker that dies mid-delivery leaves its lease to expire, and the next worker
   sends the same delivery (same id, same body) again.

HTTP happens outside any database transaction; the lease, not a held row lock, protects a
delivery in flight (so a slow receiver never holds a transaction open).
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from registry.metrics import DELIVERY_ATTEMPTS, DELIVERY_DURATION
from registry.models import Alignment, IdempotencyRecord, Initiative
from registry.models.webhooks import (
    ATTEMPT_LOG_LIMIT,
    DeliveryStatus,
    EventType,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    WorkerHeartbeat,
)
from registry.outbox.signing import (
    ATTEMPT_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    sign,
)
from registry.selectors import rollup
from registry.services.overlaps import overlaps_refresh
from registry.services.webhooks import WebhookTargetRefusedError, checked_addresses

logger = logging.getLogger("registry.webhooks")

# pg_advisory_xact_lock key of the fan-out: a fixed 64-bit number ("registry-webhooks").
FANOUT_LOCK = int.from_bytes(
    hashlib.blake2b(b"registry-webhooks-fan-out", digest_size=8).digest(), "big", signed=True
)
FANOUT_BATCH = 500
PRUNE_INTERVAL_SECONDS = 600
# The report rollups' deltas are folded this often (registry.selectors.rollup.compact).
ROLLUP_COMPACT_SECONDS = 60
# Initiatives whose overlaps an idle pass scores (about 4 s at 10,000 initiatives).
OVERLAP_BATCH = 200
# Bytes of a refusing receiver's answer read, and characters of it kept in `last_error`
# (which the PMO reads in the admin and the API): enough to tell "maintenance" from
# "invalid signature", too little to copy a page out of whatever answered.
RESPONSE_EXCERPT = 300
ERROR_EXCERPT_CHARS = 80


# --- fan-out ----------------------------------------------------------------------------------


@dataclass
class InitiativeFacts:
    """What subscription filters look at, read when the event is fanned out."""

    source: str
    departments: set[int] = field(default_factory=set)
    goals: set[int] = field(default_factory=set)


def _initiative_facts(ids: set[int]) -> dict[int, InitiativeFacts]:
    facts = {
        pk: InitiativeFacts(source=source, departments={lead} if lead else set())
        for pk, source, lead in Initiative.objects.filter(pk__in=ids).values_list(
            "pk", "source", "lead_department_id"
        )
    }
    through = Initiative.departments.through
    for initiative_id, department_id in through.objects.filter(initiative_id__in=facts).values_list(
        "initiative_id", "department_id"
    ):
        facts[initiative_id].departments.add(department_id)
    for initiative_id, goal_id in Alignment.objects.filter(initiative_id__in=facts).values_list(
        "initiative_id", "goal_id"
    ):
        facts[initiative_id].goals.add(goal_id)
    return facts


def subscription_matches(
    subscription: WebhookSubscription, event: OutboxEvent, facts: InitiativeFacts | None
) -> bool:
    """Does the subscription want this event? Events, creation time, then each filter.

    A filter passes only for events about something it names: source and department look at
    the event's initiative; goal at the initiative's alignments, the alignment's goal or the
    measurement's goal. So a filtered subscription never gets `review.closed`.
    """
    if event.subscription_id is not None:
        return event.subscription_id == subscription.pk
    if not subscription.is_active or event.event_type not in subscription.events:
        return False
    if event.occurred_at < subscription.created_at:
        return False
    if subscription.source and (facts is None or facts.source != subscription.source):
        return False
    if subscription.department_id and (
        facts is None or subscription.department_id not in facts.departments
    ):
        return False
    if subscription.goal_id:
        goals = set(facts.goals) if facts else set()
        if event.event_type == EventType.ALIGNMENT_CHANGED:
            goals.add(event.payload.get("alignment", {}).get("goal_id"))
        elif event.event_type == EventType.MEASUREMENT_ADDED:
            goals.add(event.payload.get("measurement", {}).get("goal_id"))
        if subscription.goal_id not in goals:
            return False
    return True


def fan_out(*, limit: int = FANOUT_BATCH) -> int:
    """Turn undispatched outbox events into deliveries; returns the events handled.

    Serialised by an advisory lock so events are fanned out strictly in id order (another
    worker that finds the lock taken simply skips to delivering).
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FANOUT_LOCK])
            if not cursor.fetchone()[0]:
                return 0
        events = list(OutboxEvent.objects.undispatched().order_by("id")[:limit])
        if not events:
            return 0
        subscriptions = list(WebhookSubscription.objects.all())
        needs_facts = any(s.has_filters for s in subscriptions)
        initiative_ids = {e.initiative_id for e in events if e.initiative_id is not None}
        facts = _initiative_facts(initiative_ids) if needs_facts and initiative_ids else {}
        now = timezone.now()
        deliveries = [
            WebhookDelivery(
                subscription=subscription,
                event=event,
                event_type=event.event_type,
                ordering_key=event.ordering_key,
                next_attempt_at=now,
            )
            for event in events
            for subscription in subscriptions
            if subscription_matches(subscription, event, facts.get(event.initiative_id))
        ]
        WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    return len(events)


# --- claiming ---------------------------------------------------------------------------------

CLAIM_SQL = """
WITH picked AS (
    SELECT c.id, c.locked_by AS previous_worker, c.last_attempt_at AS previous_attempt_at
      FROM registry_webhookdelivery c
      JOIN registry_webhooksubscription s ON s.id = c.subscription_id
     WHERE c.status = 'pending'
       AND c.next_attempt_at <= %(now)s
       AND (c.locked_until IS NULL OR c.locked_until < %(now)s)
       AND s.is_active
       AND NOT EXISTS (
           SELECT 1 FROM registry_webhookdelivery e
            WHERE e.subscription_id = c.subscription_id
              AND e.ordering_key = c.ordering_key
              AND e.status = 'pending'
              AND e.event_id < c.event_id
       )
     ORDER BY c.next_attempt_at, c.event_id
     LIMIT %(limit)s
       FOR UPDATE OF c SKIP LOCKED
)
UPDATE registry_webhookdelivery d
   SET locked_until = %(now)s + make_interval(secs => %(lease)s),
       locked_by = %(worker)s,
       attempts = d.attempts + 1
  FROM picked
 WHERE d.id = picked.id
RETURNING d.id, picked.previous_worker, picked.previous_attempt_at
"""


@dataclass
class Claim:
    delivery: WebhookDelivery
    abandoned_by: str = ""
    abandoned_at: datetime.datetime | None = None


def claim(
    *,
    worker_id: str,
    limit: int,
    lease_seconds: float,
    now: datetime.datetime | None = None,
) -> list[Claim]:
    """Lease up to `limit` due deliveries, heads of their queues only, skipping locked rows.

    Times are the application's clock (`now`), like the `next_attempt_at` it compares with.
    """
    params: dict[str, Any] = {
        "limit": limit,
        "lease": lease_seconds,
        "worker": worker_id,
        "now": now or timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    loaded = WebhookDelivery.objects.select_related("event", "subscription").in_bulk(
        [row[0] for row in rows]
    )
    claims = [Claim(loaded[pk], previous or "", previous_at) for pk, previous, previous_at in rows]
    claims.sort(key=lambda c: (c.delivery.next_attempt_at, c.delivery.event_id))
    return claims


def release(deliveries: Iterable[WebhookDelivery], *, worker_id: str) -> int:
    """Give back leases not yet attempted (on shutdown), so others take them at once."""
    return WebhookDelivery.objects.filter(
        pk__in=[d.pk for d in deliveries], locked_by=worker_id
    ).update(locked_by="", locked_until=None, attempts=F("attempts") - 1)


# --- sending ----------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not success: following it would re-POST elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _checked_connection(
    address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT, source: Any = None
) -> socket.socket:
    """`socket.create_connection`, to an address of the host that was checked just now
    (`registry.services.webhooks.checked_addresses`): DNS may have changed since the
    subscription was checked, and a second lookup by the socket could differ again."""
    host, port = address
    last_error: OSError | None = None
    for ip in checked_addresses(host, port):
        try:
            return socket.create_connection((ip, port), timeout, source)
        except OSError as exc:
            last_error = exc
    raise last_error or OSError(f"cannot connect to {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the host name for SNI and the certificate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        if not getattr(settings, "WEBHOOK_ALLOW_HTTP", False):
            raise WebhookTargetRefusedError(
                gettext("Refused: plain http is not allowed (WEBHOOK_ALLOW_HTTP).")
            )
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


# No proxy from the environment (the address check would see the proxy, not the target),
# no redirects, and only connections to checked addresses.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirect, _CheckedHTTPHandler, _CheckedHTTPSHandler
)


def sanitised_excerpt(raw: bytes) -> str:
    """A receiver's answer as `last_error` keeps it: printable, one line, short."""
    text = raw.decode("utf-8", "replace")
    text = "".join(char if char.isprintable() else " " for char in text)
    text = " ".join(text.split())
    if len(text) > ERROR_EXCERPT_CHARS:
        text = text[: ERROR_EXCERPT_CHARS - 1].rstrip() + "…"
    return text


@dataclass
class Outcome:
    ok: bool
    status_code: int | None
    error: str
    started_at: datetime.datetime
    duration: float


def post(delivery: WebhookDelivery, *, timeout: float) -> Outcome:
    """POST the delivery's body, signed; a 2xx answer within the timeout is success."""
    body = delivery.body()
    subscription = delivery.subscription
    request = urllib.request.Request(  # noqa: S310 (the URL validator allows http(s) only)
        subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: delivery.event_type,
            DELIVERY_HEADER: str(delivery.pk),
            ATTEMPT_HEADER: str(delivery.attempts),
            SIGNATURE_HEADER: sign(body, subscription.secret),
        },
    )
    started_at = timezone.now()
    started = time.perf_counter()
    status: int | None = None
    error = ""
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(RESPONSE_EXCERPT)
    except urllib.error.HTTPError as exc:
        status = exc.code
        excerpt = sanitised_excerpt(exc.read(RESPONSE_EXCERPT))
        error = f"HTTP {exc.code}" + (f": {excerpt}" if excerpt else "")
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, WebhookTargetRefusedError):
            error = str(reason)
        else:
            error = sanitised_excerpt(f"{type(exc).__name__}: {reason}".encode())
    ok = status is not None and 200 <= status < 300
    if not ok and not error:
        error = f"HTTP {status}"
    return Outcome(ok, status, error[:1000], started_at, time.perf_counter() - started)


@transaction.atomic
def record(claimed: Claim, outcome: Outcome, *, worker_id: str) -> WebhookDelivery | None:
    """Write the attempt into the delivery log; None if our lease was lost meanwhile."""
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .filter(pk=claimed.delivery.pk, locked_by=worker_id)
        .first()
    )
    if delivery is None:
        logger.warning(
            "webhook lease lost before the result was recorded",
            extra={"delivery_id": str(claimed.delivery.pk)},
        )
        return None
    now = timezone.now()
    entries = []
    if claimed.abandoned_by:
        entries.append(
            {
                "attempt": delivery.attempts - 1,
                "at": claimed.abandoned_at.isoformat() if claimed.abandoned_at else None,
                "status_code": None,
                "error": f"abandoned: worker {claimed.abandoned_by} stopped mid-delivery",
                "worker": claimed.abandoned_by,
            }
        )
    entries.append(
        {
            "attempt": delivery.attempts,
            "at": outcome.started_at.isoformat(),
            "status_code": outcome.status_code,
            "error": outcome.error,
            "duration_ms": round(outcome.duration * 1000, 1),
            "worker": worker_id,
        }
    )
    delivery.attempt_log = [*delivery.attempt_log, *entries][-ATTEMPT_LOG_LIMIT:]
    delivery.last_attempt_at = outcome.started_at
    delivery.last_status_code = outcome.status_code
    delivery.locked_by = ""
    delivery.locked_until = None
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = outcome.error
    else:
        delivery.next_attempt_at = now + backoff_delay(delivery.attempts)
        delivery.last_error = outcome.error
    delivery.save(
        update_fields=[
            "attempt_log",
            "last_attempt_at",
            "last_status_code",
            "locked_by",
            "locked_until",
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_error",
        ]
    )
    return delivery


@transaction.atomic
def give_up_abandoned(claimed: Claim, *, worker_id: str) -> WebhookDelivery | None:
    """A delivery whose last allowed attempt was abandoned by a dead worker: mark it failed."""
    abandoned = Outcome(
        ok=False,
        status_code=None,
        error=f"abandoned: worker {claimed.abandoned_by} stopped mid-delivery",
        started_at=claimed.abandoned_at or timezone.now(),
        duration=0.0,
    )
    delivery = claimed.delivery
    WebhookDelivery.objects.filter(pk=delivery.pk, locked_by=worker_id).update(
        attempts=F("attempts") - 1
    )
    delivery.attempts -= 1
    return record(Claim(delivery), abandoned, worker_id=worker_id)


# --- housekeeping -----------------------------------------------------------------------------


def beat(*, worker_id: str, started_at: datetime.datetime) -> None:
    """Upsert this worker's heartbeat in one statement."""
    WorkerHeartbeat.objects.bulk_create(
        [
            WorkerHeartbeat(
                worker_id=worker_id,
                hostname=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=started_at,
                beat_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["worker_id"],
        update_fields=["beat_at"],
    )


def prune(*, now: datetime.datetime | None = None, chunk: int = 5000) -> int:
    """Drop finished deliveries and fanned-out events older than WEBHOOK_RETENTION_DAYS, and
    Idempotency-Key records past REGISTRY_IDEMPOTENCY_HOURS (their keys count as new already).
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    removed = 0
    finished = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED], created_at__lt=cutoff
    )
    ids = list(finished.values_list("pk", flat=True)[:chunk])
    if ids:
        removed += WebhookDelivery.objects.filter(pk__in=ids).delete()[0]
    old_events = OutboxEvent.objects.filter(dispatched_at__lt=cutoff).exclude(
        Exists(WebhookDelivery.objects.filter(event=OuterRef("pk")))
    )
    ids = list(old_events.values_list("pk", flat=True)[:chunk])
    if ids:
        removed += OutboxEvent.objects.filter(pk__in=ids).delete()[0]
    ids = list(IdempotencyRecord.objects.expired(now).values_list("pk", flat=True)[:chunk])
    if ids:
        removed += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
    WorkerHeartbeat.objects.filter(beat_at__lt=now - datetime.timedelta(days=1)).delete()
    return removed


# --- the loop ---------------------------------------------------------------------------------


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs the loop until `stop()`; a stop lets the delivery in flight finish first."""

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        poll_seconds: float | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.poll_seconds = settings.WORKER_POLL_SECONDS if poll_seconds is None else poll_seconds
        self.batch_size = batch_size or settings.WORKER_BATCH_SIZE
        self.started_at = timezone.now()
        self._stopping = threading.Event()
        self._last_prune = 0.0
        self._last_compact = 0.0
        # What "now" is when claiming; tests move it forward to let a lease expire.
        self.clock = timezone.now

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, *_args: Any) -> None:
        """Ask the loop to end; safe to call from a signal handler."""
        self._stopping.set()

    def beat(self) -> None:
        beat(worker_id=self.worker_id, started_at=self.started_at)

    def deliver_due(self) -> int:
        """Claim a batch and attempt each; returns the attempts made."""
        claims = claim(
            worker_id=self.worker_id,
            limit=self.batch_size,
            lease_seconds=settings.WEBHOOK_LEASE_SECONDS,
            now=self.clock(),
        )
        attempted = 0
        try:
            while claims and not self.stopping:
                claimed = claims.pop(0)
                self.attempt(claimed)
                attempted += 1
                self.beat()
        finally:
            if claims:
                release([c.delivery for c in claims], worker_id=self.worker_id)
        return attempted

    def attempt(self, claimed: Claim) -> None:
        delivery = claimed.delivery
        if delivery.attempts > settings.WEBHOOK_MAX_ATTEMPTS:
            give_up_abandoned(claimed, worker_id=self.worker_id)
            DELIVERY_ATTEMPTS.labels(outcome="gave_up").inc()
            return
        outcome = post(delivery, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        recorded = record(claimed, outcome, worker_id=self.worker_id)
        if recorded is None:
            label = "lease_lost"
        elif outcome.ok:
            label = "success"
        elif recorded.status == DeliveryStatus.FAILED:
            label = "gave_up"
        else:
            label = "retry"
        DELIVERY_ATTEMPTS.labels(outcome=label).inc()
        DELIVERY_DURATION.labels(outcome=label).observe(outcome.duration)
        logger.log(
            logging.INFO if outcome.ok else logging.WARNING,
            "webhook %s %s → %s",
            delivery.event_type,
            delivery.pk,
            outcome.status_code or outcome.error,
            extra={
                "delivery_id": str(delivery.pk),
                "subscription": delivery.subscription.name,
                "event": delivery.event_type,
                "event_id": delivery.event_id,
                "attempt": delivery.attempts,
                "status_code": outcome.status_code,
                "outcome": label,
                "error": outcome.error,
                "duration_ms": round(outcome.duration * 1000, 1),
                "worker": self.worker_id,
            },
        )

    def run_once(self) -> int:
        """One pass: heartbeat, fan-out, deliveries, occasional pruning. Returns work done."""
        self.beat()
        work = fan_out()
        if not self.stopping:
            work += self.deliver_due()
        if time.monotonic() - self._last_prune > PRUNE_INTERVAL_SECONDS:
            self._last_prune = time.monotonic()
            prune()
        if time.monotonic() - self._last_compact > ROLLUP_COMPACT_SECONDS:
            self._last_compact = time.monotonic()
            rollup.compact()
        return work

    def run_until_idle(self, *, max_passes: int = 1000) -> int:
        """Passes until nothing is left to do right now (tests, one-shot runs)."""
        total = 0
        for _ in range(max_passes):
            work = self.run_once()
            total += work
            if not work:
                break
        return total

    def run(self) -> None:
        """The long-running loop of `manage.py run_worker`."""
        logger.info("worker started", extra={"worker": self.worker_id})
        try:
            while not self.stopping:
                try:
                    work = self.run_once()
                    if not work:
                        # Idle: keep the whole-portfolio overlap scores current, a batch
                        # at a time (registry.services.overlaps).
                        work = overlaps_refresh(limit=OVERLAP_BATCH)
                except DatabaseError:
                    logger.exception(
                        "worker pass failed; retrying", extra={"worker": self.worker_id}
                    )
                    close_old_connections()
                    connection.close()
                    work = 0
                if not work:
                    self._stopping.wait(self.poll_seconds)
        finally:
            try:
                WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            except DatabaseError:
                logger.warning("could not remove the heartbeat", exc_info=True)
            logger.info("worker stopped", extra={"worker": self.worker_id})


def backoff_delay(attempts: int) -> datetime.timedelta:
    """Exponential backoff after the `attempts`-th failed attempt, capped, with ±20 % jitter."""
    base = float(settings.WEBHOOK_BACKOFF_SECONDS)
    cap = float(settings.WEBHOOK_BACKOFF_MAX_SECONDS)
    delay = min(base * (2 ** max(attempts - 1, 0)), cap)
    jitter = 1 + (secrets.randbelow(401) - 200) / 1000
    return datetime.timedelta(seconds=delay * jitter)
