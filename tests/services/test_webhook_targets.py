"""Webhooks cannot reach inside: https by default, only public addresses unless a setting
lists them, checked on subscribing (API, admin, command — all through the service) and again
on every delivery (DNS can change), redirects not followed, and `last_error` short and
sanitised. These tests run with the production default (tests/conftest.py).
"""

from __future__ import annotations

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from registry import permissions
from registry.models.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription
from registry.outbox.worker import Worker, sanitised_excerpt
from registry.services.webhooks import (
    address_class,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_update,
)
from tests import factories
from tests.api.support import API, make_portfolio

pytestmark = pytest.mark.django_db

# Every refused address class, as attackers write it.
REFUSED = {
    "metadata (link-local)": "https://169.254.169.254/latest/meta-data/",
    "loopback v4": "https://127.0.0.1:8000/",
    "loopback v6": "https://[::1]:8000/",
    "localhost": "https://localhost:8000/",
    "loopback, another": "https://127.1.2.3/",
    "private 10/8": "https://10.0.0.5/",
    "private 172.16/12": "https://172.16.3.4/",
    "private 192.168/16": "https://192.168.1.1/",
    "unique local v6": "https://[fd00::1]/",
    "link-local v6": "https://[fe80::1]/",
    "multicast v4": "https://224.0.0.251/",
    "multicast v6": "https://[ff02::1]/",
    "unspecified v4": "https://0.0.0.0/",
    "unspecified v6": "https://[::]/",
    "shared (CGNAT)": "https://100.64.0.1/",
    "reserved": "https://240.0.0.1/",
    "broadcast": "https://255.255.255.255/",
    "documentation": "https://192.0.2.10/",
    "v4-mapped loopback": "https://[::ffff:127.0.0.1]/",
    "NAT64 metadata": "https://[64:ff9b::a9fe:a9fe]/",
    "6to4 private": "https://[2002:0a00:0001::1]/",
}
FROM_THE_ISSUE = ["http://169.254.169.254/", "http://[::1]:8000/", "http://localhost:8000/"]


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def create(url: str, name: str = "hook") -> WebhookSubscription:
    return webhook_subscription_create(name=name, url=url, events=["initiative.created"])


# --- on subscribing -------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED.values(), ids=list(REFUSED))
def test_the_service_refuses_every_non_public_address(db, url):
    with pytest.raises(ValidationError) as refused:
        create(url)
    assert "url" in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", FROM_THE_ISSUE)
@pytest.mark.parametrize("allow_http", [False, True])
def test_the_issues_targets_are_refused_with_or_without_http(settings, db, url, allow_http):
    settings.WEBHOOK_ALLOW_HTTP = allow_http
    with pytest.raises(ValidationError):
        create(url)
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", [*REFUSED.values(), *FROM_THE_ISSUE])
def test_the_api_refuses_them_with_a_400_naming_the_url(portfolio, url):
    response = portfolio.client("pmo").post(
        f"{API}webhooks/", {"name": "hook", "url": url, "events": ["initiative.created"]}
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["errors"][0]["attr"] == "url"
    assert not WebhookSubscription.objects.exists()


def test_changing_the_url_is_checked_too(portfolio):
    subscription = create("https://93.184.216.34/hooks")
    response = portfolio.client("pmo").patch(
        f"{API}webhooks/{subscription.pk}/", {"url": "https://169.254.169.254/"}
    )
    assert response.status_code == 400
    with pytest.raises(ValidationError):
        webhook_subscription_update(subscription=subscription, url="https://[::1]/")
    subscription.refresh_from_db()
    assert subscription.url == "https://93.184.216.34/hooks"


def test_the_admin_form_shows_the_refusal(db):
    user = factories.UserFactory(username="hooks-pmo", groups=[permissions.PMO], is_staff=True)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/admin/registry/webhooksubscription/add/",
        {
            "name": "hook",
            "url": "https://169.254.169.254/",
            "events": ["initiative.created"],
            "is_active": "on",
            "secret": "s" * 24,
        },
    )
    assert response.status_code == 200
    assert "169.254.169.254" in response.content.decode()  # the message names the target
    assert not WebhookSubscription.objects.exists()


def test_the_command_refuses_them(db):
    with pytest.raises(CommandError):
        call_command("create_webhook", "hook", "https://localhost:8000/", stdout=io.StringIO())
    assert not WebhookSubscription.objects.exists()


def test_https_to_a_public_address_or_a_name_not_yet_resolvable_is_accepted(db):
    assert create("https://93.184.216.34/hooks", name="public").pk
    # Does not resolve here; the worker checks it again before every delivery.
    assert create("https://hooks.example.com/registry", name="later").pk


