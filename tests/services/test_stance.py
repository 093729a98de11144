"""The proactive stance through every surface: written by the PMO only (API, admin inline),
with history; and its lifecycle gate — contradicting customer-facing work needs a note to go
past proposed — enforced alike by the lifecycle service, the admin's move, the API and sync.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry import choices, permissions
from registry.models import Initiative, ProactiveStance, StageChange
from registry.services import lifecycle
from registry.services.errors import ForbiddenError, InvalidError
from registry.services.strategy import stance_save
from registry.sync import upsert as sync
from tests import factories
from tests.admin.test_admin import form_data, login, messages_of
from tests.api.support import API, api_client, error_attrs, make_user

REASON = "Customers said unsolicited messages feel intrusive."


@pytest.fixture
def world(db):
    vision = factories.VisionFactory()
    service = factories.DepartmentFactory(slug="service", name="Service")
    owner = factories.PersonFactory(email="ana@example.com", department=service)
    goal = factories.GoalFactory(vision=vision, code="G-NPS")
    ProactiveStance.objects.create(
        vision=vision,
        touchpoint=choices.Touchpoint.EMAIL,
        stance=choices.Stance.REACTIVE,
        rationale=REASON,
    )
    return {"vision": vision, "owner": owner, "goal": goal, "service": service}


def proposed(world, **fields) -> Initiative:
    values = {
        "stage": choices.Stage.PROPOSED,
        "owner": world["owner"],
        "touchpoints": [choices.Touchpoint.EMAIL],
        "journey_stages": [choices.JourneyStage.RENEWAL],
        "interaction_mode": choices.InteractionMode.PROACTIVE,
        "customer_facing": True,
        **fields,
    }
    initiative = factories.InitiativeFactory(**values)
    factories.AlignmentFactory(initiative=initiative, goal=world["goal"], is_primary=True)
    return initiative


# --- the gate, surface by surface -------------------------------------------------------------


def test_service_refuses_without_a_note_and_records_the_exception_with_one(world):
    initiative = proposed(world)
    with pytest.raises(lifecycle.TransitionError) as refused:
        lifecycle.initiative_transition(initiative=initiative, to_stage="approved")
    assert refused.value.missing == ("stance_exception",)
    change = lifecycle.initiative_transition(
        initiative=initiative, to_stage="approved", note="Opt-in only."
    )
    assert change.stance_exception is True


@pytest.mark.parametrize(
    "fields",
    [
        {"interaction_mode": choices.InteractionMode.REACTIVE},
        {"customer_facing": False},
        {"touchpoints": [choices.Touchpoint.CHAT]},
    ],
    ids=["reactive", "internal", "other-touchpoint"],
)
def test_work_in_line_with_the_stance_needs_no_note(world, fields):
    initiative = proposed(world, **fields)
    change = lifecycle.initiative_transition(initiative=initiative, to_stage="approved")
    assert change.stance_exception is False


def test_a_retired_visions_stance_no_longer_gates(world):
    world["vision"].status = choices.VisionStatus.RETIRED
    world["vision"].save()
    factories.VisionFactory()  # the new active vision has no stance
    initiative = proposed(world)
    assert lifecycle.active_stance_conflicts(initiative) == []


def test_admin_move_is_refused_without_a_note(world):
    initiative = proposed(world)
    client = login(factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True))
    url = reverse("admin:registry_initiative_transition", args=[initiative.pk])

    refused = client.post(url, {"to_stage": "approved", "note": ""})

    initiative.refresh_from_db()
    assert initiative.stage == choices.Stage.PROPOSED
    assert any("justifying the exception" in message for message in messages_of(refused))

    client.post(url, {"to_stage": "approved", "note": "Opt-in only."})

    initiative.refresh_from_db()
    assert initiative.stage == choices.Stage.APPROVED
    assert StageChange.objects.get(initiative=initiative, to_stage="approved").stance_exception


def test_sync_is_refused_without_a_note(world):
    def body(**fields):
        return {
            "name": "Renewal nudges",
            "kind": "personalization",
            "summary": "Reminds customers before renewal.",
            "owner": "ana@example.com",
            "touchpoints": ["email"],
            "journey_stages": ["renewal"],
            "interaction_mode": "proactive",
            "customer_facing": True,
            **fields,
        }

    sync.sync_one(source="jira", external_id="J-1", item=body(stage="proposed"))
    alignments = [{"goal": "G-NPS", "strength": "strong"}]
    refused = sync.sync_one(
        source="jira",
        external_id="J-1",
        item={"stage": "approved", "alignments": alignments},
    )
    assert refused.result == "error"
    assert refused.errors[0].code == "gate_not_met"
    assert "justifying the exception" in refused.errors[0].detail
    assert Initiative.objects.get().stage == choices.Stage.PROPOSED

    # Switching to reactive in the same item keeps to the stance: no note needed.
    reactive = sync.sync_one(
        source="jira",
        external_id="J-1",
        item={"stage": "approved", "alignments": alignments, "interaction_mode": "reactive"},
    )
    assert reactive.result == "updated", reactive.errors
    assert not StageChange.objects.filter(stance_exception=True).exists()


def test_sync_records_the_justified_exception(world):
    sync.sync_one(
        source="jira",
        external_id="J-2",
        item={
            "name": "Renewal nudges",
            "kind": "personalization",
            "summary": "Reminds customers before renewal.",
            "owner": "ana@example.com",
            "touchpoints": ["email"],
            "interaction_mode": "proactive",
            "customer_facing": True,
            "stage": "proposed",
        },
    )
    moved = sync.sync_one(
        source="jira",
        external_id="J-2",
        item={
            "stage": "approved",
            "note": "Opt-in customers only.",
            "alignments": [{"goal": "G-NPS", "strength": "strong"}],
        },
    )
    assert moved.result == "updated", moved.errors
    change = StageChange.objects.get(to_stage="approved")
    assert (change.stance_exception, change.note) == (True, "Opt-in customers only.")


def test_api_transition_is_refused_without_a_note(world):
    initiative = proposed(world)
    client = api_client(make_user("stance-pmo", permissions.PMO))
    url = f"{API}initiatives/{initiative.key}/transition/"
    refused = client.post(url, {"to": "approved"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["missing"] == ["stance_exception"]
    assert client.post(url, {"to": "approved", "note": "Ok."}, format="json").status_code == 200


# --- writing the stance -----------------------------------------------------------------------


def test_only_the_pmo_writes_a_stance(world):
    for role in (permissions.VIEWER, permissions.CONTRIBUTOR):
        with pytest.raises(ForbiddenError):
            stance_save(
                actor=make_user(f"s-{role}", role),
                data={
                    "vision": world["vision"],
                    "touchpoint": "chat",
                    "stance": "no_ai",
                    "rationale": "x",
                },
            )
    with pytest.raises(InvalidError) as invalid:
        stance_save(
            actor=make_user("s-pmo", permissions.PMO),
            data={"vision": world["vision"], "touchpoint": "chat", "stance": "no_ai"},
        )
    assert invalid.value.field == "rationale"


def test_stances_through_the_api(world):
    pmo = api_client(make_user("api-pmo", permissions.PMO))
    viewer = api_client(make_user("api-viewer", permissions.VIEWER))
    body = {
        "vision": world["vision"].pk,
        "touchpoint": "phone",
        "journey_stage": "billing",
        "stance": "no_ai",
        "rationale": "Billing disputes need a person.",
    }
    assert viewer.post(f"{API}proactive-stances/", body, format="json").status_code == 403
    created = pmo.post(f"{API}proactive-stances/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["stance"] == "no_ai"
    again = pmo.post(f"{API}proactive-stances/", body, format="json")
    assert again.status_code == 400
    blank = pmo.post(
        f"{API}proactive-stances/", {**body, "journey_stage": "", "rationale": " "}, format="json"
    )
    assert blank.status_code == 400
    assert "rationale" in error_attrs(blank)
    url = created.json()["url"]
    changed = pmo.patch(url, {"stance": "reactive"}, format="json")
    assert (changed.json()["stance"], changed.json()["version"]) == ("reactive", 2)
    assert pmo.delete(url).status_code == 405  # nothing is hard-deleted through the API
    listed = viewer.get(f"{API}proactive-stances/", {"touchpoint": "phone"}).json()
    assert [row["journey_stage"] for row in listed["results"]] == ["billing"]
    history = ProactiveStance.pgh_event_models["update"].objects.filter(stance="reactive")
    assert history.exists()
    feed = viewer.get(f"{API}changes/", {"object_type": "proactivestance"}).json()
    # The fixture's stance, then this one created and changed.
    assert [event["label"] for event in feed["results"]] == ["insert", "insert", "update"]


def test_stances_in_the_vision_admin(world):
    client = login(factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True))
    url = reverse("admin:registry_vision_change", args=[world["vision"].pk])
    page = client.get(url)
    assert REASON in page.content.decode()
    data = form_data(page)
    prefix = "stances"
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    data.update(
        {
            f"{prefix}-{index}-touchpoint": "chat",
            f"{prefix}-{index}-journey_stage": "",
            f"{prefix}-{index}-stance": "proactive",
            f"{prefix}-{index}-rationale": "Chat customers welcome a nudge.",
        }
    )
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.content[:2000]
    stance = ProactiveStance.objects.get(touchpoint="chat")
    assert (stance.stance, stance.vision) == ("proactive", world["vision"])

    viewer = login(
        factories.UserFactory(username="viewer", groups=[permissions.VIEWER], is_staff=True)
    )
    data = form_data(client.get(url))
    data[f"{prefix}-0-stance"] = "no_ai"
    viewer.post(url, data)
    assert ProactiveStance.objects.get(touchpoint="chat").stance == "proactive"


def test_goals_name_journey_cells_in_the_admin_and_api(world):
    client = login(factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True))
    goal = world["goal"]
    url = reverse("admin:registry_goal_change", args=[goal.pk])
    data = form_data(client.get(url))
    data["touchpoints"] = ["phone", "chat"]
    data["journey_stages"] = ["support"]
    assert client.post(url, data).status_code == 302
    goal.refresh_from_db()
    assert (goal.touchpoints, goal.journey_stages) == (["phone", "chat"], ["support"])
    api = api_client(make_user("g-viewer", permissions.VIEWER)).get(f"{API}goals/G-NPS/").json()
    assert api["touchpoints"] == ["phone", "chat"]


def test_the_stance_list_runs_the_same_queries_for_any_page(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for touchpoint in ("chat", "web", "app", "phone", "store"):
        ProactiveStance.objects.create(
            vision=world["vision"], touchpoint=touchpoint, stance="proactive", rationale="Fine."
        )
    client = api_client(make_user("q-viewer", permissions.VIEWER))
    client.get(f"{API}proactive-stances/")

    def count(size: int) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}proactive-stances/", {"page_size": size})
        return len(queries), len(response.json()["results"])

    assert count(1)[0] == count(100)[0]
    assert count(100)[1] == 6


def test_the_initiative_form_flags_a_contradiction(world):
    initiative = proposed(world)
    client = login(factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True))
    url = reverse("admin:registry_initiative_change", args=[initiative.pk])
    saved = client.post(url, form_data(client.get(url)))
    assert saved.status_code == 302
    warning = next(m for m in messages_of(saved) if "proactive stance" in m)
    assert (
        f"{initiative.key} contradicts the vision's proactive stance (E-mail: AI only reacts)"
        in (warning)
    )
    assert "needs a note that justifies the exception" in warning
    Initiative.objects.filter(pk=initiative.pk).update(interaction_mode="reactive")
    calm = client.post(url, form_data(client.get(url)))
    assert not [m for m in messages_of(calm) if "proactive stance" in m]
