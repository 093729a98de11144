"""The change feed (`/changes/`) and the goal/measurement resources that feed progress."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pghistory.models import Events

from registry.api.changes import ChangeSerializer
from registry.models import Initiative
from tests.api.support import API, make_portfolio

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


def test_a_change_outside_any_request_or_command_has_null_actor_and_channel(portfolio):
    # The portfolio is written by factories: no request, no command, no context.
    rows = portfolio.client("pmo").get(FEED, {"object_type": "initiative", "page_size": 500})
    created = [row for row in rows.json()["results"] if row["label"] == "insert"]
    assert created
    assert all(row["actor"] is None and row["channel"] is None for row in created)


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


# --- paging: every event once, in order, each page of the same cost ------------------------


def recorded(events) -> list[dict]:
    """Events as pghistory's own `Events` view computes them (data and diff for every event),
    in the feed's order: time, event table, event id.
    """
    ordered = sorted(events, key=lambda e: (e.pgh_created_at, e.pgh_model, e.pgh_id))
    return json.loads(json.dumps(ChangeSerializer(ordered, many=True).data))


def drain(client, url: str, params: dict | None = None) -> tuple[list[dict], str]:
    """Follow `next` to the end: the rows and where to poll next."""
    page = client.get(url, params).json()
    rows = page["results"]
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    return rows, page["resume"]


def paged(client, size: int, **params) -> list[dict]:
    return drain(client, FEED, {"page_size": size, **params})[0]


def touches_secret(event: Events, secret: Initiative) -> bool:
    data = event.pgh_data or {}
    if event.pgh_obj_model == "registry.Initiative" and event.pgh_obj_id == str(secret.pk):
        return True
    return secret.pk in {
        data.get(k) for k in ("initiative_id", "from_initiative_id", "to_initiative_id")
    }


@pytest.mark.django_db(transaction=True)
def test_paging_by_cursor_yields_every_event_once_in_order_with_its_diff():
    # Own transactions per request: events of one transaction share a time (the fixture's
    # hundred-odd events, of ten tables, all do), those of later requests are later.
    portfolio = make_portfolio()
    pmo = portfolio.client("pmo")
    for n in range(3):
        chat_url = f"{API}initiatives/{portfolio.key('chat')}/"
        pmo.patch(chat_url, {"summary": f"Take {n}."}, format="json")
        pmo.patch(f"{API}goals/G-NPS/", {"title": f"NPS {n}"}, format="json")
    everything = recorded(Events.objects.all())
    assert len({row["object_type"] for row in everything}) >= 8
    for size in (1, 7, 500):
        assert paged(pmo, size) == everything, size
    goal_updates = [r for r in everything if (r["object_type"], r["label"]) == ("goal", "update")]
    titles = [row["diff"]["title"] for row in goal_updates]
    assert titles == [["Raise NPS", "NPS 0"], ["NPS 0", "NPS 1"], ["NPS 1", "NPS 2"]]

    secret = portfolio.initiatives["secret"]
    shown = [e for e in Events.objects.all() if not touches_secret(e, secret)]
    assert len(shown) < Events.objects.count()
    assert paged(portfolio.client("viewer"), 4) == recorded(shown)
    assert paged(portfolio.client("teamie"), 4) == everything  # on the secret one's team

    chat = portfolio.initiatives["chat"]
    of_chat = recorded(Events.objects.references(chat))
    assert paged(pmo, 3, initiative=chat.key) == of_chat
    assert paged(pmo, 2, object_type="goal", channel="api") == [
        row for row in everything if row["object_type"] == "goal" and row["channel"] == "api"
    ]


def test_a_page_costs_the_same_queries_whatever_its_size_or_position(portfolio):
    def queries(client, **params) -> int:
        with CaptureQueriesContext(connection) as context:
            response = client.get(FEED, params)
        assert response.status_code == 200, response.content
        assert response.json()["results"]
        return len(context.captured_queries)

    chat = portfolio.key("chat")
    for role in ("pmo", "viewer"):
        client = portfolio.client(role)
        client.get(FEED, {"page_size": 1})  # warm up: session, groups
        deep = client.get(FEED, {"page_size": 5}).json()["next"]
        cursor = deep.split("cursor=")[1].split("&")[0]
        for params in ({}, {"initiative": chat}, {"object_type": ["alignment", "initiative"]}):
            counts = {
                queries(client, page_size=size, cursor=position, **params)
                for size in (1, 100)
                for position in ("", cursor)
            }
            assert len(counts) == 1, (role, params, counts)


def test_bad_cursors_and_object_ids_are_answered_cleanly(portfolio):
    pmo = portfolio.client("pmo")

    def cursor(key: object) -> str:
        raw = json.dumps({"t": "2026-01-01T00:00:00+00:00", "k": key}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    bad = ("registry.NoSuchEvent:1", "registry.AlignmentEvent:x", "registry.GoalEvent:²")
    for key in (*bad, f"registry.GoalEvent:{'9' * 30}", "nothing", 7):
        response = pmo.get(FEED, {"cursor": cursor(key)})
        assert response.status_code == 400, key
        assert response.json()["errors"][0]["attr"] == "cursor"
    chat = portfolio.initiatives["chat"]
    own = pmo.get(FEED, {"object_id": str(chat.pk), "object_type": "initiative"}).json()
    assert [row["object_id"] for row in own["results"]] == [str(chat.pk)]
    for value in ("abc", f"0{chat.pk}", "²", "9" * 30, "-1"):
        response = pmo.get(FEED, {"object_id": value})
        assert response.status_code == 200, value
        assert response.json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_events_of_a_transaction_still_open_are_delivered_once_it_commits(settings):
    settings.REGISTRY_FEED_SETTLE_SECONDS = 0
    portfolio = make_portfolio()
    pmo = portfolio.client("pmo")
    nbo, chat = portfolio.initiatives["nbo"], portfolio.initiatives["chat"]
    _rows, resume = drain(pmo, FEED, {"page_size": 50})

    slow = connections.create_connection("default")
    try:
        slow.set_autocommit(False)
        with slow.cursor() as cursor:  # its event is stamped with this transaction's start
            cursor.execute(
                "UPDATE registry_initiative SET learnings = 'Slow.' WHERE id = %s", [nbo.pk]
            )
        fast = pmo.patch(f"{API}initiatives/{chat.key}/", {"summary": "Fast."}, format="json")
        assert fast.status_code == 200
        held, resume = drain(pmo, resume)
        assert held == []  # the later change waits: the slow one would land behind it
        slow.commit()
    finally:
        slow.close()
    after, _resume = drain(pmo, resume)
    assert [(row["object_id"], row["diff"]) for row in after] == [
        (str(nbo.pk), {"learnings": ["", "Slow."]}),
        (str(chat.pk), {**after[1]["diff"], "summary": [chat.summary, "Fast."]}),
    ]


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
