"""The domain's invariants hold in the database itself, and Django validation says why.

Each named constraint is exercised twice: once against PostgreSQL (the write is refused and
the error names the constraint, so a bulk write or a raw SQL fix cannot slip past it) and,
for the constraints Django knows about, once through `full_clean()` / `validate_constraints()`
so the admin and the API can show the constraint's own message to a person.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from registry import choices, models
from registry.models import INITIATIVE_KEY_SEQUENCE
from tests import factories

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"^AI-\d{4,}$")


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def refused_by(constraint: str) -> Iterator[None]:
    """The block's write is refused by PostgreSQL, naming `constraint`.

    Runs in a savepoint so the test's transaction stays usable afterwards.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    diag = excinfo.value.__cause__.diag
    assert diag.constraint_name == constraint, str(excinfo.value)


def message_of(model: type, constraint: str) -> str:
    for candidate in model._meta.constraints:
        if candidate.name == constraint:
            return str(candidate.violation_error_message)
    raise AssertionError(f"{model.__name__} has no constraint {constraint}")


def assert_invalid(instance, constraint: str, *, via: str = "validate_constraints") -> None:
    """Django's own validation refuses the instance with the constraint's message."""
    with pytest.raises(ValidationError) as excinfo:
        getattr(instance, via)()
    assert message_of(type(instance), constraint) in excinfo.value.messages


