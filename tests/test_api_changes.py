"""The change feed (`/changes/`) and the goal/measurement resources that feed progress."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.test_api_support import API, make_portfolio

FEED = f"{API}changes/"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def test_feed_filters_by_object_type_initiative_channel_and_time(portfolio):
    pmo = portfolio.client("pmo")
    chat = portfolio.key("chat")
    pmo.patch(f"{API}initiatives/{chat}/", {"summary": "Edited over the API."}, format="json")

    alignments = pmo.get(FEED, {"object_type": "alignment", "page_size": 100}).json()["results"]
    assert alignments
    assert {row["object_type"] for row in alignments} == {"alignment"}

    both = pmo.get(FEED, {"object_type": ["alignment", "teamrole"], "page_size": 100}).json()
    assert {row["object_type"] for row in both["results"]} == {"alignment", "teamrole"}

    of_chat = pmo.get(FEED, {"initiative": chat, "page_size": 100}).json()["results"]
    chat_pk = portfolio.initiatives["chat"].pk
    assert of_chat
    for row in of_chat:
        data = row["data"]
        assert chat_pk in (
            data.get("id") if row["object_type"] == "initiative" else None,
            data.get("initiative_id"),
            data.get("from_initiative_id"),
            data.get("to_initiative_id"),
        )

    via_api = pmo.get(FEED, {"channel": "api"}).json()["results"]
    assert [(r["object_type"], r["label"], r["actor"]) for r in via_api] == [
        ("initiative", "update", "api-pmo")
    ]
    assert via_api[0]["diff"]["summary"] == [
        "Answers billing questions in the chat.",
        "Edited over the API.",
    ]

    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    assert pmo.get(FEED, {"since": future}).json()["results"] == []


def test_feed_is_cursor_paged_oldest_first(portfolio):
    pmo = portfolio.client("pmo")
    first = pmo.get(FEED, {"page_size": 3}).json()
    assert "count" not in first
    assert len(first["results"]) == 3
    seen = [row["id"] for row in first["results"]]
    page = first
    while page["next"]:
        page = pmo.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    everything = pmo.get(FEED, {"page_size": 500}).json()["results"]
    assert seen == [row["id"] for row in everything]
    assert len(set(seen)) == len(seen)
    stamps = [row["at"] for row in everything]
    assert stamps == sorted(stamps)


def test_measurements_move_goal_progress(portfolio):
    pmo = portfolio.client("pmo")
    created = pmo.post(
        f"{API}measurements/",
        {"goal": "G-NPS", "observed_on": "2026-09-30", "value": "30", "source": "survey"},
        format="json",
    )
    assert created.status_code == 201, created.content
    goal = pmo.get(f"{API}goals/G-NPS/").json()
    assert (goal["current"], goal["current_on"], goal["progress"]) == (
        "30.0000",
        "2026-09-30",
        "0.500000",
    )
    duplicate = pmo.post(
        f"{API}measurements/",
        {"goal": "G-NPS", "observed_on": "2026-09-30", "value": "31"},
        format="json",
    )
    assert duplicate.status_code == 400
    assert "already has a measurement" in duplicate.json()["errors"][0]["detail"]


def test_goal_rules_answer_with_their_message(portfolio):
    pmo = portfolio.client("pmo")
    response = pmo.post(
        f"{API}goals/",
        {
            "vision": portfolio.vision.pk,
            "code": "G-WRONG",
            "title": "Backwards",
            "metric": "nps",
            "unit": "points",
            "direction": "increase",
            "baseline": "50",
            "baseline_date": "2026-01-01",
            "target": "40",
            "target_date": "2027-01-01",
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "registry_goal_target_matches_direction"
    bad_code = pmo.post(f"{API}goals/", {"code": "nps lower"}, format="json")
    assert "code" in [e["attr"] for e in bad_code.json()["errors"]]


def test_people_emails_are_stored_lower_case(portfolio):
    pmo = portfolio.client("pmo")
    created = pmo.post(
        f"{API}people/", {"name": "Mixed Case", "email": "Mixed.Case@Example.com"}, format="json"
    )
    assert created.json()["email"] == "mixed.case@example.com"
    found = pmo.get(f"{API}initiatives/", {"owner": "MIXED.case@example.com"})
    assert found.status_code == 200
