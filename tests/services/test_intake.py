"""Idea intake: anyone with a role proposes an initiative at stage idea, owned by themselves
in their own department — through the API and the admin alike — and the PMO sees new ideas
on the dashboard. The finding: a contributor got 403, so ideas bypassed the registry."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from registry import choices
from registry.models import Initiative, StageChange
from tests.admin.test_admin import form_data
from tests.api.support import make_portfolio

pytestmark = pytest.mark.django_db

API = "/api/v1/"
IDEA = {
    "name": "Callback scheduler",
    "summary": "Lets customers book a callback instead of waiting in the queue.",
    "kind": "automation",
    "touchpoints": ["phone"],
    "journey_stages": ["support"],
}


@pytest.fixture
def world(db):
    p = make_portfolio()
    for role in ("viewer", "contributor", "pmo", "teamie"):
        p.users[role].is_staff = True
        p.users[role].save(update_fields=["is_staff"])
    return p


@pytest.mark.parametrize("role", ["contributor", "teamie"])
def test_a_person_with_a_role_proposes_an_idea_of_their_own(world, role):
    response = world.client(role).post(f"{API}initiatives/", IDEA, format="json")
    assert response.status_code == 201, response.content
    idea = Initiative.objects.get(key=response.json()["key"])
    person = world.users[role].person
    assert idea.stage == choices.Stage.IDEA
    assert idea.owner == person
    assert idea.lead_department == person.department
    assert not idea.confidential
    assert StageChange.objects.filter(initiative=idea, to_stage="idea").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner", "mark@example.com"),
        ("lead_department", "marketing"),
        ("source", "jira"),
        ("confidential", True),
    ],
)
def test_a_proposal_is_its_proposers_in_their_department_and_public(world, field, value):
    response = world.client("contributor").post(
        f"{API}initiatives/", {**IDEA, field: value}, format="json"
    )
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["attr"] == field
    assert "the PMO hands it over" in error["detail"]
    assert not Initiative.objects.filter(name=IDEA["name"]).exists()


def test_a_login_without_a_person_cannot_propose_yet(world):
    response = world.client("viewer").post(f"{API}initiatives/", IDEA, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["attr"] == "owner"


def test_integrations_still_register_only_their_sources(world):
    response = world.client("integration").post(
        f"{API}initiatives/", {**IDEA, "source": "servicenow"}, format="json"
    )
    assert response.status_code == 403


def test_a_contributor_proposes_in_the_admin_and_the_pmo_sees_it_on_the_dashboard(world):
    contributor = Client()
    contributor.force_login(world.users["contributor"])
    add = reverse("admin:registry_initiative_add")
    page = contributor.get(add)
    assert page.status_code == 200
    data = {**form_data(page), **IDEA, "touchpoints": ["phone"], "journey_stages": ["support"]}
    response = contributor.post(add, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    idea = Initiative.objects.get(name=IDEA["name"])
    assert idea.owner == world.people["carol"]
    assert idea.lead_department == world.departments["service"]

    pmo = Client()
    pmo.force_login(world.users["pmo"])
    dashboard = pmo.get(reverse("registry_board:dashboard")).content.decode()
    section = dashboard[dashboard.index('id="new-ideas"') :]
    assert f"{idea.key} · Callback scheduler" in section
    assert "Carol Owner" in section
    # The spreadsheet import stays the PMO's.
    assert contributor.get(reverse("registry_import:start")).status_code == 403
