"""History of everything: every change of the tracked models, through every channel (admin,
API, sync, import, command, bulk writes), recorded by the database's triggers with actor,
time, channel and the fields changed before → after; shown in the API and the admin.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from pghistory.models import Events

from registry.models import (
    Alignment,
    Dependency,
    Goal,
    Initiative,
    Measurement,
    ReviewDecision,
    TeamRole,
    Vision,
)
from registry.services.history import history_context
from registry.sync import upsert as sync
from tests.api.support import API, make_portfolio

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio():
    return make_portfolio()


@pytest.fixture
def pmo(portfolio):
    return portfolio.client("pmo")


def events_of(obj) -> list[Events]:
    """The object's own events, oldest first."""
    return list(
        Events.objects.filter(pgh_obj_model=obj._meta.label, pgh_obj_id=str(obj.pk)).order_by(
            "pgh_created_at", "pgh_id"
        )
    )


def same(recorded: object, sent: object) -> bool:
    """A value as the history stores it (JSON) equals what the client sent."""
    try:
        return Decimal(str(recorded)) == Decimal(str(sent))
    except InvalidOperation:
        return str(recorded) == str(sent)


def described(event: Events) -> tuple[str, str, str]:
    context = event.pgh_context or {}
    return event.pgh_label, context.get("channel", ""), context.get("actor", "")


# --- every model, create / update / delete (or archive), over the API ------------------------

CASES = [
    (
        Vision,
        "visions",
        {
            "title": "Next vision",
            "statement": "Even better.",
            "horizon_start": "2029-01-01",
            "horizon_end": "2030-12-31",
            "status": "draft",
        },
        {"title": "Renamed vision"},
        None,
    ),
    (
        Goal,
        "goals",
        lambda p: {
            "vision": p.vision.pk,
            "code": "G-CSAT",
            "title": "Raise CSAT",
            "metric": "csat",
            "unit": "%",
            "direction": "increase",
            "baseline": "70",
            "baseline_date": "2026-01-01",
            "target": "80",
            "target_date": "2027-01-01",
        },
        {"title": "Raise CSAT a lot"},
        "archive",
    ),
    (
        Measurement,
        "measurements",
        {"goal": "G-NPS", "observed_on": "2026-09-30", "value": "31"},
        {"value": "32"},
        "delete",
    ),
    (
        Initiative,
        "initiatives",
        {"name": "Churn predictor", "kind": "predictive_analytics", "summary": "Who leaves."},
        {"summary": "Who leaves, and why."},
        "archive",
    ),
    (
        Alignment,
        "alignments",
        lambda p: {"initiative": p.key("triage"), "goal": "G-AHT", "strength": 2},
        {"strength": 3},
        "delete",
    ),
    (
        TeamRole,
        "team-roles",
        lambda p: {
            "initiative": p.key("triage"),
            "person": "mark@example.com",
            "role": "consulted",
        },
        {"role": "informed"},
        "delete",
    ),
    (
        Dependency,
        "dependencies",
        lambda p: {"initiative": p.key("legacy"), "depends_on": p.key("triage")},
        {"note": "Needs the routing first."},
        "delete",
    ),
]


@pytest.mark.parametrize(
    ("model", "resource", "create", "update", "removal"),
    CASES,
    ids=lambda c: getattr(c, "__name__", None),
)
def test_api_writes_of_every_model_are_recorded(
    portfolio, pmo, model, resource, create, update, removal
):
    body = create(portfolio) if callable(create) else create
    created = pmo.post(f"{API}{resource}/", body, format="json")
    assert created.status_code == 201, created.content
    obj = model.objects.get(pk=created.json()["id"])
    detail = f"{API}{resource}/{created.json().get('code') or created.json().get('key') or obj.pk}/"
    changed = pmo.patch(detail, update, format="json")
    assert changed.status_code == 200, changed.content
    if removal:
        assert pmo.delete(detail).status_code == 204

    events = events_of(obj)
    labels = [described(e) for e in events]
    assert labels[0] == ("insert", "api", "api-pmo")
    assert labels[1] == ("update", "api", "api-pmo")
    field, value = next(iter(update.items()))
    before, after = events[1].pgh_diff[field]
    assert same(after, value)
    assert not same(before, value)
    assert events[1].pgh_context["request_id"]
    if removal == "delete":
        assert labels[-1] == ("delete", "api", "api-pmo")
    elif removal == "archive":
        assert labels[-1] == ("update", "api", "api-pmo")
        assert events[-1].pgh_diff["archived_at"][0] is None


