"""Object-level authorization (OWASP API1/API3/API5) over every operation of the OpenAPI schema.

Complements the role × endpoint matrix of test_api_access.py (which pins the successes):

- every operation the schema lists, read or write, refuses an anonymous caller (401) and a
  login without a role (403) — generated from the schema, so a new endpoint is covered the
  moment it is published;
- every write operation refuses a viewer (403), and every write outside the initiatives
  refuses a contributor and an integration (403) — saved views, personal by design, aside;
- a contributor on another's initiative, an integration on another source, a viewer on
  anything: every initiative-scoped write is 403 and changes nothing;
- anyone outside the PMO and the team on a confidential initiative: 404 wherever it is
  addressed in the URL, the same 400 as for a key that does not exist where it is named in a
  body (no existence oracle), and absent from every list, report, CSV and count;
- mass assignment: key, version, stage, created/updated, archived_at and the like in a body
  change nothing; a contributor cannot hand an initiative to an owner or lead department
  outside their own department (that is the PMO's call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from django.urls import resolve

from registry import models
from registry.services.saved_views import SavedView
from registry.services.webhooks import WebhookSubscription, webhook_subscription_create
from tests.api.support import API, Portfolio, make_portfolio
from tests.api.test_access import STATE_MODELS

Body = Callable[[Portfolio, str], Any]
WRITE_METHODS = ("post", "put", "patch", "delete")


def db_state() -> list[list[dict]]:
    models_ = (*STATE_MODELS, SavedView, WebhookSubscription)
    return [list(model.objects.order_by("pk").values()) for model in models_]


@cache
def schema_operations() -> tuple[tuple[str, str, str], ...]:
    """(method, path template, view name) of every operation in the published schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        view_name = resolve(re.sub(r"\{[^}]+\}", "X", path)).view_name
        for method in item:
            if method in ("get", *WRITE_METHODS):
                operations.append((method, path, view_name))
    return tuple(sorted(operations))


def make_object_portfolio() -> Portfolio:
    """test_api_access's portfolio, plus one row of every initiative part on the initiatives
    the scenarios aim at (Mark's jira initiative, Carol's manual one, the confidential one),
    a saved view of the PMO's and a webhook.
    """
    p = make_portfolio()
    chat, nbo, secret = (p.initiatives[name] for name in ("chat", "nbo", "secret"))
    legacy, triage = p.initiatives["legacy"], p.initiatives["triage"]
    models.TeamRole.objects.create(initiative=nbo, person=p.people["ivy"], role="consulted")
    models.Dependency.objects.create(from_initiative=nbo, to_initiative=legacy)
    models.Dependency.objects.create(from_initiative=chat, to_initiative=legacy)
    models.Dependency.objects.create(from_initiative=secret, to_initiative=legacy)
    models.Dependency.objects.create(from_initiative=triage, to_initiative=nbo)
    models.Note.objects.create(initiative=nbo, author=p.users["pmo"], text="Nbo note.")
    # A learning on the billing pilot, and the confidential voicebot's voice review and
    # learning (a pilot on the phone), which outsiders must never meet.
    models.Initiative.objects.filter(pk=secret.pk).update(stage="pilot", touchpoints=["phone"])
    learned = ((chat, "Instant answers work."), (nbo, "Offers fit."), (secret, "Secret lesson."))
    for initiative, lesson in learned:
        models.Learning.objects.create(
            initiative=initiative,
            hypothesis="Customers prefer the phone bot.",
            outcome="refuted",
            lesson=lesson,
        )
    models.VoiceReview.objects.create(initiative=secret, outcome="failed", note="Secret review.")
    models.ProactiveStance.objects.create(
        vision=p.vision, touchpoint="phone", stance="reactive", rationale="Calls are answered."
    )
    SavedView.objects.create(name="PMO shared", owner=p.users["pmo"], shared=True)
    SavedView.objects.create(name="PMO private", owner=p.users["pmo"], shared=False)
    webhook_subscription_create(
        name="hook", url="https://hooks.example.com/registry", events=["initiative.updated"]
    )
    return p