def test_plain_http_needs_the_setting(settings, db):
    with pytest.raises(ValidationError) as refused:
        create("http://93.184.216.34/hooks")
    assert "https" in str(refused.value)
    settings.WEBHOOK_ALLOW_HTTP = True
    assert create("http://93.184.216.34/hooks").pk


def test_a_listed_network_is_allowed(settings, db):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16", "::1"]
    assert create("https://10.20.3.4/hooks", name="internal").pk
    assert create("https://[::1]:8443/hooks", name="local").pk
    with pytest.raises(ValidationError):
        create("https://10.21.0.1/hooks", name="other")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("10.1.1.1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classes(address, kind):
    import ipaddress

    assert address_class(ipaddress.ip_address(address)) == kind


# --- on delivering --------------------------------------------------------------------------


class Receiver:
    """An HTTP server on loopback that answers every POST with `status` and `body`."""

    def __init__(self, status: int = 204, body: bytes = b"", headers: dict | None = None):
        self.requests: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                receiver.requests.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def rebinding(monkeypatch):
    """`hooks.example.com` resolves to loopback from now on (a DNS rebinding)."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def deliver_ping(subscription: WebhookSubscription) -> WebhookDelivery:
    webhook_ping(subscription=subscription)
    Worker(poll_seconds=0).run_once()
    return WebhookDelivery.objects.get(subscription=subscription)


def test_the_worker_checks_the_address_again_when_it_delivers(settings, receiver, rebinding):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    # Accepted on subscribing (the name did not resolve then) …
    with socket_resolving_nothing():
        subscription = create(f"http://hooks.example.com:{receiver.port}/hook")
    # … then the name points at loopback: the worker refuses to connect.
    delivery = deliver_ping(subscription)
    assert receiver.requests == []
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("Refused:")
    assert "loopback" in delivery.last_error
    # Listed explicitly, the same target is delivered to (the check, not the network, refused).
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    subscription.deliveries.all().delete()
    delivered = deliver_ping(subscription)
    assert delivered.status == DeliveryStatus.SUCCEEDED, delivered.last_error
    assert len(receiver.requests) == 1


class socket_resolving_nothing:  # noqa: N801
    def __enter__(self):
        self.real = socket.getaddrinfo

        def nothing(*args, **kwargs):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

        socket.getaddrinfo = nothing

    def __exit__(self, *exc):
        socket.getaddrinfo = self.real


def test_the_worker_refuses_plain_http_once_the_setting_is_off(settings, receiver):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscription = create(f"http://127.0.0.1:{receiver.port}/hook")
    settings.WEBHOOK_ALLOW_HTTP = False
    delivery = deliver_ping(subscription)
    assert receiver.requests == []
    assert delivery.last_error.startswith("Refused:")


def test_a_redirect_is_not_followed(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    inside = Receiver()
    redirecting = Receiver(302, headers={"Location": f"http://127.0.0.1:{inside.port}/x"})
    try:
        delivery = deliver_ping(create(f"http://127.0.0.1:{redirecting.port}/hook"))
    finally:
        redirecting.close()
        inside.close()
    assert delivery.last_status_code == 302
    assert delivery.status == DeliveryStatus.FAILED
    assert len(redirecting.requests) == 1
    assert inside.requests == []


def test_last_error_keeps_the_status_and_a_short_sanitised_excerpt(settings, portfolio):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    page = b"<html>\n\x1b[31mInternal\tadmin\x00 page</html>" + b" secret-token-0123456789" * 20
    target = Receiver(500, body=page)
    try:
        delivery = deliver_ping(create(f"http://127.0.0.1:{target.port}/hook"))
    finally:
        target.close()
    assert delivery.last_status_code == 500
    assert delivery.last_error.startswith("HTTP 500: <html>")
    assert len(delivery.last_error) <= len("HTTP 500: ") + 80
    assert all(char.isprintable() for char in delivery.last_error)
    assert delivery.last_error.count("secret-token") <= 3
    listed = portfolio.client("pmo").get(f"{API}webhooks/{delivery.subscription_id}/deliveries/")
    assert listed.status_code == 200
    assert listed.json()["results"][0]["last_error"] == delivery.last_error


def test_sanitised_excerpt():
    assert sanitised_excerpt(b"a\r\n\tb\x00c") == "a b c"
    assert len(sanitised_excerpt(b"x" * 500)) == 80
    assert sanitised_excerpt(b"\xff\xfe ok") == "\ufffd\ufffd ok"
