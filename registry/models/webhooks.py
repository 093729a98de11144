"""Outbound webhooks: subscriptions, the transactional outbox and the delivery log."""

from __future__ import annotations

import json
import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from registry.models.organisation import Department
from registry.models.strategy import Goal

webhook_url_validator = URLValidator(schemes=["http", "https"])


class EventType(models.TextChoices):
    """What a subscription can ask for; the value is the `X-Registry-Event` header."""

    INITIATIVE_CREATED = "initiative.created", _("Initiative created")
    INITIATIVE_UPDATED = "initiative.updated", _("Initiative updated")
    INITIATIVE_ARCHIVED = "initiative.archived", _("Initiative archived")
    INITIATIVE_STAGE_CHANGED = "initiative.stage_changed", _("Initiative stage changed")
    ALIGNMENT_CHANGED = "alignment.changed", _("Alignment changed")
    REVIEW_CLOSED = "review.closed", _("Review closed")
    MEASUREMENT_ADDED = "measurement.added", _("Measurement added")


# Sent to one subscription on request (API `ping`, `create_webhook --ping`); never subscribed.
PING_EVENT = "ping"


MIN_SECRET_LENGTH = 16


# Attempts kept in a delivery's log; older ones are dropped (the counters stay exact).
ATTEMPT_LOG_LIMIT = 20


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """A receiver URL, its signing secret, the events it wants and optional filters."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(
        _("URL"),
        max_length=500,
        validators=[webhook_url_validator],
        help_text=_("Where events are POSTed as JSON (http or https)."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        default=new_webhook_secret,
        help_text=_("Signs every body (HMAC-SHA256) so the receiver can verify its origin."),
    )
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        verbose_name=_("events"),
        help_text=_("The events this subscription receives."),
    )
    source = models.CharField(
        _("source filter"),
        max_length=60,
        blank=True,
        help_text=_("Only initiatives synced from this source (e.g. jira)."),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department filter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text=_("Only initiatives this department leads or takes part in."),
    )
    goal = models.ForeignKey(
        Goal,
        verbose_name=_("goal filter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text=_("Only initiatives aligned to this goal, and this goal's measurements."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("An inactive subscription gets no new events and its queue waits."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=~Q(events=[]),
                name="registry_webhooksubscription_has_events",
                violation_error_message=_("A subscription needs at least one event."),
            ),
            models.CheckConstraint(
                condition=Q(secret__regex=rf"^.{{{MIN_SECRET_LENGTH},}}$"),
                name="registry_webhooksubscription_secret_length",
                violation_error_message=_("The signing secret needs at least 16 characters."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_filters(self) -> bool:
        return bool(self.source or self.department_id or self.goal_id)


class OutboxEventQuerySet(models.QuerySet):
    def undispatched(self) -> OutboxEventQuerySet:
        return self.filter(dispatched_at__isnull=True)


class OutboxEvent(models.Model):
    """One change, written by a trigger in the changing transaction; the worker fans it out."""

    event_type = models.CharField(_("event"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"), db_default=Now())
    # Events of one key are delivered to a subscription in id order: `initiative:<id>`,
    # `goal:<id>`, `review:<id>`, `subscription:<id>` (pings).
    ordering_key = models.CharField(_("ordering key"), max_length=80)
    # A plain id, not a foreign key: the event outlives (and never locks) the row.
    initiative_id = models.BigIntegerField(_("initiative id"), null=True, blank=True)
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("only for subscription"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Set for a ping: the one subscription it is for."),
    )
    payload = models.JSONField(_("payload"), default=dict)
    dispatched_at = models.DateTimeField(_("fanned out at"), null=True, blank=True)

    objects = OutboxEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(dispatched_at__isnull=True),
                name="registry_outbox_pending_idx",
            ),
            models.Index(fields=["occurred_at"], name="registry_outbox_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDeliveryQuerySet(models.QuerySet):
    def pending(self) -> WebhookDeliveryQuerySet:
        return self.filter(status=DeliveryStatus.PENDING)


class WebhookDelivery(models.Model):
    """One event for one subscription: the delivery log row, with every attempt.

    The id is the `X-Registry-Delivery` header; it stays the same across retries and
    redeliveries so receivers can de-duplicate.
    """

    id = models.UUIDField(_("delivery id"), primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        OutboxEvent,
        verbose_name=_("event"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_type = models.CharField(_("event"), max_length=40)
    ordering_key = models.CharField(_("ordering key"), max_length=80)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    locked_by = models.CharField(_("leased by"), max_length=120, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    attempt_log = models.JSONField(_("attempts log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-event_id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"],
                name="registry_webhookdelivery_once_per_event",
                violation_error_message=_("This event is already queued for this subscription."),
            ),
        ]
        indexes = [
            # What the worker claims next.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="registry_delivery_due_idx",
            ),
            # "Is an earlier event of this key still pending for this subscription?"
            models.Index(
                fields=["subscription", "ordering_key", "event"],
                condition=Q(status="pending"),
                name="registry_delivery_order_idx",
            ),
            models.Index(fields=["status", "created_at"], name="registry_delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.get_status_display()})"

    def body(self) -> bytes:
        """The exact bytes POSTed (and signed); the same on every attempt."""
        event = self.event
        document = {
            "id": str(self.id),
            "event": event.event_type,
            "event_id": event.pk,
            "occurred_at": event.occurred_at.isoformat(),
            "data": event.payload,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class WorkerHeartbeat(models.Model):
    """A worker's sign of life, written every loop; `/readyz` reads the freshest."""

    worker_id = models.CharField(_("worker"), max_length=120, primary_key=True)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    beat_at = models.DateTimeField(_("last beat at"))

    class Meta:
        ordering = ["-beat_at"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.worker_id
