"""The alignment level has one definition (`registry.choices.alignment_level`) that the
database states twice in SQL: the report rollups kept by migration 0009's triggers (which
`InitiativeQuerySet.with_alignment_level` and the reports read) and the reports' own query for
any vision (`with_vision_alignment`). This proves the three agree on every combination of
alignments an initiative can have: to live and archived goals of the active vision and to
goals of a retired and a draft vision, at every strength.
"""

from __future__ import annotations

import itertools

import pytest

from registry import choices
from registry.models import Alignment, Initiative
from registry.selectors.reports import with_vision_alignment
from tests import factories

pytestmark = pytest.mark.django_db

STRENGTHS = (None, 1, 2, 3)  # None: no alignment to that goal


@pytest.fixture
def goals(db):
    active = factories.VisionFactory(status=choices.VisionStatus.ACTIVE)
    retired = factories.VisionFactory(status=choices.VisionStatus.RETIRED)
    draft = factories.VisionFactory(status=choices.VisionStatus.DRAFT)
    archived = factories.GoalFactory(vision=active, code="G-ARCHIVED")
    archived.archived_at = "2026-01-01T00:00:00Z"
    archived.save(update_fields=["archived_at"])
    return {
        "active": factories.GoalFactory(vision=active, code="G-ACTIVE"),
        "archived": archived,
        "retired": factories.GoalFactory(vision=retired, code="G-RETIRED"),
        "draft": factories.GoalFactory(vision=draft, code="G-DRAFT"),
    }, active


def test_python_the_rollups_and_the_reports_agree_on_every_combination(goals):
    by_kind, active = goals
    kinds = list(by_kind)
    expected = {}
    for combination in itertools.product(STRENGTHS, repeat=len(kinds)):
        initiative = Initiative.objects.create(name=f"combo {combination}", kind="chatbot")
        aligned = [(kind, s) for kind, s in zip(kinds, combination, strict=True) if s]
        Alignment.objects.bulk_create(
            Alignment(initiative=initiative, goal=by_kind[kind], strength=s, is_primary=i == 0)
            for i, (kind, s) in enumerate(aligned)
        )
        # The rule, in Python: only live goals of the active vision count.
        counted = [s for kind, s in aligned if kind == "active"]
        expected[initiative.pk] = choices.alignment_level(counted)
    assert len(expected) == len(STRENGTHS) ** len(kinds)  # 256 initiatives

    rollups = dict(Initiative.objects.with_alignment_level().values_list("pk", "alignment_level"))
    reports = dict(
        with_vision_alignment(Initiative.objects.all(), active.pk).values_list(
            "pk", "alignment_level"
        )
    )
    filtered = {
        level: set(Initiative.objects.alignment_level_in([level]).values_list("pk", flat=True))
        for level in choices.AlignmentLevel.values
    }
    assert rollups == expected
    assert reports == expected
    for level, pks in filtered.items():
        assert pks == {pk for pk, wanted in expected.items() if wanted == level}, level
    assert set(expected.values()) == set(choices.AlignmentLevel.values)  # every level occurs