def test_transition_archive_restore_and_decision_are_recorded(portfolio, pmo):
    key = portfolio.key("triage")
    triage = Initiative.objects.get(key=key)
    pmo.post(f"{API}initiatives/{key}/transition/", {"to": "proposed"}, format="json")
    pmo.delete(f"{API}initiatives/{key}/")
    pmo.post(f"{API}initiatives/{key}/restore/")
    diffs = [e.pgh_diff for e in events_of(triage) if e.pgh_label == "update"]
    assert diffs[0]["stage"] == ["idea", "proposed"]
    assert diffs[1]["archived_at"][0] is None
    assert diffs[1]["archived_at"][1]
    assert diffs[2]["archived_at"][1] is None
    assert [d["version"] for d in diffs] == [[1, 2], [2, 3], [3, 4]]

    review = ReviewDecision.objects.first().review
    decided = pmo.post(
        f"{API}review-decisions/",
        {"review": review.pk, "initiative": portfolio.key("chat"), "decision": "scale"},
        format="json",
    )
    assert decided.status_code in (200, 201), decided.content
    decision = ReviewDecision.objects.get(review=review, initiative__key=portfolio.key("chat"))
    last = events_of(decision)[-1]
    assert described(last)[1:] == ("api", "api-pmo")
    assert last.pgh_diff["decision"] == ["continue", "scale"]


# --- one row per channel ------------------------------------------------------------------------


def test_api_changes_with_a_token_name_the_token(portfolio):
    jira = portfolio.client("integration")
    key = portfolio.key("nbo")
    response = jira.patch(f"{API}initiatives/{key}/", {"summary": "From Jira."}, format="json")
    assert response.status_code == 200
    last = events_of(Initiative.objects.get(key=key))[-1]
    assert described(last) == ("update", "api", "jira-sync")


def test_admin_changes_name_the_user(portfolio):
    pmo_user = portfolio.users["pmo"]
    pmo_user.is_staff = True
    pmo_user.save()
    client = Client()
    client.force_login(pmo_user)
    chat = portfolio.initiatives["chat"]
    response = client.post(
        "/admin/registry/initiative/",
        {"action": "archive_selected", "_selected_action": [chat.pk]},
    )
    assert response.status_code == 302
    moved = client.post(
        f"/admin/registry/initiative/{portfolio.initiatives['triage'].pk}/transition/",
        {"to_stage": "proposed", "note": "", "version": 1},
    )
    assert moved.status_code == 302
    archived = events_of(chat)[-1]
    assert described(archived) == ("update", "admin", "api-pmo")
    assert archived.pgh_diff["archived_at"][0] is None
    moved_event = events_of(portfolio.initiatives["triage"])[-1]
    assert described(moved_event) == ("update", "admin", "api-pmo")
    assert moved_event.pgh_diff["stage"] == ["idea", "proposed"]


def test_sync_changes_name_the_actor(portfolio):
    result = sync.sync_one(
        source="jira",
        external_id="J-1",
        item={"summary": "Synced."},
        actor_name="jira-sync",
    )
    assert result.result == "updated"
    last = events_of(Initiative.objects.get(key=result.key))[-1]
    assert described(last) == ("update", "sync", "jira-sync")
    assert last.pgh_diff["summary"][1] == "Synced."


def test_import_changes_name_the_import(portfolio, tmp_path):
    mapping = tmp_path / "mini.yaml"
    mapping.write_text(
        "name: mini\nsource: mini\nid: ref\nfields:\n  name: title\n  kind: {value: other}\n"
    )
    table = tmp_path / "mini.csv"
    table.write_text("ref,title\nM-1,Imported bot\n")
    out = io.StringIO()
    call_command(
        "import_initiatives",
        str(table),
        "--mapping",
        str(mapping),
        stdout=out,
        stderr=io.StringIO(),
    )
    initiative = Initiative.objects.get(source="mini", external_id="M-1")
    first = events_of(initiative)[0]
    assert described(first) == ("insert", "import", "import:mini")
    assert first.pgh_context["import_file"] == "mini.csv"


def test_command_changes_name_the_command(db):
    call_command("load_demo", stdout=io.StringIO())
    contexts = {
        (e.pgh_context or {}).get("channel") for e in Events.objects.filter(pgh_label="insert")
    }
    assert contexts == {"command"}
    actors = {(e.pgh_context or {}).get("actor") for e in Events.objects.all()[:50]}
    assert all(actors)


def test_bulk_update_records_one_row_per_changed_row(portfolio):
    rows = Initiative.objects.filter(source="jira")
    assert rows.count() == 2
    before = Events.objects.count()
    with history_context(channel="command", actor="risk-review-script"):
        rows.update(risk_tier="high", updated_at=timezone.now())
    bulk = list(Events.objects.order_by("-pgh_id")[: Events.objects.count() - before])
    assert {e.pgh_obj_id for e in bulk} == {str(pk) for pk in rows.values_list("pk", flat=True)}
    assert {described(e) for e in bulk} == {("update", "command", "risk-review-script")}
    nbo = next(e for e in bulk if e.pgh_obj_id == str(portfolio.initiatives["nbo"].pk))
    assert "risk_tier" not in nbo.pgh_diff  # it already was high
    triage = next(e for e in bulk if e.pgh_obj_id == str(portfolio.initiatives["triage"].pk))
    assert triage.pgh_diff["risk_tier"] == ["minimal", "high"]


