"""Derived values as QuerySet annotations, on small portfolios crafted to tell cases apart."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.utils import timezone

from registry import choices, models
from registry.choices import AlignmentStrength, VisionStatus
from registry.models import Department, Goal, Initiative
from registry.quarters import quarter_bounds
from registry.selectors.visibility import visible_initiatives
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def vision(active_vision):
    return active_vision


def keys(queryset) -> set[str]:
    return set(queryset.values_list("key", flat=True))


# --- alignment level and primary goal ---------------------------------------------------------


@pytest.fixture
def portfolio(vision):
    """Initiatives whose alignment level differs for one reason each."""
    old_vision = factories.VisionFactory(status=VisionStatus.RETIRED)
    draft_vision = factories.VisionFactory(status=VisionStatus.DRAFT)
    goal_nps = factories.GoalFactory(vision=vision, code="G-NPS")
    goal_aht = factories.GoalFactory(vision=vision, code="G-AHT")
    goal_archived = factories.GoalFactory(
        vision=vision, code="G-OLD-CSAT", archived_at=timezone.now()
    )
    goal_old = factories.GoalFactory(vision=old_vision, code="G-2025-NPS")
    goal_draft = factories.GoalFactory(vision=draft_vision, code="G-2030-CES")

    def initiative(*alignments: tuple[Goal, int, bool]) -> Initiative:
        created = factories.InitiativeFactory()
        for goal, strength, primary in alignments:
            factories.AlignmentFactory(
                initiative=created, goal=goal, strength=strength, is_primary=primary
            )
        return created

    return {
        "unaligned": initiative(),
        "weak": initiative((goal_nps, AlignmentStrength.WEAK, True)),
        "moderate": initiative((goal_aht, AlignmentStrength.MODERATE, True)),
        # The strongest link counts even when it is not the primary one.
        "strong_secondary": initiative(
            (goal_nps, AlignmentStrength.WEAK, True),
            (goal_aht, AlignmentStrength.STRONG, False),
        ),
        "old_vision_only": initiative((goal_old, AlignmentStrength.STRONG, True)),
        "archived_goal_only": initiative((goal_archived, AlignmentStrength.STRONG, True)),
        # Strong to a draft vision, weak to the active one: weak.
        "draft_and_active": initiative(
            (goal_draft, AlignmentStrength.STRONG, True),
            (goal_aht, AlignmentStrength.WEAK, False),
        ),
        "goals": {"nps": goal_nps, "aht": goal_aht},
    }


def test_alignment_level_is_the_strongest_link_to_the_active_vision(portfolio):
    annotated = {
        row.key: (row.alignment_strength, row.alignment_level)
        for row in Initiative.objects.with_alignment_level()
    }
    expected = {
        "unaligned": (0, "none"),
        "weak": (1, "weak"),
        "moderate": (2, "moderate"),
        "strong_secondary": (3, "strong"),
        "old_vision_only": (0, "none"),
        "archived_goal_only": (0, "none"),
        "draft_and_active": (1, "weak"),
    }
    assert annotated == {portfolio[name].key: level for name, level in expected.items()}


def test_alignment_level_filters_in_sql(portfolio):
    queryset = Initiative.objects.with_alignment_level()

    assert keys(queryset.filter(alignment_level="none")) == {
        portfolio[name].key for name in ("unaligned", "old_vision_only", "archived_goal_only")
    }
    assert keys(queryset.filter(alignment_strength__gte=2)) == {
        portfolio["moderate"].key,
        portfolio["strong_secondary"].key,
    }
    assert keys(queryset.filter(alignment_level__in=["weak", "strong"])) == {
        portfolio[name].key for name in ("weak", "strong_secondary", "draft_and_active")
    }
    ordered = list(
        queryset.order_by("-alignment_strength", "key").values_list("alignment_level", flat=True)
    )
    assert ordered == ["strong", "moderate", "weak", "weak", "none", "none", "none"]
    # One row per initiative, however many alignments it has.
    assert queryset.count() == Initiative.objects.count() == 7


def test_alignment_level_follows_the_vision_that_is_active_now(portfolio, vision):
    vision.status = VisionStatus.RETIRED
    vision.save(update_fields=["status"])

    levels = set(
        Initiative.objects.with_alignment_level().values_list("alignment_level", flat=True)
    )
    assert levels == {"none"}


def test_primary_goal_is_the_primary_alignment_to_the_active_vision(portfolio):
    rows = {
        row.key: (row.primary_goal_id, row.primary_goal_code)
        for row in Initiative.objects.with_primary_goal()
    }
    nps, aht = portfolio["goals"]["nps"], portfolio["goals"]["aht"]

    assert rows[portfolio["weak"].key] == (nps.pk, "G-NPS")
    assert rows[portfolio["moderate"].key] == (aht.pk, "G-AHT")
    assert rows[portfolio["strong_secondary"].key] == (nps.pk, "G-NPS")
    for name in ("unaligned", "old_vision_only", "archived_goal_only", "draft_and_active"):
        assert rows[portfolio[name].key] == (None, None), name
    assert keys(Initiative.objects.with_primary_goal().filter(primary_goal_code="G-NPS")) == {
        portfolio["weak"].key,
        portfolio["strong_secondary"].key,
    }


# --- silos ------------------------------------------------------------------------------------


@pytest.fixture
def departments(db):
    return {
        slug: factories.DepartmentFactory(name=slug.title(), slug=slug)
        for slug in ("service", "marketing", "it")
    }


def initiative_in(lead, *, participating=(), team=()) -> Initiative:
    created = factories.InitiativeFactory(lead_department=lead)
    created.departments.set(participating)
    for department in team:
        factories.TeamRoleFactory(
            initiative=created, person=factories.PersonFactory(department=department)
        )
    return created


def test_silo_flag_counts_lead_participating_and_team_departments(departments):
    service, marketing, it = departments["service"], departments["marketing"], departments["it"]
    cases = {
        "lead_only": (initiative_in(service), 1, True),
        "lead_also_participating": (
            initiative_in(service, participating=[service], team=[service, service]),
            1,
            True,
        ),
        "participating_elsewhere": (initiative_in(service, participating=[marketing]), 2, False),
        "team_from_elsewhere": (initiative_in(service, team=[it]), 2, False),
        "three_departments": (
            initiative_in(service, participating=[marketing], team=[it, marketing]),
            3,
            False,
        ),
        "no_departments": (initiative_in(None), 0, True),
        "no_lead_two_participating": (
            initiative_in(None, participating=[marketing, it]),
            2,
            False,
        ),
        "team_without_department": (initiative_in(None, team=[None]), 0, True),
    }

    rows = {
        row.key: (row.spanned_departments, row.is_silo)
        for row in Initiative.objects.with_silo_flag()
    }

    for name, (initiative, spanned, silo) in cases.items():
        assert rows[initiative.key] == (spanned, silo), name
    silo_keys = {initiative.key for initiative, _, silo in cases.values() if silo}
    assert keys(Initiative.objects.with_silo_flag().filter(is_silo=True)) == silo_keys
    assert Initiative.objects.with_silo_flag().count() == len(cases)


def test_silo_flag_works_inside_a_subquery(departments):
    """Reports nest it (departments that lead a silo); the count must follow the outer row."""
    service, marketing, it = departments["service"], departments["marketing"], departments["it"]
    initiative_in(service)
    initiative_in(marketing, participating=[it])

    silos_led = Initiative.objects.with_silo_flag().filter(
        is_silo=True, lead_department=OuterRef("pk")
    )
    leading_a_silo = Department.objects.filter(Exists(silos_led))

    assert set(leading_a_silo.values_list("slug", flat=True)) == {"service"}


def test_derived_annotations_combine_in_one_query(
    portfolio, departments, django_assert_num_queries
):
    cross_functional = initiative_in(departments["service"], participating=[departments["it"]])
    factories.AlignmentFactory(
        initiative=cross_functional, goal=portfolio["goals"]["nps"], strength=3, is_primary=True
    )

    with django_assert_num_queries(1):
        rows = list(
            Initiative.objects.with_derived()
            .filter(is_silo=False, alignment_level="strong")
            .values_list("key", "primary_goal_code", "spanned_departments")
        )

    assert rows == [(cross_functional.key, "G-NPS", 2)]


# --- goal progress ----------------------------------------------------------------------------


def test_goal_progress_from_the_latest_measurement(vision):
    nps = factories.GoalFactory(
        vision=vision, code="G-NPS", baseline=Decimal("20"), target=Decimal("40")
    )
    # Entered out of order: the latest observation wins, not the latest row.
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 6, 30), value=30)
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 3, 31), value=24)
    aht = factories.GoalFactory(
        vision=vision,
        code="G-AHT",
        metric=choices.Metric.AHT,
        unit="seconds",
        direction=choices.Direction.DECREASE,
        baseline=Decimal("300"),
        target=Decimal("240"),
    )
    factories.MeasurementFactory(goal=aht, observed_on=datetime.date(2026, 6, 30), value=285)
    churn = factories.GoalFactory(
        vision=vision,
        code="G-CHURN",
        metric=choices.Metric.CHURN_RATE,
        unit="%",
        direction=choices.Direction.DECREASE,
        baseline=Decimal("12"),
        target=Decimal("8"),
    )
    factories.MeasurementFactory(goal=churn, observed_on=datetime.date(2026, 9, 30), value=7)
    csat = factories.GoalFactory(
        vision=vision, code="G-CSAT", baseline=Decimal("4.0"), target=Decimal("4.5")
    )
    factories.MeasurementFactory(goal=csat, observed_on=datetime.date(2026, 9, 30), value="3.9")
    unmeasured = factories.GoalFactory(vision=vision, code="G-FCR")

    rows = {goal.code: goal for goal in Goal.objects.with_progress()}

    assert rows["G-NPS"].current == Decimal("30")
    assert rows["G-NPS"].current_on == datetime.date(2026, 6, 30)
    assert rows["G-NPS"].progress == Decimal("0.5")
    # Decrease goals: falling towards the target is progress.
    assert rows["G-AHT"].current == Decimal("285")
    assert rows["G-AHT"].progress == Decimal("0.25")
    # Beyond the target is more than 1, the wrong way is negative.
    assert rows["G-CHURN"].progress == Decimal("1.25")
    assert rows["G-CSAT"].progress == Decimal("-0.2")
    assert rows[unmeasured.code].current is None
    assert rows[unmeasured.code].current_on is None
    assert rows[unmeasured.code].progress is None

    on_track = Goal.objects.with_progress().filter(progress__gte=Decimal("0.5"))
    assert set(on_track.values_list("code", flat=True)) == {"G-NPS", "G-CHURN"}


def test_goal_progress_is_a_fraction_of_the_way(vision):
    goal = factories.GoalFactory(vision=vision, baseline=Decimal("0"), target=Decimal("3"))
    factories.MeasurementFactory(goal=goal, value=1)
    progress = Goal.objects.with_progress().get(pk=goal.pk).progress
    assert progress == pytest.approx(Decimal(1) / Decimal(3), abs=Decimal("1e-6"))


# --- quarters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026-Q1", (datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))),
        ("2026-Q2", (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30))),
        ("2026-Q3", (datetime.date(2026, 7, 1), datetime.date(2026, 9, 30))),
        ("2026-Q4", (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))),
        ("2028-Q1", (datetime.date(2028, 1, 1), datetime.date(2028, 3, 31))),
    ],
)
def test_quarter_bounds(period, bounds):
    assert quarter_bounds(period) == bounds


@pytest.mark.parametrize("period", ["2026-Q5", "2026-Q0", "foo", "", "2026Q4", "Q4-2026"])
def test_quarter_bounds_refuses_what_is_not_a_quarter(period):
    with pytest.raises(ValueError, match="is not a quarter like 2026-Q4"):
        quarter_bounds(period)


def test_active_in_is_overlap_with_open_ends(db):
    def dated(start=None, end=None, **extra) -> Initiative:
        return factories.InitiativeFactory(start_date=start, end_date=end, **extra)

    date = datetime.date
    inside = {
        "undated": dated(),
        "started_in_quarter": dated(date(2026, 11, 15)),
        "starts_on_last_day": dated(date(2026, 12, 31)),
        "ends_on_first_day": dated(None, date(2026, 10, 1)),
        "spans_quarter": dated(date(2026, 1, 1), date(2027, 6, 30)),
        "open_start_ends_later": dated(None, date(2027, 1, 1)),
        # A planned target date is not an end: without end_date it is still running.
        "past_target_no_end": dated(date(2026, 1, 1), target_date=date(2026, 3, 31)),
    }
    outside = {
        "starts_next_year": dated(date(2027, 1, 1)),
        "ended_before": dated(None, date(2026, 9, 30)),
        "ran_in_first_half": dated(date(2026, 1, 1), date(2026, 6, 30)),
    }

    assert keys(Initiative.objects.active_in("2026-Q4")) == {i.key for i in inside.values()}
    assert keys(Initiative.objects.active_in("2027-Q1")) == {
        inside[name].key
        for name in ("undated", "started_in_quarter", "starts_on_last_day", "spans_quarter")
    } | {
        inside["open_start_ends_later"].key,
        inside["past_target_no_end"].key,
        outside["starts_next_year"].key,
    }


@pytest.mark.parametrize("period", ["2026-Q5", "foo"])
def test_active_in_refuses_a_bad_quarter(db, period):
    with pytest.raises(ValueError):
        Initiative.objects.active_in(period)


# --- visibility -------------------------------------------------------------------------------


@pytest.fixture
def confidential_portfolio(db):
    owner_user = factories.UserFactory(username="olga.owner")
    team_user = factories.UserFactory(username="tom.team")
    public = factories.InitiativeFactory(confidential=False)
    owned = factories.InitiativeFactory(
        confidential=True, owner=factories.PersonFactory(user=owner_user)
    )
    staffed = factories.InitiativeFactory(confidential=True)
    member = factories.PersonFactory(user=team_user)
    # Two roles on the same initiative must not list it twice.
    factories.TeamRoleFactory(initiative=staffed, person=member, role="responsible")
    factories.TeamRoleFactory(initiative=staffed, person=member, role="data_scientist")
    secret = factories.InitiativeFactory(confidential=True)
    factories.TeamRoleFactory(initiative=secret)  # someone else's team
    return {
        "owner_user": owner_user,
        "team_user": team_user,
        "public": public,
        "owned": owned,
        "staffed": staffed,
        "secret": secret,
    }


def test_confidential_initiatives_are_hidden_from_a_viewer(confidential_portfolio, viewer_user):
    visible = visible_initiatives(viewer_user)
    assert keys(visible) == {confidential_portfolio["public"].key}


def test_anonymous_sees_only_public_initiatives(confidential_portfolio):
    assert keys(visible_initiatives(AnonymousUser())) == {confidential_portfolio["public"].key}


def test_pmo_and_superuser_see_everything(confidential_portfolio, pmo_user):
    everything = keys(Initiative.objects.all())
    assert keys(visible_initiatives(pmo_user)) == everything
    superuser = factories.UserFactory(username="root", is_superuser=True)
    assert keys(visible_initiatives(superuser)) == everything


def test_owner_and_team_see_their_confidential_initiative(confidential_portfolio):
    portfolio = confidential_portfolio
    public, owned, staffed = portfolio["public"], portfolio["owned"], portfolio["staffed"]

    assert keys(visible_initiatives(portfolio["owner_user"])) == {
        public.key,
        owned.key,
    }
    team_view = visible_initiatives(portfolio["team_user"])
    assert keys(team_view) == {public.key, staffed.key}
    assert team_view.count() == 2


def test_visibility_composes_with_derived_annotations(confidential_portfolio, viewer_user):
    rows = list(
        visible_initiatives(viewer_user).with_derived().values_list("key", "alignment_level")
    )
    assert rows == [(confidential_portfolio["public"].key, "none")]


def test_open_excludes_closed_and_archived(db):
    running = factories.InitiativeFactory(stage=choices.Stage.PILOT)
    paused = factories.InitiativeFactory(stage=choices.Stage.PAUSED, paused_from="pilot")
    factories.InitiativeFactory(stage=choices.Stage.RETIRED)
    factories.InitiativeFactory(stage=choices.Stage.STOPPED)
    factories.InitiativeFactory(stage=choices.Stage.PILOT, archived_at=timezone.now())

    assert keys(models.Initiative.objects.open()) == {running.key, paused.key}
