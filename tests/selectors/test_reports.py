"""Portfolio reports: every figure checked against values computed here from crafted data.

The expected numbers are computed in Python straight from the factories' inputs (not from the
ORM annotations the reports use), so a wrong join, filter or permission in the SQL shows up
as a mismatch.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registry import choices
from registry.choices import AlignmentLevel, Kind, Stage
from registry.models import Initiative, OverlapCandidate
from registry.selectors import flags, reports
from registry.selectors import overlaps as overlap_scoring
from registry.services import lifecycle
from registry.services.overlaps import overlaps_refresh
from tests import factories

Q4_START, Q4_END = datetime.date(2026, 10, 1), datetime.date(2026, 12, 31)
LEVELS = {0: "none", 1: "weak", 2: "moderate", 3: "strong"}


@pytest.fixture
def org(db):
    """Three departments with an owner each, three systems."""
    departments = {
        slug: factories.DepartmentFactory(slug=slug, name=name)
        for slug, name in (("service", "Service"), ("marketing", "Marketing"), ("it", "IT"))
    }
    owners = {
        slug: factories.PersonFactory(department=department, name=f"Owner {slug}")
        for slug, department in departments.items()
    }
    systems = {
        slug: factories.SystemFactory(slug=slug, name=slug.upper())
        for slug in ("crm", "cdp", "llm")
    }
    return {"departments": departments, "owners": owners, "systems": systems}


def make_initiative(org, department: str | None, **fields) -> Initiative:
    owner = org["owners"][department] if department else factories.PersonFactory(department=None)
    fields.setdefault("owner", owner)
    return factories.InitiativeFactory(
        lead_department=org["departments"][department] if department else None, **fields
    )


def align(initiative, goal, strength=3, primary=True):
    return factories.AlignmentFactory(
        initiative=initiative, goal=goal, strength=strength, is_primary=primary
    )


# --- a generated portfolio and an independent model of it ---------------------------------------


@dataclass
class Spec:
    """What the test put into an initiative, to recompute every report figure in Python."""

    initiative: Initiative
    department: str | None
    stage: str
    kind: str
    risk_tier: str
    interaction_mode: str
    currency: str
    planned: Decimal
    spent: Decimal
    confidential: bool
    archived: bool
    start: datetime.date | None
    end: datetime.date | None
    alignments: list[tuple[object, int, bool]] = field(default_factory=list)

    def in_q4(self) -> bool:
        return (self.start is None or self.start <= Q4_END) and (
            self.end is None or self.end >= Q4_START
        )

    def strength(self, vision_goal_ids) -> int:
        return max((s for g, s, _p in self.alignments if g.pk in vision_goal_ids), default=0)

    def primary_goal(self, vision_goal_ids) -> str | None:
        return next((g.code for g, _s, p in self.alignments if p and g.pk in vision_goal_ids), None)

    @property
    def is_open(self) -> bool:
        return self.stage not in (Stage.RETIRED, Stage.STOPPED)


DATE_PATTERNS = [
    (None, None),
    (datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)),  # over before Q4
    (datetime.date(2026, 10, 15), None),  # starts in Q4
    (datetime.date(2025, 3, 1), datetime.date(2026, 11, 30)),  # ends in Q4
    (datetime.date(2027, 2, 1), None),  # after Q4
]


@pytest.fixture
def portfolio(org, active_vision):
    """~40 initiatives with varied fields, alignments to live, archived and foreign goals."""
    rng = random.Random(20264)
    goals = [
        factories.GoalFactory(vision=active_vision, code=code)
        for code in ("G-NPS", "G-AHT", "G-FCR", "G-CES")
    ]
    archived_goal = factories.GoalFactory(
        vision=active_vision, code="G-OLD", archived_at=timezone.now()
    )
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    foreign_goal = factories.GoalFactory(vision=retired, code="R-NPS")
    all_goals = [*goals, archived_goal, foreign_goal]
    specs = []
    for _n in range(40):
        stage = rng.choice(Stage.values)
        risk = rng.choice(choices.RiskTier.values)
        if risk == choices.RiskTier.PROHIBITED and stage in choices.BEYOND_PROPOSED:
            risk = choices.RiskTier.HIGH
        department = rng.choice(["service", "marketing", "it", "it", None])
        start, end = rng.choice(DATE_PATTERNS)
        spec = Spec(
            initiative=None,  # type: ignore[arg-type]
            department=department,
            stage=stage,
            kind=rng.choice(Kind.values[:4]),
            risk_tier=risk,
            interaction_mode=rng.choice(choices.InteractionMode.values),
            currency=rng.choice(["EUR", "EUR", "EUR", "USD"]),
            planned=Decimal(rng.randrange(0, 500_000, 1000)) / 10,
            spent=Decimal(rng.randrange(0, 200_000, 100)) / 10,
            confidential=rng.random() < 0.25,
            archived=rng.random() < 0.1,
            start=start,
            end=end,
        )
        spec.initiative = make_initiative(
            org,
            department,
            stage=spec.stage,
            kind=spec.kind,
            risk_tier=spec.risk_tier,
            interaction_mode=spec.interaction_mode,
            currency=spec.currency,
            budget_planned=spec.planned,
            budget_spent=spec.spent,
            confidential=spec.confidential,
            archived_at=timezone.now() if spec.archived else None,
            start_date=start,
            end_date=end,
        )
        for index, goal in enumerate(rng.sample(all_goals, rng.choice([0, 0, 1, 1, 2, 3]))):
            strength = rng.randint(1, 3)
            align(spec.initiative, goal, strength, primary=index == 0)
            spec.alignments.append((goal, strength, index == 0))
        specs.append(spec)
    return {
        "specs": specs,
        "goals": goals,
        "vision_goal_ids": {g.pk for g in goals},
        "retired": retired,
        "foreign_goal": foreign_goal,
    }


def visible(specs, *, pmo: bool, period: str | None):
    return [
        s
        for s in specs
        if not s.archived and (pmo or not s.confidential) and (period is None or s.in_q4())
    ]


def expected_breakdowns(rows, goal_ids):
    """dimension -> code -> (count, aligned_count, planned, spent), zero rows left out."""
    out: dict[str, dict] = defaultdict(dict)
    for s in rows:
        strength = s.strength(goal_ids)
        codes = {
            "stage": s.stage,
            "kind": s.kind,
            "lead_department": s.department,
            "primary_goal": s.primary_goal(goal_ids),
            "alignment_level": LEVELS[strength],
            "risk_tier": s.risk_tier,
            "interaction_mode": s.interaction_mode,
            "currency": s.currency,
        }
        for dimension, code in codes.items():
            count, aligned, planned, spent = out[dimension].get(code, (0, 0, 0, 0))
            out[dimension][code] = (
                count + 1,
                aligned + (strength > 0),
                planned + s.planned,
                spent + s.spent,
            )
    return out


def reported_breakdowns(summary):
    return {
        dimension: {
            row["code"]: (
                row["count"],
                row["aligned_count"],
                row["budget_planned"],
                row["budget_spent"],
            )
            for row in rows
            if row["count"]
        }
        for dimension, rows in summary["breakdowns"].items()
    }


# --- portfolio summary ----------------------------------------------------------------------


@pytest.mark.parametrize("period", [None, "2026-Q4"])
@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_portfolio_summary_matches_independent_computation(
    portfolio, pmo_user, viewer_user, role, period
):
    user = pmo_user if role == "pmo" else viewer_user
    goal_ids = portfolio["vision_goal_ids"]
    rows = visible(portfolio["specs"], pmo=role == "pmo", period=period)
    assert rows, "the crafted portfolio must leave something to count"

    summary = reports.portfolio_summary(user=user, period=period)

    unaligned = [s for s in rows if s.strength(goal_ids) == 0]
    totals = summary["totals"]
    assert totals["count"] == len(rows)
    assert totals["aligned_count"] == len(rows) - len(unaligned)
    assert totals["share_aligned"] == round((len(rows) - len(unaligned)) / len(rows), 4)
    assert totals["budget_planned"] == sum(s.planned for s in rows)
    assert totals["budget_spent"] == sum(s.spent for s in rows)
    assert totals["budget_planned_unaligned"] == sum(s.planned for s in unaligned)
    assert totals["budget_spent_unaligned"] == sum(s.spent for s in unaligned)
    assert totals["currencies"] == sorted({s.currency for s in rows})

    open_rows = [s for s in rows if s.is_open]
    served = {g.pk for s in open_rows for g, _st, _p in s.alignments if g.pk in goal_ids}
    assert totals["coverage_gap_count"] == len(goal_ids - served)

    assert reported_breakdowns(summary) == expected_breakdowns(rows, goal_ids)
    # Every breakdown adds up to the totals; vocabularies are complete and in order.
    for dimension, dimension_rows in summary["breakdowns"].items():
        assert sum(row["count"] for row in dimension_rows) == len(rows), dimension
    assert [row["code"] for row in summary["breakdowns"]["stage"]] == Stage.values
    assert [row["code"] for row in summary["breakdowns"]["alignment_level"]] == [
        "none",
        "weak",
        "moderate",
        "strong",
    ]
    # Every goal of the vision is listed (zeros included), the "no primary goal" bucket last.
    goal_codes = [row["code"] for row in summary["breakdowns"]["primary_goal"]]
    assert goal_codes[:4] == ["G-AHT", "G-CES", "G-FCR", "G-NPS"]
    assert set(goal_codes[4:]) <= {None}


def test_portfolio_summary_small_case_by_hand(org, active_vision, pmo_user, viewer_user):
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    factories.GoalFactory(vision=active_vision, code="G-AHT")  # nobody serves it
    bot = make_initiative(org, "service", budget_planned=100, budget_spent=40, stage="pilot")
    align(bot, nps, strength=2)
    make_initiative(org, "marketing", budget_planned=30, budget_spent=5, kind="automation")
    secret = make_initiative(org, "it", budget_planned=1000, budget_spent=0, confidential=True)
    align(secret, nps, strength=3)

    viewer = reports.portfolio_summary(user=viewer_user)
    assert viewer["vision"]["id"] == active_vision.pk
    assert viewer["totals"] == {
        "count": 2,
        "aligned_count": 1,
        "share_aligned": 0.5,
        "budget_planned": Decimal("130.00"),
        "budget_spent": Decimal("45.00"),
        "budget_planned_unaligned": Decimal("30.00"),
        "budget_spent_unaligned": Decimal("5.00"),
        "coverage_gap_count": 1,
        "currencies": ["EUR"],
    }
    assert {r["code"]: r["count"] for r in viewer["breakdowns"]["lead_department"]} == {
        "service": 1,
        "marketing": 1,
    }
    pmo = reports.portfolio_summary(user=pmo_user)
    assert pmo["totals"]["count"] == 3
    assert pmo["totals"]["budget_planned"] == Decimal("1130.00")
    strong = next(r for r in pmo["breakdowns"]["alignment_level"] if r["code"] == "strong")
    assert (strong["count"], strong["budget_planned"]) == (1, Decimal("1000.00"))


def test_confidential_initiative_counts_for_its_team(org, active_vision, contributor_user):
    person = factories.PersonFactory(user=contributor_user, department=None)
    secret = make_initiative(org, "it", confidential=True, budget_planned=500)
    make_initiative(org, "it", confidential=True, budget_planned=700)
    factories.TeamRoleFactory(initiative=secret, person=person)

    totals = reports.portfolio_summary(user=contributor_user)["totals"]
    assert (totals["count"], totals["budget_planned"]) == (1, Decimal("500.00"))
    assert reports.portfolio_summary(user=None)["totals"]["count"] == 0


def test_reports_follow_the_vision_asked_for(org, portfolio, pmo_user):
    retired, foreign_goal = portfolio["retired"], portfolio["foreign_goal"]
    rows = visible(portfolio["specs"], pmo=True, period=None)
    aligned_to_foreign = [s for s in rows if any(g == foreign_goal for g, _s, _p in s.alignments)]

    summary = reports.portfolio_summary(user=pmo_user, vision=retired)

    assert summary["vision"]["id"] == retired.pk
    assert summary["totals"]["aligned_count"] == len(aligned_to_foreign)
    assert [r["code"] for r in summary["breakdowns"]["primary_goal"]][0] == "R-NPS"
    assert (
        reports.portfolio_summary(user=pmo_user, vision=retired.pk)["totals"] == (summary["totals"])
    )


def test_vision_alignment_matches_the_active_vision_queryset_methods(portfolio):
    vision_id = portfolio["goals"][0].vision_id
    ours = {
        row["pk"]: (row["alignment_level"], row["primary_goal_code"])
        for row in reports.with_vision_alignment(Initiative.objects.all(), vision_id).values(
            "pk", "alignment_level", "primary_goal_code"
        )
    }
    theirs = {
        row["pk"]: (row["alignment_level"], row["primary_goal_code"])
        for row in Initiative.objects.with_alignment_level()
        .with_primary_goal()
        .values("pk", "alignment_level", "primary_goal_code")
    }
    assert ours == theirs
    assert {level for level, _goal in ours.values()} == set(AlignmentLevel.values)


def test_without_an_active_vision_everything_is_unaligned(org, pmo_user):
    make_initiative(org, "service", budget_planned=10)
    make_initiative(org, "it", budget_planned=20)

    summary = reports.portfolio_summary(user=pmo_user)

    assert summary["vision"] is None
    assert summary["totals"]["count"] == 2
    assert summary["totals"]["aligned_count"] == 0
    assert summary["totals"]["budget_planned_unaligned"] == Decimal("30.00")
    assert summary["totals"]["coverage_gap_count"] == 0
    assert summary["breakdowns"]["primary_goal"] == [
        {
            "code": None,
            "name": None,
            "count": 2,
            "aligned_count": 0,
            "budget_planned": Decimal("30.00"),
            "budget_spent": Decimal("0.00"),
        }
    ]
    matrix = reports.alignment_matrix(user=pmo_user)
    assert (matrix["goals"], matrix["cells"]) == ([], [])
    assert reports.goal_progress(user=pmo_user) == []
    assert reports.coverage_gaps(user=pmo_user) == []


def test_malformed_period_is_refused(pmo_user, active_vision):
    with pytest.raises(ValueError, match="not a quarter"):
        reports.portfolio_summary(user=pmo_user, period="2026-13")


# --- alignment matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_alignment_matrix_matches_independent_computation(
    portfolio, org, pmo_user, viewer_user, role
):
    user = pmo_user if role == "pmo" else viewer_user
    goal_ids = portfolio["vision_goal_ids"]
    rows = [s for s in visible(portfolio["specs"], pmo=role == "pmo", period=None) if s.is_open]

    matrix = reports.alignment_matrix(user=user)

    cells: dict[tuple, list] = {}
    for s in rows:
        for goal, strength, _p in s.alignments:
            if goal.pk in goal_ids:
                cell = cells.setdefault((goal.code, s.department), [0, Decimal(0), 0])
                cell[0] += 1
                cell[1] += s.planned
                cell[2] = max(cell[2], strength)
    assert {
        (c["goal"], c["department"]): [c["count"], c["budget_planned"], c["max_strength"]]
        for c in matrix["cells"]
    } == cells
    assert all(c["alignment_level"] == LEVELS[c["max_strength"]] for c in matrix["cells"])

    assert [g["code"] for g in matrix["goals"]] == ["G-AHT", "G-CES", "G-FCR", "G-NPS"]
    for goal_row in matrix["goals"]:
        members = [s for s in rows if any(g.code == goal_row["code"] for g, _s, _p in s.alignments)]
        assert goal_row["count"] == len(members)
        assert goal_row["budget_planned"] == sum(s.planned for s in members)

    columns = {c["slug"]: c for c in matrix["departments"]}
    assert [c["slug"] for c in matrix["departments"]][:3] == ["it", "marketing", "service"]
    for slug in ("service", "marketing", "it", None):
        led = [s for s in rows if s.department == slug]
        if slug is None and not led:
            assert None not in columns
            continue
        assert columns[slug]["count"] == len(led)
        assert columns[slug]["aligned_count"] == sum(1 for s in led if s.strength(goal_ids))
        assert columns[slug]["budget_planned"] == sum(s.planned for s in led)
    unaligned = {u["department"]: (u["count"], u["budget_planned"]) for u in matrix["unaligned"]}
    expected_unaligned: dict = {}
    for s in rows:
        if not s.strength(goal_ids):
            count, planned = expected_unaligned.get(s.department, (0, Decimal(0)))
            expected_unaligned[s.department] = (count + 1, planned + s.planned)
    assert unaligned == expected_unaligned


def test_alignment_matrix_cell_keeps_strongest_and_sums_budget(org, active_vision, pmo_user):
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    aht = factories.GoalFactory(vision=active_vision, code="G-AHT")
    a = make_initiative(org, "service", budget_planned=100)
    align(a, nps, strength=1)
    align(a, aht, strength=2, primary=False)
    b = make_initiative(org, "service", budget_planned=50)
    align(b, nps, strength=3)
    stopped = make_initiative(org, "service", budget_planned=999, stage="stopped")
    align(stopped, nps, strength=3)

    matrix = reports.alignment_matrix(user=pmo_user)

    assert matrix["cells"] == [
        {
            "goal": "G-AHT",
            "department": "service",
            "count": 1,
            "budget_planned": Decimal("100.00"),
            "max_strength": 2,
            "alignment_level": "moderate",
        },
        {
            "goal": "G-NPS",
            "department": "service",
            "count": 2,
            "budget_planned": Decimal("150.00"),
            "max_strength": 3,
            "alignment_level": "strong",
        },
    ]
    service = next(c for c in matrix["departments"] if c["slug"] == "service")
    # `a` sits in two rows but once in its column.
    assert (service["count"], service["budget_planned"]) == (2, Decimal("150.00"))
    assert matrix["unaligned"] == []


# --- goal progress --------------------------------------------------------------------------


def test_goal_progress_and_on_track(org, active_vision, pmo_user, viewer_user):
    nps = factories.GoalFactory(
        vision=active_vision,
        code="G-NPS",
        baseline=Decimal("20"),
        target=Decimal("40"),
        baseline_date=datetime.date(2026, 1, 1),
        target_date=datetime.date(2027, 1, 1),
    )
    aht = factories.GoalFactory(
        vision=active_vision,
        code="G-AHT",
        metric=choices.Metric.AHT,
        direction=choices.Direction.DECREASE,
        baseline=Decimal("300"),
        target=Decimal("200"),
        baseline_date=datetime.date(2026, 1, 1),
        target_date=datetime.date(2027, 1, 1),
    )
    factories.GoalFactory(vision=active_vision, code="G-CES")  # never measured
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 3, 1), value=22)
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 6, 1), value=30)
    factories.MeasurementFactory(goal=aht, observed_on=datetime.date(2026, 6, 1), value=280)
    open_one = make_initiative(org, "service")
    align(open_one, nps)
    secret = make_initiative(org, "it", confidential=True)
    align(secret, nps)
    stopped = make_initiative(org, "marketing", stage="stopped")
    align(stopped, aht)
    today = datetime.date(2026, 7, 2)  # 182 of 365 days into both goals

    report = {g["code"]: g for g in reports.goal_progress(user=pmo_user, today=today)}

    expected = round(182 / 365 * 100, 2)
    assert report["G-NPS"]["current"] == Decimal("30")
    assert report["G-NPS"]["current_on"] == datetime.date(2026, 6, 1)
    assert report["G-NPS"]["progress_pct"] == 50.0  # (30 − 20) / (40 − 20)
    assert report["G-NPS"]["expected_pct"] == expected
    assert report["G-NPS"]["on_track"] is True
    assert report["G-NPS"]["contributing_keys"] == sorted([open_one.key, secret.key])
    assert report["G-NPS"]["contributing_count"] == 2
    assert report["G-AHT"]["progress_pct"] == 20.0  # (280 − 300) / (200 − 300)
    assert report["G-AHT"]["on_track"] is False
    assert report["G-AHT"]["contributing_count"] == 0  # its only initiative is stopped
    assert report["G-CES"]["progress_pct"] is None
    assert report["G-CES"]["on_track"] is None
    assert list(report) == ["G-AHT", "G-CES", "G-NPS"]

    viewer = {g["code"]: g for g in reports.goal_progress(user=viewer_user, today=today)}
    assert viewer["G-NPS"]["contributing_keys"] == [open_one.key]


def test_expected_progress_straight_line():
    start, end = datetime.date(2026, 1, 1), datetime.date(2026, 1, 11)
    assert reports.expected_progress(start, end, datetime.date(2025, 12, 1)) == 0.0
    assert reports.expected_progress(start, end, datetime.date(2026, 1, 6)) == 0.5
    assert reports.expected_progress(start, end, datetime.date(2027, 1, 1)) == 1.0
    assert reports.expected_progress(start, start, start) == 1.0


# --- coverage gaps --------------------------------------------------------------------------


def test_coverage_gaps(org, active_vision, pmo_user, viewer_user):
    served = factories.GoalFactory(vision=active_vision, code="G-SERVED", weight=5)
    by_stopped = factories.GoalFactory(vision=active_vision, code="G-STOPPED", weight=9)
    by_archived = factories.GoalFactory(vision=active_vision, code="G-ARCHIVED", weight=1)
    by_secret = factories.GoalFactory(vision=active_vision, code="G-SECRET", weight=1)
    later = factories.GoalFactory(vision=active_vision, code="G-LATER", weight=3)
    factories.GoalFactory(vision=active_vision, code="G-GONE", archived_at=timezone.now())
    factories.GoalFactory(
        vision=factories.VisionFactory(status=choices.VisionStatus.RETIRED), code="R-X"
    )
    align(make_initiative(org, "service"), served)
    align(make_initiative(org, "service", stage="stopped"), by_stopped)
    align(make_initiative(org, "service", archived_at=timezone.now()), by_archived)
    align(make_initiative(org, "it", confidential=True), by_secret)
    align(make_initiative(org, "it", start_date=datetime.date(2027, 1, 1)), later)

    def codes(**kwargs):
        return [g["code"] for g in reports.coverage_gaps(**kwargs)]

    # Highest weight first, then code.
    assert codes(user=pmo_user) == ["G-STOPPED", "G-ARCHIVED"]
    assert codes(user=viewer_user) == ["G-STOPPED", "G-ARCHIVED", "G-SECRET"]
    assert codes(user=pmo_user, period="2026-Q4") == ["G-STOPPED", "G-LATER", "G-ARCHIVED"]
    gaps = reports.portfolio_summary(user=viewer_user)["totals"]["coverage_gap_count"]
    assert gaps == 3


# --- silos ----------------------------------------------------------------------------------


def test_silos(org, active_vision, pmo_user, viewer_user):
    service, it = org["departments"]["service"], org["departments"]["it"]
    alone = make_initiative(org, "service")
    with_partner = make_initiative(org, "service")
    with_partner.departments.add(it)
    with_it_engineer = make_initiative(org, "service")
    factories.TeamRoleFactory(
        initiative=with_it_engineer, person=factories.PersonFactory(department=it)
    )
    own_team = make_initiative(org, "service")
    factories.TeamRoleFactory(
        initiative=own_team, person=factories.PersonFactory(department=service)
    )
    own_team.departments.add(service)
    make_initiative(org, "service", stage="retired")
    secret = make_initiative(org, "it", confidential=True)

    report = reports.silos(user=pmo_user)

    assert [row["key"] for row in report] == sorted([alone.key, own_team.key, secret.key])
    row = next(r for r in report if r["key"] == alone.key)
    assert row["lead_department"] == "service"
    assert row["lead_department_name"] == "Service"
    assert row["spanned_departments"] == 1
    assert row["alignment_level"] == "none"
    assert secret.key not in [r["key"] for r in reports.silos(user=viewer_user)]


# --- overlaps (scoring: registry.selectors.overlaps; quality: test_overlap_quality.py) -------


@pytest.fixture
def overlap_portfolio(org, active_vision):
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    crm = org["systems"]["crm"]
    bot = {
        "kind": Kind.CHATBOT,
        "summary": "Answers customers' billing and invoice questions in the chat.",
        "touchpoints": ["chat"],
        "journey_stages": ["billing"],
    }
    built = {
        # Service and marketing both build a billing chatbot.
        "service_bot": make_initiative(org, "service", name="Billing chatbot", **bot),
        "marketing_bot": make_initiative(org, "marketing", name="Billing questions bot", **bot),
        # Same department as service_bot: not an overlap across silos.
        "service_bot_2": make_initiative(org, "service", name="Billing chatbot v2", **bot),
        # Closed or archived: never part of an overlap.
        "stopped_bot": make_initiative(org, "it", name="Billing chatbot", stage="stopped", **bot),
        "archived_bot": make_initiative(
            org, "it", name="Billing chatbot", archived_at=timezone.now(), **bot
        ),
        # Shares goal, system, kind, touchpoint and journey stage, but does another thing.
        "it_tariffs": make_initiative(
            org,
            "it",
            name="Tariff recommender",
            kind=Kind.CHATBOT,
            summary="Recommends the cheapest tariff from a customer's consumption.",
            touchpoints=["chat"],
            journey_stages=["billing"],
        ),
        # Two churn models in IT and marketing.
        "it_churn": make_initiative(
            org,
            "it",
            name="Churn early-warning model",
            kind=Kind.PREDICTIVE_ANALYTICS,
            summary="Predicts which customers will cancel their contract.",
        ),
        "marketing_churn": make_initiative(
            org,
            "marketing",
            name="Churn propensity scoring",
            kind=Kind.PREDICTIVE_ANALYTICS,
            summary="Scores each customer's propensity to churn for retention campaigns.",
        ),
        # A confidential twin of the billing chatbot in IT.
        "secret_bot": make_initiative(
            org, "it", name="Billing chatbot (secret)", confidential=True, **bot
        ),
    }
    for item in ("service_bot", "it_tariffs"):
        align(built[item], nps)
        built[item].systems.add(crm)
    return built


def keys_of(group):
    return [member["key"] for member in group["members"]]


def pair_keys(*initiatives):
    return sorted(item.key for item in initiatives)


def test_overlap_groups_of_scored_pairs(overlap_portfolio, pmo_user):
    o = overlap_portfolio
    groups = reports.overlaps(user=pmo_user)

    by_members = {tuple(keys_of(g)): g for g in groups}
    bots = tuple(
        pair_keys(o["service_bot"], o["marketing_bot"], o["service_bot_2"], o["secret_bot"])
    )
    churn = tuple(pair_keys(o["it_churn"], o["marketing_churn"]))
    assert set(by_members) == {bots, churn}
    assert keys_of(groups[0]) == list(bots)  # largest first
    assert by_members[bots]["departments"] == ["it", "marketing", "service"]
    pairs = {tuple(pair["keys"]) for pair in by_members[bots]["pairs"]}
    # Pairs are across departments only: the two service bots are not paired.
    assert tuple(pair_keys(o["service_bot"], o["service_bot_2"])) not in pairs
    assert tuple(pair_keys(o["service_bot"], o["marketing_bot"])) in pairs
    for pair in by_members[bots]["pairs"]:
        assert pair["score"] >= overlap_scoring.THRESHOLD
        assert round(sum(r["contribution"] for r in pair["reasons"]), 3) == pair["score"]
    assert by_members[bots]["score"] == max(p["score"] for p in by_members[bots]["pairs"])
    member = next(m for m in by_members[churn]["members"] if m["key"] == o["it_churn"].key)
    assert member == {
        "key": o["it_churn"].key,
        "name": "Churn early-warning model",
        "stage": "idea",
        "lead_department": "it",
        "lead_department_name": "IT",
    }


def test_a_shared_goal_system_and_keys_alone_is_no_overlap(overlap_portfolio, pmo_user):
    o = overlap_portfolio
    found = {r["key"] for r in reports.overlaps_for(o["it_tariffs"], user=pmo_user)}
    assert o["service_bot"].key not in found
    grouped = {key for g in reports.overlaps(user=pmo_user) for key in keys_of(g)}
    assert o["it_tariffs"].key not in grouped


def test_no_overlap_with_closed_or_archived_work(overlap_portfolio, pmo_user):
    o = overlap_portfolio
    grouped = {key for g in reports.overlaps(user=pmo_user) for key in keys_of(g)}
    found = {r["key"] for r in reports.overlaps_for(o["marketing_bot"], user=pmo_user)}
    for closed in (o["stopped_bot"], o["archived_bot"]):
        assert closed.key not in grouped
        assert closed.key not in found


def test_confidential_initiatives_never_make_an_overlap_for_outsiders(
    overlap_portfolio, pmo_user, viewer_user
):
    secret = overlap_portfolio["secret_bot"].key
    assert secret in {key for g in reports.overlaps(user=pmo_user) for key in keys_of(g)}
    assert secret not in {key for g in reports.overlaps(user=viewer_user) for key in keys_of(g)}
    for group in reports.overlaps(user=viewer_user):
        assert all(secret not in pair["keys"] for pair in group["pairs"])
    found = reports.overlaps_for(overlap_portfolio["marketing_bot"], user=viewer_user)
    assert secret not in {r["key"] for r in found}


def test_overlaps_respect_the_period(org, active_vision, pmo_user):
    bot = {"kind": Kind.CHATBOT, "summary": "Answers billing questions in the chat."}
    make_initiative(
        org,
        "service",
        name="Billing chatbot",
        start_date=datetime.date(2026, 1, 5),
        end_date=datetime.date(2026, 2, 1),
        **bot,
    )
    make_initiative(org, "it", name="Billing chatbot", start_date=datetime.date(2026, 10, 1), **bot)
    assert reports.overlaps(user=pmo_user)
    assert reports.overlaps(user=pmo_user, period="2026-Q4") == []


def test_overlaps_for_an_initiative_best_first(overlap_portfolio, pmo_user, viewer_user):
    o = overlap_portfolio
    found = reports.overlaps_for(o["service_bot"], user=pmo_user)
    keys = [r["key"] for r in found]
    assert o["marketing_bot"].key in keys
    assert o["secret_bot"].key in keys
    assert o["service_bot_2"].key not in keys  # same department
    assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
    row = next(r for r in found if r["key"] == o["marketing_bot"].key)
    assert row["lead_department"] == "marketing"
    assert row["lead_department_name"] == "Marketing"
    assert {r["rule"] for r in row["reasons"]} >= {"similar_name", "name_terms", "kind"}
    assert o["secret_bot"].key not in {
        r["key"] for r in reports.overlaps_for(o["service_bot"], user=viewer_user)
    }


def test_overlaps_for_agrees_with_the_groups(overlap_portfolio, pmo_user):
    pairs = {
        tuple(pair["keys"]) for group in reports.overlaps(user=pmo_user) for pair in group["pairs"]
    }
    for item in overlap_portfolio.values():
        if item.archived_at or item.stage == Stage.STOPPED:
            continue  # a closed subject still gets its candidates; the groups are open work
        for row in reports.overlaps_for(item, user=pmo_user):
            assert tuple(sorted((item.key, row["key"]))) in pairs


def test_overlaps_for_unsaved_values(overlap_portfolio, org, pmo_user):
    o = overlap_portfolio
    values = {
        "name": "Churn prediction for retention",
        "summary": "Predicts which customers will cancel, for retention campaigns.",
        "kind": Kind.PREDICTIVE_ANALYTICS,
        "lead_department": org["departments"]["service"],
    }
    found = [r["key"] for r in reports.overlaps_for(values, user=pmo_user)]
    assert found[:2]
    assert set(found) >= {o["it_churn"].key, o["marketing_churn"].key}
    # The same values from IT's side leave out IT's own churn model.
    found = [
        r["key"]
        for r in reports.overlaps_for(
            {**values, "lead_department": org["departments"]["it"].pk}, user=pmo_user
        )
    ]
    assert o["it_churn"].key not in found
    assert o["marketing_churn"].key in found
    # Without a lead department nothing overlaps.
    assert reports.overlaps_for({**values, "lead_department": None}, user=pmo_user) == []


def test_overlaps_for_an_unsaved_initiative(overlap_portfolio, org, pmo_user):
    draft = Initiative(
        name="Churn propensity model",
        summary="Predicts churn.",
        kind=Kind.PREDICTIVE_ANALYTICS,
        lead_department=org["departments"]["service"],
    )
    found = [r["key"] for r in reports.overlaps_for(draft, user=pmo_user)]
    assert overlap_portfolio["marketing_churn"].key in found


# --- overlaps of many initiatives at once (a sync batch's join or justify) ------------------


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_overlaps_by_key_equal_overlaps_for_each(overlap_portfolio, pmo_user, viewer_user, role):
    user = pmo_user if role == "pmo" else viewer_user
    items = list(overlap_portfolio.values())
    answer = reports.overlaps_by_key([item.key for item in items], user=user)
    assert set(answer) == {item.key for item in items}
    for item in items:
        one = reports.overlaps_for(item, user=user) if item.archived_at is None else None
        if one is None:
            continue
        assert answer[item.key].overlaps == one, item.name
        assert answer[item.key].count == len(one)


def test_overlaps_by_key_cap_the_list_not_the_count(overlap_portfolio, pmo_user):
    bot = overlap_portfolio["service_bot"]
    full = reports.overlaps_by_key([bot.key], user=pmo_user)[bot.key]
    capped = reports.overlaps_by_key([bot.key], user=pmo_user, limit=1)[bot.key]
    assert full.count >= 2
    assert capped.count == full.count
    assert capped.overlaps == full.overlaps[:1]


def test_overlaps_by_key_unknown_and_departmentless_keys_overlap_nothing(
    overlap_portfolio, org, pmo_user
):
    alone = make_initiative(org, None, name="Billing chatbot", kind=Kind.CHATBOT)
    answer = reports.overlaps_by_key(["AI-9999999", alone.key], user=pmo_user)
    assert answer == {
        "AI-9999999": reports.ItemOverlaps(count=0, overlaps=[]),
        alone.key: reports.ItemOverlaps(count=0, overlaps=[]),
    }


def test_overlaps_by_key_runs_a_constant_number_of_queries(org, active_vision, viewer_user):
    def batch(offset, count):
        return [
            make_initiative(
                org,
                ["service", "it", "marketing"][n % 3],
                name=f"Billing chatbot {n}",
                kind=Kind.CHATBOT,
            ).key
            for n in range(offset, offset + count)
        ]

    small = batch(0, 3)
    reports.overlaps_by_key(small, user=viewer_user)  # warm the role cache
    with CaptureQueriesContext(connection) as few:
        reports.overlaps_by_key(small, user=viewer_user)
    large = batch(3, 40)
    with CaptureQueriesContext(connection) as many:
        answer = reports.overlaps_by_key(large, user=viewer_user)
    assert len(many) == len(few)
    assert all(item.count for item in answer.values())


# --- shared systems -------------------------------------------------------------------------


def test_shared_systems_hot_spots_first(org, active_vision, pmo_user, viewer_user):
    crm, cdp, llm = (org["systems"][s] for s in ("crm", "cdp", "llm"))
    crm.owner_department = org["departments"]["it"]
    crm.contains_personal_data = True
    crm.save()
    a = make_initiative(org, "service")
    b = make_initiative(org, "service")
    c = make_initiative(org, "marketing")
    d = make_initiative(org, "it", confidential=True)
    stopped = make_initiative(org, "it", stage="stopped")
    for initiative in (a, b, c, d, stopped):
        initiative.systems.add(crm)
    a.systems.add(cdp)
    c.systems.add(cdp)
    a.systems.add(llm)

    report = reports.shared_systems(user=pmo_user)

    assert [row["slug"] for row in report] == ["crm", "cdp"]  # llm is used once only
    assert report[0] == {
        "slug": "crm",
        "name": "CRM",
        "category": "crm",
        "owner_department": "it",
        "contains_personal_data": True,
        "initiative_count": 4,
        "department_count": 3,
        "by_department": [
            {
                "department": "service",
                "department_name": "Service",
                "count": 2,
                "initiatives": sorted([a.key, b.key]),
            },
            {"department": "it", "department_name": "IT", "count": 1, "initiatives": [d.key]},
            {
                "department": "marketing",
                "department_name": "Marketing",
                "count": 1,
                "initiatives": [c.key],
            },
        ],
    }
    assert report[1]["initiative_count"] == 2
    assert reports.shared_systems(user=viewer_user)[0]["initiative_count"] == 3
    assert [r["slug"] for r in reports.shared_systems(user=pmo_user, min_initiatives=1)] == [
        "crm",
        "cdp",
        "llm",
    ]


# --- unaligned work and gate gaps -------------------------------------------------------------


def test_unaligned_lists_open_work_without_a_goal_of_the_vision(
    org, active_vision, pmo_user, viewer_user
):
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    old = factories.GoalFactory(vision=retired, code="R-OLD")
    cheap = make_initiative(org, "service", budget_planned=Decimal("100"))
    dear = make_initiative(org, "it", budget_planned=Decimal("9000"), stage=Stage.PILOT)
    legacy = make_initiative(org, "marketing", budget_planned=Decimal("500"))
    align(legacy, old)  # a retired vision's goal steers nothing
    secret = make_initiative(org, "it", confidential=True)
    aligned = make_initiative(org, "service")
    align(aligned, nps, strength=1)
    make_initiative(org, "service", stage=Stage.STOPPED)
    make_initiative(org, "service", archived_at=timezone.now())
    make_initiative(org, "service", end_date=datetime.date(2026, 6, 30))

    rows = reports.unaligned(user=pmo_user, period="2026-Q4")

    assert [r["key"] for r in rows] == [dear.key, legacy.key, cheap.key, secret.key]
    assert rows[0] == {
        "key": dear.key,
        "name": dear.name,
        "stage": "pilot",
        "kind": dear.kind,
        "lead_department": "it",
        "lead_department_name": "IT",
        "owner_name": "Owner it",
        "owner_email": dear.owner.email,
        "budget_planned": Decimal("9000.00"),
        "budget_spent": Decimal("0.00"),
        "currency": "EUR",
    }
    assert secret.key not in [r["key"] for r in reports.unaligned(user=viewer_user)]
    # Against the retired vision, the legacy initiative is aligned and the NPS one is not.
    against_old = [r["key"] for r in reports.unaligned(user=pmo_user, vision=retired)]
    assert legacy.key not in against_old
    assert aligned.key in against_old


def imported(initiative, source="jira"):
    lifecycle.record_initial_stage(initiative=initiative, imported_from=source)
    return initiative


def test_gate_gaps_list_imported_initiatives_missing_evidence(
    org, active_vision, pmo_user, viewer_user
):
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    old = factories.GoalFactory(vision=retired, code="R-OLD")
    complete = {"hypothesis": "H", "success_criteria": "S", "learnings": "L"}
    pilot = imported(make_initiative(org, "service", stage=Stage.PILOT, hypothesis="  \n "))
    production = imported(make_initiative(org, "it", stage=Stage.PRODUCTION, **complete))
    align(production, nps)
    paused = imported(
        make_initiative(
            org,
            "marketing",
            stage=Stage.PAUSED,
            paused_from=Stage.PILOT,
            hypothesis="H",
            summary="",
        )
    )
    align(paused, nps)
    approved = imported(make_initiative(org, "it", stage=Stage.APPROVED, owner=None))
    align(approved, old)  # a retired vision's goal does not pass the gate
    imported(make_initiative(org, "it", stage=Stage.IDEA, summary=""))  # nothing expected yet
    imported(make_initiative(org, "it", stage=Stage.STOPPED))  # closed: nothing to fix
    secret = imported(make_initiative(org, "it", stage=Stage.SCALING, confidential=True))
    own = make_initiative(org, "service", stage=Stage.PILOT)  # registered here, not imported
    lifecycle.record_initial_stage(initiative=own)

    rows = reports.gate_gaps(user=pmo_user)

    expected = {
        pilot.key: ["primary_alignment", "hypothesis", "success_criteria"],
        paused.key: ["summary", "success_criteria"],
        approved.key: ["owner", "primary_alignment"],
        secret.key: ["primary_alignment", "hypothesis", "success_criteria", "learnings"],
    }
    assert {r["key"]: r["gate_gaps"] for r in rows} == expected
    assert [r["key"] for r in rows] == sorted(expected)
    row = next(r for r in rows if r["key"] == pilot.key)
    assert (row["stage"], row["source"], row["imported_from"], row["lead_department"]) == (
        "pilot",
        "",
        "jira",
        "service",
    )
    assert secret.key not in [r["key"] for r in reports.gate_gaps(user=viewer_user)]
    # The set-based rule agrees with the lifecycle's own check, initiative by initiative.
    for initiative in Initiative.objects.all():
        listed = next((r["gate_gaps"] for r in rows if r["key"] == initiative.key), [])
        if initiative.key in expected:
            assert listed == lifecycle.gate_gaps(initiative), initiative.key


# --- a constant number of queries -------------------------------------------------------------


def grow_portfolio(org, goals, count, offset):
    departments = list(org["departments"])
    systems = list(org["systems"].values())
    kinds = [Kind.CHATBOT, Kind.AUTOMATION, Kind.PERSONALIZATION]
    for n in range(offset, offset + count):
        department = departments[n % 3]
        initiative = make_initiative(
            org,
            department,
            kind=kinds[(n // 3) % 3],
            touchpoints=[["chat", "web"][(n // 2) % 2]],
            journey_stages=[["billing", "support"][(n // 5) % 2]],
            budget_planned=Decimal(1000 + n),
            confidential=n % 5 == 0,
            stage=[Stage.IDEA, Stage.PILOT, Stage.PRODUCTION, Stage.STOPPED][n % 4],
        )
        if n % 4:
            align(initiative, goals[n % len(goals)], strength=1 + n % 3)
        initiative.systems.add(systems[n % 2])
        if n % 3 == 0:
            factories.TeamRoleFactory(initiative=initiative, person=org["owners"]["it"])
        if n % 2:
            imported(initiative)


def run_every_report(user, subject):
    results, counts = {}, {}
    calls = {
        "portfolio_summary": lambda: reports.portfolio_summary(user=user, period="2026-Q4"),
        "alignment_matrix": lambda: reports.alignment_matrix(user=user),
        "goal_progress": lambda: reports.goal_progress(user=user),
        "coverage_gaps": lambda: reports.coverage_gaps(user=user),
        "silos": lambda: reports.silos(user=user),
        "overlaps": lambda: reports.overlaps(user=user),
        "overlaps_for": lambda: reports.overlaps_for(subject, user=user),
        "shared_systems": lambda: reports.shared_systems(user=user),
        "unaligned": lambda: reports.unaligned(user=user),
        "gate_gaps": lambda: reports.gate_gaps(user=user),
    }
    for name, call in calls.items():
        with CaptureQueriesContext(connection) as queries:
            results[name] = call()
        counts[name] = len(queries)
    return results, counts


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_reports_run_a_constant_number_of_queries(org, active_vision, pmo_user, viewer_user, role):
    user = pmo_user if role == "pmo" else viewer_user
    goals = [factories.GoalFactory(vision=active_vision) for _ in range(3)]
    factories.MeasurementFactory(goal=goals[0])
    grow_portfolio(org, goals, 10, 0)
    subject = Initiative.objects.filter(kind=Kind.CHATBOT, confidential=False).first()
    run_every_report(user, subject)  # warm the user's role cache

    small, small_counts = run_every_report(user, subject)
    grow_portfolio(org, goals, 190, 10)
    large, large_counts = run_every_report(user, subject)

    assert large_counts == small_counts
    # The alignment matrix: vision, goals, departments, and its two rollups. Overlap scoring
    # reads the subjects, their goals and systems, then scores in one statement (with the
    # planner setting around it) and, for the groups, reads the members.
    assert max(count for name, count in large_counts.items() if "overlaps" not in name) <= 5
    assert large_counts["overlaps"] <= 10  # one more: whether the portfolio is scored now or kept
    assert large_counts["overlaps_for"] <= 8
    assert (
        large["portfolio_summary"]["totals"]["count"]
        > small["portfolio_summary"]["totals"]["count"]
    )
    assert len(large["overlaps_for"]) > len(small["overlaps_for"])
    assert large["overlaps"]
    assert large["silos"]
    assert large["shared_systems"]
    assert len(large["unaligned"]) > len(small["unaligned"])
    assert len(large["gate_gaps"]) > len(small["gate_gaps"])


# --- kept overlap scores (a portfolio above REGISTRY_OVERLAP_LIVE_LIMIT) ------------------------
# Whole-portfolio overlaps of a large portfolio come from the scores the worker keeps
# (`services.overlaps.overlaps_refresh`): the same groups as scoring per request, the reader's
# visibility applied on reading, and a change waits for the next scan, said on the dashboard.


def shape(groups):
    return [
        (keys_of(group), sorted((tuple(p["keys"]), round(p["score"], 6)) for p in group["pairs"]))
        for group in groups
    ]


def test_kept_scores_give_the_groups_scoring_now_gives(overlap_portfolio, pmo_user, settings):
    scored_now = reports.overlaps(user=pmo_user)
    assert scored_now
    open_initiatives = overlap_scoring.candidate_scope(user=pmo_user).count()

    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 0  # every portfolio is "large"
    assert reports.overlaps(user=pmo_user) == []  # nothing scanned yet, and it says so
    assert overlap_scoring.overlap_freshness(user=pmo_user) == {
        "live": False,
        "waiting": open_initiatives,
    }
    assert overlaps_refresh(limit=None) == open_initiatives
    assert overlaps_refresh(limit=None) == 0  # nothing changed since
    assert shape(reports.overlaps(user=pmo_user)) == shape(scored_now)
    assert overlap_scoring.overlap_freshness(user=pmo_user)["waiting"] == 0
    # The dashboard's summary of the kept scores: the same groups, members and best pairs.
    kept = flags.overlap_list(user=pmo_user, vision=None, period=None)
    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 1000
    now = flags.overlap_list(user=pmo_user, vision=None, period=None)
    assert (kept["count"], kept["initiatives"]) == (now["count"], now["initiatives"])
    assert [[m["key"] for m in g["members"]] for g in kept["rows"]] == [
        [m["key"] for m in g["members"]] for g in now["rows"]
    ]
    assert [g["pairs"][0]["keys"] for g in kept["rows"]] == [
        g["pairs"][0]["keys"] for g in now["rows"]
    ]
    assert (kept["live"], now["live"]) == (False, True)


def test_a_change_waits_for_its_scan_and_replaces_its_pairs(overlap_portfolio, pmo_user, settings):
    o = overlap_portfolio
    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 0
    overlaps_refresh(limit=None)
    marketing = o["marketing_bot"]
    grouped = {key for group in reports.overlaps(user=pmo_user) for key in keys_of(group)}
    assert marketing.key in grouped

    Initiative.objects.filter(pk=marketing.pk).update(
        name="Loyalty points statement",
        summary="Mails each member a statement of their loyalty points.",
        kind="generative_content",
        updated_at=marketing.updated_at.replace(year=marketing.updated_at.year + 1),
    )
    assert overlap_scoring.overlap_freshness(user=pmo_user)["waiting"] == 1
    assert overlaps_refresh(limit=None) == 1
    grouped = {key for group in reports.overlaps(user=pmo_user) for key in keys_of(group)}
    assert marketing.key not in grouped
    assert not OverlapCandidate.objects.filter(other=marketing).exists()


def test_kept_scores_hide_what_the_reader_may_not_see(
    overlap_portfolio, viewer_user, pmo_user, settings
):
    secret = overlap_portfolio["secret_bot"]
    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 0
    overlaps_refresh(limit=None)
    pmo_keys = {key for g in reports.overlaps(user=pmo_user) for key in keys_of(g)}
    assert secret.key in pmo_keys
    viewer_keys = {key for g in reports.overlaps(user=viewer_user) for key in keys_of(g)}
    assert secret.key not in viewer_keys
    assert viewer_keys == pmo_keys - {secret.key}


def test_the_dashboard_says_how_current_kept_scores_are(
    overlap_portfolio, pmo_user, client, settings
):
    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 0
    client.force_login(pmo_user)
    dashboard = reverse("registry_board:dashboard")
    overlaps_refresh(limit=3)
    html = client.get(dashboard, {"period": ""}).content.decode()
    assert 'id="overlap-freshness"' in html
    assert "not yet included" in html
    overlaps_refresh(limit=None)
    html = client.get(dashboard, {"period": ""}).content.decode()
    assert "every initiative is up to date" in html
    settings.REGISTRY_OVERLAP_LIVE_LIMIT = 1000
    html = client.get(dashboard, {"period": ""}).content.decode()
    assert 'id="overlap-freshness"' not in html
