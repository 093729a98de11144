"""The dashboard at scale: long lists are their exact count, their first rows and a link to
the same initiatives in the changelist; the heatmap groups lead departments by function
when there are many; the headline says what it counts. Confidential work stays out of every
count and list for those who may not see it.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import choices
from registry.models import Initiative
from registry.selectors import flags, reports
from registry.services import lifecycle
from tests import factories
from tests.board import test_dashboard
from tests.board.test_dashboard import DASHBOARD, browser, grow, links_in, section

portfolio = test_dashboard.portfolio  # the dashboard tests' crafted portfolio

CHANGELIST = reverse("admin:registry_initiative_changelist")


def heading_count(html: str, name: str) -> int:
    match = re.search(r"<h2>[^<]*\(([\d,.\s\u00a0]+)\)</h2>", section(html, name))
    assert match, name
    return int(re.sub(r"\D", "", match.group(1)))


def listed_link(html: str, name: str) -> str:
    found = [link for link in links_in(section(html, name)) if link.startswith(CHANGELIST + "?")]
    assert found, name
    return found[-1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unaligned", lambda user: len(reports.unaligned(user=user, period=None))),
        ("silos", lambda user: len(reports.silos(user=user, period=None))),
        ("gate-gaps", lambda user: len(reports.gate_gaps(user=user, period=None))),
    ],
)
@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_long_lists_show_their_first_rows_and_the_exact_count(portfolio, name, expected, role):
    grow(portfolio, 40, 0)
    for n in range(12):  # imported pilots without a hypothesis: gate gaps
        imported = factories.InitiativeFactory(
            name=f"Imported pilot {n}",
            stage=choices.Stage.PILOT,
            hypothesis="",
            lead_department=portfolio.departments["it"],
        )
        lifecycle.record_initial_stage(initiative=imported, imported_from="jira")
    user = portfolio.users[role]
    client = browser(user)
    html = client.get(DASHBOARD, {"period": ""}).content.decode()
    total = expected(user)
    assert total > flags.SHOWN  # the crafted portfolio really has a long list

    assert heading_count(html, name) == total
    part = section(html, name)
    assert part.count("<tr>") - 1 == flags.SHOWN  # a header row and the first ten
    assert f"The first {flags.SHOWN} of {total}" in part
    listed = client.get(listed_link(html, name)).context["cl"]
    assert listed.result_count == total
    if role == "viewer":
        assert portfolio.initiatives["secret"].key not in part
        assert portfolio.initiatives["secret"] not in listed.queryset


def test_overlap_groups_show_their_first_members(portfolio):
    grow(portfolio, 40, 0)
    user = portfolio.users["pmo"]
    client = browser(user)
    html = client.get(DASHBOARD, {"period": ""}).content.decode()
    groups = reports.overlaps(user=user, period=None)
    members = {m["key"] for g in groups for m in g["members"]}

    assert heading_count(html, "overlaps") == len(groups)
    part = section(html, "overlaps")
    largest = groups[0]
    assert len(largest["members"]) > flags.MEMBERS_SHOWN
    assert f"and {len(largest['members']) - flags.MEMBERS_SHOWN} more" in part
    listed = client.get(listed_link(html, "overlaps")).context["cl"]
    assert {obj.key for obj in listed.queryset} == members


def test_the_headline_says_what_it_counts(portfolio):
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    # chat, nbo, secret of six serve a goal: chat strongly, nbo and secret moderately.
    assert "3 of 6 serve a goal of the vision" in html
    levels = section(html, "figure-aligned") if 'id="figure-aligned"' in html else html
    found = dict(re.findall(r"registry-badge--(\w+)\">[^<]+</span> <strong>(\d+)</strong>", levels))
    assert sum(int(n) for n in found.values()) == 6
    assert found["none"] == "3"


def test_the_heatmap_groups_departments_by_function(portfolio):
    client = browser(portfolio.users["pmo"])
    html = client.get(DASHBOARD, {"period": "", "group": "function"}).content.decode()
    heatmap = section(html, "heatmap")
    assert "goals × functions of the lead departments" in heatmap
    nps = portfolio.goals["nps"]
    cell = next(
        link
        for link in links_in(heatmap)
        if f"goal={nps.pk}&" in link and "lead_department__function__exact=service" in link
    )
    shown = {obj.key for obj in client.get(cell).context["cl"].result_list}
    assert shown == set(portfolio.keys("chat", "secret"))
    # The switch back to departments keeps the rest of the query.
    switch = section(html, "heatmap-group")
    assert "group=department" in switch
    assert "period=" in switch


def test_many_departments_are_grouped_by_function_by_default(portfolio):
    for n in range(14):
        department = factories.DepartmentFactory(
            slug=f"region-{n}",
            name=f"Region {n} service",
            function=choices.DepartmentFunction.SERVICE,
        )
        factories.InitiativeFactory(name=f"Regional bot {n}", lead_department=department)
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    heatmap = section(html, "heatmap")
    assert "Region 3 service" not in heatmap
    headers = re.findall(r'class="registry-heatmap__header"[^>]*>([^<]+)<', heatmap)
    assert "Customer service" in headers
    assert len(headers) <= len(choices.DepartmentFunction.values) + 1
    # Asked for, the departments come back, one column each.
    by_department = browser(portfolio.users["pmo"]).get(
        DASHBOARD, {"period": "", "group": "department"}
    )
    assert "Region 3 service" in by_department.content.decode()
    assert Initiative.objects.filter(name__startswith="Regional bot").count() == 14


@pytest.mark.parametrize("group", ["function", "department"])
def test_the_query_count_does_not_grow_with_departments_or_lists(portfolio, group):
    client = browser(portfolio.users["viewer"])
    client.get(DASHBOARD)  # warm up: session, role cache

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(DASHBOARD, {"period": "", "group": group})
        assert response.status_code == 200
        return len(captured)

    small = queries()
    grow(portfolio, 40, 0)
    for n in range(14):
        department = factories.DepartmentFactory(slug=f"unit-{n}", name=f"Unit {n}")
        factories.InitiativeFactory(name=f"Unit bot {n}", lead_department=department)
    assert queries() == small