@pytest.fixture
def portfolio(db) -> Portfolio:
    return make_object_portfolio()


# --- filling a path template with a real object --------------------------------------------


def part_id(model: type, target: str) -> Callable[[Portfolio], int]:
    def pick(p: Portfolio) -> int:
        field = "from_initiative" if model is models.Dependency else "initiative"
        return model.objects.filter(**{field: p.initiatives[target]}).order_by("pk")[0].pk

    return pick


ID_OF: dict[str, Callable[[Portfolio], Any]] = {
    "alignment": part_id(models.Alignment, "chat"),
    "teamrole": part_id(models.TeamRole, "chat"),
    "dependency": part_id(models.Dependency, "chat"),
    "note": part_id(models.Note, "chat"),
    "stagechange": part_id(models.StageChange, "chat"),
    "reviewdecision": part_id(models.ReviewDecision, "chat"),
    "learning": part_id(models.Learning, "chat"),
    "measurement": lambda p: models.Measurement.objects.order_by("pk")[0].pk,
    "person": lambda p: p.people["mark"].pk,
    "vision": lambda p: p.vision.pk,
    "proactivestance": lambda p: models.ProactiveStance.objects.get().pk,
    "review": lambda p: models.Review.objects.order_by("pk")[0].pk,
    "savedview": lambda p: SavedView.objects.get(name="PMO shared").pk,
    "webhook": lambda p: WebhookSubscription.objects.get().pk,
}
PARAMS: dict[str, Callable[[Portfolio, str], Any]] = {
    "key": lambda p, basename: p.key("chat"),
    "code": lambda p, basename: "G-NPS",
    "slug": lambda p, basename: "service" if basename == "department" else "crm",
    "name": lambda p, basename: "gdpr",
    "source": lambda p, basename: "jira",
    "external_id": lambda p, basename: "J-1",
    "id": lambda p, basename: ID_OF[basename](p),
}


def concrete_url(p: Portfolio, path: str, view_name: str) -> str:
    match = resolve(re.sub(r"\{[^}]+\}", "X", path))
    basename = (getattr(match.func, "initkwargs", None) or {}).get("basename", "initiative")
    return re.sub(r"\{(\w+)\}", lambda m: str(PARAMS[m[1]](p, basename)), path)


def call(p: Portfolio, role: str, method: str, url: str, body: Any = None) -> Any:
    client = p.client(role)
    if method in ("get", "delete") and body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


def assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert {"type", "errors"} <= set(body)


# --- every operation of the schema: no role, no access -------------------------------------


def test_the_schema_publishes_every_resource_checked_here():
    names = {view for _method, _path, view in schema_operations()}
    assert {
        "api:initiative-sync",
        "api:initiative-sync-batch",
        "api:report-portfolio",
        "api:webhook-list",
    } <= names
    assert len(schema_operations()) >= 90


@pytest.mark.parametrize("role", ["anonymous", "norole"])
def test_every_operation_refuses_callers_without_a_role(portfolio, role):
    before = db_state()
    refused = 0
    for method, path, view_name in schema_operations():
        response = call(portfolio, role, method, concrete_url(portfolio, path, view_name), {})
        expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (method, path, response.content[:300])
        if role == "anonymous":
            assert response["WWW-Authenticate"].startswith("Token")
        refused += 1
    assert db_state() == before
    assert refused == len(schema_operations())