def check_deferred_constraints() -> None:
    """Run the checks COMMIT would run, now, and keep deferring later writes.

    Switching to IMMEDIATE fires the pending deferred triggers; switching back lets the rest
    of the test write in several steps again, as a real transaction would.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def vision(active_vision):
    return active_vision


@pytest.fixture
def goal(vision):
    return factories.GoalFactory(vision=vision)


@pytest.fixture
def initiative(db):
    return factories.InitiativeFactory()


def review(vision, **kwargs) -> models.Review:
    return models.Review.objects.create(vision=vision, **{"period": "2026-Q4", **kwargs})


# --- vision -----------------------------------------------------------------------------------


def test_only_one_vision_can_be_active(vision):
    factories.VisionFactory(status=choices.VisionStatus.DRAFT)
    factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    factories.VisionFactory(status=choices.VisionStatus.DRAFT)

    with refused_by("registry_vision_one_active"):
        factories.VisionFactory(status=choices.VisionStatus.ACTIVE)
    assert_invalid(factories.VisionFactory.build(), "registry_vision_one_active", via="full_clean")
    # The active vision itself is not its own duplicate.
    vision.full_clean()


def test_vision_horizon_must_not_end_before_it_starts(db):
    kwargs = {
        "horizon_start": datetime.date(2027, 1, 1),
        "horizon_end": datetime.date(2026, 12, 31),
    }
    with refused_by("registry_vision_horizon_ordered"):
        factories.VisionFactory(**kwargs)
    assert_invalid(
        factories.VisionFactory.build(**kwargs), "registry_vision_horizon_ordered", via="full_clean"
    )
    same_day = factories.VisionFactory.build(
        horizon_start=datetime.date(2027, 1, 1), horizon_end=datetime.date(2027, 1, 1)
    )
    same_day.full_clean()


# --- goal and measurement ---------------------------------------------------------------------


def test_goal_target_date_must_not_precede_baseline_date(vision):
    kwargs = {
        "vision": vision,
        "baseline_date": datetime.date(2026, 6, 1),
        "target_date": datetime.date(2026, 5, 31),
    }
    with refused_by("registry_goal_dates_ordered"):
        factories.GoalFactory(**kwargs)
    assert_invalid(
        factories.GoalFactory.build(**kwargs), "registry_goal_dates_ordered", via="full_clean"
    )


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "ok"),
    [
        (choices.Direction.INCREASE, "20", "40", True),
        (choices.Direction.INCREASE, "20", "20", False),
        (choices.Direction.INCREASE, "20", "10", False),
        (choices.Direction.DECREASE, "300", "240", True),
        (choices.Direction.DECREASE, "300", "300", False),
        (choices.Direction.DECREASE, "300", "360", False),
    ],
)
def test_goal_target_lies_in_its_direction(vision, direction, baseline, target, ok):
    kwargs = {
        "vision": vision,
        "direction": direction,
        "baseline": Decimal(baseline),
        "target": Decimal(target),
    }
    if ok:
        factories.GoalFactory.build(**kwargs).full_clean()
        factories.GoalFactory(**kwargs)
        return
    with refused_by("registry_goal_target_matches_direction"):
        factories.GoalFactory(**kwargs)
    assert_invalid(
        factories.GoalFactory.build(**kwargs),
        "registry_goal_target_matches_direction",
        via="full_clean",
    )


@pytest.mark.parametrize("weight", [0, 11, 500])
def test_goal_weight_outside_1_to_10_is_refused(vision, weight):
    with refused_by("registry_goal_weight_range"):
        factories.GoalFactory(vision=vision, weight=weight)
    assert_invalid(
        factories.GoalFactory.build(vision=vision, weight=weight), "registry_goal_weight_range"
    )


@pytest.mark.parametrize("weight", [1, 10])
def test_goal_weight_bounds_are_allowed(vision, weight):
    factories.GoalFactory.build(vision=vision, weight=weight).full_clean()
    assert factories.GoalFactory(vision=vision, weight=weight).weight == weight


def test_goal_cannot_refine_itself(goal, vision):
    with refused_by("registry_goal_not_own_parent"):
        models.Goal.objects.filter(pk=goal.pk).update(parent=goal)
    goal.parent = goal
    assert_invalid(goal, "registry_goal_not_own_parent", via="full_clean")

    goal.parent = factories.GoalFactory(vision=vision)
    goal.full_clean()
    goal.save()


def test_one_measurement_per_goal_and_day(goal, vision):
    day = datetime.date(2026, 3, 31)
    factories.MeasurementFactory(goal=goal, observed_on=day, value=Decimal("24"))
    # Another day, or another goal on the same day, is fine.
    factories.MeasurementFactory(goal=goal, observed_on=day + datetime.timedelta(days=1))
    factories.MeasurementFactory(goal=factories.GoalFactory(vision=vision), observed_on=day)

    with refused_by("registry_measurement_one_per_day"):
        factories.MeasurementFactory(goal=goal, observed_on=day, value=Decimal("25"))
    assert_invalid(
        factories.MeasurementFactory.build(goal=goal, observed_on=day),
        "registry_measurement_one_per_day",
        via="full_clean",
    )


# --- person -----------------------------------------------------------------------------------


def test_person_email_is_unique_ignoring_case(db):
    factories.PersonFactory(email="ana.lopez@example.com")

    # save() normalises, so the database index is what stops a differently-cased copy that
    # arrives by a bulk write.
    with refused_by("registry_person_unique_email"):
        models.Person.objects.bulk_create(
            [models.Person(name="Ana", email="Ana.Lopez@Example.COM")]
        )
    with refused_by("registry_person_unique_email"):
        factories.PersonFactory(email="  ANA.LOPEZ@example.com ")
    assert_invalid(
        models.Person(name="Ana", email="ANA.LOPEZ@EXAMPLE.COM"),
        "registry_person_unique_email",
        via="full_clean",
    )
    factories.PersonFactory(email="ana.lopez@example.org")


def test_person_email_is_stored_lower_case(db):
    person = factories.PersonFactory(email="  Bo.Berg@Example.com ")
    person.refresh_from_db()
    assert person.email == "bo.berg@example.com"


# --- initiative -------------------------------------------------------------------------------


def test_initiative_key_comes_from_the_database_in_ai_0000_style(db):
    first = factories.InitiativeFactory()
    second = factories.InitiativeFactory()

    assert KEY_PATTERN.match(first.key), first.key
    assert KEY_PATTERN.match(second.key), second.key
    assert first.key != second.key
    assert int(second.key[3:]) == int(first.key[3:]) + 1
    first.refresh_from_db()
    assert KEY_PATTERN.match(first.key)


def test_initiative_key_is_unique_in_the_database(db):
    first = factories.InitiativeFactory()
    second = factories.InitiativeFactory()
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        models.Initiative.objects.filter(pk=second.pk).update(key=first.key)
    assert "key" in str(excinfo.value)


def test_initiative_key_is_never_reused_after_a_hard_delete(db):
    deleted = factories.InitiativeFactory()
    deleted_key = deleted.key
    deleted.delete()

    successor = factories.InitiativeFactory()

    assert successor.key != deleted_key
    assert int(successor.key[3:]) > int(deleted_key[3:])
    assert not models.Initiative.objects.filter(key=deleted_key).exists()


@pytest.fixture
def key_sequence_restored(db):
    """setval() is not transactional: put the sequence back so other tests see no gap."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value, is_called FROM {INITIATIVE_KEY_SEQUENCE}")  # noqa: S608
        last_value, is_called = cursor.fetchone()
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(%s, %s, %s)", [INITIATIVE_KEY_SEQUENCE, last_value, is_called]
        )


