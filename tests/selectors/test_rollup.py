"""The report rollups the database keeps stay equal to a computation from the initiatives,
through every kind of write: saves, bulk updates, archiving, deletes, alignments, goals and a
change of the active vision.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from registry import quarters
from registry.choices import Stage, VisionStatus
from registry.models import Alignment, Goal, Initiative
from registry.models.rollup import InitiativeRollup
from registry.selectors import reports, rollup
from tests import factories
from tests.selectors.test_reports import align, make_initiative, org  # noqa: F401 (fixture)

PERIODS = [None, "2026-Q4", "2025-Q1"]


def _sorted(rows):
    def key(row):
        return tuple(str(row.get(k)) for k in ("dimension", "part", "code", "goal_id"))

    return sorted(
        (
            {k: (v.normalize() if isinstance(v, Decimal) else v) for k, v in row.items()}
            for row in rows
        ),
        key=lambda row: (key(row), str(row.get("lead_department_id"))),
    )


def assert_rollups_agree(vision, *users):
    """Every viewer's report rows from the rollups equal those computed from the rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT * FROM registry_initiativerollup "
            "EXCEPT SELECT * FROM registry_rollup_state(ARRAY(SELECT id FROM registry_initiative)) "
            ") stale"
        )
        assert cursor.fetchone()[0] == 0
    assert InitiativeRollup.objects.count() == Initiative.objects.count()
    for user in users:
        for period in PERIODS:
            kept = reports._portfolio_rows_from_rollup(
                user=user, vision_id=vision.pk, period=period
            )
            fresh = reports._portfolio_rows(user=user, vision_id=vision.pk, period=period)
            assert _sorted(r for r in kept if r["count"]) == _sorted(
                r for r in fresh if r["count"]
            ), (user, period)
            kept = reports._matrix_rows_from_rollup(user=user, period=period)
            fresh = reports._matrix_rows(user=user, vision_id=vision.pk, period=period)
            assert _sorted(kept) == _sorted(fresh), (user, period)


@pytest.fixture
def world(org, active_vision, pmo_user, viewer_user, contributor_user):  # noqa: F811
    goals = [factories.GoalFactory(vision=active_vision, code=f"G-{n}") for n in range(3)]
    member = factories.PersonFactory(user=contributor_user, department=org["departments"]["it"])
    initiatives = []
    for n in range(24):
        initiative = make_initiative(
            org,
            ["service", "marketing", "it", None][n % 4],
            stage=[Stage.IDEA, Stage.PILOT, Stage.PRODUCTION, Stage.STOPPED][n % 4],
            budget_planned=Decimal(1000 + n),
            budget_spent=Decimal(n),
            confidential=n % 5 == 0,
            currency="USD" if n % 7 == 0 else "EUR",
            start_date=[None, datetime.date(2026, 11, 1), datetime.date(2024, 1, 1)][n % 3],
            end_date=[None, datetime.date(2025, 2, 1)][n % 2] if n % 3 == 2 else None,
        )
        if n % 3:
            align(initiative, goals[n % 3], strength=1 + n % 3)
        if n % 3 and n % 4 == 1:
            align(initiative, goals[(n + 1) % 3], strength=1, primary=False)
        if n % 10 == 0:
            factories.TeamRoleFactory(initiative=initiative, person=member)
        initiatives.append(initiative)
    return {
        "vision": active_vision,
        "goals": goals,
        "initiatives": initiatives,
        "users": (pmo_user, viewer_user, contributor_user),
    }


def test_rollups_agree_after_creation(world):
    assert_rollups_agree(world["vision"], *world["users"])


def test_rollups_follow_saves_and_bulk_updates(world):
    first, second, third = world["initiatives"][:3]
    first.budget_planned = Decimal("99999.50")
    first.confidential = True
    first.save()
    Initiative.objects.filter(pk=second.pk).update(stage=Stage.RETIRED, kind="voicebot")
    Initiative.objects.filter(pk=third.pk).update(
        lead_department=None, start_date=datetime.date(2027, 1, 1), currency="GBP"
    )
    Initiative.objects.filter(stage=Stage.PILOT).update(budget_spent=Decimal(7))
    assert_rollups_agree(world["vision"], *world["users"])


