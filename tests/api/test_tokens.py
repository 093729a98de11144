"""API tokens: authentication, expiry and revocation, last-used time, the name in history,
the `create_token` command, the admin page that shows a secret once, and throttling.
"""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from pghistory.models import Events

from registry.models import StageChange
from registry.services.tokens import ApiToken
from tests import factories
from tests.api.support import API, api_client, error_codes, make_portfolio

URL = f"{API}initiatives/"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


@pytest.fixture
def token(portfolio):
    return portfolio.tokens["jira"]


def test_token_authenticates_and_is_stored_hashed(portfolio, token):
    record, secret = token
    assert secret.startswith("rgy_")
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not ApiToken.objects.filter(key_hash=secret).exists()
    assert api_client(token=secret).get(URL).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Token rgy_wrong", "Token", "Token two parts", "Bearer rgy_whatever", ""],
)
def test_bad_credentials_are_401(portfolio, header):
    client = api_client()
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token realm="api"'
    assert error_codes(response)[0] in {"authentication_failed", "not_authenticated"}


def test_expired_revoked_or_inactive_token_is_401(portfolio, token):
    record, secret = token
    client = api_client(token=secret)
    past = timezone.now() - datetime.timedelta(seconds=1)
    ApiToken.objects.filter(pk=record.pk).update(expires_at=past)
    assert client.get(URL).status_code == 401
    ApiToken.objects.filter(pk=record.pk).update(
        expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    assert client.get(URL).status_code == 200
    ApiToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
    response = client.get(URL)
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["detail"]
    ApiToken.objects.filter(pk=record.pk).update(revoked_at=None)
    record.user.is_active = False
    record.user.save()
    assert client.get(URL).status_code == 401


def test_last_used_at_is_updated_at_most_once_a_minute(portfolio, token):
    record, secret = token
    assert record.last_used_at is None
    client = api_client(token=secret)
    client.get(URL)
    first = ApiToken.objects.get(pk=record.pk).last_used_at
    assert first is not None
    recent = timezone.now() - datetime.timedelta(seconds=30)
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=recent)
    client.get(URL)
    assert ApiToken.objects.get(pk=record.pk).last_used_at == recent
    stale = timezone.now() - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=stale)
    client.get(URL)
    assert ApiToken.objects.get(pk=record.pk).last_used_at > recent


def test_history_names_the_token(portfolio, token):
    client = api_client(token=token[1])
    nbo = portfolio.initiatives["nbo"]
    assert client.patch(f"{URL}{nbo.key}/", {"summary": "By the sync."}).status_code == 200
    response = client.post(f"{URL}{nbo.key}/transition/", {"to": "paused", "note": "Freeze."})
    assert response.status_code == 200
    events = Events.objects.tracks(nbo).filter(pgh_label="update").order_by("pgh_created_at")
    contexts = [event.pgh_context for event in events]
    assert contexts
    assert all(context["actor"] == "jira-sync" for context in contexts)
    assert all(context["channel"] == "api" for context in contexts)
    change = StageChange.objects.filter(initiative=nbo).latest("id")
    assert change.actor_name == "jira-sync"
    assert change.by == portfolio.users["integration"]
    feed = client.get(f"{API}changes/", {"actor": "jira-sync"}).json()["results"]
    assert feed
    assert {row["actor"] for row in feed} == {"jira-sync"}


def test_create_token_command_prints_the_secret_once(portfolio):
    user = portfolio.users["integration"]
    out = io.StringIO()
    call_command(
        "create_token", "servicenow-sync", user=user.username, source="servicenow", stdout=out
    )
    secret = out.getvalue().strip()
    record = ApiToken.objects.get(name="servicenow-sync")
    assert (record.source, record.user, record.expires_at) == ("servicenow", user, None)
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert api_client(token=secret).get(URL).status_code == 200
    call_command("create_token", "short-lived", user=user.username, expires_days=7, stdout=out)
    expires = ApiToken.objects.get(name="short-lived").expires_at
    assert datetime.timedelta(days=6) < expires - timezone.now() <= datetime.timedelta(days=7)
    with pytest.raises(CommandError, match="No user"):
        call_command("create_token", "x", user="nobody-here", stdout=out)
    with pytest.raises(CommandError):
        call_command("create_token", "servicenow-sync", user=user.username, stdout=out)
    with pytest.raises(CommandError):
        call_command("create_token", "y", user=user.username, expires_days=0, stdout=out)


def test_admin_shows_the_secret_once_and_revokes(portfolio):
    admin = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/registry/apitoken/add/").status_code == 200
    response = client.post(
        "/admin/registry/apitoken/add/",
        {
            "name": "bi-export",
            "user": portfolio.users["viewer"].pk,
            "source": "",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    record = ApiToken.objects.get(name="bi-export")
    secret = html.split('id="api-token-secret"')[1].split(">", 1)[1].split("</pre>")[0].strip()
    assert record.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert api_client(token=secret).get(URL).status_code == 200
    assert client.get(f"/admin/registry/apitoken/{record.pk}/change/").status_code == 200
    changelist = client.get("/admin/registry/apitoken/").content.decode()
    assert "bi-export" in changelist
    assert secret not in changelist
    client.post(
        "/admin/registry/apitoken/",
        {"action": "revoke", "_selected_action": [record.pk]},
    )
    assert ApiToken.objects.get(pk=record.pk).revoked_at is not None
    assert api_client(token=secret).get(URL).status_code == 401


def test_throttling_is_per_token_with_retry_after(portfolio, token, settings):
    settings.REGISTRY_THROTTLE_USER = "3/min"
    cache.clear()
    client = api_client(token=token[1])
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    throttled = client.get(URL)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert error_codes(throttled) == ["throttled"]
    # another client has its own bucket
    assert portfolio.client("viewer").get(URL).status_code == 200
    settings.REGISTRY_THROTTLE_USER = ""
    assert client.get(URL).status_code == 200
