"""Outbound webhooks: subscriptions, the transactional outbox and the delivery log.

Changes reach the outbox through database triggers (`registry.outbox.triggers`), in the transaction
that makes them: a rolled-back change leaves no event, a committed one always does, bulk
sync included. The worker (`registry.outbox.worker`) fans each event out to the subscriptions that
want it — one WebhookDelivery per (subscription, event), whose id is the stable delivery id
receivers de-duplicate on — and posts it, signed, with retries and backoff.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.models import Department, Goal
from registry.models.webhooks import (
    PING_EVENT,
    DeliveryStatus,
    EventType,
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    new_webhook_secret,
)
from registry.permissions import Actor
from registry.services.errors import require_pmo

ALL_EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)


# --- services ---------------------------------------------------------------------------------

WEBHOOKS_ARE_THE_PMOS = _("Webhook subscriptions are the PMO's.")


@transaction.atomic
def webhook_subscription_create(
    *,
    name: str,
    url: str,
    events: Iterable[str],
    secret: str = "",
    source: str = "",
    department: Department | None = None,
    goal: Goal | None = None,
    is_active: bool = True,
    actor: Any = None,
) -> WebhookSubscription:
    """Create a subscription; without a secret one is generated (read it from `.secret`)."""
    require_pmo(actor, WEBHOOKS_ARE_THE_PMOS)
    subscription = WebhookSubscription(
        name=name,
        url=url,
        events=sorted(set(events)),
        secret=secret or new_webhook_secret(),
        source=source,
        department=department,
        goal=goal,
        is_active=is_active,
        created_by=Actor.of(actor).login,
    )
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def webhook_subscription_update(
    *, subscription: WebhookSubscription, actor: Any = None, **values: Any
) -> WebhookSubscription:
    """Change a subscription's URL, events, filters, secret or active flag."""
    require_pmo(actor, WEBHOOKS_ARE_THE_PMOS)
    allowed = {"name", "url", "events", "secret", "source", "department", "goal", "is_active"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    if "events" in values:
        values["events"] = sorted(set(values["events"]))
    for name, value in values.items():
        setattr(subscription, name, value)
    subscription.full_clean()
    subscription.save()
    return subscription


@transaction.atomic
def webhook_subscription_rotate_secret(
    *, subscription: WebhookSubscription, actor: Any = None
) -> str:
    """A new signing secret, effective for every attempt from now on (pending ones too)."""
    require_pmo(actor, WEBHOOKS_ARE_THE_PMOS)
    subscription.secret = new_webhook_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription.secret


@transaction.atomic
def webhook_ping(*, subscription: WebhookSubscription, actor: Any = None) -> OutboxEvent:
    """Queue a `ping` for one subscription, to check its receiver and signature."""
    require_pmo(actor, WEBHOOKS_ARE_THE_PMOS)
    return OutboxEvent.objects.create(
        event_type=PING_EVENT,
        occurred_at=timezone.now(),
        ordering_key=f"subscription:{subscription.pk}",
        subscription=subscription,
        payload={"subscription": {"id": subscription.pk, "name": subscription.name}},
    )


@transaction.atomic
def webhook_delivery_redeliver(*, deliveries: Iterable[WebhookDelivery], actor: Any = None) -> int:
    """Send deliveries again, now, under the same delivery id (attempts start over).

    A redelivered event goes ahead of later events of the same initiative for its
    subscription, as the original did.
    """
    require_pmo(actor, WEBHOOKS_ARE_THE_PMOS)
    ids = [delivery.pk for delivery in deliveries]
    return WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        locked_until=None,
        locked_by="",
        delivered_at=None,
    )