def test_rollups_follow_archiving_and_deletes(world):
    archived, deleted = world["initiatives"][4:6]
    Initiative.objects.filter(pk=archived.pk).update(
        archived_at=datetime.datetime.now(datetime.UTC)
    )
    Alignment.objects.filter(initiative=deleted).delete()
    Initiative.objects.filter(pk=deleted.pk).delete()
    assert_rollups_agree(world["vision"], *world["users"])
    assert not InitiativeRollup.objects.filter(initiative_id=deleted.pk).exists()
    assert not InitiativeRollup.objects.get(initiative_id=archived.pk).live


def test_rollups_follow_alignments(world):
    goals = world["goals"]
    unaligned = next(i for i in world["initiatives"] if not i.alignments.exists())
    align(unaligned, goals[0], strength=2)
    Alignment.objects.filter(strength=1).update(strength=3)
    Alignment.objects.filter(is_primary=False).delete()
    assert_rollups_agree(world["vision"], *world["users"])
    kept = Initiative.objects.with_alignment_level().get(pk=unaligned.pk)
    assert (kept.alignment_strength, kept.alignment_level) == (2, "moderate")


def test_rollups_follow_goals_and_the_active_vision(world):
    vision, goals = world["vision"], world["goals"]
    Goal.objects.filter(pk=goals[0].pk).update(archived_at=datetime.datetime.now(datetime.UTC))
    assert_rollups_agree(vision, *world["users"])
    other = factories.VisionFactory(status=VisionStatus.DRAFT)
    Goal.objects.filter(pk=goals[1].pk).update(vision=other)
    assert_rollups_agree(vision, *world["users"])

    vision.status = VisionStatus.RETIRED
    vision.save()
    assert not InitiativeRollup.objects.filter(alignment_strength__gt=0).exists()
    other.status = VisionStatus.ACTIVE
    other.save()
    assert InitiativeRollup.objects.filter(alignment_strength__gt=0).exists()
    assert_rollups_agree(other, *world["users"])


def test_reports_read_the_rollups_for_the_active_vision_only(world, pmo_user):
    vision = world["vision"]
    via_rollup = reports.portfolio_summary(user=pmo_user, period="2026-Q4")
    assert via_rollup["vision"]["id"] == vision.pk
    assert via_rollup["totals"]["count"] == Initiative.objects.live().active_in("2026-Q4").count()
    retired = factories.VisionFactory(status=VisionStatus.RETIRED)
    assert reports.portfolio_summary(user=pmo_user, vision=retired)["totals"]["aligned_count"] == 0


def test_compact_folds_deltas_and_keeps_the_figures(world, pmo_user):
    for initiative in world["initiatives"][:6]:
        Initiative.objects.filter(pk=initiative.pk).update(budget_planned=Decimal(5))
    before_rows = rollup.delta_rows()
    before = reports.portfolio_summary(user=pmo_user)
    matrix = reports.alignment_matrix(user=pmo_user)
    left = rollup.compact()
    assert left == rollup.delta_rows() < before_rows
    assert reports.portfolio_summary(user=pmo_user) == before
    assert reports.alignment_matrix(user=pmo_user) == matrix
    assert rollup.compact() == left  # nothing more to fold


def test_rebuild_equals_the_incremental_rollups(world, pmo_user):
    Initiative.objects.filter(stage=Stage.IDEA).update(budget_planned=Decimal(1))
    incremental = reports.portfolio_summary(user=pmo_user, period="2026-Q4")
    rollup.rebuild()
    assert reports.portfolio_summary(user=pmo_user, period="2026-Q4") == incremental
    assert_rollups_agree(world["vision"], *world["users"])


def test_quarters_match_active_in():
    assert quarters.quarter_number("2026-Q1") == 2026 * 4
    assert quarters.quarter_number("2026-Q4") == 2026 * 4 + 3
    with pytest.raises(ValueError, match="2026-Q5"):
        quarters.quarter_number("2026-Q5")


def test_the_worker_folds_the_deltas(world):
    from registry.outbox.worker import Worker

    Initiative.objects.update(budget_spent=Decimal(3))
    before = rollup.delta_rows()
    Worker(poll_seconds=0).run_once()
    assert rollup.delta_rows() < before