def test_initiative_key_grows_beyond_four_digits(key_sequence_restored):
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(%s, 9998)", [INITIATIVE_KEY_SEQUENCE])

    assert factories.InitiativeFactory().key == "AI-9999"
    assert factories.InitiativeFactory().key == "AI-10000"
    assert factories.InitiativeFactory().key == "AI-10001"


def test_external_id_is_unique_per_source_among_live_initiatives(db):
    first = factories.InitiativeFactory(source="jira", external_id="CX-1")
    factories.InitiativeFactory(source="servicenow", external_id="CX-1")
    factories.InitiativeFactory(source="jira", external_id="CX-2")
    # Initiatives without an external identity never collide.
    factories.InitiativeFactory(source="", external_id=None)
    factories.InitiativeFactory(source="", external_id=None)

    with refused_by("registry_initiative_unique_external_id"):
        factories.InitiativeFactory(source="jira", external_id="CX-1")
    assert_invalid(
        factories.InitiativeFactory.build(source="jira", external_id="CX-1"),
        "registry_initiative_unique_external_id",
    )

    # Once archived, the old row no longer holds the identity: sync may create it again.
    first.archived_at = timezone.now()
    first.save(update_fields=["archived_at"])
    factories.InitiativeFactory.build(source="jira", external_id="CX-1").validate_constraints()
    again = factories.InitiativeFactory(source="jira", external_id="CX-1")
    assert again.key != first.key
    # ... but only one live copy.
    with refused_by("registry_initiative_unique_external_id"):
        factories.InitiativeFactory(source="jira", external_id="CX-1")


@pytest.mark.parametrize(
    "budget", [{"budget_planned": Decimal("-0.01")}, {"budget_spent": Decimal("-100")}]
)
def test_initiative_budget_cannot_be_negative(db, budget):
    with refused_by("registry_initiative_budget_not_negative"):
        factories.InitiativeFactory(**budget)
    assert_invalid(
        factories.InitiativeFactory.build(**budget),
        "registry_initiative_budget_not_negative",
    )
    factories.InitiativeFactory(budget_planned=Decimal(0), budget_spent=Decimal(0))


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("target_date", "registry_initiative_target_after_start"),
        ("end_date", "registry_initiative_end_after_start"),
    ],
)
def test_initiative_dates_must_not_precede_its_start(db, field, constraint):
    start = datetime.date(2026, 10, 1)
    bad = {"start_date": start, field: start - datetime.timedelta(days=1)}
    with refused_by(constraint):
        factories.InitiativeFactory(**bad)
    assert_invalid(factories.InitiativeFactory.build(**bad), constraint)

    # Same day, or either date open, is fine.
    factories.InitiativeFactory(start_date=start, **{field: start})
    factories.InitiativeFactory(start_date=None, **{field: start})
    factories.InitiativeFactory(start_date=start, **{field: None})


