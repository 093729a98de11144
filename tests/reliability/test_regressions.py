"""Regression tests for the server errors the fuzzer (schemathesis) found, and for the answer
when the database is unreachable: 503 with Retry-After in the one JSON error shape.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from registry.api.core.authentication import ApiTokenAuthentication
from registry.models import Note, ReviewDecision
from tests.api.support import API, make_portfolio


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["type"] in {"validation_error", "client_error", "server_error"}
    assert body["errors"]
    assert {"code", "detail", "attr"} <= set(body["errors"][0])
    return body


@pytest.mark.parametrize("value", ["null,null", "{}", "<", "ÆÕ¦", "12abc"])
def test_id_keyed_reference_given_a_string_is_400(portfolio, value):
    """Visions and reviews are referenced by integer id; a string was a 500 (ValueError)."""
    client = portfolio.client("pmo")
    response = client.post(f"{API}notes/", {"review": value, "text": "x"}, format="json")
    body = assert_error_shape(response, 400)
    assert body["errors"][0]["attr"] == "review"
    response = client.post(
        f"{API}review-decisions/",
        {"review": value, "initiative": portfolio.key("chat"), "decision": "continue"},
        format="json",
    )
    assert_error_shape(response, 400)
    assert not Note.objects.filter(text="x").exists()
    assert ReviewDecision.objects.count() == 2


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("pk", ["null,null", "abc", "1.5"])
def test_write_to_a_non_numeric_id_is_404(portfolio, method, pk):
    """The row lock before a write looked the id up unguarded: a 500 (ValueError)."""
    response = getattr(portfolio.client("pmo"), method)(
        f"{API}alignments/{pk}/", {"strength": 2}, format="json"
    )
    assert_error_shape(response, 404)


@pytest.mark.parametrize("url", ["departments/service/", "initiatives/{chat}/", "goals/G-NPS/"])
def test_options_on_a_detail_route_is_answered(portfolio, url):
    """DRF's OPTIONS metadata probes a cloned PUT outside a transaction; the row lock was a
    500 (TransactionManagementError).
    """
    response = portfolio.client("pmo").options(API + url.format(chat=portfolio.key("chat")))
    assert response.status_code == 200
    assert "actions" in response.json()


@pytest.mark.parametrize("value", [20260101, ["2026-01-01"], {"y": 2026}, True])
def test_sync_with_a_non_string_date_is_400(portfolio, value):
    """A number for a date reached `date.fromisoformat` and was a 500 (TypeError)."""
    response = portfolio.client("integration").put(
        f"{API}initiatives/sync/jira/J-99/",
        {"name": "Bot", "kind": "chatbot", "start_date": value},
        format="json",
    )
    body = assert_error_shape(response, 400)
    assert body["errors"][0]["attr"] == "start_date"


# --- the database is unreachable --------------------------------------------------------------

REFUSED = OperationalError("connection failed: Connection refused")


def test_api_answers_503_with_retry_after_when_the_database_is_gone(portfolio):
    client = portfolio.client("integration")
    client.raise_request_exception = False  # a 5xx is reported as a request exception
    with mock.patch.object(ApiTokenAuthentication, "authenticate_credentials", side_effect=REFUSED):
        response = client.get(f"{API}initiatives/")
    body = assert_error_shape(response, 503)
    assert body["errors"][0]["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0


def test_sql_errors_are_not_mistaken_for_an_outage(portfolio):
    """A deadlock is an OperationalError with a SQLSTATE: not a 503 (it is a real fault)."""
    from registry.middleware.resilience import is_database_unavailable

    class DeadlockError(Exception):
        sqlstate = "40P01"

    deadlock = OperationalError("deadlock detected")
    deadlock.__cause__ = DeadlockError()
    assert not is_database_unavailable(deadlock)
    assert is_database_unavailable(REFUSED)


@override_settings(DEBUG=False)
def test_outside_the_api_an_outage_is_503_json_too(portfolio):
    """The admin (or a session lookup in a middleware) goes through handler500."""
    client = Client(raise_request_exception=False)
    with mock.patch(
        "django.contrib.auth.views.LoginView.dispatch", side_effect=REFUSED, autospec=True
    ):
        response = client.get("/admin/login/")
    body = assert_error_shape(response, 503)
    assert body["errors"][0]["code"] == "database_unavailable"
    assert response["Retry-After"]


@override_settings(DEBUG=False)
def test_an_unexpected_error_shows_no_traceback(portfolio):
    client = portfolio.client("pmo")
    client.raise_request_exception = False
    with mock.patch(
        "registry.api.strategy.VisionViewSet.list", side_effect=RuntimeError("secret detail")
    ):
        response = client.get(f"{API}visions/")
    body = assert_error_shape(response, 500)
    text = response.content.decode()
    assert "Traceback" not in text
    assert "secret detail" not in text
    assert body["errors"][0]["detail"] == "Server Error (500)"
    admin = Client(raise_request_exception=False)
    with mock.patch(
        "django.contrib.auth.views.LoginView.dispatch",
        side_effect=RuntimeError("secret detail"),
        autospec=True,
    ):
        page = admin.get("/admin/login/")
    assert page.status_code == 500
    assert "Traceback" not in page.content.decode()
    assert "secret detail" not in page.content.decode()


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["alignments/3.1e-263/", "initiatives/AI-1/nothing/", "nope/"])
def test_an_api_url_matching_no_route_is_a_json_404(portfolio, path):
    """A URL the router does not match was Django's HTML 404 page (schemathesis ST105)."""
    response = portfolio.client("pmo").get(API + path)
    body = assert_error_shape(response, 404)
    assert body["errors"][0]["code"] == "not_found"
    assert Client().get("/no-such-page/")["Content-Type"].startswith("text/html")
