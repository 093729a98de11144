"""Initiative filters of DESIGN §3 on crafted data, ordering, pagination, and strictness:
a bad value is a 400 whose `attr` names the parameter.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from registry.models import Initiative
from tests.api.support import API, error_attrs, keys_of, make_portfolio

URL = f"{API}initiatives/"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


@pytest.fixture
def viewer(portfolio):
    return portfolio.client("viewer")


def listed(client, params) -> list[str]:
    response = client.get(URL, {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    return sorted(keys_of(response))


# (params, expected initiatives) as the viewer sees them: the confidential one never shows.
FILTER_CASES = [
    ({}, ["chat", "nbo", "triage", "legacy"]),
    ({"stage": "pilot"}, ["chat"]),
    ({"stage": ["pilot", "approved"]}, ["chat", "nbo"]),
    ({"stage": "idea"}, ["triage", "legacy"]),
    ({"kind": "voicebot"}, ["legacy"]),
    ({"kind": ["chatbot", "automation"]}, ["chat", "triage"]),
    ({"department": "marketing"}, ["chat", "nbo"]),
    ({"owner": "ivy@example.com"}, ["triage", "legacy"]),
    ({"owner": "IVY@example.com"}, ["triage", "legacy"]),
    ({"goal": "G-NPS"}, ["chat"]),
    ({"goal": "G-OLD"}, ["legacy"]),
    ({"theme": "efficiency"}, ["nbo"]),
    ({"alignment": "none"}, ["triage", "legacy"]),
    ({"alignment": ["strong", "weak"]}, ["chat", "nbo"]),
    ({"alignment": "moderate"}, []),
    ({"aligned": "true"}, ["chat", "nbo"]),
    ({"aligned": "false"}, ["triage", "legacy"]),
    ({"risk_tier": "high"}, ["nbo"]),
    ({"touchpoint": "email"}, ["nbo", "triage"]),
    ({"journey_stage": "support"}, ["chat", "triage"]),
    ({"interaction_mode": "proactive"}, ["nbo"]),
    ({"tag": "gdpr"}, ["chat"]),
    ({"q": "billing"}, ["chat"]),
    ({"q": "routes e-mails queue"}, ["triage"]),
    ({"q": '"next offer"'}, ["nbo"]),
    ({"q": "chatbot -billing"}, []),
    ({"active_in": "2026-Q4"}, ["chat", "nbo", "legacy"]),
    ({"active_in": "2025-Q1"}, ["triage", "legacy"]),
    ({"archived": "true"}, ["archived"]),
    ({"include_archived": "true"}, ["chat", "nbo", "triage", "legacy", "archived"]),
    ({"source": "jira"}, ["nbo", "triage"]),
    ({"external_id": "J-1"}, ["nbo"]),
    ({"system": "cdp"}, ["nbo"]),
    ({"segment": "retail"}, ["chat"]),
    ({"autonomy": "autonomous"}, ["triage"]),
    ({"goal": "G-NPS", "active_in": "2026-Q4"}, ["chat"]),
    ({"stage": "pilot", "aligned": "false"}, []),
    ({"kind": "chatbot", "archived": "false"}, ["chat"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES, ids=str)
def test_filter(portfolio, viewer, params, expected):
    assert listed(viewer, params) == portfolio.keys(*expected)


def test_filters_by_ids_and_keys(portfolio, viewer):
    p = portfolio
    assert listed(viewer, {"department_id": p.departments["it"].pk}) == p.keys("triage", "legacy")
    assert listed(viewer, {"owner": p.people["mark"].pk}) == p.keys("nbo")
    assert listed(viewer, {"vision": p.old_vision.pk}) == p.keys("legacy")
    assert listed(viewer, {"vision": p.vision.pk}) == p.keys("chat", "nbo")
    assert listed(viewer, {"depends_on": p.key("chat")}) == p.keys("triage")
    assert listed(viewer, {"q": p.key("triage")}) == p.keys("triage")


def test_confidential_filter_for_the_pmo(portfolio):
    assert listed(portfolio.client("pmo"), {"confidential": "true"}) == portfolio.keys("secret")


def test_updated_since_is_a_cursor_feed_with_tombstones(portfolio, viewer):
    later = timezone.now() + datetime.timedelta(days=3)
    chat, archived = portfolio.initiatives["chat"], portfolio.initiatives["archived"]
    Initiative.objects.filter(pk=chat.pk).update(updated_at=later)
    Initiative.objects.filter(pk=archived.pk).update(updated_at=later + datetime.timedelta(1))
    since = (later - datetime.timedelta(hours=1)).isoformat()
    body = viewer.get(URL, {"updated_since": since}).json()
    assert "count" not in body
    assert [row["key"] for row in body["results"]] == [chat.key, archived.key]
    assert body["results"][1]["archived_at"] is not None  # the tombstone
    only_live = viewer.get(URL, {"updated_since": since, "archived": "false"}).json()
    assert [row["key"] for row in only_live["results"]] == [chat.key]
    assert listed(viewer, {"updated_since": later.date().isoformat()}) == sorted(
        [chat.key, archived.key]
    )


def test_cursor_pages_follow_updated_at(portfolio, viewer):
    first = viewer.get(URL, {"updated_since": "2000-01-01", "page_size": 2}).json()
    assert len(first["results"]) == 2
    assert first["next"]
    second = viewer.get(first["next"]).json()
    third = viewer.get(second["next"]).json() if second["next"] else {"results": []}
    seen = [row["key"] for page in (first, second, third) for row in page["results"]]
    assert sorted(seen) == portfolio.keys("chat", "nbo", "triage", "legacy", "archived")
    stamps = [row["updated_at"] for page in (first, second, third) for row in page["results"]]
    assert stamps == sorted(stamps)


ORDERING_CASES = [
    ("budget", ["legacy", "triage", "nbo", "chat"]),
    ("-budget", ["chat", "nbo", "triage", "legacy"]),
    ("name", ["chat", "triage", "legacy", "nbo"]),
    ("target_date", ["triage", "chat", "nbo", "legacy"]),
    ("-target_date", ["legacy", "nbo", "chat", "triage"]),
]


@pytest.mark.parametrize(("ordering", "expected"), ORDERING_CASES)
def test_ordering(portfolio, viewer, ordering, expected):
    response = viewer.get(URL, {"ordering": ordering})
    assert keys_of(response) == [portfolio.key(name) for name in expected]


def test_ordering_by_stage_follows_the_lifecycle(portfolio, viewer):
    keys = keys_of(viewer.get(URL, {"ordering": "stage"}))
    idea = sorted(portfolio.keys("triage", "legacy"))
    assert keys == [*idea, portfolio.key("nbo"), portfolio.key("chat")]
    assert keys_of(viewer.get(URL, {"ordering": "-stage"}))[0] == portfolio.key("chat")


def test_ordering_by_key_and_updated_at(portfolio, viewer):
    keys = keys_of(viewer.get(URL, {"ordering": "-key"}))
    assert keys == sorted(keys, reverse=True)
    stamps = [
        r["updated_at"] for r in viewer.get(URL, {"ordering": "updated_at"}).json()["results"]
    ]
    assert stamps == sorted(stamps)


BAD_VALUES = [
    ("stage", "bogus"),
    ("kind", "robot"),
    ("alignment", "great"),
    ("aligned", "maybe"),
    ("risk_tier", "extreme"),
    ("touchpoint", "fax"),
    ("journey_stage", "nirvana"),
    ("interaction_mode", "telepathic"),
    ("autonomy", "total"),
    ("active_in", "2026-Q5"),
    ("active_in", "Q4"),
    ("updated_since", "yesterday"),
    ("updated_since", "2026-13-01"),
    ("department", "nowhere"),
    ("department_id", "abc"),
    ("department_id", "999999"),
    ("owner", "ghost@example.com"),
    ("goal", "G-NOPE"),
    ("vision", "abc"),
    ("tag", "no-such-tag"),
    ("system", "no-such-system"),
    ("depends_on", "AI-99999"),
    ("archived", "perhaps"),
    ("include_archived", "x"),
    ("confidential", "sometimes"),
    ("ordering", "colour"),
    ("ordering", "budget,-colour"),
    ("page_size", "abc"),
    ("page_size", "0"),
    ("page", "abc"),
    ("cursor", "not-a-cursor"),
]


@pytest.mark.parametrize(("param", "value"), BAD_VALUES, ids=str)
def test_bad_value_is_400_naming_the_parameter(portfolio, viewer, param, value):
    response = viewer.get(URL, {param: value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert error_attrs(response) == [param]
    assert body["errors"][0]["detail"]


BAD_VALUES_ELSEWHERE = [
    ("goals", "metric", "happiness"),
    ("goals", "archived", "soon"),
    ("goals", "vision", "x"),
    ("measurements", "observed_from", "last spring"),
    ("measurements", "goal", "G-NONE"),
    ("people", "department", "nowhere"),
    ("people", "has_login", "kind of"),
    ("systems", "category", "mainframe"),
    ("alignments", "strength", "9"),
    ("alignments", "initiative", "AI-99999"),
    ("team-roles", "role", "wizard"),
    ("notes", "kind", "gossip"),
    ("stage-changes", "to_stage", "heaven"),
    ("stage-changes", "since", "then"),
    ("reviews", "period", "2026-Q9"),
    ("review-decisions", "decision", "maybe"),
    ("changes", "object_type", "spaceship"),
    ("changes", "channel", "pigeon"),
    ("changes", "since", "tomorrow-ish"),
    ("changes", "cursor", "zzz"),
    ("visions", "ordering", "colour"),
]


@pytest.mark.parametrize(("resource", "param", "value"), BAD_VALUES_ELSEWHERE, ids=str)
def test_bad_values_on_other_resources(portfolio, viewer, resource, param, value):
    response = viewer.get(f"{API}{resource}/", {param: value})
    assert response.status_code == 400, response.content
    assert error_attrs(response) == [param]


OTHER_FILTERS = [
    ("goals", {"theme": "LOYALTY"}, "code", ["G-NPS", "G-OLD"]),
    ("goals", {"metric": "aht"}, "code", ["G-AHT"]),
    ("goals", {"vision": "old"}, "code", ["G-OLD"]),
    ("goals", {"active_vision": "true"}, "code", ["G-AHT", "G-NPS"]),
    ("departments", {"function": "it"}, "slug", ["it"]),
    ("systems", {"category": "cdp"}, "slug", ["cdp"]),
    ("people", {"department": "it"}, "email", ["ivy@example.com"]),
    ("people", {"has_login": "true"}, "email", ["carol@example.com", "tim@example.com"]),
    ("tags", {"q": "gd"}, "name", ["gdpr"]),
]


@pytest.mark.parametrize(("resource", "params", "field", "expected"), OTHER_FILTERS, ids=str)
def test_filters_on_other_resources(portfolio, viewer, resource, params, field, expected):
    if params.get("vision") == "old":
        params = {"vision": portfolio.old_vision.pk}
    response = viewer.get(f"{API}{resource}/", params)
    assert response.status_code == 200, response.content
    assert sorted(row[field] for row in response.json()["results"]) == expected


def test_part_filters_by_initiative_and_goal(portfolio, viewer):
    chat = portfolio.key("chat")
    alignments = viewer.get(f"{API}alignments/", {"initiative": chat}).json()["results"]
    assert [a["goal"]["code"] for a in alignments] == ["G-NPS"]
    by_goal = viewer.get(f"{API}alignments/", {"goal": "G-AHT"}).json()["results"]
    assert [a["initiative"]["key"] for a in by_goal] == [portfolio.key("nbo")]
    deps = viewer.get(f"{API}dependencies/", {"depends_on": chat}).json()["results"]
    assert [d["initiative"]["key"] for d in deps] == [portfolio.key("triage")]
    team = viewer.get(f"{API}team-roles/", {"person": "mark@example.com"}).json()["results"]
    assert [t["initiative"]["key"] for t in team] == [chat]
    changes = viewer.get(f"{API}stage-changes/", {"initiative": chat}).json()["results"]
    assert [c["to_stage"] for c in changes] == ["pilot"]


def test_measurement_date_range(portfolio, viewer):
    inside = viewer.get(
        f"{API}measurements/", {"observed_from": "2026-06-01", "observed_to": "2026-06-30"}
    )
    assert inside.json()["count"] == 1
    outside = viewer.get(f"{API}measurements/", {"observed_from": "2026-07-01"})
    assert outside.json()["count"] == 0


def test_page_size_is_capped_at_500(portfolio):
    owner = portfolio.people["ivy"]
    Initiative.objects.bulk_create(
        Initiative(name=f"Bulk {n}", kind="other", owner=owner) for n in range(505)
    )
    body = portfolio.client("pmo").get(URL, {"page_size": 600}).json()
    assert len(body["results"]) == 500
    assert body["count"] == 505 + 5
    assert body["next"]
