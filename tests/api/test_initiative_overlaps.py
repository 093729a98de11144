"""GET /api/v1/initiatives/{key}/overlaps/: an initiative's overlap candidates, scored, among
what the caller may see; 404 for an initiative the caller may not see."""

from __future__ import annotations

import pytest

from registry import choices
from tests import factories
from tests.api.support import API, make_portfolio

BILLING = {
    "kind": choices.Kind.CHATBOT,
    "summary": "Answers customers' billing questions in the chat.",
    "touchpoints": [choices.Touchpoint.CHAT],
    "journey_stages": [choices.JourneyStage.SUPPORT],
}


@pytest.fixture
def portfolio(db):
    p = make_portfolio()
    it = p.departments["it"]
    p.initiatives["it_bot"] = factories.InitiativeFactory(
        name="Billing chat assistant", owner=p.people["ivy"], lead_department=it, **BILLING
    )
    p.initiatives["it_secret"] = factories.InitiativeFactory(
        name="Billing chatbot (confidential)",
        owner=p.people["ivy"],
        lead_department=it,
        confidential=True,
        **BILLING,
    )
    p.initiatives["fleet"] = factories.InitiativeFactory(
        name="Fleet telematics",
        summary="Tracks the service vans.",
        kind=choices.Kind.PREDICTIVE_ANALYTICS,
        owner=p.people["ivy"],
        lead_department=it,
    )
    return p


def url(portfolio, name: str) -> str:
    return f"{API}initiatives/{portfolio.key(name)}/overlaps/"


def test_the_pmo_sees_every_candidate_with_score_and_reasons(portfolio):
    response = portfolio.client("pmo").get(url(portfolio, "chat"))
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == portfolio.key("chat")
    assert body["threshold"] == 0.27
    keys = [row["key"] for row in body["results"]]
    assert sorted(keys) == portfolio.keys("it_bot", "it_secret")
    assert body["count"] == 2
    assert portfolio.key("fleet") not in keys
    best = body["results"][0]
    assert best["score"] >= body["results"][1]["score"] >= body["threshold"]
    assert best["lead_department"] == "it"
    assert round(sum(r["contribution"] for r in best["reasons"]), 3) == best["score"]
    assert {r["rule"] for r in best["reasons"]} >= {"similar_name", "kind", "touchpoint"}


@pytest.mark.parametrize("role", ["viewer", "contributor", "integration"])
def test_others_never_see_a_confidential_candidate(portfolio, role):
    response = portfolio.client(role).get(url(portfolio, "chat"))
    assert response.status_code == 200
    body = response.json()
    assert [row["key"] for row in body["results"]] == [portfolio.key("it_bot")]
    assert body["count"] == 1
    assert portfolio.key("it_secret") not in response.content.decode()
    assert "confidential" not in response.content.decode()


@pytest.mark.parametrize("role", ["viewer", "contributor", "integration"])
def test_an_initiative_the_caller_may_not_see_is_not_found(portfolio, role):
    assert portfolio.client(role).get(url(portfolio, "it_secret")).status_code == 404
    assert portfolio.client(role).get(url(portfolio, "secret")).status_code == 404


def test_the_team_of_a_confidential_initiative_sees_its_candidates(portfolio):
    assert portfolio.client("teamie").get(url(portfolio, "secret")).status_code == 200
    assert portfolio.client("pmo").get(url(portfolio, "it_secret")).status_code == 200


def test_unknown_keys_and_anonymous_callers(portfolio):
    assert portfolio.client("pmo").get(f"{API}initiatives/AI-999999/overlaps/").status_code == 404
    assert portfolio.client("anonymous").get(url(portfolio, "chat")).status_code == 401
    assert portfolio.client("norole").get(url(portfolio, "chat")).status_code == 403


def test_read_only(portfolio):
    response = portfolio.client("pmo").post(url(portfolio, "chat"), {}, format="json")
    assert response.status_code == 405