# Writes a role may make somewhere (decided per object, or its own saved views); every other
# write operation is refused to the role outright.
INITIATIVE_SCOPED = {
    "api:initiative-detail",
    "api:initiative-transition",
    "api:initiative-restore",
    "api:alignment-list",
    "api:alignment-detail",
    "api:teamrole-list",
    "api:teamrole-detail",
    "api:dependency-list",
    "api:dependency-detail",
    "api:note-list",
    "api:note-detail",
    "api:initiative-sync",
    "api:initiative-sync-batch",
    # Learnings follow their initiative; voice reviews are the PMO's (refused to all others).
    "api:learning-list",
    "api:learning-detail",
}
PERSONAL = {"api:savedview-list"}
# Anyone with a role proposes an idea of their own (tests/services/test_intake.py).
PROPOSE = {"api:initiative-list"}
# A body that passes validation, for operations that check the object after reading it.
VALID_BODIES: dict[str, dict] = {
    "api:savedview-list": {"name": "Integration view", "query": ""},
    "api:initiative-transition": {"to": "paused", "note": "Taken over."},
}  # every role with a login keeps saved views of its own
ALLOWED_SOMEWHERE = {
    "viewer": PERSONAL | PROPOSE,
    "contributor": INITIATIVE_SCOPED | PERSONAL | PROPOSE,
    # An integration imports into its own source (tests/api/test_imports_api.py).
    "integration": INITIATIVE_SCOPED | {"api:initiative-list", "api:import"},
}


@pytest.mark.parametrize("role", ["viewer", "contributor", "integration"])
def test_every_write_outside_a_roles_reach_is_403(portfolio, role):
    """Reference data, reviews, webhooks, tokens: the PMO's. Generated from the schema."""
    before = db_state()
    checked = []
    for method, path, view_name in schema_operations():
        if method not in WRITE_METHODS or view_name in ALLOWED_SOMEWHERE[role]:
            continue
        if view_name == "api:savedview-detail":
            continue  # the owner's: see test_saved_views_of_others
        body = VALID_BODIES.get(view_name, {})
        response = call(portfolio, role, method, concrete_url(portfolio, path, view_name), body)
        assert_refused(response, 403)
        checked.append((method, path))
    assert checked
    assert db_state() == before


def test_saved_views_of_others(portfolio):
    shared = SavedView.objects.get(name="PMO shared")
    private = SavedView.objects.get(name="PMO private")
    before = db_state()
    for role in ("viewer", "contributor"):
        client = portfolio.client(role)
        for method in ("patch", "put", "delete"):
            body = {"name": "mine now", "query": ""}
            assert_refused(
                call(portfolio, role, method, f"{API}saved-views/{shared.pk}/", body), 403
            )
            assert_refused(
                call(portfolio, role, method, f"{API}saved-views/{private.pk}/", body), 404
            )
        listed = client.get(f"{API}saved-views/", {"page_size": 100}).content.decode()
        assert "PMO private" not in listed
    assert db_state() == before


# --- initiative-scoped writes: the four scenarios -------------------------------------------


@dataclass(frozen=True)
class Write:
    name: str
    method: str
    url: Callable[[Portfolio, str], str]
    body: Body | None = None
    by_reference: bool = False  # the target initiative is named in the body, not the URL

    def __str__(self) -> str:
        return self.name


def detail(resource: str, model: type) -> Callable[[Portfolio, str], str]:
    return lambda p, t: f"{API}{resource}/{part_id(model, t)(p)}/"


def initiative_url(suffix: str = "") -> Callable[[Portfolio, str], str]:
    return lambda p, t: f"{API}initiatives/{p.key(t)}/{suffix}"


def goal_of(p: Portfolio, target: str) -> str:
    return p.initiatives[target].alignments.order_by("pk")[0].goal.code


def other_goal(p: Portfolio, target: str) -> str:
    """A goal of the active vision the target is not aligned to yet."""
    return "G-NPS" if goal_of(p, target) != "G-NPS" else "G-AHT"


