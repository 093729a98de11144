"""Idempotency-Key on POST: a replay answers the first response and writes nothing; the same
key with another body is a 422 in the standard error shape.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from pghistory.models import Events

from registry.api.core.idempotency import IdempotencyRecord
from registry.models import Initiative, StageChange
from tests.api.support import API, error_attrs, make_portfolio

HEADER = "HTTP_IDEMPOTENCY_KEY"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


@pytest.fixture
def pmo(portfolio):
    return portfolio.client("pmo")


def new_initiative(**fields):
    return {
        "name": "Voice of the customer",
        "kind": "sentiment_analytics",
        "summary": "Reads reviews.",
        "owner": "mark@example.com",
        "lead_department": "marketing",
        **fields,
    }


def test_create_replay_answers_the_first_response_and_writes_nothing(pmo):
    first = pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-1"})
    assert first.status_code == 201, first.content
    events = Events.objects.count()
    replay = pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["ETag"] == first["ETag"]
    assert Initiative.objects.filter(name="Voice of the customer").count() == 1
    assert Events.objects.count() == events
    assert "Idempotent-Replayed" not in first


def test_same_key_with_another_body_is_a_422(pmo):
    pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-2"})
    other = pmo.post(
        f"{API}initiatives/", new_initiative(name="Other"), format="json", **{HEADER: "k-2"}
    )
    assert other.status_code == 422
    assert other.json()["type"] == "client_error"
    assert other.json()["errors"] == [
        {
            "code": "idempotency_key_reused",
            "detail": "This Idempotency-Key was already used with a different request body.",
            "attr": None,
        }
    ]
    assert not Initiative.objects.filter(name="Other").exists()


def test_transition_replay_moves_once(pmo, portfolio):
    key = portfolio.key("triage")
    url = f"{API}initiatives/{key}/transition/"
    first = pmo.post(url, {"to": "proposed"}, format="json", **{HEADER: "move-1"})
    assert first.status_code == 200, first.content
    replay = pmo.post(url, {"to": "proposed"}, format="json", **{HEADER: "move-1"})
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert StageChange.objects.filter(initiative__key=key, to_stage="proposed").count() == 1
    assert Initiative.objects.get(key=key).version == first.json()["version"]
    mismatch = pmo.post(url, {"to": "paused", "note": "x"}, format="json", **{HEADER: "move-1"})
    assert mismatch.status_code == 422


def test_sync_batch_replay_writes_nothing(portfolio):
    jira = portfolio.client("integration")
    batch = {
        "source": "jira",
        "items": [{"external_id": "I-1", "name": "Bot", "kind": "chatbot"}],
    }
    first = jira.post(f"{API}initiatives/sync/", batch, format="json", **{HEADER: "b-1"})
    assert first.json()["items"][0]["result"] == "created"
    Initiative.objects.filter(external_id="I-1").update(name="Renamed in the registry")
    events = Events.objects.count()
    replay = jira.post(f"{API}initiatives/sync/", batch, format="json", **{HEADER: "b-1"})
    assert replay.json() == first.json()  # "created" again, and the rename stays
    assert Initiative.objects.get(external_id="I-1").name == "Renamed in the registry"
    assert Events.objects.count() == events
    other = {**batch, "atomic": False}
    assert (
        jira.post(f"{API}initiatives/sync/", other, format="json", **{HEADER: "b-1"}).status_code
        == 422
    )


def test_keys_belong_to_their_caller(portfolio):
    pmo, jira = portfolio.client("pmo"), portfolio.client("integration")
    body = new_initiative(source="jira")
    assert (
        pmo.post(f"{API}initiatives/", body, format="json", **{HEADER: "same"}).status_code == 201
    )
    assert (
        jira.post(f"{API}initiatives/", body, format="json", **{HEADER: "same"}).status_code == 201
    )
    assert Initiative.objects.filter(name="Voice of the customer").count() == 2


def test_a_refused_request_leaves_the_key_free(pmo):
    bad = pmo.post(
        f"{API}initiatives/", new_initiative(kind="robot"), format="json", **{HEADER: "k-3"}
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()
    fixed = pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-3"})
    assert fixed.status_code == 201


def age(key: str, **delta: float) -> None:
    """Make the key's record as old as `delta`, as if it had been stored that long ago."""
    then = timezone.now() - datetime.timedelta(**delta)
    assert IdempotencyRecord.objects.filter(key=key).update(created_at=then) == 1


def test_a_key_is_replayed_within_the_retention(pmo, settings):
    settings.REGISTRY_IDEMPOTENCY_HOURS = 2
    first = pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-4"})
    assert first.status_code == 201
    age("k-4", hours=1, minutes=59)
    replay = pmo.post(f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k-4"})
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Initiative.objects.filter(name="Voice of the customer").count() == 1


def test_after_the_retention_a_key_counts_as_new(pmo):
    """24 hours by default; the new answer replaces the old record and is replayed in turn."""
    url = f"{API}initiatives/"
    first = pmo.post(url, new_initiative(), format="json", **{HEADER: "k-5"})
    age("k-5", hours=24, seconds=1)
    anew = pmo.post(url, new_initiative(), format="json", **{HEADER: "k-5"})
    assert anew.status_code == 201, anew.content
    assert "Idempotent-Replayed" not in anew
    assert anew.json()["key"] != first.json()["key"]
    assert Initiative.objects.filter(name="Voice of the customer").count() == 2
    record = IdempotencyRecord.objects.get(key="k-5")
    assert record.response_body["key"] == anew.json()["key"]
    assert (timezone.now() - record.created_at).total_seconds() < 60
    replay = pmo.post(url, new_initiative(), format="json", **{HEADER: "k-5"})
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == anew.json()
    # Expired, the key is free for another body too (no 422).
    age("k-5", hours=25)
    other = pmo.post(url, new_initiative(name="Other"), format="json", **{HEADER: "k-5"})
    assert other.status_code == 201, other.content
    assert IdempotencyRecord.objects.get(key="k-5").response_body["name"] == "Other"


def test_an_overlong_key_is_a_400_naming_the_header(pmo):
    response = pmo.post(
        f"{API}initiatives/", new_initiative(), format="json", **{HEADER: "k" * 256}
    )
    assert response.status_code == 400
    assert error_attrs(response) == ["Idempotency-Key"]
    assert not Initiative.objects.filter(name="Voice of the customer").exists()


def test_without_a_key_each_post_creates(pmo):
    pmo.post(f"{API}initiatives/", new_initiative(), format="json")
    pmo.post(f"{API}initiatives/", new_initiative(), format="json")
    assert Initiative.objects.filter(name="Voice of the customer").count() == 2


def test_the_schema_documents_the_header_and_the_422(db):
    from tests.api.support import api_client

    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/initiatives/",
        "/api/v1/initiatives/{key}/transition/",
        "/api/v1/initiatives/sync/",
        "/api/v1/alignments/",
    ):
        operation = paths[path]["post"]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert "Idempotency-Key" in headers, path
        assert "422" in operation["responses"], path
    put = paths["/api/v1/initiatives/sync/{source}/{external_id}/"]["put"]
    assert "Idempotency-Key" not in [p["name"] for p in put["parameters"]]
