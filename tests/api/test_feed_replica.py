"""Done when: a tool that polls the change feeds reproduces our portfolio exactly.

A fake tool pages the initiative, goal and alignment feeds from the beginning, applies rows
and tombstones to its own copy, stores the `resume` links and polls again after each round
of changes — creates, edits, lifecycle moves, archive and restore, syncs (which replace
alignments), alignments added and deleted, goals created and archived. After every round
its copy must equal what the registry answers right now.

Each request runs in its own transaction here (as in production), since history events —
hence tombstones — carry their transaction's time.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from registry import permissions
from registry.models import Initiative
from registry.services.tokens import api_token_create
from tests.api.support import API, api_client, make_portfolio

FEEDS = ("initiatives", "goals", "alignments")
# Values computed from other rows (alignments, measurements, the team) at read time: a tool
# derives or re-reads them; the feeds carry each row's own fields.
DERIVED = {
    "initiatives": {
        "alignment_level",
        "primary_goal",
        "gate_gaps",
        "next_stages",
        "is_silo",
        "alignments",
        "team",
    },
    "goals": {"current", "current_on", "progress"},
    "alignments": set(),
}


class FeedTool:
    """What another tool keeps: rows by id, per resource, and where to resume."""

    def __init__(self, client: Any, page_size: int = 3) -> None:
        self.client = client
        self.page_size = page_size
        self.rows: dict[str, dict[int, dict]] = {resource: {} for resource in FEEDS}
        self.resume: dict[str, str] = {}
        self.requests = 0

    def get(self, url: str, params: dict | None = None) -> dict:
        self.requests += 1
        response = self.client.get(url, params)
        assert response.status_code == 200, response.content
        return response.json()

    def poll(self) -> None:
        for resource in FEEDS:
            if resource in self.resume:
                page = self.get(self.resume[resource])
            else:
                page = self.get(
                    f"{API}{resource}/",
                    {"updated_since": "1970-01-01T00:00:00Z", "page_size": self.page_size},
                )
            while True:
                for row in page["results"]:
                    self.apply(resource, row)
                if not page["next"]:
                    self.resume[resource] = page["resume"]
                    break
                page = self.get(page["next"])

    def apply(self, resource: str, row: dict) -> None:
        store = self.rows[resource]
        if row.get("deleted") or row.get("archived_at"):
            store.pop(row["id"], None)  # gone from the live portfolio (a tombstone)
        else:
            store[row["id"]] = {k: v for k, v in row.items() if k not in DERIVED[resource]}


def registry_now(client: Any) -> dict[str, dict[int, dict]]:
    """The live portfolio as the registry answers it now (plain lists, no feed)."""
    truth: dict[str, dict[int, dict]] = {}
    for resource in FEEDS:
        rows = client.get(f"{API}{resource}/", {"page_size": 500}).json()["results"]
        truth[resource] = {
            row["id"]: {k: v for k, v in row.items() if k not in DERIVED[resource]} for row in rows
        }
    return truth


def live_alignments(truth: dict[str, dict[int, dict]]) -> dict[int, dict]:
    """Alignments of live initiatives (those of archived ones stay rows, as in the feed)."""
    live_keys = {row["key"] for row in truth["initiatives"].values()}
    return {i: a for i, a in truth["alignments"].items() if a["initiative"]["key"] in live_keys}


def assert_replica(tool: FeedTool, reader: Any) -> None:
    truth = registry_now(reader)
    assert tool.rows["initiatives"] == truth["initiatives"]
    assert tool.rows["goals"] == truth["goals"]
    replica = {
        i: a
        for i, a in tool.rows["alignments"].items()
        if a["initiative"]["key"] in {row["key"] for row in truth["initiatives"].values()}
    }
    assert replica == live_alignments(truth)
    assert set(tool.rows["alignments"]) == set(truth["alignments"])


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.content
    return response


def item(external_id: str, **fields: Any) -> dict:
    return {
        "external_id": external_id,
        "name": f"Synced {external_id}",
        "kind": "automation",
        "owner": "ivy@example.com",
        "lead_department": "it",
        **fields,
    }


@pytest.mark.django_db(transaction=True)
def test_a_tool_polling_the_feeds_reproduces_the_portfolio():
    portfolio = make_portfolio()
    bi_user = get_user_model().objects.create(username="bi-reader")
    bi_user.groups.add(Group.objects.get(name=permissions.PMO))
    tool = FeedTool(api_client(token=api_token_create(name="bi", user=bi_user)[1]))
    reader = portfolio.client("pmo")
    pmo, jira = portfolio.client("pmo"), portfolio.client("integration")

    tool.poll()
    assert_replica(tool, reader)

    # Round 1: API edits, a move, an archive, alignments added and removed, a sync batch.
    created = pmo.post(
        f"{API}initiatives/",
        {"name": "Voice analytics", "kind": "sentiment_analytics", "summary": "Listens."},
        format="json",
    ).json()
    ok(pmo.patch(f"{API}initiatives/{portfolio.key('legacy')}/", {"budget_planned": "7500.00"}))
    ok(pmo.post(f"{API}initiatives/{portfolio.key('triage')}/transition/", {"to": "proposed"}))
    ok(pmo.delete(f"{API}initiatives/{portfolio.key('nbo')}/"))
    aligned = pmo.post(
        f"{API}alignments/",
        {"initiative": created["key"], "goal": "G-NPS", "strength": 2, "is_primary": True},
        format="json",
    ).json()
    old = Initiative.objects.get(key=portfolio.key("legacy")).alignments.get()
    ok(pmo.delete(f"{API}alignments/{old.pk}/"))
    batch = [
        item("R-1", alignments=[{"goal": "G-NPS", "strength": 3}]),
        item("R-2", alignments=[{"goal": "G-AHT", "strength": 1}, {"goal": "G-NPS"}]),
        item("J-2", summary="Renamed in Jira."),
    ]
    response = jira.post(
        f"{API}initiatives/sync/", {"source": "jira", "items": batch}, format="json"
    )
    assert response.status_code == 200, response.content
    tool.poll()
    assert_replica(tool, reader)
    assert {"R-1", "R-2"} <= {row["external_id"] for row in tool.rows["initiatives"].values()}
    assert portfolio.initiatives["nbo"].pk not in tool.rows["initiatives"]

    # Round 2: sync replaces alignments (one deleted, one changed), a restore, goals change.
    ok(
        jira.post(
            f"{API}initiatives/sync/",
            {
                "source": "jira",
                "items": [item("R-2", alignments=[{"goal": "G-AHT", "strength": 3}])],
            },
            format="json",
        )
    )
    ok(pmo.post(f"{API}initiatives/{portfolio.key('nbo')}/restore/"))
    ok(
        pmo.post(
            f"{API}goals/",
            {
                "vision": portfolio.vision.pk,
                "code": "G-FCR",
                "title": "First contact resolution",
                "metric": "fcr",
                "unit": "%",
                "direction": "increase",
                "baseline": "60",
                "baseline_date": "2026-01-01",
                "target": "75",
                "target_date": "2027-06-30",
            },
            format="json",
        )
    )
    ok(pmo.patch(f"{API}goals/G-NPS/", {"weight": 5}, format="json"))
    ok(pmo.delete(f"{API}alignments/{aligned['id']}/"))
    ok(pmo.delete(f"{API}goals/G-OLD/"))
    tool.poll()
    assert_replica(tool, reader)
    assert portfolio.initiatives["nbo"].pk in tool.rows["initiatives"]
    assert "G-FCR" in {goal["code"] for goal in tool.rows["goals"].values()}
    assert "G-OLD" not in {goal["code"] for goal in tool.rows["goals"].values()}
    assert aligned["id"] not in tool.rows["alignments"]

    # A poll with nothing new asks one page per feed and changes nothing.
    before, asked = {k: dict(v) for k, v in tool.rows.items()}, tool.requests
    tool.poll()
    assert tool.rows == before
    assert tool.requests - asked == len(FEEDS)