@pytest.mark.parametrize("stage", choices.BEYOND_PROPOSED)
def test_prohibited_initiative_never_goes_beyond_proposed(db, stage):
    prohibited = {"risk_tier": choices.RiskTier.PROHIBITED}
    with refused_by("registry_initiative_prohibited_not_beyond_proposed"):
        factories.InitiativeFactory(stage=stage, **prohibited)
    assert_invalid(
        factories.InitiativeFactory.build(stage=stage, **prohibited),
        "registry_initiative_prohibited_not_beyond_proposed",
    )

    # An initiative already at that stage cannot be re-classified as prohibited either.
    at_stage = factories.InitiativeFactory(stage=stage, risk_tier=choices.RiskTier.HIGH)
    with refused_by("registry_initiative_prohibited_not_beyond_proposed"):
        models.Initiative.objects.filter(pk=at_stage.pk).update(**prohibited)


@pytest.mark.parametrize(
    "stage", [choices.Stage.IDEA, choices.Stage.PROPOSED, choices.Stage.STOPPED]
)
def test_prohibited_initiative_may_exist_up_to_proposed(db, stage):
    factories.InitiativeFactory.build(
        stage=stage, risk_tier=choices.RiskTier.PROHIBITED
    ).validate_constraints()
    factories.InitiativeFactory(stage=stage, risk_tier=choices.RiskTier.PROHIBITED)


@pytest.mark.parametrize("external_id", ["CX-9", ""])
def test_external_id_needs_a_source(db, external_id):
    with refused_by("registry_initiative_external_id_needs_source"):
        factories.InitiativeFactory(source="", external_id=external_id)
    assert_invalid(
        factories.InitiativeFactory.build(source="", external_id=external_id),
        "registry_initiative_external_id_needs_source",
    )
    factories.InitiativeFactory(source="jira", external_id=external_id)


# --- alignment --------------------------------------------------------------------------------


def test_initiative_aligns_to_a_goal_only_once(initiative, goal):
    factories.AlignmentFactory(initiative=initiative, goal=goal, is_primary=True)
    with refused_by("registry_alignment_unique_goal"):
        factories.AlignmentFactory(initiative=initiative, goal=goal, is_primary=False)
    assert_invalid(
        factories.AlignmentFactory.build(initiative=initiative, goal=goal, is_primary=False),
        "registry_alignment_unique_goal",
        via="full_clean",
    )


def test_initiative_has_at_most_one_primary_alignment(initiative, vision):
    factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
    )
    other_goal = factories.GoalFactory(vision=vision)
    factories.AlignmentFactory(initiative=initiative, goal=other_goal, is_primary=False)

    with refused_by("registry_alignment_one_primary"):
        factories.AlignmentFactory(
            initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
        )
    assert_invalid(
        factories.AlignmentFactory.build(
            initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
        ),
        "registry_alignment_one_primary",
        via="full_clean",
    )
    # Another initiative has its own primary.
    factories.AlignmentFactory(goal=other_goal, is_primary=True)


@pytest.mark.parametrize("strength", [0, 4])
def test_alignment_strength_is_1_to_3(initiative, goal, strength):
    with refused_by("registry_alignment_strength_range"):
        factories.AlignmentFactory(initiative=initiative, goal=goal, strength=strength)
    assert_invalid(
        factories.AlignmentFactory.build(initiative=initiative, goal=goal, strength=strength),
        "registry_alignment_strength_range",
    )


def test_aligned_initiative_without_primary_fails_when_checked(initiative, goal):
    with refused_by("registry_alignment_has_primary"):
        factories.AlignmentFactory(initiative=initiative, goal=goal, is_primary=False)
        check_deferred_constraints()