INITIATIVE_WRITES = [
    Write("edit", "patch", initiative_url(), lambda p, t: {"summary": "Taken over."}),
    Write("replace", "put", initiative_url(), lambda p, t: {"name": "Mine", "kind": "chatbot"}),
    Write("archive", "delete", initiative_url()),
    Write(
        "transition",
        "post",
        initiative_url("transition/"),
        lambda p, t: {"to": "paused", "note": "Taken over."},
    ),
    Write("restore", "post", initiative_url("restore/")),
    Write(
        "align",
        "post",
        lambda p, t: f"{API}alignments/",
        lambda p, t: {"initiative": p.key(t), "goal": other_goal(p, t), "strength": 2},
        by_reference=True,
    ),
    Write(
        "edit alignment",
        "patch",
        detail("alignments", models.Alignment),
        lambda p, t: {"strength": 1},
    ),
    Write(
        "replace alignment",
        "put",
        detail("alignments", models.Alignment),
        lambda p, t: {"initiative": p.key(t), "goal": goal_of(p, t), "strength": 1},
    ),
    Write("remove alignment", "delete", detail("alignments", models.Alignment)),
    Write(
        "staff",
        "post",
        lambda p, t: f"{API}team-roles/",
        lambda p, t: {"initiative": p.key(t), "person": "ivy@example.com", "role": "engineer"},
        by_reference=True,
    ),
    Write(
        "edit team role",
        "patch",
        detail("team-roles", models.TeamRole),
        lambda p, t: {"role": "accountable"},
    ),
    Write(
        "replace team role",
        "put",
        detail("team-roles", models.TeamRole),
        lambda p, t: {"initiative": p.key(t), "person": "carol@example.com", "role": "accountable"},
    ),
    Write("remove team role", "delete", detail("team-roles", models.TeamRole)),
    Write(
        "add dependency",
        "post",
        lambda p, t: f"{API}dependencies/",
        lambda p, t: {"initiative": p.key(t), "depends_on": p.key("triage")},
        by_reference=True,
    ),
    Write(
        "edit dependency",
        "patch",
        detail("dependencies", models.Dependency),
        lambda p, t: {"note": "Taken over."},
    ),
    Write(
        "replace dependency",
        "put",
        detail("dependencies", models.Dependency),
        lambda p, t: {"initiative": p.key(t), "depends_on": p.key("triage")},
    ),
    Write("remove dependency", "delete", detail("dependencies", models.Dependency)),
    Write(
        "write a note",
        "post",
        lambda p, t: f"{API}notes/",
        lambda p, t: {"initiative": p.key(t), "kind": "decision", "text": "Taken over."},
        by_reference=True,
    ),
    Write("edit a note", "patch", detail("notes", models.Note), lambda p, t: {"text": "Edited."}),
    Write(
        "replace a note",
        "put",
        detail("notes", models.Note),
        lambda p, t: {"initiative": p.key(t), "text": "Replaced."},
    ),
    Write("delete a note", "delete", detail("notes", models.Note)),
    Write(
        "record a learning",
        "post",
        lambda p, t: f"{API}learnings/",
        lambda p, t: {
            "initiative": p.key(t),
            "hypothesis": "H",
            "outcome": "refuted",
            "lesson": "L",
        },
        by_reference=True,
    ),
    Write(
        "edit a learning",
        "patch",
        detail("learnings", models.Learning),
        lambda p, t: {"lesson": "Edited."},
    ),
    Write(
        "replace a learning",
        "put",
        detail("learnings", models.Learning),
        lambda p, t: {
            "initiative": p.key(t),
            "hypothesis": "H",
            "outcome": "refuted",
            "lesson": "L",
        },
    ),
]
# (role, target initiative): a contributor on Mark's jira initiative, the jira integration on
# Carol's manual one, a viewer on Carol's.
FOREIGN = [("contributor", "nbo"), ("integration", "chat"), ("viewer", "chat")]


