"""The demo portfolio shows the journey, the proactive stance and the team composition with
realistic content: a stance per channel, exceptions the board granted with their reasons, a
goal naming a cell nobody serves, and pilots with and without UX and data people."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from registry.models import ProactiveStance, Vision
from registry.selectors import journey
from tests.test_demo import demo, initiative  # noqa: F401  (the demo, loaded once)


@pytest.mark.django_db
class TestDemoJourney:
    def users(self):
        model = get_user_model()
        return model.objects.get(username="pmo"), model.objects.get(username="viewer")

    def test_the_active_vision_has_a_stance_per_channel(self, demo):  # noqa: F811
        vision = Vision.objects.active().get()
        stances = ProactiveStance.objects.filter(vision=vision)
        assert stances.count() == 5
        assert all(len(s.rationale) > 40 for s in stances)

    def test_contradictions_and_granted_exceptions(self, demo):  # noqa: F811
        pmo, viewer = self.users()
        key = {ref: initiative(demo, ref).key for ref in demo.keys_by_ref}
        contradicting = {row["key"] for row in journey.stance_conflicts_report(user=pmo)}
        assert {
            key["churn-propensity"],
            key["callback-prediction"],
            key["winback-offers"],
            key["campaign-imagery"],
        } <= contradicting
        seen = {row["key"] for row in journey.stance_conflicts_report(user=viewer)}
        assert key["winback-offers"] not in seen  # confidential
        exceptions = {row["key"]: row["note"] for row in journey.stance_exceptions(user=pmo)}
        assert set(exceptions) == {
            key["churn-propensity"],
            key["callback-prediction"],
            key["winback-offers"],
        }
        assert all(note.startswith("Exception") for note in exceptions.values())
        assert len(journey.stance_exceptions(user=viewer)) == 2

    def test_the_journey_map_flags_something_real(self, demo):  # noqa: F811
        pmo, _viewer = self.users()
        body = journey.journey_map(user=pmo)
        assert body["flag_counts"]["fragmented"] >= 1
        assert {"touchpoint": "store", "journey_stage": "support", "goals": ["G-CES"]} in (
            body["unserved"]
        )

    def test_pilots_with_and_without_ux_and_data(self, demo):  # noqa: F811
        pmo, _viewer = self.users()
        teams = journey.team_composition(user=pmo)
        rows = {row["key"]: row for row in teams["results"]}
        assert rows[initiative(demo, "smart-meter-insights").key]["cross_functional"]
        assert "no_ux" in rows[initiative(demo, "churn-propensity").key]["flags"]
        assert 0 < teams["cross_functional_count"] < teams["count"]