def test_primary_alignment_cannot_be_removed_while_others_remain(initiative, vision):
    primary = factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
    )
    factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=False
    )
    check_deferred_constraints()
    primary_pk = primary.pk

    with refused_by("registry_alignment_has_primary"):
        models.Alignment.objects.filter(pk=primary_pk).delete()
        check_deferred_constraints()
    with refused_by("registry_alignment_has_primary"):
        models.Alignment.objects.filter(pk=primary_pk).update(is_primary=False)
        check_deferred_constraints()
    assert models.Alignment.objects.get(pk=primary_pk).is_primary


def test_primary_can_be_switched_and_all_alignments_removed(initiative, vision):
    first = factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=True
    )
    second = factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=vision), is_primary=False
    )
    check_deferred_constraints()

    # Within one transaction the primary may move; only the end state is checked.
    with transaction.atomic():
        models.Alignment.objects.filter(pk=first.pk).update(is_primary=False)
        models.Alignment.objects.filter(pk=second.pk).update(is_primary=True)
    check_deferred_constraints()

    # An initiative with no alignments at all is simply not aligned.
    models.Alignment.objects.filter(initiative=initiative).delete()
    check_deferred_constraints()
    assert not initiative.alignments.exists()


def test_moving_the_primary_to_another_initiative_leaves_no_unprimaried_initiative(vision):
    """The check must look at the initiative an alignment leaves, not only where it goes."""
    left_behind = factories.InitiativeFactory()
    primary = factories.AlignmentFactory(
        initiative=left_behind, goal=factories.GoalFactory(vision=vision), is_primary=True
    )
    factories.AlignmentFactory(
        initiative=left_behind, goal=factories.GoalFactory(vision=vision), is_primary=False
    )
    check_deferred_constraints()
    receiver = factories.InitiativeFactory()

    with refused_by("registry_alignment_has_primary"):
        models.Alignment.objects.filter(pk=primary.pk).update(initiative=receiver)
        check_deferred_constraints()


@pytest.mark.django_db(transaction=True)
def test_aligned_initiative_without_primary_cannot_be_committed():
    """The deferred trigger runs at COMMIT, so the whole transaction is refused."""
    vision = factories.VisionFactory()
    goal = factories.GoalFactory(vision=vision)
    initiative = factories.InitiativeFactory()

    seen_inside: list[int] = []

    def align_without_primary() -> None:
        with transaction.atomic():
            factories.AlignmentFactory(initiative=initiative, goal=goal, is_primary=False)
            seen_inside.append(models.Alignment.objects.filter(initiative=initiative).count())

    with pytest.raises(IntegrityError) as excinfo:
        align_without_primary()
    # The write itself went through; only the commit was refused.
    assert seen_inside == [1]
    assert excinfo.value.__cause__.diag.constraint_name == "registry_alignment_has_primary"
    assert "primary" in str(excinfo.value)
    assert not models.Alignment.objects.filter(initiative=initiative).exists()

    with transaction.atomic():
        factories.AlignmentFactory(initiative=initiative, goal=goal, is_primary=True)
    assert models.Alignment.objects.filter(initiative=initiative, is_primary=True).count() == 1


# --- dependency -------------------------------------------------------------------------------


def test_dependency_exists_once(db):
    a, b = factories.InitiativeFactory(), factories.InitiativeFactory()
    models.Dependency.objects.create(from_initiative=a, to_initiative=b)
    with refused_by("registry_dependency_unique"):
        models.Dependency.objects.create(from_initiative=a, to_initiative=b)
    assert_invalid(
        models.Dependency(from_initiative=a, to_initiative=b),
        "registry_dependency_unique",
        via="full_clean",
    )


