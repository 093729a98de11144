"""Query counts are pinned: a page of 1 and a page of 100 cost the same number of queries on
every list endpoint, and a detail costs the same whatever the object carries.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.models import Alignment, Initiative, Note, Person, ReviewDecision
from registry.services import lifecycle
from tests import factories
from tests.api.support import API, make_portfolio

LISTS = [
    "visions/",
    "goals/",
    "measurements/",
    "departments/",
    "people/",
    "systems/",
    "tags/",
    "initiatives/",
    "initiatives/?format=csv",
    "initiatives/?updated_since=2000-01-01",
    "alignments/",
    "team-roles/",
    "dependencies/",
    "notes/",
    "stage-changes/",
    "reviews/",
    "review-decisions/",
    "changes/",
]


@pytest.fixture
def portfolio(db):
    """The crafted portfolio plus a few more fully-linked initiatives, so every list has
    several rows that each carry relations.
    """
    p = make_portfolio()
    review = p.initiatives["chat"].review_decisions.get().review
    previous = p.initiatives["chat"]
    for n in range(6):
        initiative = factories.InitiativeFactory(
            name=f"Linked {n}", start_date=datetime.date(2026, 1, 1)
        )
        initiative.departments.set(p.departments.values())
        initiative.systems.set(p.systems.values())
        initiative.tags.set(p.tags.values())
        factories.AlignmentFactory(initiative=initiative, goal=p.goals["nps"], is_primary=True)
        factories.AlignmentFactory(
            initiative=initiative, goal=p.goals["aht"], is_primary=False, strength=1
        )
        factories.TeamRoleFactory(initiative=initiative, person=p.people["tim"])
        factories.TeamRoleFactory(initiative=initiative, person=p.people["mark"], role="sponsor")
        initiative.dependencies.create(to_initiative=previous)
        Note.objects.create(initiative=initiative, author=p.users["pmo"], text=f"Note {n}")
        lifecycle.record_initial_stage(initiative=initiative, actor=p.users["pmo"])
        ReviewDecision.objects.create(
            review=review, initiative=initiative, decision=choices.Decision.CONTINUE
        )
        factories.MeasurementFactory(
            goal=p.goals["aht"], observed_on=datetime.date(2026, 1, 1 + n), value=290 - n
        )
        factories.ReviewFactory(vision=p.vision, period=f"20{30 + n}-Q1")
        previous = initiative
    return p


def count_queries(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(context.captured_queries), len(response.content)


@pytest.mark.parametrize("role", ["pmo", "viewer"])
@pytest.mark.parametrize("path", LISTS)
def test_list_query_count_does_not_grow_with_the_page(portfolio, role, path):
    client = portfolio.client(role)
    url = f"{API}{path}"
    separator = "&" if "?" in url else "?"
    client.get(url)  # warm up: session, content types
    one, one_size = count_queries(client, f"{url}{separator}page_size=1")
    hundred, hundred_size = count_queries(client, f"{url}{separator}page_size=100")
    assert hundred_size > one_size or "csv" in path  # the bigger page really has more rows
    assert one == hundred


def test_token_clients_cost_the_same(portfolio):
    client = portfolio.client("integration")
    client.get(f"{API}initiatives/")  # the first use records last_used_at
    one, _ = count_queries(client, f"{API}initiatives/?page_size=1")
    hundred, _ = count_queries(client, f"{API}initiatives/?page_size=100")
    assert one == hundred


def test_history_query_count_does_not_grow_with_the_page(portfolio):
    client = portfolio.client("pmo")
    url = f"{API}initiatives/{portfolio.key('chat')}/history/"
    client.get(url)
    one, _ = count_queries(client, f"{url}?page_size=1")
    hundred, _ = count_queries(client, f"{url}?page_size=100")
    assert one == hundred


DETAILS = [
    ("initiatives/{bare}/", "initiatives/{linked}/"),
    ("goals/G-OLD/", "goals/G-NPS/"),
    ("alignments/{bare_alignment}/", "alignments/{linked_alignment}/"),
    ("people/{nobody}/", "people/{carol}/"),
    ("systems/erp/", "systems/crm/"),
]


@pytest.mark.parametrize(("small", "large"), DETAILS)
def test_detail_query_count_does_not_depend_on_the_object(portfolio, small, large):
    linked = Initiative.objects.get(name="Linked 3")
    names = {
        "bare": portfolio.key("triage"),
        "linked": linked.key,
        "bare_alignment": Alignment.objects.filter(initiative__name="Legacy IVR").get().pk,
        "linked_alignment": linked.alignments.first().pk,
        "nobody": Person.objects.get(email="nobody@example.com").pk,
        "carol": portfolio.people["carol"].pk,
    }
    client = portfolio.client("viewer")
    client.get(f"{API}{small.format(**names)}")
    few, _ = count_queries(client, f"{API}{small.format(**names)}")
    many, _ = count_queries(client, f"{API}{large.format(**names)}")
    assert few == many
