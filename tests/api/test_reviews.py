"""The quarterly review over the API: the initiatives a review covers, deciding (with the
lifecycle move), closing, the 409 of every write to a closed review, and the comparison of two
crafted reviews.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices, permissions
from registry.choices import Stage
from registry.models import Initiative, Review, ReviewDecision
from registry.services import lifecycle, reviews
from tests import factories
from tests.api.support import API, api_client, error_attrs, error_codes, make_user


class Quarter:
    """A small portfolio and an open 2026-Q4 review of it.

    pilot (service, aligned G-NPS strong, ready to scale but for learnings), idea (marketing,
    unaligned), secret (confidential, service), past (ended in 2026-Q2: not in the review).
    """

    def __init__(self) -> None:
        self.pmo = make_user("review-pmo", permissions.PMO)
        self.viewer = make_user("review-viewer", permissions.VIEWER)
        self.vision = factories.VisionFactory(title="One Nordlicht")
        self.nps = factories.GoalFactory(vision=self.vision, code="G-NPS", title="Raise NPS")
        factories.MeasurementFactory(
            goal=self.nps, observed_on=datetime.date(2026, 6, 30), value=Decimal("25")
        )
        service = factories.DepartmentFactory(slug="service", name="Service")
        marketing = factories.DepartmentFactory(slug="marketing", name="Marketing")
        owner = factories.PersonFactory(name="Olga Owner", email="olga@example.com")

        def make(name: str, department, **fields) -> Initiative:
            initiative = factories.InitiativeFactory(
                name=name, owner=owner, lead_department=department, **fields
            )
            lifecycle.record_initial_stage(initiative=initiative)
            return initiative

        self.pilot = make(
            "Billing bot",
            service,
            stage=Stage.PILOT,
            hypothesis="H",
            success_criteria="S",
            budget_planned=Decimal("100000"),
            start_date=datetime.date(2026, 1, 1),
        )
        factories.AlignmentFactory(initiative=self.pilot, goal=self.nps, strength=3)
        self.idea = make("Offer engine", marketing, budget_planned=Decimal("5000"))
        self.secret = make("Secret voicebot", service, confidential=True)
        self.past = make(
            "Old IVR",
            service,
            start_date=datetime.date(2025, 1, 1),
            end_date=datetime.date(2026, 6, 30),
        )
        self.review = reviews.review_open(vision=self.vision, period="2026-Q4", actor=self.pmo)

    def url(self, suffix: str = "", review: Review | None = None) -> str:
        return f"{API}reviews/{(review or self.review).pk}/{suffix}"

    def client(self, who: str = "pmo"):
        return api_client(getattr(self, who))


@pytest.fixture
def q(db) -> Quarter:
    return Quarter()


def decide(q: Quarter, initiative: Initiative, decision: str = "continue", **extra):
    body = {"initiative": initiative.key, "decision": decision, "rationale": "Agreed.", **extra}
    return q.client().post(q.url("decide/"), body, format="json")


# --- the initiatives a review covers ------------------------------------------------------------


def test_initiatives_lists_the_quarter_with_derived_values_and_decisions(q):
    decide(q, q.pilot, "scale")

    body = q.client().get(q.url("initiatives/")).json()

    assert body["count"] == 3
    rows = {row["key"]: row for row in body["results"]}
    assert list(rows) == sorted([q.pilot.key, q.idea.key, q.secret.key])
    pilot = rows[q.pilot.key]
    assert pilot["url"].endswith(f"/api/v1/initiatives/{q.pilot.key}/")
    assert (pilot["stage"], pilot["lead_department"], pilot["owner_name"]) == (
        "pilot",
        "service",
        "Olga Owner",
    )
    assert (pilot["alignment_level"], pilot["primary_goal"], pilot["goal_progress_pct"]) == (
        "strong",
        "G-NPS",
        25.0,
    )
    assert (pilot["decision"], pilot["rationale"]) == ("scale", "Agreed.")
    assert pilot["snapshot"]["stage"] == "pilot"
    assert pilot["budget_planned"] == "100000.00"
    idea = rows[q.idea.key]
    assert (idea["decision"], idea["snapshot"], idea["alignment_level"], idea["is_silo"]) == (
        None,
        None,
        "none",
        True,
    )

    viewer = q.client("viewer").get(q.url("initiatives/"), {"page_size": 1}).json()
    assert viewer["count"] == 2  # the confidential voicebot is not the viewer's to see
    assert viewer["next"] is not None


def test_initiatives_runs_a_constant_number_of_queries(q):
    client = q.client()
    url = q.url("initiatives/")
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"page_size": 500}).status_code == 200
        return len(queries)

    small = count()
    for n in range(40):
        initiative = factories.InitiativeFactory(name=f"More {n}")
        factories.AlignmentFactory(initiative=initiative, goal=q.nps, strength=1 + n % 3)
        if n % 2:
            decide(q, initiative)
    assert count() == small


# --- decide -------------------------------------------------------------------------------------


def test_decide_records_then_replaces_a_decision(q):
    first = decide(q, q.idea, "pivot")
    assert first.status_code == 201, first.content
    assert first.json()["snapshot"]["alignment_level"] == "none"
    again = decide(q, q.idea, "stop", rationale="No goal, no budget.")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    stored = ReviewDecision.objects.get(review=q.review, initiative=q.idea)
    assert (stored.decision, stored.rationale, stored.decided_by) == (
        "stop",
        "No goal, no budget.",
        q.pmo,
    )
    assert Initiative.objects.get(pk=q.idea.pk).stage == Stage.IDEA  # no move asked for


def test_decide_applies_the_move_through_the_gate(q):
    refused = decide(q, q.pilot, "scale", apply_move=True)
    assert refused.status_code == 409
    assert error_codes(refused) == ["gate_not_met"]
    assert refused.json()["errors"][0]["missing"] == ["learnings"]
    assert not ReviewDecision.objects.filter(initiative=q.pilot).exists()
    assert Initiative.objects.get(pk=q.pilot.pk).stage == Stage.PILOT

    Initiative.objects.filter(pk=q.pilot.pk).update(learnings="Customers like it.")
    moved = decide(q, q.pilot, "scale", apply_move=True)
    assert moved.status_code == 201, moved.content
    assert moved.json()["snapshot"]["stage"] == "pilot"  # as the board saw it
    assert moved.json()["snapshot"]["applied_move"] == {"from": "pilot", "to": "scaling"}
    assert Initiative.objects.get(pk=q.pilot.pk).stage == Stage.SCALING

    paused = decide(q, q.idea, "pause", apply_move=True, rationale="", note="Wait for CRM.")
    assert paused.status_code == 201, paused.content
    change = q.idea.stage_changes.order_by("-at", "-id").first()
    assert (change.to_stage, change.note) == ("paused", "Wait for CRM.")


@pytest.mark.parametrize(
    ("body", "status", "attr"),
    [
        ({"decision": "maybe"}, 400, "decision"),
        ({"initiative": "AI-9999"}, 400, "initiative"),
        ({"apply_move": "perhaps"}, 400, "apply_move"),
    ],
)
def test_decide_refuses_bad_input(q, body, status, attr):
    payload = {"initiative": q.pilot.key, "decision": "continue", **body}
    response = q.client().post(q.url("decide/"), payload, format="json")
    assert response.status_code == status
    assert error_attrs(response) == [attr]
    assert not ReviewDecision.objects.exists()


def test_decide_refuses_an_initiative_outside_the_quarter(q):
    response = decide(q, q.past)
    assert response.status_code == 409
    assert error_codes(response) == ["not_in_review"]
    assert error_attrs(response) == ["initiative"]


def test_only_the_pmo_decides_and_closes(q):
    viewer = q.client("viewer")
    body = {"initiative": q.idea.key, "decision": "stop"}
    assert viewer.post(q.url("decide/"), body, format="json").status_code == 403
    assert viewer.post(q.url("close/"), {}, format="json").status_code == 403
    assert viewer.patch(q.url(), {"summary": "Mine."}, format="json").status_code == 403
    assert not ReviewDecision.objects.exists()
    assert viewer.get(q.url("compare/")).status_code == 200


# --- close and the closed review ----------------------------------------------------------------


def test_close_needs_every_initiative_decided(q):
    decide(q, q.pilot)
    decide(q, q.idea)

    refused = q.client().post(q.url("close/"), {}, format="json")

    assert refused.status_code == 409
    assert error_codes(refused) == ["undecided_initiatives"]
    assert q.secret.key in refused.json()["errors"][0]["detail"]
    assert Review.objects.get(pk=q.review.pk).status == "open"


def test_closed_review_answers_409_to_every_write(q):
    for initiative in (q.pilot, q.idea, q.secret):
        assert decide(q, initiative).status_code == 201
    edited = q.client().patch(q.url(), {"summary": "Draft"}, format="json")
    assert edited.status_code == 200
    assert edited.json()["summary"] == "Draft"

    closed = q.client().post(
        q.url("close/"), {"summary": "All continue.", "held_on": "2026-12-10"}, format="json"
    )
    assert closed.status_code == 200, closed.content
    assert (closed.json()["status"], closed.json()["summary"], closed.json()["held_on"]) == (
        "closed",
        "All continue.",
        "2026-12-10",
    )
    before = list(ReviewDecision.objects.order_by("pk").values_list("pk", "decision", "rationale"))

    pmo = q.client()
    writes = [
        pmo.post(q.url("decide/"), {"initiative": q.idea.key, "decision": "stop"}, format="json"),
        # Even a payload that would be invalid: the closed review is the conflict.
        pmo.post(q.url("decide/"), {"decision": "nonsense"}, format="json"),
        pmo.post(q.url("close/"), {}, format="json"),
        pmo.patch(q.url(), {"summary": "Rewritten"}, format="json"),
        pmo.post(
            f"{API}review-decisions/",
            {"review": q.review.pk, "initiative": q.idea.key, "decision": "stop"},
            format="json",
        ),
    ]
    for response in writes:
        assert response.status_code == 409, response.content
        assert error_codes(response) == ["review_closed"]
    assert pmo.delete(q.url()).status_code == 405

    assert (
        list(ReviewDecision.objects.order_by("pk").values_list("pk", "decision", "rationale"))
        == before
    )
    stored = Review.objects.get(pk=q.review.pk)
    assert (stored.status, stored.summary) == ("closed", "All continue.")
    # The closed review lists exactly what it decided, even as the portfolio moves on.
    factories.InitiativeFactory(name="Registered later")
    listed = pmo.get(q.url("initiatives/")).json()
    assert listed["count"] == 3
    assert {row["decision"] for row in listed["results"]} == {"continue"}


# --- compare ------------------------------------------------------------------------------------


def test_compare_two_crafted_reviews(q):
    q3 = reviews.review_open(vision=q.vision, period="2026-Q3", actor=q.pmo)
    gone = factories.InitiativeFactory(
        name="Summer campaign", end_date=datetime.date(2026, 9, 30), budget_planned=Decimal("1")
    )
    q3_decisions = (
        (q.pilot, "continue"),
        (q.idea, "continue"),
        (gone, "stop"),
        (q.secret, "continue"),
    )
    for initiative, decision in q3_decisions:
        reviews.review_decide(review=q3, initiative=initiative, decision=decision, actor=q.pmo)
    reviews.review_close(review=q3, actor=q.pmo)

    # Between the quarters: the pilot learns, scales, gets more budget and a weaker alignment;
    # NPS moves from 25 to 30 (progress 25 % → 50 %).
    Initiative.objects.filter(pk=q.pilot.pk).update(learnings="Works.")
    q.pilot.refresh_from_db()
    lifecycle.initiative_transition(initiative=q.pilot, to_stage=Stage.SCALING, actor=q.pmo)
    Initiative.objects.filter(pk=q.pilot.pk).update(budget_planned=Decimal("150000"))
    q.pilot.alignments.update(strength=1)
    factories.MeasurementFactory(
        goal=q.nps, observed_on=datetime.date(2026, 9, 30), value=Decimal("30")
    )
    for initiative, decision in ((q.pilot, "scale"), (q.idea, "continue"), (q.secret, "pause")):
        reviews.review_decide(
            review=q.review, initiative=initiative, decision=decision, actor=q.pmo
        )
    newcomer = factories.InitiativeFactory(name="Winter chatbot")
    reviews.review_decide(review=q.review, initiative=newcomer, decision="continue", actor=q.pmo)

    body = q.client().get(q.url("compare/")).json()

    assert body["review"] == {"id": q.review.pk, "period": "2026-Q4", "status": "open"}
    assert body["previous"] == {"id": q3.pk, "period": "2026-Q3", "status": "closed"}
    assert [e["key"] for e in body["new"]] == [newcomer.key]
    assert body["gone"] == [
        {
            "key": gone.key,
            "name": "Summer campaign",
            "stage": "idea",
            "alignment_level": "none",
            "decision": "stop",
        }
    ]
    assert body["stage_moves"] == [
        {"key": q.pilot.key, "name": "Billing bot", "from": "pilot", "to": "scaling"}
    ]
    assert body["alignment_changes"] == [
        {
            "key": q.pilot.key,
            "name": "Billing bot",
            "from": "strong",
            "to": "weak",
            "primary_goal_from": "G-NPS",
            "primary_goal_to": "G-NPS",
        }
    ]
    assert body["budget_changes"] == [
        {
            "key": q.pilot.key,
            "name": "Billing bot",
            "currency_from": "EUR",
            "currency": "EUR",
            "planned_from": "100000.00",
            "planned_to": "150000.00",
            "planned_delta": "50000.00",
            "spent_from": "0.00",
            "spent_to": "0.00",
            "spent_delta": "0.00",
        }
    ]
    assert body["decision_changes"] == sorted(
        [
            {"key": q.pilot.key, "name": "Billing bot", "from": "continue", "to": "scale"},
            {"key": q.secret.key, "name": "Secret voicebot", "from": "continue", "to": "pause"},
        ],
        key=lambda change: change["key"],
    )
    assert body["goal_progress_changes"] == [
        {"goal": "G-NPS", "from_pct": 25.0, "to_pct": 50.0, "delta_pct": 25.0}
    ]

    # The viewer sees the same comparison without the confidential voicebot.
    viewer = q.client("viewer").get(q.url("compare/")).json()
    assert [c["key"] for c in viewer["decision_changes"]] == [q.pilot.key]
    # An explicit previous review; comparing with Q4 from Q3 turns new into gone.
    backwards = q.client().get(q.url("compare/", q3), {"previous": q.review.pk}).json()
    assert [e["key"] for e in backwards["gone"]] == [newcomer.key]
    assert [e["key"] for e in backwards["new"]] == [gone.key]


@pytest.mark.parametrize("previous", ["abc", "999999", "self"])
def test_compare_refuses_a_bad_previous_review(q, previous):
    value = str(q.review.pk) if previous == "self" else previous
    response = q.client().get(q.url("compare/"), {"previous": value})
    assert response.status_code == 400
    assert error_attrs(response) == ["previous"]


def test_compare_without_a_previous_review_lists_everything_as_new(q):
    decide(q, q.pilot)
    body = q.client().get(q.url("compare/")).json()
    assert body["previous"] is None
    assert [e["key"] for e in body["new"]] == [q.pilot.key]


def test_review_verbs_are_documented(db):
    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    assert {"409", "201", "200"} <= set(paths["/api/v1/reviews/{id}/decide/"]["post"]["responses"])
    assert "409" in paths["/api/v1/reviews/{id}/close/"]["post"]["responses"]
    assert "409" in paths["/api/v1/reviews/{id}/"]["patch"]["responses"]
    compare = paths["/api/v1/reviews/{id}/compare/"]["get"]
    assert "previous" in {p["name"] for p in compare["parameters"]}
    assert "page_size" in {
        p["name"] for p in paths["/api/v1/reviews/{id}/initiatives/"]["get"]["parameters"]
    }
    assert choices.Decision.SCALE in str(schema.json()["components"]["schemas"]["DecisionEnum"])
