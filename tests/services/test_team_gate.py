"""The optional team gate (REGISTRY_TEAM_GATE): customer-facing work goes into pilot only
with a UX / service-design role, a data role and people from more than one department — the
team-composition report's rule — through the lifecycle service, the API and sync alike."""

from __future__ import annotations

import pytest

from registry import choices, permissions
from registry.models import Initiative
from registry.services import lifecycle
from registry.sync import upsert as sync
from tests import factories
from tests.api.support import API, api_client, make_user


@pytest.fixture
def pilot_ready(db, settings):
    settings.REGISTRY_TEAM_GATE = True
    service = factories.DepartmentFactory(slug="service", name="Service")
    data = factories.DepartmentFactory(slug="data", name="Data")
    owner = factories.PersonFactory(email="ana@example.com", department=service)
    initiative = factories.InitiativeFactory(
        stage=choices.Stage.APPROVED,
        owner=owner,
        lead_department=service,
        customer_facing=True,
        hypothesis="Customers want instant answers.",
        success_criteria="30 % resolved without an agent.",
        source="jira",
        external_id="J-7",
    )
    return {"initiative": initiative, "service": service, "data": data, "owner": owner}


def staff(world) -> None:
    initiative = world["initiative"]
    designer = factories.PersonFactory(department=world["service"])
    scientist = factories.PersonFactory(department=world["data"])
    factories.TeamRoleFactory(initiative=initiative, person=designer, role="ux_designer")
    factories.TeamRoleFactory(initiative=initiative, person=scientist, role="data_scientist")


def test_the_service_asks_for_a_cross_functional_team(pilot_ready):
    initiative = pilot_ready["initiative"]
    with pytest.raises(lifecycle.TransitionError) as refused:
        lifecycle.initiative_transition(initiative=initiative, to_stage="pilot")
    assert refused.value.missing == ("cross_functional_team",)
    staff(pilot_ready)
    lifecycle.initiative_transition(initiative=initiative, to_stage="pilot")
    assert Initiative.objects.get(pk=initiative.pk).stage == "pilot"


def test_a_data_person_alone_is_not_enough(pilot_ready):
    initiative = pilot_ready["initiative"]
    scientist = factories.PersonFactory(department=pilot_ready["data"])
    factories.TeamRoleFactory(initiative=initiative, person=scientist, role="data_scientist")
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.initiative_transition(initiative=initiative, to_stage="pilot")


def test_off_by_default_and_never_for_internal_work(pilot_ready, settings):
    internal = factories.InitiativeFactory(
        stage=choices.Stage.APPROVED,
        customer_facing=False,
        hypothesis="h",
        success_criteria="s",
    )
    lifecycle.initiative_transition(initiative=internal, to_stage="pilot")
    settings.REGISTRY_TEAM_GATE = False
    lifecycle.initiative_transition(initiative=pilot_ready["initiative"], to_stage="pilot")


def test_the_api_and_sync_enforce_it(pilot_ready):
    initiative = pilot_ready["initiative"]
    pmo = api_client(make_user("team-pmo", permissions.PMO))
    refused = pmo.post(
        f"{API}initiatives/{initiative.key}/transition/", {"to": "pilot"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["missing"] == ["cross_functional_team"]
    synced = sync.sync_one(source="jira", external_id="J-7", item={"stage": "pilot"})
    assert synced.result == "error"
    assert synced.errors[0].code == "gate_not_met"
    staff(pilot_ready)
    synced = sync.sync_one(source="jira", external_id="J-7", item={"stage": "pilot"})
    assert synced.result == "updated", synced.errors
