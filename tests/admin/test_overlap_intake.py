"""Idea intake in the admin: "Check for overlaps" re-renders the add form, filled in as typed,
with the open initiatives of other departments the idea overlaps — and saves nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from registry import choices, permissions
from registry.models import Initiative
from tests import factories
from tests.admin.test_admin import admin_url, form_data

BILLING = {
    "kind": choices.Kind.CHATBOT,
    "summary": "Answers customers' billing questions in the chat.",
    "touchpoints": ["chat"],
    "journey_stages": ["billing"],
}


@pytest.fixture
def setting(db):
    service = factories.DepartmentFactory(slug="service", name="Service")
    it = factories.DepartmentFactory(slug="it", name="IT")
    contributor = factories.UserFactory(
        username="carol", groups=[permissions.CONTRIBUTOR], is_staff=True
    )
    factories.PersonFactory(user=contributor, department=service, name="Carol")
    it_owner = factories.PersonFactory(department=it)
    public = factories.InitiativeFactory(
        name="Billing chatbot", owner=it_owner, lead_department=it, **BILLING
    )
    secret = factories.InitiativeFactory(
        name="Billing chatbot (secret)",
        owner=it_owner,
        lead_department=it,
        confidential=True,
        **BILLING,
    )
    own_department = factories.InitiativeFactory(
        name="Billing chat helper", owner=it_owner, lead_department=service, **BILLING
    )
    pmo = factories.UserFactory(username="pmo", groups=[permissions.PMO], is_staff=True)
    return {
        "contributor": contributor,
        "pmo": pmo,
        "public": public,
        "secret": secret,
        "own_department": own_department,
    }


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def check(client: Client, **fields) -> str:
    url = admin_url(Initiative, "add")
    data = form_data(client.get(url))
    data.update(name="Billing chat assistant", summary=BILLING["summary"], kind="chatbot")
    data.update(fields)
    data["_check_overlaps"] = "Check for overlaps"
    before = Initiative.objects.count()
    response = client.post(url, data)
    assert response.status_code == 200
    assert Initiative.objects.count() == before  # nothing saved
    return response.content.decode()


def test_the_add_form_offers_the_check(setting):
    page = client_of(setting["contributor"]).get(admin_url(Initiative, "add")).content.decode()
    assert 'name="_check_overlaps"' in page
    assert "nothing is saved" in page


def test_a_contributor_sees_likely_overlaps_before_saving(setting):
    page = check(client_of(setting["contributor"]), touchpoints="chat")
    public = setting["public"]
    assert f"{public.key} · Billing chatbot</a> (IT) — score" in page
    assert "similar name (+" in page
    # The form comes back as typed.
    assert 'value="Billing chat assistant"' in page
    # Within the proposer's own department (service) is no overlap across silos.
    assert setting["own_department"].key not in page
    # A confidential initiative never shows to a contributor outside its team.
    assert setting["secret"].key not in page
    assert "(secret)" not in page


def test_the_pmo_sees_the_confidential_candidate(setting):
    service = setting["own_department"].lead_department
    page = check(client_of(setting["pmo"]), lead_department=str(service.pk))
    assert setting["secret"].key in page
    assert setting["public"].key in page


def test_an_idea_without_overlaps_says_so(setting):
    page = check(
        client_of(setting["contributor"]),
        name="Fleet telematics",
        summary="Tracks service vans.",
        kind="predictive_analytics",
    )
    assert "No open initiative of another department does the same thing." in page
    assert setting["public"].key not in page


def test_anyone_who_may_propose_may_check_and_nobody_else(setting):
    viewer = factories.UserFactory(username="vic", groups=[permissions.VIEWER], is_staff=True)
    factories.PersonFactory(user=viewer, department=setting["own_department"].lead_department)
    page = check(client_of(viewer))
    assert setting["public"].key in page
    assert setting["secret"].key not in page
    norole = factories.UserFactory(username="nora", is_staff=True)
    response = client_of(norole).post(admin_url(Initiative, "add"), {"_check_overlaps": "1"})
    assert response.status_code == 403