def test_initiative_writes_cover_every_initiative_scoped_operation(portfolio):
    covered = {("post", "api:initiative-sync"), ("put", "api:initiative-sync")}
    covered |= {("post", "api:initiative-sync-batch")}
    for write in INITIATIVE_WRITES:
        covered.add((write.method, resolve(write.url(portfolio, "chat")).view_name))
    wanted = {
        (method, view)
        for method, _path, view in schema_operations()
        if view in INITIATIVE_SCOPED and method in WRITE_METHODS
    }
    assert wanted <= covered, wanted - covered


@pytest.mark.parametrize(("role", "target"), FOREIGN, ids=lambda v: str(v))
@pytest.mark.parametrize("write", INITIATIVE_WRITES, ids=str)
def test_foreign_initiative_writes_are_403(portfolio, write, role, target):
    if write.name == "restore":
        target = "archived"  # Mark's manual initiative, archived: neither role's to restore
        models.Initiative.objects.filter(pk=portfolio.initiatives["archived"].pk).update(source="")
    before = db_state()
    body = write.body(portfolio, target) if write.body else None
    response = call(portfolio, role, write.method, write.url(portfolio, target), body)
    assert_refused(response, 403)
    assert db_state() == before


@pytest.mark.parametrize(
    ("role", "url", "body"),
    [
        ("contributor", "initiatives/sync/jira/J-1/", {"summary": "x"}),
        ("viewer", "initiatives/sync/jira/J-1/", {"summary": "x"}),
        ("integration", "initiatives/sync/servicenow/SN-1/", {"name": "x", "kind": "chatbot"}),
        ("integration", "initiatives/sync/%20/J-1/", {"summary": "x"}),
    ],
)
def test_sync_of_another_source_is_403(portfolio, role, url, body):
    before = db_state()
    assert_refused(call(portfolio, role, "put", API + url, body), 403)
    batch = {"source": url.split("/")[2], "items": [{"external_id": "X-1", **body}]}
    if batch["source"] == "jira" or role == "integration":
        assert_refused(call(portfolio, role, "post", f"{API}initiatives/sync/", batch), 403)
    assert db_state() == before


def test_an_integration_cannot_move_an_initiative_to_another_source(portfolio):
    before = db_state()
    response = call(
        portfolio,
        "integration",
        "patch",
        f"{API}initiatives/{portfolio.key('nbo')}/",
        {"source": "servicenow"},
    )
    assert_refused(response, 403)
    assert db_state() == before


# --- confidential initiatives ------------------------------------------------------------------

OUTSIDERS = ("viewer", "contributor", "integration")
CONFIDENTIAL_PARTS = [
    ("alignments", models.Alignment),
    ("team-roles", models.TeamRole),
    ("dependencies", models.Dependency),
    ("notes", models.Note),
    ("stage-changes", models.StageChange),
    ("review-decisions", models.ReviewDecision),
    ("learnings", models.Learning),
]


def confidential_reads(p: Portfolio) -> list[str]:
    key = p.key("secret")
    return [
        f"{API}initiatives/{key}/",
        f"{API}initiatives/{key}/history/",
        *(
            f"{API}{resource}/{part_id(model, 'secret')(p)}/"
            for resource, model in CONFIDENTIAL_PARTS
        ),
    ]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_confidential_initiative_is_404_wherever_the_url_names_it(portfolio, role):
    before = db_state()
    for url in confidential_reads(portfolio):
        assert_refused(call(portfolio, role, "get", url), 404)
    for write in INITIATIVE_WRITES:
        if write.by_reference:
            continue
        body = write.body(portfolio, "secret") if write.body else None
        url = write.url(portfolio, "secret")
        response = call(portfolio, role, write.method, url, body)
        if role == "viewer" and not url.startswith(f"{API}initiatives/"):
            # A viewer changes no part of any initiative: 403 before any lookup, whatever id.
            assert_refused(response, 403)
        else:
            assert_refused(response, 404)
    assert db_state() == before
    # the insiders do see it
    for insider in ("pmo", "teamie"):
        for url in confidential_reads(portfolio)[:2]:
            assert call(portfolio, insider, "get", url).status_code == 200


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("write", [w for w in INITIATIVE_WRITES if w.by_reference], ids=str)
def test_naming_a_confidential_initiative_in_a_body_reads_as_unknown(portfolio, write, role):
    """The same 400 as for a key that does not exist: the answer leaks no existence."""
    before = db_state()
    secret_key = portfolio.key("secret")
    body = write.body(portfolio, "secret")
    missing = {k: ("AI-9999" if v == secret_key else v) for k, v in body.items()}
    response = call(portfolio, role, write.method, write.url(portfolio, "secret"), body)
    unknown = call(portfolio, role, write.method, write.url(portfolio, "secret"), missing)
    expected = 403 if role == "viewer" else 400  # a viewer is refused before validation
    assert response.status_code == unknown.status_code == expected, response.content[:300]
    errors = response.json()["errors"]
    if expected == 400:
        assert errors[0]["attr"] == "initiative"
    assert (
        errors[0]["detail"].replace(secret_key, "AI-9999")
        == (unknown.json()["errors"][0]["detail"])
    )
    assert db_state() == before


