"""Overlap scoring on the demo portfolio (precision and recall: test_overlap_quality.py).

The named cases are the ones the issue reported: a goal and a system shared is no overlap, a
new outage notification bot finds the open outage notifications of another department, pairs
are across departments only, and confidential initiatives are candidates for the PMO alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction

from bench import overlap_quality
from registry import permissions
from registry.demo import DEFAULT_DEMO_PATH, DemoSummary, load_demo_portfolio
from registry.models import Department, Initiative, Person, TeamRole
from registry.selectors import overlaps, reports
from tests import factories
from tests.test_demo import ensure_demo_logins, fire_deferred_constraints

OUTAGE_BOT = {
    "name": "Outage notification bot",
    "summary": "Notifies customers by SMS and in the app when an outage hits their area and "
    "when power is restored.",
    "kind": "automation",
    "touchpoints": ["messaging", "app"],
    "journey_stages": ["usage", "support"],
}


@pytest.fixture(scope="module")
def portfolio(django_db_setup, django_db_blocker) -> Iterator[DemoSummary]:
    """The demo, loaded once for the module, rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        summary = load_demo_portfolio(DEFAULT_DEMO_PATH)
        ensure_demo_logins()
        fire_deferred_constraints()
        overlap_quality.settle_indexes()
        yield summary
        transaction.set_rollback(True)


def key(demo: DemoSummary, ref: str) -> str:
    return demo.keys_by_ref[ref]


def user(role: str):
    return factories.UserFactory(groups=[role], is_staff=True)


def department(slug: str) -> int:
    return Department.objects.get(slug=slug).pk


@pytest.mark.django_db
class TestScoring:
    def test_a_shared_goal_and_system_alone_is_no_overlap(self, portfolio):
        tariff = Initiative.objects.get(key=key(portfolio, "tariff-recommender"))
        found = {row["key"] for row in overlaps.overlaps_of(tariff, user=user(permissions.PMO))}
        assert key(portfolio, "dsar-automation") not in found

    def test_a_new_outage_bot_finds_the_open_outage_notifications(self, portfolio):
        found = overlaps.overlaps_of(
            {**OUTAGE_BOT, "lead_department": department("customer-service")},
            user=user(permissions.CONTRIBUTOR),
        )
        keys = [row["key"] for row in found]
        assert keys[0] == key(portfolio, "outage-notifications-v2")
        # The retired v1 is closed: not a candidate for joining.
        assert key(portfolio, "outage-notifications-v1") not in keys
        best = found[0]
        assert best["score"] >= overlaps.THRESHOLD
        assert round(sum(r["contribution"] for r in best["reasons"]), 3) == best["score"]
        assert {r["rule"] for r in best["reasons"]} & {"similar_name", "name_terms"}

    def test_pairs_are_across_departments_only(self, portfolio):
        found = overlaps.overlaps_of(
            {**OUTAGE_BOT, "lead_department": department("operations")},
            user=user(permissions.PMO),
        )
        operations = set(
            Initiative.objects.filter(lead_department__slug="operations").values_list(
                "key", flat=True
            )
        )
        assert not {row["key"] for row in found} & operations
        assert all(row["lead_department"] != "operations" for row in found)

    def test_without_a_lead_department_nothing_overlaps(self, portfolio):
        assert overlaps.overlaps_of(OUTAGE_BOT, user=user(permissions.PMO)) == []

    def test_the_demo_report_is_no_longer_noise(self, portfolio):
        """The old rule made 23 groups of the 56 demo initiatives, AI-0001 in five."""
        groups = reports.overlaps(user=user(permissions.PMO))
        assert 1 <= len(groups) <= 8
        members = [m["key"] for group in groups for m in group["members"]]
        assert len(members) == len(set(members))  # each initiative in one group at most
        billing, invoice = key(portfolio, "billing-assistant"), key(portfolio, "app-invoice-bot")
        assert any({billing, invoice} <= {m["key"] for m in g["members"]} for g in groups)

    def test_report_pairs_are_across_departments_and_above_the_threshold(self, portfolio):
        pairs = overlaps.overlap_pairs(user=user(permissions.PMO))
        assert pairs
        departments = dict(Initiative.objects.values_list("key", "lead_department_id"))
        for pair in pairs:
            a, b = pair["keys"]
            assert departments[a] != departments[b]
            assert pair["score"] >= overlaps.THRESHOLD
        keys = {tuple(pair["keys"]) for pair in pairs}
        tariff, dsar = key(portfolio, "tariff-recommender"), key(portfolio, "dsar-automation")
        assert tuple(sorted((tariff, dsar))) not in keys


@pytest.mark.django_db
class TestVisibility:
    """A confidential initiative is a candidate only for those who may see it."""

    WINBACK = {
        "name": "Win-back offers for customers who cancelled",
        "summary": "Optimise the win-back offer for customers who cancelled their contract.",
        "kind": "personalization",
        "touchpoints": ["email"],
        "journey_stages": ["churn_winback"],
    }

    def values(self):
        return {**self.WINBACK, "lead_department": department("sales")}

    def test_the_pmo_sees_the_confidential_candidate(self, portfolio):
        found = overlaps.overlaps_of(self.values(), user=user(permissions.PMO))
        assert key(portfolio, "winback-offers") in {row["key"] for row in found}

    @pytest.mark.parametrize("role", [permissions.CONTRIBUTOR, permissions.VIEWER])
    def test_others_do_not(self, portfolio, role):
        winback = Initiative.objects.get(key=key(portfolio, "winback-offers"))
        assert winback.confidential
        found = overlaps.overlaps_of(self.values(), user=user(role))
        assert winback.key not in {row["key"] for row in found}
        pairs = overlaps.overlap_pairs(user=user(role))
        assert winback.key not in {k for pair in pairs for k in pair["keys"]}

    @pytest.mark.parametrize("role", [permissions.PMO, permissions.VIEWER])
    def test_initiatives_with_overlaps_are_those_of_the_report(self, portfolio, role):
        viewer = user(role)
        paired = {key for pair in overlaps.overlap_pairs(user=viewer) for key in pair["keys"]}
        found = set(overlaps.initiatives_with_overlaps(viewer).values_list("key", flat=True))
        assert found == paired
        assert found
        winback = key(portfolio, "winback-offers")
        assert (winback in found) == (role == permissions.PMO and winback in paired)

    def test_the_team_does(self, portfolio):
        member = user(permissions.CONTRIBUTOR)
        winback = Initiative.objects.get(key=key(portfolio, "winback-offers"))
        person = Person.objects.create(name="Team member", email="team@example.com", user=member)
        TeamRole.objects.create(initiative=winback, person=person, role="responsible")
        found = overlaps.overlaps_of(self.values(), user=member)
        assert winback.key in {row["key"] for row in found}