def test_initiative_cannot_depend_on_itself(db):
    a = factories.InitiativeFactory()
    with refused_by("registry_dependency_not_self"):
        models.Dependency.objects.create(from_initiative=a, to_initiative=a)
    assert_invalid(
        models.Dependency(from_initiative=a, to_initiative=a),
        "registry_dependency_not_self",
        via="full_clean",
    )


def test_dependencies_cannot_form_a_cycle(db):
    a, b, c, d = (factories.InitiativeFactory() for _ in range(4))
    models.Dependency.objects.create(from_initiative=a, to_initiative=b)
    models.Dependency.objects.create(from_initiative=b, to_initiative=c)

    with refused_by("registry_dependency_no_cycle"):
        models.Dependency.objects.create(from_initiative=c, to_initiative=a)
    with refused_by("registry_dependency_no_cycle"):
        models.Dependency.objects.create(from_initiative=b, to_initiative=a)

    # Shared prerequisites (a diamond) are not a cycle.
    models.Dependency.objects.create(from_initiative=a, to_initiative=c)
    models.Dependency.objects.create(from_initiative=d, to_initiative=c)
    models.Dependency.objects.create(from_initiative=d, to_initiative=a)
    assert models.Dependency.objects.count() == 5


def test_redirecting_a_dependency_into_a_cycle_is_refused(db):
    a, b, c = (factories.InitiativeFactory() for _ in range(3))
    models.Dependency.objects.create(from_initiative=a, to_initiative=b)
    b_to_c = models.Dependency.objects.create(from_initiative=b, to_initiative=c)

    with refused_by("registry_dependency_no_cycle"):
        models.Dependency.objects.filter(pk=b_to_c.pk).update(to_initiative=a)


# --- team, notes ------------------------------------------------------------------------------


def test_person_holds_a_role_on_an_initiative_once(initiative):
    person = factories.PersonFactory()
    factories.TeamRoleFactory(initiative=initiative, person=person, role="responsible")
    factories.TeamRoleFactory(initiative=initiative, person=person, role="data_scientist")

    with refused_by("registry_teamrole_unique"):
        factories.TeamRoleFactory(initiative=initiative, person=person, role="responsible")
    assert_invalid(
        factories.TeamRoleFactory.build(initiative=initiative, person=person, role="responsible"),
        "registry_teamrole_unique",
        via="full_clean",
    )


def test_note_belongs_to_exactly_one_subject(initiative, goal, vision):
    the_review = review(vision)
    for subject in ({"initiative": initiative}, {"goal": goal}, {"review": the_review}):
        note = models.Note(text="Context.", **subject)
        note.full_clean()
        note.save()

    for subjects in (
        {},
        {"initiative": initiative, "goal": goal},
        {"goal": goal, "review": the_review},
        {"initiative": initiative, "goal": goal, "review": the_review},
    ):
        with refused_by("registry_note_one_subject"):
            models.Note.objects.create(text="Orphan or ambiguous.", **subjects)
        assert_invalid(
            models.Note(text="Orphan or ambiguous.", **subjects),
            "registry_note_one_subject",
            via="full_clean",
        )


# --- reviews and decisions --------------------------------------------------------------------


def test_review_is_unique_per_vision_and_quarter(vision):
    review(vision, period="2026-Q4")
    review(vision, period="2027-Q1")
    review(factories.VisionFactory(status=choices.VisionStatus.RETIRED), period="2026-Q4")

    with refused_by("registry_review_unique_period"):
        review(vision, period="2026-Q4")
    assert_invalid(
        models.Review(vision=vision, period="2026-Q4"),
        "registry_review_unique_period",
        via="full_clean",
    )


@pytest.mark.parametrize("period", ["2026-Q1", "2026-Q4", "1999-Q2"])
def test_review_period_accepts_quarters(vision, period):
    candidate = models.Review(vision=vision, period=period)
    candidate.full_clean()
    candidate.save()
    assert models.Review.objects.get(pk=candidate.pk).period == period