SECRET_MARKERS = (
    "Secret voicebot",
    "A confidential voicebot",
    "Secret note.",
    "Secret lesson.",
    "Secret review.",
)
# Lists that need a subject: asked about one that matches the confidential voicebot.
LIST_PARAMS = {f"{API}learnings/similar/": {"text": "phone bot customers", "kind": "voicebot"}}


@pytest.mark.parametrize("role", OUTSIDERS)
def test_no_confidential_row_in_any_list_report_or_csv(portfolio, role):
    """Every list operation of the schema (JSON and, where offered, CSV) and every report."""
    secret_key = portfolio.key("secret")
    checked = 0
    for method, path, _view in schema_operations():
        if method != "get" or "{" in path:
            continue
        for params in ({"page_size": 500}, {"format": "csv"}):
            params = {**params, **LIST_PARAMS.get(path, {})}
            response = portfolio.client(role).get(path, params)
            if params.get("format") == "csv" and response.status_code in (404, 406):
                continue  # no CSV for this resource
            if path == f"{API}webhooks/":
                assert response.status_code == 403  # the PMO's alone
                continue
            assert response.status_code == 200, (path, params, response.content[:300])
            text = response.content.decode()
            assert secret_key not in text, (path, params)
            assert not any(marker in text for marker in SECRET_MARKERS), (path, params)
            checked += 1
    assert checked >= 20


def test_counts_and_sums_leave_the_confidential_initiative_out(portfolio):
    def totals(role: str) -> dict:
        return portfolio.client(role).get(f"{API}reports/portfolio/").json()["totals"]

    def listed(role: str) -> int:
        return portfolio.client(role).get(f"{API}initiatives/").json()["count"]

    pmo = totals("pmo")
    for role in OUTSIDERS:
        outsider = totals(role)
        assert outsider["count"] == pmo["count"] - 1, role
        assert listed(role) == listed("pmo") - 1, role
        budget_pmo = float(pmo["budget_planned"])
        assert float(outsider["budget_planned"]) == budget_pmo - 70000, role


# --- mass assignment ------------------------------------------------------------------------

SERVER_MANAGED = {
    "id": 999999,
    "key": "AI-9999",
    "version": 999,
    "stage": "production",
    "paused_from": "pilot",
    "archived_at": "2020-01-01T00:00:00Z",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "created_by": "api-pmo",
    "updated_by": "api-pmo",
    "alignment_level": "strong",
    "gate_gaps": [],
    "is_silo": False,
}
KEPT = ("id", "key", "stage", "paused_from", "archived_at", "created_at", "created_by_id")


