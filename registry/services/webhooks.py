"""Outbound webhooks: subscriptions, the transactional outbox and the delivery log.

Changes reach the outbox through database triggers (`registry.outbox.triggers`), in the transaction
that makes them: a rolled-back change leaves no event, a committed one always does, bulk
sync included. The worker (`registry.outbox.worker`) fans each event out to the subscriptions that
want it — one WebhookDelivery per (subscription, event), whose id is the stable delivery id
receivers de-duplicate on — and posts it, signed, with retries and backoff.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
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


# --- where a webhook may go -------------------------------------------------------------------
#
# A subscription makes the registry's worker POST to a URL of the subscriber's choosing: without
# a check, to the cloud's metadata service (169.254.169.254), to the registry itself on
# loopback, or to anything on the internal network, with the answer kept in the delivery log.
# The target must be https (http only with WEBHOOK_ALLOW_HTTP) and every address its host
# resolves to must be public, unless WEBHOOK_ALLOWED_NETWORKS lists it. The check runs when a
# subscription is created or changed, and again when the worker connects (DNS can change
# between the two): the worker connects only to an address it has just checked.

Resolver = Callable[..., list]

# Prefixes that carry an IPv4 address inside an IPv6 one (NAT64 well-known prefix).
NAT64 = ipaddress.ip_network("64:ff9b::/96")


# The refused address classes, as messages name them.
ADDRESS_CLASSES = {
    "unspecified": _("unspecified"),
    "loopback": _("loopback"),
    "link-local": _("link-local"),
    "multicast": _("multicast"),
    "private": _("private"),
    "reserved": _("reserved"),
    "not public": _("non-public"),
}


class WebhookTargetRefusedError(OSError):
    """The target's address is not one the registry sends webhooks to."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(str(network).strip(), strict=False)
        for network in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", [])
        if str(network).strip()
    ]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_class(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why webhooks may not go to this address (loopback, link-local, private, multicast,
    unspecified, reserved, not public); None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return address_class(inner)
    for name, refused in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not public", not address.is_global),
    ):
        if refused:
            return name
    return None


def address_refusal(address: str) -> str | None:
    """The class of a refused address (see `address_class`), None if webhooks may go there:
    a public address, or one WEBHOOK_ALLOWED_NETWORKS lists."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scope id (fe80::1%eth0) aside
    if any(ip in network for network in allowed_networks() if ip.version == network.version):
        return None
    return address_class(ip)


def resolve_target(host: str, port: int, *, resolve: Resolver | None = None) -> list[str]:
    """Every address `host` resolves to, in the resolver's order; OSError if none."""
    infos = (resolve or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    return addresses


def checked_addresses(host: str, port: int, *, resolve: Resolver | None = None) -> list[str]:
    """The addresses of `host` a delivery may connect to; WebhookTargetRefusedError when none.

    A name that resolves to public and non-public addresses alike keeps only the public ones.
    """
    addresses = resolve_target(host, port, resolve=resolve)
    allowed = [address for address in addresses if address_refusal(address) is None]
    if not allowed:
        refused = address_refusal(addresses[0])
        raise WebhookTargetRefusedError(
            gettext("Refused: %(host)s resolves to a %(kind)s address, not a public one.")
            % {"host": host, "kind": ADDRESS_CLASSES.get(refused or "", refused)}
        )
    return allowed


def webhook_target_refusal(url: str, *, resolve: Resolver | None = None) -> str | None:
    """Why a subscription may not send to `url` (a message for the person), or None.

    https only, unless WEBHOOK_ALLOW_HTTP; every address the host resolves to must be public
    or in WEBHOOK_ALLOWED_NETWORKS. A name that does not resolve now is accepted: the worker
    checks the address again before every delivery.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return gettext("Enter a valid URL.")
    scheme = parts.scheme.lower()
    if scheme == "http" and not getattr(settings, "WEBHOOK_ALLOW_HTTP", False):
        return gettext(
            "Webhook URLs must use https (plain http only where WEBHOOK_ALLOW_HTTP allows it)."
        )
    if scheme not in ("http", "https") or not parts.hostname:
        return gettext("Enter a valid URL.")
    try:
        addresses = resolve_target(parts.hostname, port, resolve=resolve)
    except (OSError, UnicodeError):
        return None
    for address in addresses:
        refused = address_refusal(address)
        if refused is not None:
            return gettext(
                "Webhooks may not go to %(host)s: it resolves to a %(kind)s address "
                "(%(address)s). Only public addresses, or those WEBHOOK_ALLOWED_NETWORKS lists."
            ) % {
                "host": parts.hostname,
                "kind": ADDRESS_CLASSES.get(refused, refused),
                "address": address,
            }
    return None


def check_webhook_target(url: str) -> None:
    """Raise ValidationError on `url` when a subscription may not send to it."""
    refusal = webhook_target_refusal(url)
    if refusal is not None:
        raise ValidationError({"url": [ValidationError(refusal, code="webhook_target_refused")]})


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
    check_webhook_target(subscription.url)
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
    if "url" in values:
        check_webhook_target(subscription.url)
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