@pytest.mark.parametrize("period", ["2026-Q5", "2026-Q0", "2026Q4", "26-Q4", "foo", ""])
def test_review_period_must_be_a_quarter(vision, period):
    with refused_by("registry_review_period_is_quarter"):
        review(vision, period=period)
    assert_invalid(
        models.Review(vision=vision, period=period),
        "registry_review_period_is_quarter",
    )


def test_review_decides_once_per_initiative(vision, initiative):
    the_review = review(vision)
    models.ReviewDecision.objects.create(
        review=the_review, initiative=initiative, decision=choices.Decision.CONTINUE
    )
    with refused_by("registry_reviewdecision_unique"):
        models.ReviewDecision.objects.create(
            review=the_review, initiative=initiative, decision=choices.Decision.STOP
        )
    assert_invalid(
        models.ReviewDecision(
            review=the_review, initiative=initiative, decision=choices.Decision.STOP
        ),
        "registry_reviewdecision_unique",
        via="full_clean",
    )


def close(the_review: models.Review) -> None:
    the_review.status = choices.ReviewStatus.CLOSED
    the_review.closed_at = timezone.now()
    the_review.save(update_fields=["status", "closed_at"])


def test_closed_review_freezes_its_decisions(vision):
    the_review = review(vision)
    decided = factories.InitiativeFactory()
    decision = models.ReviewDecision.objects.create(
        review=the_review, initiative=decided, decision=choices.Decision.SCALE, rationale="Works."
    )
    # While open, decisions can still change.
    decision.rationale = "Works well."
    decision.save()
    close(the_review)

    with refused_by("registry_reviewdecision_frozen_when_closed"):
        models.ReviewDecision.objects.filter(pk=decision.pk).update(decision=choices.Decision.STOP)
    with refused_by("registry_reviewdecision_frozen_when_closed"):
        models.ReviewDecision.objects.create(
            review=the_review, initiative=factories.InitiativeFactory(), decision="continue"
        )
    with refused_by("registry_reviewdecision_frozen_when_closed"):
        decision.delete()

    decision.refresh_from_db()
    assert decision.decision == choices.Decision.SCALE
    assert decision.rationale == "Works well."
    assert the_review.decisions.count() == 1


def test_decision_cannot_be_moved_out_of_a_closed_review(vision):
    """Re-pointing a frozen decision at an open review would empty the closed record."""
    closed = review(vision, period="2026-Q3")
    decision = models.ReviewDecision.objects.create(
        review=closed, initiative=factories.InitiativeFactory(), decision="continue"
    )
    close(closed)
    still_open = review(vision, period="2026-Q4")

    with refused_by("registry_reviewdecision_frozen_when_closed"):
        models.ReviewDecision.objects.filter(pk=decision.pk).update(review=still_open)
    assert closed.decisions.count() == 1


def test_review_closed_at_matches_status(vision):
    with refused_by("registry_review_closed_at_matches_status"):
        review(vision, status=choices.ReviewStatus.CLOSED, closed_at=None)
    with refused_by("registry_review_closed_at_matches_status"):
        review(vision, status=choices.ReviewStatus.OPEN, closed_at=timezone.now())


# --- stage changes ----------------------------------------------------------------------------


def test_stage_changes_are_append_only(initiative):
    change = models.StageChange.objects.create(
        initiative=initiative, from_stage="", to_stage=choices.Stage.IDEA, note="Registered."
    )

    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        models.StageChange.objects.filter(pk=change.pk).update(note="Rewritten history.")
    assert "Cannot update rows from registry_stagechange" in str(excinfo.value)

    change.to_stage = choices.Stage.PILOT
    with pytest.raises(DatabaseError), transaction.atomic():
        change.save()

    change.refresh_from_db()
    assert (change.to_stage, change.note) == (choices.Stage.IDEA, "Registered.")

    # Deleting the initiative still takes its history with it (hard delete by the PMO).
    initiative.delete()
    assert not models.StageChange.objects.filter(pk=change.pk).exists()
