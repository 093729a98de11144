"""The benchmark generator builds a consistent portfolio: keys from the sequence, exactly one
primary alignment, every stage's gates met, history for every initiative, triggers back on.
"""

from __future__ import annotations

import pytest
from django.db.models import Count, Q
from pghistory.models import Events

from bench.seed import SeedRefusedError, seed
from registry.models import Alignment, Initiative, StageChange, TeamRole
from registry.services import lifecycle
from registry.services.webhooks import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def seeded():
    return seed(initiatives=300, yes=True, log=lambda text: None)


def test_builds_the_requested_portfolio(seeded):
    assert seeded["initiatives"] == 300
    assert Initiative.objects.count() == 300
    keys = sorted(Initiative.objects.values_list("key", flat=True))
    assert keys[0] == "AI-0001"
    assert keys[-1] == "AI-0300"
    assert Initiative.objects.filter(archived_at__isnull=False).exists()
    assert Initiative.objects.filter(confidential=True).exists()
    assert Initiative.objects.exclude(external_id=None).exclude(source="").exists()
    per = Initiative.objects.aggregate(
        alignments=Count("alignments", distinct=True), tags=Count("tags", distinct=True)
    )
    assert 2.0 <= per["alignments"] / 300 <= 3.5
    assert TeamRole.objects.count() > 300
    assert StageChange.objects.filter(from_stage="").count() == 300


def test_every_aligned_initiative_has_exactly_one_primary_and_meets_its_gates(seeded):
    primaries = Initiative.objects.annotate(
        n=Count("alignments"), primaries=Count("alignments", filter=Q(alignments__is_primary=True))
    )
    assert not primaries.filter(n__gt=0).exclude(primaries=1).exists()
    assert primaries.filter(n=0).exists()  # some serve no goal: the fragmentation shown
    with_primary = set(
        Alignment.objects.filter(is_primary=True, goal__vision__status="active").values_list(
            "initiative_id", flat=True
        )
    )
    for initiative in Initiative.objects.all():
        gaps = lifecycle.gate_gaps(initiative, has_primary_alignment=initiative.id in with_primary)
        # Only a primary aligned to the previous vision's goal can leave one gap.
        assert set(gaps) <= {"primary_alignment"}, (initiative.key, initiative.stage, gaps)


def test_history_is_written_and_triggers_are_back_on(seeded):
    inserts = Events.objects.filter(pgh_obj_model="registry.Initiative", pgh_label="insert")
    assert inserts.count() == 300
    assert inserts.first().pgh_context["actor"] == "seed_bench"
    # The sequence continues after the generated keys, and the triggers work again.
    fresh = Initiative.objects.create(name="After the seed", kind="chatbot")
    fresh.refresh_from_db()
    assert fresh.key == "AI-0301"
    assert OutboxEvent.objects.filter(initiative_id=fresh.pk).exists()
    assert Events.objects.filter(pgh_obj_model="registry.Initiative", pgh_obj_id=fresh.pk).exists()


def test_refuses_a_database_not_meant_for_benchmarks(db):
    with pytest.raises(SeedRefusedError, match="bench"):
        seed(initiatives=10, log=lambda text: None)