def test_writes_outside_any_context_are_still_recorded(portfolio):
    chat = portfolio.initiatives["chat"]
    Initiative.objects.filter(pk=chat.pk).update(learnings="Learned in a shell.")
    last = events_of(chat)[-1]
    assert last.pgh_label == "update"
    assert last.pgh_diff["learnings"] == ["", "Learned in a shell."]
    assert last.pgh_context is None  # no actor known: shown as such, never lost


def test_hard_delete_in_the_admin_is_recorded_with_its_parts(portfolio):
    root = get_user_model().objects.create(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(root)
    chat = portfolio.initiatives["chat"]
    ReviewDecision.objects.filter(initiative=chat).delete()  # decisions protect initiatives
    alignment = Alignment.objects.get(initiative=chat)
    role = TeamRole.objects.get(initiative=chat)
    page = client.get(f"/admin/registry/initiative/{chat.pk}/delete/")
    assert page.status_code == 200  # the stage journal goes with the initiative
    response = client.post(f"/admin/registry/initiative/{chat.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content
    assert not Initiative.objects.filter(pk=chat.pk).exists()
    for obj in (chat, alignment, role):
        deleted = events_of(obj)[-1]
        assert described(deleted) == ("delete", "admin", "root"), obj
    assert events_of(chat)[-1].pgh_data["key"] == chat.key


def test_only_superusers_hard_delete(portfolio):
    user = portfolio.users["pmo"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    chat = portfolio.initiatives["chat"]
    assert (
        client.post(f"/admin/registry/initiative/{chat.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Initiative.objects.filter(pk=chat.pk).exists()


# --- where history is shown ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_changes_feed_filters_by_type_actor_channel_and_since():
    # Own transactions per request: an event's time is its transaction's start.
    portfolio = make_portfolio()
    pmo, jira = portfolio.client("pmo"), portfolio.client("integration")
    start = timezone.now()
    jira.patch(f"{API}initiatives/{portfolio.key('nbo')}/", {"summary": "x"}, format="json")
    pmo.patch(f"{API}goals/G-NPS/", {"title": "NPS up"}, format="json")
    feed = f"{API}changes/"
    by_token = pmo.get(feed, {"actor": "jira-sync"}).json()["results"]
    assert [(r["object_type"], r["actor"], r["channel"]) for r in by_token] == [
        ("initiative", "jira-sync", "api")
    ]
    goals = pmo.get(feed, {"object_type": "goal", "channel": "api"}).json()["results"]
    assert [(r["object_type"], r["diff"]["title"][1]) for r in goals] == [("goal", "NPS up")]
    recent = pmo.get(feed, {"since": start.isoformat(), "page_size": 100}).json()["results"]
    assert {r["actor"] for r in recent} == {"jira-sync", "api-pmo"}
    assert pmo.get(feed, {"channel": "sync"}).json()["results"] == []


def test_initiative_history_endpoint_shows_every_channel(portfolio, pmo):
    key = portfolio.key("nbo")
    sync.sync_one(source="jira", external_id="J-1", item={"summary": "Synced."}, actor_name="jira")
    pmo.patch(f"{API}initiatives/{key}/", {"learnings": "Edited."}, format="json")
    rows = pmo.get(f"{API}initiatives/{key}/history/").json()["results"]
    initiative_rows = [r for r in rows if r["object_type"] == "initiative"]
    assert [(r["label"], r["channel"], r["actor"]) for r in initiative_rows[:2]] == [
        ("update", "api", "api-pmo"),
        ("update", "sync", "jira"),
    ]
    assert initiative_rows[0]["diff"]["learnings"] == ["", "Edited."]
    assert {r["object_type"] for r in rows} >= {"initiative", "alignment"}


def test_admin_history_button_opens_the_complete_history_for_the_pmo(portfolio):
    pmo_user = portfolio.users["pmo"]
    pmo_user.is_staff = True
    pmo_user.save()
    client = Client()
    client.force_login(pmo_user)
    chat = portfolio.initiatives["chat"]
    portfolio.client("integration")  # a token change shows up with its name
    sync.sync_one(source="jira", external_id="J-1", item={"summary": "Synced."}, actor_name="jira")
    Initiative.objects.filter(pk=chat.pk).update(learnings="Bulk.")
    response = client.get(f"/admin/registry/initiative/{chat.pk}/history/")
    assert response.status_code == 302
    assert "/admin/pghistory/events/" in response["Location"]
    assert f"registry.Initiative%3A{chat.pk}" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "learnings" in html  # the bulk change, before → after
    assert "registry.Alignment" in html  # the parts are part of the history
    goal = Goal.objects.get(code="G-NPS")
    assert client.get(f"/admin/registry/goal/{goal.pk}/history/").status_code == 302


def test_the_event_browser_is_the_pmos(portfolio):
    viewer = portfolio.users["viewer"]
    viewer.is_staff = True
    viewer.save()
    client = Client()
    client.force_login(viewer)
    chat = portfolio.initiatives["chat"]
    assert client.get("/admin/pghistory/events/").status_code == 403
    own_history = client.get(f"/admin/registry/initiative/{chat.pk}/history/")
    assert own_history.status_code == 200  # Django's own admin log, no confidential events