@pytest.mark.parametrize(
    ("role", "target"), [("pmo", "chat"), ("contributor", "chat"), ("integration", "nbo")]
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_server_managed_fields_in_a_body_change_nothing(portfolio, role, target, method):
    initiative = portfolio.initiatives[target]
    before = models.Initiative.objects.filter(pk=initiative.pk).values(*KEPT, "version").get()
    body = {**SERVER_MANAGED, "summary": "Mass assignment attempt."}
    if method == "put":
        body |= {"name": initiative.name, "kind": initiative.kind}
    response = call(portfolio, role, method, f"{API}initiatives/{initiative.key}/", body)
    assert response.status_code == 200, response.content[:400]
    after = models.Initiative.objects.filter(pk=initiative.pk).values(*KEPT, "version").get()
    assert {k: after[k] for k in KEPT} == {k: before[k] for k in KEPT}
    assert after["version"] == before["version"] + 1  # this write's own bump, not 999
    assert response.json()["key"] == initiative.key
    assert models.Initiative.objects.filter(key="AI-9999").count() == 0


def test_create_ignores_server_managed_fields(portfolio):
    body = {**SERVER_MANAGED, "name": "Fresh", "kind": "chatbot"}
    response = call(portfolio, "pmo", "post", f"{API}initiatives/", body)
    assert response.status_code == 201, response.content[:400]
    created = models.Initiative.objects.get(name="Fresh")
    assert created.key != "AI-9999"
    assert (created.version, created.stage, created.archived_at) == (1, "idea", None)
    assert created.created_by == portfolio.users["pmo"]
    assert created.created_at.year >= 2026


def test_sync_refuses_server_managed_fields(portfolio):
    """A sync item naming key, version or archived_at is refused whole (unknown fields)."""
    before = db_state()
    body = {"name": "Bot", "kind": "chatbot", "key": "AI-9999", "version": 9, "archived_at": None}
    response = call(portfolio, "integration", "put", f"{API}initiatives/sync/jira/J-77/", body)
    assert_refused(response, 400)
    assert {"key", "version", "archived_at"} <= {e["attr"] for e in response.json()["errors"]}
    assert db_state() == before


@pytest.mark.parametrize(
    ("resource", "body", "kept"),
    [
        ("notes", {"author": "api-pmo", "text": "Mine."}, {"author_id": "contributor"}),
        ("alignments", {"version": 99, "strength": 1}, {"version": 2}),
    ],
)
def test_part_server_fields_change_nothing(portfolio, resource, body, kept):
    if resource == "notes":
        row = models.Note.objects.create(
            initiative=portfolio.initiatives["chat"],
            author=portfolio.users["contributor"],
            text="Carol's.",
        )
    else:
        row = portfolio.initiatives["chat"].alignments.get()
    response = call(portfolio, "contributor", "patch", f"{API}{resource}/{row.pk}/", body)
    assert response.status_code == 200, response.content[:300]
    row.refresh_from_db()
    for field, value in kept.items():
        expected = portfolio.users[value].pk if field == "author_id" else value
        assert getattr(row, field) == expected


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        ({"owner": "tim@example.com"}, True),  # a colleague of Carol's department (service)
        ({"owner": "mark@example.com"}, False),  # marketing
        ({"owner": "ivy@example.com"}, False),  # IT
        ({"lead_department": "marketing"}, False),
        ({"lead_department": "service"}, True),  # unchanged
        ({"departments": ["marketing", "it"]}, True),  # participating departments: open
    ],
    ids=str,
)
def test_a_contributor_hands_over_only_within_their_department(portfolio, change, allowed):
    """Owner "of another department": a contributor may not make someone outside their own
    department the owner, nor another department the lead — the PMO may.
    """
    key = portfolio.key("chat")
    before = db_state()
    response = call(portfolio, "contributor", "patch", f"{API}initiatives/{key}/", change)
    if allowed:
        assert response.status_code == 200, response.content[:300]
    else:
        assert_refused(response, 403)
        assert db_state() == before
        pmo = call(portfolio, "pmo", "patch", f"{API}initiatives/{key}/", change)
        assert pmo.status_code == 200, pmo.content[:300]
