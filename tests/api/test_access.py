"""Every endpoint × every role: who gets what, and that a refusal changes nothing.

Roles: anonymous (401 everywhere but schema and docs), a logged-in user without a role
(403), viewer (reads), contributor (writes what Carol owns: the billing chatbot), the
integration token of source `jira` (writes the jira initiatives: next best offer, e-mail
triage), PMO (everything). Confidential initiatives answer 404 to everyone outside the PMO
and their team, and are missing from lists and counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Model

from registry import models
from registry.services.tokens import ApiToken
from tests.api.support import API, Portfolio, api_client, keys_of, make_portfolio

ROLES = ("anonymous", "norole", "viewer", "contributor", "integration", "pmo")
READ = {
    "anonymous": 401,
    "norole": 403,
    "viewer": 200,
    "contributor": 200,
    "integration": 200,
    "pmo": 200,
}


def pmo_only(ok: int) -> dict[str, int]:
    return {
        "anonymous": 401,
        "norole": 403,
        "viewer": 403,
        "contributor": 403,
        "integration": 403,
        "pmo": ok,
    }


def writers(ok: int, *, contributor: bool, integration: bool) -> dict[str, int]:
    return {
        "anonymous": 401,
        "norole": 403,
        "viewer": 403,
        "contributor": ok if contributor else 403,
        "integration": ok if integration else 403,
        "pmo": ok,
    }


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: Callable[[Portfolio], str]
    expect: dict[str, int]
    body: Callable[[Portfolio], dict] | None = None

    def __str__(self) -> str:
        return self.name


def first_id(model: type[Model], **filters: Any) -> Callable[[Portfolio], int]:
    return lambda p: model.objects.filter(**filters).order_by("pk").values_list("pk", flat=True)[0]


def chat_row(model: type[Model]) -> Callable[[Portfolio], int]:
    return first_id(model, initiative__name="Billing chatbot")


def chat_alignment(p: Portfolio) -> int:
    return p.initiatives["chat"].alignments.get().pk


def nbo_alignment(p: Portfolio) -> int:
    return p.initiatives["nbo"].alignments.get().pk


READS = [
    Case("visions list", "get", lambda p: f"{API}visions/", READ),
    Case("vision detail", "get", lambda p: f"{API}visions/{p.vision.pk}/", READ),
    Case("goals list", "get", lambda p: f"{API}goals/", READ),
    Case("goal detail", "get", lambda p: f"{API}goals/G-NPS/", READ),
    Case("measurements list", "get", lambda p: f"{API}measurements/", READ),
    Case(
        "measurement detail",
        "get",
        lambda p: f"{API}measurements/{first_id(models.Measurement)(p)}/",
        READ,
    ),
    Case("departments list", "get", lambda p: f"{API}departments/", READ),
    Case("department detail", "get", lambda p: f"{API}departments/service/", READ),
    Case("people list", "get", lambda p: f"{API}people/", READ),
    Case("person detail", "get", lambda p: f"{API}people/{p.people['carol'].pk}/", READ),
    Case("systems list", "get", lambda p: f"{API}systems/", READ),
    Case("system detail", "get", lambda p: f"{API}systems/crm/", READ),
    Case("tags list", "get", lambda p: f"{API}tags/", READ),
    Case("tag detail", "get", lambda p: f"{API}tags/gdpr/", READ),
    Case("initiatives list", "get", lambda p: f"{API}initiatives/", READ),
    Case("initiatives csv", "get", lambda p: f"{API}initiatives/?format=csv", READ),
    Case("initiative detail", "get", lambda p: f"{API}initiatives/{p.key('chat')}/", READ),
    Case("initiative history", "get", lambda p: f"{API}initiatives/{p.key('chat')}/history/", READ),
    Case("alignments list", "get", lambda p: f"{API}alignments/", READ),
    Case("alignment detail", "get", lambda p: f"{API}alignments/{chat_alignment(p)}/", READ),
    Case("team roles list", "get", lambda p: f"{API}team-roles/", READ),
    Case(
        "team role detail",
        "get",
        lambda p: f"{API}team-roles/{first_id(models.TeamRole, role='consulted')(p)}/",
        READ,
    ),
    Case("dependencies list", "get", lambda p: f"{API}dependencies/", READ),
    Case(
        "dependency detail",
        "get",
        lambda p: f"{API}dependencies/{first_id(models.Dependency)(p)}/",
        READ,
    ),
    Case("notes list", "get", lambda p: f"{API}notes/", READ),
    Case(
        "note detail",
        "get",
        lambda p: f"{API}notes/{first_id(models.Note, text='Kick-off held.')(p)}/",
        READ,
    ),
    Case("stage changes list", "get", lambda p: f"{API}stage-changes/", READ),
    Case(
        "stage change detail",
        "get",
        lambda p: f"{API}stage-changes/{chat_row(models.StageChange)(p)}/",
        READ,
    ),
    Case("reviews list", "get", lambda p: f"{API}reviews/", READ),
    Case("review detail", "get", lambda p: f"{API}reviews/{first_id(models.Review)(p)}/", READ),
    Case("review decisions list", "get", lambda p: f"{API}review-decisions/", READ),
    Case(
        "review decision detail",
        "get",
        lambda p: f"{API}review-decisions/{chat_row(models.ReviewDecision)(p)}/",
        READ,
    ),
    Case("changes feed", "get", lambda p: f"{API}changes/", READ),
    Case("api root", "get", lambda p: API, READ),
]

WRITES = [
    # reference data: PMO only
    Case(
        "create vision",
        "post",
        lambda p: f"{API}visions/",
        pmo_only(201),
        lambda p: {
            "title": "Next vision",
            "statement": "Even better.",
            "horizon_start": "2029-01-01",
            "horizon_end": "2030-12-31",
        },
    ),
    Case(
        "patch vision",
        "patch",
        lambda p: f"{API}visions/{p.vision.pk}/",
        pmo_only(200),
        lambda p: {"title": "Renamed"},
    ),
    Case(
        "delete vision (not offered)",
        "delete",
        lambda p: f"{API}visions/{p.vision.pk}/",
        pmo_only(405),
    ),
    Case(
        "create goal",
        "post",
        lambda p: f"{API}goals/",
        pmo_only(201),
        lambda p: {
            "vision": p.vision.pk,
            "code": "G-CSAT",
            "title": "CSAT",
            "metric": "csat",
            "unit": "%",
            "direction": "increase",
            "baseline": "70",
            "baseline_date": "2026-01-01",
            "target": "80",
            "target_date": "2027-12-31",
        },
    ),
    Case(
        "patch goal",
        "patch",
        lambda p: f"{API}goals/G-NPS/",
        pmo_only(200),
        lambda p: {"weight": 5},
    ),
    Case(
        "create measurement",
        "post",
        lambda p: f"{API}measurements/",
        pmo_only(201),
        lambda p: {"goal": "G-NPS", "observed_on": "2026-09-30", "value": "27"},
    ),
    Case(
        "delete measurement",
        "delete",
        lambda p: f"{API}measurements/{first_id(models.Measurement)(p)}/",
        pmo_only(204),
    ),
    Case(
        "create department",
        "post",
        lambda p: f"{API}departments/",
        pmo_only(201),
        lambda p: {"slug": "sales", "name": "Sales", "function": "sales"},
    ),
    Case(
        "patch department",
        "patch",
        lambda p: f"{API}departments/service/",
        pmo_only(200),
        lambda p: {"name": "Service"},
    ),
    Case(
        "delete unused department", "delete", lambda p: f"{API}departments/unused/", pmo_only(204)
    ),
    Case("delete department in use", "delete", lambda p: f"{API}departments/it/", pmo_only(409)),
    Case(
        "create person",
        "post",
        lambda p: f"{API}people/",
        pmo_only(201),
        lambda p: {"name": "New Person", "email": "New@Example.com", "department": "it"},
    ),
    Case(
        "patch person",
        "patch",
        lambda p: f"{API}people/{p.people['mark'].pk}/",
        pmo_only(200),
        lambda p: {"title": "Head of marketing"},
    ),
    Case(
        "delete unused person",
        "delete",
        lambda p: f"{API}people/{first_id(models.Person, email='nobody@example.com')(p)}/",
        pmo_only(204),
    ),
    Case(
        "create system",
        "post",
        lambda p: f"{API}systems/",
        pmo_only(201),
        lambda p: {"slug": "dwh", "name": "Warehouse", "category": "data_warehouse"},
    ),
    Case("delete unused system", "delete", lambda p: f"{API}systems/erp/", pmo_only(204)),
    Case(
        "create tag",
        "post",
        lambda p: f"{API}tags/",
        pmo_only(201),
        lambda p: {"name": "pilot-2027"},
    ),
    Case("delete tag", "delete", lambda p: f"{API}tags/quick-win/", pmo_only(204)),
    Case(
        "open review",
        "post",
        lambda p: f"{API}reviews/",
        pmo_only(201),
        lambda p: {"vision": p.vision.pk, "period": "2027-Q1"},
    ),
    Case(
        "decide in review",
        "post",
        lambda p: f"{API}review-decisions/",
        pmo_only(201),
        lambda p: {
            "review": first_id(models.Review)(p),
            "initiative": p.key("nbo"),
            "decision": "continue",
        },
    ),
    # initiatives
    Case(
        "create initiative (no source)",
        "post",
        lambda p: f"{API}initiatives/",
        writers(201, contributor=False, integration=True),
        lambda p: {
            "name": "Voice of the customer",
            "kind": "sentiment_analytics",
            "owner": "ivy@example.com",
        },
    ),
    Case(
        "create initiative of another source",
        "post",
        lambda p: f"{API}initiatives/",
        writers(201, contributor=False, integration=False),
        lambda p: {
            "name": "ServiceNow bot",
            "kind": "chatbot",
            "source": "servicenow",
            "external_id": "SN-1",
        },
    ),
    Case(
        "patch Carol's manual initiative",
        "patch",
        lambda p: f"{API}initiatives/{p.key('chat')}/",
        writers(200, contributor=True, integration=False),
        lambda p: {"summary": "Answers billing and tariff questions."},
    ),
    Case(
        "patch Mark's jira initiative",
        "patch",
        lambda p: f"{API}initiatives/{p.key('nbo')}/",
        writers(200, contributor=False, integration=True),
        lambda p: {"summary": "Recommends offers."},
    ),
    Case(
        "put Carol's manual initiative",
        "put",
        lambda p: f"{API}initiatives/{p.key('chat')}/",
        writers(200, contributor=True, integration=False),
        lambda p: {"name": "Billing assistant", "kind": "chatbot", "owner": "carol@example.com"},
    ),
    Case(
        "archive Carol's manual initiative",
        "delete",
        lambda p: f"{API}initiatives/{p.key('chat')}/",
        writers(204, contributor=False, integration=False),
    ),
    Case(
        "archive a jira initiative",
        "delete",
        lambda p: f"{API}initiatives/{p.key('nbo')}/",
        writers(204, contributor=False, integration=True),
    ),
    Case(
        "pause Carol's initiative",
        "post",
        lambda p: f"{API}initiatives/{p.key('chat')}/transition/",
        writers(200, contributor=True, integration=False),
        lambda p: {"to": "paused", "note": "Waiting for the CRM upgrade."},
    ),
    Case(
        "pause a jira initiative",
        "post",
        lambda p: f"{API}initiatives/{p.key('nbo')}/transition/",
        writers(200, contributor=False, integration=True),
        lambda p: {"to": "paused", "note": "Budget freeze."},
    ),
    Case(
        "restore an archived manual initiative",
        "post",
        lambda p: f"{API}initiatives/{p.key('archived')}/restore/",
        writers(200, contributor=False, integration=False),
    ),
    # the parts of an initiative
    Case(
        "align Carol's initiative",
        "post",
        lambda p: f"{API}alignments/",
        writers(201, contributor=True, integration=False),
        lambda p: {"initiative": p.key("chat"), "goal": "G-AHT", "strength": 2},
    ),
    Case(
        "align a jira initiative",
        "post",
        lambda p: f"{API}alignments/",
        writers(201, contributor=False, integration=True),
        lambda p: {"initiative": p.key("nbo"), "goal": "G-NPS", "strength": 2},
    ),
    Case(
        "patch Carol's alignment",
        "patch",
        lambda p: f"{API}alignments/{chat_alignment(p)}/",
        writers(200, contributor=True, integration=False),
        lambda p: {"strength": 2},
    ),
    Case(
        "delete a jira initiative's only alignment",
        "delete",
        lambda p: f"{API}alignments/{nbo_alignment(p)}/",
        writers(204, contributor=False, integration=True),
    ),
    Case(
        "staff Carol's initiative",
        "post",
        lambda p: f"{API}team-roles/",
        writers(201, contributor=True, integration=False),
        lambda p: {"initiative": p.key("chat"), "person": "ivy@example.com", "role": "engineer"},
    ),
    Case(
        "remove a role from Carol's initiative",
        "delete",
        lambda p: f"{API}team-roles/{first_id(models.TeamRole, role='consulted')(p)}/",
        writers(204, contributor=True, integration=False),
    ),
    Case(
        "Carol's initiative needs another",
        "post",
        lambda p: f"{API}dependencies/",
        writers(201, contributor=True, integration=False),
        lambda p: {"initiative": p.key("chat"), "depends_on": p.key("legacy")},
    ),
    Case(
        "a jira initiative needs another",
        "post",
        lambda p: f"{API}dependencies/",
        writers(201, contributor=False, integration=True),
        lambda p: {"initiative": p.key("nbo"), "depends_on": p.key("chat")},
    ),
    Case(
        "remove a jira initiative's dependency",
        "delete",
        lambda p: f"{API}dependencies/{first_id(models.Dependency)(p)}/",
        writers(204, contributor=False, integration=True),
    ),
    Case(
        "note on Carol's initiative",
        "post",
        lambda p: f"{API}notes/",
        writers(201, contributor=True, integration=False),
        lambda p: {"initiative": p.key("chat"), "kind": "decision", "text": "Go."},
    ),
    Case(
        "note on a goal",
        "post",
        lambda p: f"{API}notes/",
        pmo_only(201),
        lambda p: {"goal": "G-NPS", "text": "Baseline confirmed."},
    ),
    Case(
        "edit someone else's note",
        "patch",
        lambda p: f"{API}notes/{first_id(models.Note, text='Kick-off held.')(p)}/",
        pmo_only(200),
        lambda p: {"text": "Kick-off held on Monday."},
    ),
    Case(
        "delete a note",
        "delete",
        lambda p: f"{API}notes/{first_id(models.Note, text='Kick-off held.')(p)}/",
        pmo_only(204),
    ),
    # read-only resources
    Case(
        "write a stage change",
        "post",
        lambda p: f"{API}stage-changes/",
        {**READ, "viewer": 405, "contributor": 405, "integration": 405, "pmo": 405},
        lambda p: {},
    ),
    Case(
        "write the change feed",
        "post",
        lambda p: f"{API}changes/",
        {**READ, "viewer": 405, "contributor": 405, "integration": 405, "pmo": 405},
        lambda p: {},
    ),
]

STATE_MODELS = (
    models.Vision,
    models.Goal,
    models.Measurement,
    models.Department,
    models.Person,
    models.System,
    models.Tag,
    models.Initiative,
    models.Initiative.departments.through,
    models.Initiative.tags.through,
    models.Alignment,
    models.TeamRole,
    models.Dependency,
    models.Note,
    models.StageChange,
    models.Review,
    models.ReviewDecision,
)


def db_state() -> list[list[dict]]:
    return [list(model.objects.order_by("pk").values()) for model in STATE_MODELS]


@pytest.fixture
def portfolio(db) -> Portfolio:
    return make_portfolio()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", READS, ids=str)
def test_reads(portfolio, case, role):
    response = getattr(portfolio.client(role), case.method)(case.url(portfolio))
    assert response.status_code == case.expect[role], response.content[:500]
    if role == "anonymous":
        assert response["WWW-Authenticate"].startswith("Token")
    if response.status_code >= 400:
        assert response.json()["errors"][0]["code"] in {"not_authenticated", "permission_denied"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", WRITES, ids=str)
def test_writes(portfolio, case, role):
    before = db_state()
    body = case.body(portfolio) if case.body else None
    response = getattr(portfolio.client(role), case.method)(
        case.url(portfolio), body, format="json"
    )
    assert response.status_code == case.expect[role], response.content[:800]
    if response.status_code >= 400:
        assert db_state() == before, "a refused request changed data"
        assert {"type", "errors"} <= set(response.json())
    else:
        assert db_state() != before or case.method == "get"


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_public(db, url):
    assert api_client().get(url).status_code == 200


def test_integration_account_needs_its_token(portfolio):
    """An integration user logged in by session (not token) may not even read."""
    response = portfolio.client("integration").get(f"{API}initiatives/")
    assert response.status_code == 200
    session = api_client(portfolio.users["integration"])
    assert session.get(f"{API}initiatives/").status_code == 403


# --- confidential initiatives ---------------------------------------------------------------

OUTSIDERS = ("viewer", "contributor", "integration")
INSIDERS = ("pmo", "teamie")


@pytest.mark.parametrize("role", OUTSIDERS + INSIDERS)
def test_confidential_detail_is_404_for_outsiders(portfolio, role):
    client = portfolio.client(role)
    key = portfolio.key("secret")
    expected = 200 if role in INSIDERS else 404
    assert client.get(f"{API}initiatives/{key}/").status_code == expected
    assert client.get(f"{API}initiatives/{key}/history/").status_code == expected


@pytest.mark.parametrize("role", OUTSIDERS + INSIDERS)
def test_confidential_absent_from_lists_and_counts(portfolio, role):
    client = portfolio.client(role)
    secret = portfolio.initiatives["secret"]
    sees = role in INSIDERS
    listed = client.get(f"{API}initiatives/", {"page_size": 100}).json()
    assert (secret.key in [row["key"] for row in listed["results"]]) is sees
    assert listed["count"] == 4 + sees
    csv = client.get(f"{API}initiatives/", {"format": "csv"}).content.decode()
    assert (secret.key in csv) is sees
    for resource, marker in [
        ("alignments", secret.key),
        ("team-roles", secret.key),
        ("notes", "Secret note."),
        ("stage-changes", secret.key),
        ("review-decisions", secret.key),
    ]:
        body = client.get(f"{API}{resource}/", {"page_size": 100}).content.decode()
        assert (marker in body) is sees, resource
    feed = client.get(f"{API}changes/", {"page_size": 500}).json()["results"]
    secret_events = [
        e
        for e in feed
        if (e["object_type"] == "initiative" and e["object_id"] == str(secret.pk))
        or e["data"].get("initiative_id") == secret.pk
    ]
    assert bool(secret_events) is sees
    filtered = client.get(f"{API}initiatives/", {"q": "voicebot"}).json()
    assert (secret.key in [r["key"] for r in filtered["results"]]) is sees


@pytest.mark.parametrize("role", OUTSIDERS)
def test_outsiders_cannot_reach_confidential_through_writes(portfolio, role):
    before = db_state()
    client = portfolio.client(role)
    key = portfolio.key("secret")
    assert client.patch(f"{API}initiatives/{key}/", {"name": "x"}, format="json").status_code == 404
    assert client.post(f"{API}initiatives/{key}/transition/", {"to": "proposed"}).status_code == 404
    assert client.delete(f"{API}initiatives/{key}/").status_code == 404
    response = client.post(f"{API}notes/", {"initiative": key, "text": "peek"}, format="json")
    assert response.status_code in (400, 403)
    if response.status_code == 400:
        assert response.json()["errors"][0]["attr"] == "initiative"
        assert key in response.json()["errors"][0]["detail"]
    assert client.get(f"{API}initiatives/", {"depends_on": key}).status_code == 400
    assert db_state() == before


def test_viewer_list_hides_confidential_keys(portfolio):
    assert keys_of(portfolio.client("viewer").get(f"{API}initiatives/")) == portfolio.keys(
        "chat", "nbo", "triage", "legacy"
    )


def test_revoked_token_user_has_no_access(portfolio):
    token, secret = portfolio.tokens["jira"]
    ApiToken.objects.filter(pk=token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert api_client(token=secret).get(f"{API}initiatives/").status_code == 401
