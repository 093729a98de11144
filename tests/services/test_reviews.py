"""The quarterly review: open, decide with frozen snapshots, move through the gates, close,
compare."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.choices import Decision, Stage
from registry.models import Initiative, Review, ReviewDecision, StageChange
from registry.selectors.reviews import initiatives_in_period, review_compare, review_initiatives
from registry.services import reviews
from registry.services.errors import ForbiddenError
from registry.services.lifecycle import TransitionError, initiative_transition
from tests import factories


@pytest.fixture
def service(db):
    return factories.DepartmentFactory(slug="service", name="Service")


@pytest.fixture
def nps(active_vision):
    goal = factories.GoalFactory(
        vision=active_vision,
        code="G-NPS",
        baseline=Decimal("20"),
        target=Decimal("40"),
    )
    factories.MeasurementFactory(goal=goal, observed_on=datetime.date(2026, 6, 30), value=25)
    return goal


def initiative(service, **fields) -> Initiative:
    owner = fields.pop("owner", None) or factories.PersonFactory(department=service)
    return factories.InitiativeFactory(owner=owner, lead_department=service, **fields)


@pytest.fixture
def review(active_vision, pmo_user):
    return reviews.review_open(vision=active_vision, period="2026-Q4", actor=pmo_user)


def decide(review, target, decision=Decision.CONTINUE, actor=None, **kwargs):
    return reviews.review_decide(
        review=review,
        initiative=target,
        decision=decision,
        rationale="Agreed.",
        actor=actor,
        **kwargs,
    )


# --- open -----------------------------------------------------------------------------------


def test_open_lists_the_initiatives_active_in_the_period(service, review, pmo_user, viewer_user):
    running = initiative(service)
    ending = initiative(
        service, start_date=datetime.date(2025, 1, 1), end_date=datetime.date(2026, 11, 30)
    )
    secret = initiative(service, confidential=True)
    initiative(service, end_date=datetime.date(2026, 6, 30))  # over before Q4
    initiative(service, start_date=datetime.date(2027, 1, 1))  # starts after Q4
    initiative(service, archived_at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC))

    assert review.status == choices.ReviewStatus.OPEN
    listed = list(review_initiatives(review, user=pmo_user))
    assert [i.key for i in listed] == sorted([running.key, ending.key, secret.key])
    assert {i.decision for i in listed} == {None}
    assert [i.key for i in review_initiatives(review, user=viewer_user)] == sorted(
        [running.key, ending.key]
    )

    decide(review, running, Decision.SCALE)
    row = review_initiatives(review, user=pmo_user).get(pk=running.pk)
    assert (row.decision, row.rationale, row.alignment_level, row.is_silo) == (
        "scale",
        "Agreed.",
        "none",
        True,
    )


def test_open_refuses_a_second_review_of_the_quarter(active_vision, review, pmo_user):
    with pytest.raises(reviews.ReviewError) as refused:
        reviews.review_open(vision=active_vision, period="2026-Q4", actor=pmo_user)
    assert refused.value.code == "review_exists"
    assert "2026-Q4" in refused.value.message
    assert Review.objects.count() == 1


@pytest.mark.parametrize("period", ["2026-Q5", "Q4-2026", ""])
def test_open_refuses_a_period_that_is_not_a_quarter(active_vision, pmo_user, period):
    with pytest.raises(reviews.ReviewError) as refused:
        reviews.review_open(vision=active_vision, period=period, actor=pmo_user)
    assert (refused.value.code, refused.value.field) == ("invalid_period", "period")


def test_open_refuses_a_vision_that_is_not_active(db, pmo_user):
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    with pytest.raises(reviews.ReviewError) as refused:
        reviews.review_open(vision=retired, period="2026-Q4", actor=pmo_user)
    assert refused.value.code == "vision_not_active"


# --- decide and snapshot --------------------------------------------------------------------


def test_decision_freezes_a_snapshot_that_later_changes_do_not_touch(
    service, nps, review, pmo_user
):
    owner = factories.PersonFactory(name="Ada Owner", email="ada@example.com", department=service)
    bot = initiative(
        service,
        owner=owner,
        stage=Stage.PILOT,
        budget_planned=Decimal("1000"),
        budget_spent=Decimal("250"),
        risk_tier=choices.RiskTier.LIMITED,
        learnings="Customers accept the bot for simple questions.",
    )
    alignment = factories.AlignmentFactory(initiative=bot, goal=nps, strength=2)

    decision = decide(review, bot, Decision.CONTINUE, actor=pmo_user)

    frozen = ReviewDecision.objects.get(pk=decision.pk).snapshot
    taken_at = frozen.pop("taken_at")
    assert frozen == {
        "key": bot.key,
        "name": bot.name,
        "stage": "pilot",
        "paused_from": "",
        "kind": "chatbot",
        "alignment_level": "moderate",
        "alignment_strength": 2,
        "primary_goal": "G-NPS",
        "lead_department": "service",
        "budget_planned": "1000.00",
        "budget_spent": "250.00",
        "currency": "EUR",
        "owner": {"email": "ada@example.com", "name": "Ada Owner"},
        "goal_progress": {
            "goal": "G-NPS",
            "progress_pct": 25.0,
            "current": "25.0000",
            "observed_on": "2026-06-30",
        },
        "risk_tier": "limited",
        "is_silo": True,
    }
    assert datetime.datetime.fromisoformat(taken_at) == decision.decided_at
    assert decision.decided_by == pmo_user

    # The quarter moves on: budget, owner, alignment, goal and stage all change.
    Initiative.objects.filter(pk=bot.pk).update(budget_planned=5000, budget_spent=4000)
    owner.name = "Ada Renamed"
    owner.save()
    alignment.strength = 3
    alignment.save()
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 9, 30), value=35)
    initiative_transition(initiative=bot, to_stage=Stage.SCALING, actor=pmo_user)

    assert ReviewDecision.objects.get(pk=decision.pk).snapshot == {**frozen, "taken_at": taken_at}

    # Deciding again replaces the decision and re-freezes the snapshot (one decision per
    # initiative).
    again = decide(review, bot, Decision.SCALE, actor=pmo_user)
    assert again.pk == decision.pk
    assert ReviewDecision.objects.filter(review=review).count() == 1
    refrozen = ReviewDecision.objects.get(pk=decision.pk)
    assert refrozen.decision == "scale"
    assert refrozen.snapshot["stage"] == "scaling"
    assert refrozen.snapshot["alignment_level"] == "strong"
    assert refrozen.snapshot["budget_planned"] == "5000.00"
    assert refrozen.snapshot["owner"]["name"] == "Ada Renamed"
    assert refrozen.snapshot["goal_progress"]["progress_pct"] == 75.0


def test_decide_refuses_an_initiative_outside_the_period(service, review, pmo_user):
    finished = initiative(service, end_date=datetime.date(2026, 6, 30))
    with pytest.raises(reviews.ReviewError) as refused:
        decide(review, finished, actor=pmo_user)
    assert refused.value.code == "not_in_review"
    assert finished.key in refused.value.message
    assert not ReviewDecision.objects.exists()


def test_decide_refuses_an_unknown_decision(service, review, pmo_user):
    with pytest.raises(reviews.ReviewError) as refused:
        decide(review, initiative(service), "expand", actor=pmo_user)
    assert (refused.value.code, refused.value.field) == ("invalid_decision", "decision")


def test_decision_is_recorded_in_history_with_its_actor(service, review, pmo_user):
    from django.apps import apps

    ReviewDecisionEvent = apps.get_model("registry", "ReviewDecisionEvent")  # noqa: N806

    decide(review, initiative(service), actor=pmo_user, channel=choices.Channel.COMMAND)

    event = ReviewDecisionEvent.objects.select_related("pgh_context").get()
    assert event.pgh_context.metadata["actor"] == "pmo"
    assert event.pgh_context.metadata["channel"] == "command"


# --- decisions that move the initiative -----------------------------------------------------


def test_scale_moves_a_pilot_to_scaling_through_the_gate(service, review, pmo_user):
    pilot = initiative(service, stage=Stage.PILOT, learnings="Deflects 30% of billing chats.")

    decision = decide(review, pilot, Decision.SCALE, actor=pmo_user, apply_move=True)

    pilot.refresh_from_db()
    assert pilot.stage == Stage.SCALING
    change = StageChange.objects.get(initiative=pilot)
    assert (change.from_stage, change.to_stage, change.by) == ("pilot", "scaling", pmo_user)
    assert decision.snapshot["stage"] == "pilot"
    assert decision.snapshot["applied_move"] == {"from": "pilot", "to": "scaling"}

    scaling = initiative(service, stage=Stage.SCALING)
    decide(review, scaling, Decision.SCALE, actor=pmo_user, apply_move=True)
    scaling.refresh_from_db()
    assert scaling.stage == Stage.PRODUCTION


def test_refused_move_writes_nothing(service, review, pmo_user):
    pilot = initiative(service, stage=Stage.PILOT)  # no learnings recorded
    earlier = decide(review, pilot, Decision.CONTINUE, actor=pmo_user)

    with pytest.raises(TransitionError) as refused:
        decide(review, pilot, Decision.SCALE, actor=pmo_user, apply_move=True)

    assert refused.value.code == "gate_not_met"
    assert refused.value.missing == ("learnings",)
    pilot.refresh_from_db()
    assert pilot.stage == Stage.PILOT
    assert not StageChange.objects.filter(initiative=pilot).exists()
    kept = ReviewDecision.objects.get(review=review, initiative=pilot)
    assert (kept.decision, kept.snapshot) == ("continue", earlier.snapshot)


def test_scale_refuses_an_initiative_that_is_not_piloting_or_scaling(service, review, pmo_user):
    idea = initiative(service)
    with pytest.raises(TransitionError) as refused:
        decide(review, idea, Decision.SCALE, actor=pmo_user, apply_move=True)
    assert refused.value.code == "transition_not_allowed"
    assert not ReviewDecision.objects.exists()
    # Without apply_move the decision is only recorded.
    decide(review, idea, Decision.SCALE, actor=pmo_user)
    idea.refresh_from_db()
    assert idea.stage == Stage.IDEA


def test_pause_and_stop_need_a_note_or_rationale(service, review, pmo_user):
    paused = initiative(service, stage=Stage.APPROVED)
    stopped = initiative(service, stage=Stage.APPROVED)
    silent = initiative(service, stage=Stage.APPROVED)

    reviews.review_decide(
        review=review,
        initiative=paused,
        decision=Decision.PAUSE,
        rationale="",
        note="Wait for the CRM upgrade.",
        actor=pmo_user,
        apply_move=True,
    )
    reviews.review_decide(
        review=review,
        initiative=stopped,
        decision=Decision.STOP,
        rationale="Duplicates the marketing bot.",
        actor=pmo_user,
        apply_move=True,
    )
    with pytest.raises(TransitionError) as refused:
        reviews.review_decide(
            review=review,
            initiative=silent,
            decision=Decision.STOP,
            rationale="",
            actor=pmo_user,
            apply_move=True,
        )

    paused.refresh_from_db()
    stopped.refresh_from_db()
    silent.refresh_from_db()
    assert (paused.stage, paused.paused_from) == (Stage.PAUSED, Stage.APPROVED)
    assert StageChange.objects.get(initiative=paused).note == "Wait for the CRM upgrade."
    assert stopped.stage == Stage.STOPPED
    assert StageChange.objects.get(initiative=stopped).note == "Duplicates the marketing bot."
    assert refused.value.missing == ("note",)
    assert silent.stage == Stage.APPROVED
    assert not ReviewDecision.objects.filter(initiative=silent).exists()


# --- close ----------------------------------------------------------------------------------


def test_close_requires_a_decision_for_every_initiative(service, review, pmo_user, viewer_user):
    first = initiative(service)
    secret = initiative(service, confidential=True)
    decide(review, first, actor=pmo_user)

    # Closing is the PMO's: the service refuses anyone else before looking at decisions.
    with pytest.raises(ForbiddenError):
        reviews.review_close(review=review, actor=viewer_user)
    with pytest.raises(reviews.ReviewError) as refused:
        reviews.review_close(review=review, actor=pmo_user)

    assert refused.value.code == "undecided_initiatives"
    assert refused.value.keys == (secret.key,)
    assert secret.key in refused.value.message
    review.refresh_from_db()
    assert review.status == choices.ReviewStatus.OPEN


def test_closed_review_and_its_decisions_never_change(service, review, pmo_user):
    first, second = initiative(service), initiative(service)
    decide(review, first, actor=pmo_user)
    decision = decide(review, second, Decision.PIVOT, actor=pmo_user)

    reviews.review_close(review=review, actor=pmo_user, summary="Two kept, one pivot.")

    stored = Review.objects.get(pk=review.pk)
    assert stored.status == choices.ReviewStatus.CLOSED
    assert stored.closed_at is not None
    assert stored.held_on is not None
    assert stored.summary == "Two kept, one pivot."
    assert review.status == choices.ReviewStatus.CLOSED

    with pytest.raises(reviews.ReviewClosedError) as refused:
        decide(review, second, Decision.STOP, actor=pmo_user)
    assert refused.value.code == "review_closed"
    with pytest.raises(reviews.ReviewClosedError):
        reviews.review_close(review=review, actor=pmo_user)
    with pytest.raises(reviews.ReviewClosedError):
        reviews.review_update(review=review, actor=pmo_user, summary="Rewritten.")
    # A write that bypasses the service is refused by the database.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.filter(pk=decision.pk).update(decision=Decision.STOP)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.filter(pk=decision.pk).delete()

    assert ReviewDecision.objects.get(pk=decision.pk).decision == "pivot"
    assert Review.objects.get(pk=review.pk).summary == "Two kept, one pivot."


def test_closed_review_still_lists_what_it_decided(service, review, pmo_user):
    kept = initiative(service)
    decide(review, kept, actor=pmo_user)
    reviews.review_close(review=review, actor=pmo_user)

    Initiative.objects.filter(pk=kept.pk).update(end_date=datetime.date(2026, 7, 1))
    later = initiative(service)  # registered after the review closed

    listed = review_initiatives(review, user=pmo_user)
    assert [(i.key, i.decision) for i in listed] == [(kept.key, "continue")]
    assert later.key in [i.key for i in initiatives_in_period("2026-Q4")]


def test_review_update_changes_an_open_review(review, pmo_user):
    reviews.review_update(
        review=review, actor=pmo_user, summary="Agenda", held_on=datetime.date(2026, 12, 4)
    )
    stored = Review.objects.get(pk=review.pk)
    assert (stored.summary, stored.held_on) == ("Agenda", datetime.date(2026, 12, 4))


def test_review_initiatives_runs_a_constant_number_of_queries(service, review, pmo_user):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            rows = list(review_initiatives(review, user=pmo_user))
            for row in rows:
                _ = (row.owner.name, row.lead_department.slug, row.decision, row.goal_progress)
        return len(queries), len(rows)

    for _ in range(3):
        decide(review, initiative(service), actor=pmo_user)
    count_queries()  # warm the user's role cache
    small = count_queries()
    for _ in range(30):
        initiative(service)
    large = count_queries()
    assert large[0] == small[0]
    assert (small[1], large[1]) == (3, 33)


# --- compare --------------------------------------------------------------------------------


def test_compare_two_quarters(service, nps, active_vision, pmo_user):
    a = initiative(
        service,
        stage=Stage.PILOT,
        learnings="Works for billing.",
        budget_planned=100,
        budget_spent=10,
    )
    factories.AlignmentFactory(initiative=a, goal=nps, strength=2)
    b = initiative(service, end_date=datetime.date(2026, 8, 31))  # only in Q3
    c = initiative(service, start_date=datetime.date(2026, 10, 15))  # only in Q4
    d = initiative(service, budget_planned=200, budget_spent=0)
    e = initiative(service)  # unaligned in Q3

    q3 = reviews.review_open(vision=active_vision, period="2026-Q3", actor=pmo_user)
    decide(q3, a, Decision.SCALE, actor=pmo_user, apply_move=True)
    decide(q3, b, Decision.STOP, actor=pmo_user)
    decide(q3, d, actor=pmo_user)
    decide(q3, e, Decision.PIVOT, actor=pmo_user)
    reviews.review_close(review=q3, actor=pmo_user)

    Initiative.objects.filter(pk=d.pk).update(budget_planned=250, budget_spent=50)
    factories.AlignmentFactory(initiative=e, goal=nps, strength=3)
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 9, 30), value=30)

    q4 = reviews.review_open(vision=active_vision, period="2026-Q4", actor=pmo_user)
    for target in (a, c, d, e):
        decide(q4, target, actor=pmo_user)

    comparison = review_compare(review=q4)

    assert comparison["review"] == {"id": q4.pk, "period": "2026-Q4", "status": "open"}
    assert comparison["previous"] == {"id": q3.pk, "period": "2026-Q3", "status": "closed"}
    assert comparison["new"] == [
        {
            "key": c.key,
            "name": c.name,
            "stage": "idea",
            "alignment_level": "none",
            "decision": "continue",
        }
    ]
    assert comparison["gone"] == [
        {
            "key": b.key,
            "name": b.name,
            "stage": "idea",
            "alignment_level": "none",
            "decision": "stop",
        }
    ]
    assert comparison["stage_moves"] == [
        {"key": a.key, "name": a.name, "from": "pilot", "to": "scaling"}
    ]
    assert comparison["alignment_changes"] == [
        {
            "key": e.key,
            "name": e.name,
            "from": "none",
            "to": "strong",
            "primary_goal_from": None,
            "primary_goal_to": "G-NPS",
        }
    ]
    assert comparison["budget_changes"] == [
        {
            "key": d.key,
            "name": d.name,
            "currency_from": "EUR",
            "currency": "EUR",
            "planned_from": Decimal("200.00"),
            "planned_to": Decimal("250.00"),
            "planned_delta": Decimal("50.00"),
            "spent_from": Decimal("0.00"),
            "spent_to": Decimal("50.00"),
            "spent_delta": Decimal("50.00"),
        }
    ]
    assert comparison["decision_changes"] == sorted(
        [
            {"key": a.key, "name": a.name, "from": "scale", "to": "continue"},
            {"key": e.key, "name": e.name, "from": "pivot", "to": "continue"},
        ],
        key=lambda row: row["key"],
    )
    assert comparison["goal_progress_changes"] == [
        {"goal": "G-NPS", "from_pct": 25.0, "to_pct": 50.0, "delta_pct": 25.0}
    ]

    # The first review has nothing before it: everything it decided is new.
    first = review_compare(review=q3)
    assert first["previous"] is None
    assert [row["key"] for row in first["new"]] == sorted([a.key, b.key, d.key, e.key])
    assert first["gone"] == first["stage_moves"] == first["budget_changes"] == []
    # An explicit previous review is honoured (here: compared with itself, nothing changed).
    same = review_compare(review=q4, previous=q4)
    assert same["new"] == same["gone"] == same["stage_moves"] == same["decision_changes"] == []
