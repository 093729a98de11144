"""The customer journey page and the dashboard's journey panel as the PMO and the board see
them: the map whose cells open the filtered initiative list, the flags, the stance with its
contradictions and exceptions, the team composition — each two clicks from the dashboard, in
English and German; confidential work only for those who may see it; constant queries.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import choices
from registry.models import ProactiveStance
from registry.services import lifecycle
from tests import factories
from tests.api.test_journey import portfolio  # noqa: F401  (the crafted journey portfolio)
from tests.board.test_dashboard import browser, links_in, section

DASHBOARD = "/admin/registry/board/"
JOURNEY = "/admin/registry/board/journey/"


@pytest.fixture
def staged(portfolio):  # noqa: F811
    p = portfolio
    ProactiveStance.objects.create(
        vision=p.vision,
        touchpoint=choices.Touchpoint.EMAIL,
        stance=choices.Stance.REACTIVE,
        rationale="E-mail customers expect answers, not pushes.",
    )
    lifecycle.initiative_transition(
        initiative=p.initiatives["mail"], to_stage="approved", note="Opt-in customers only."
    )
    chat = p.initiatives["chat"]
    designer = factories.PersonFactory(department=p.departments["it"])
    factories.TeamRoleFactory(initiative=chat, person=designer, role="ux_designer")
    return p


def test_the_map_and_its_cells_links(staged):
    p = staged
    client = browser(p.users["viewer"])
    html = client.get(JOURNEY, {"period": ""}).content.decode()
    cell = re.search(
        r'data-touchpoint="email" data-journey-stage="support" data-count="(\d+)">\s*'
        r'<a class="registry-journey-count" href="([^"]+)"',
        html,
    )
    assert cell, html[:500]
    assert cell.group(1) == "2"
    listed = client.get(cell.group(2).replace("&amp;", "&"))
    assert {obj.key for obj in listed.context["cl"].result_list} == set(p.keys("triage", "mail"))
    assert 'data-unserved="G-NPS"' in html  # phone × support: only the secret serves it
    assert p.key("secret") not in html


def test_flags_stance_and_teams_sections(staged):
    p = staged
    html = browser(p.users["pmo"]).get(JOURNEY, {"period": ""}).content.decode()
    assert "Support" in section(html, "fragmented")
    assert "IT, " not in section(html, "department-conflicts")
    assert "it, marketing" in section(html, "department-conflicts")
    conflicts = section(html, "stance-conflicts")
    assert p.key("mail") in conflicts
    assert "Opt-in customers only." in conflicts
    assert "Opt-in customers only." in section(html, "stance-exceptions")
    teams = section(html, "teams")
    assert p.key("chat") in teams
    assert 'data-flags="no_data"' in teams
    assert "E-mail customers expect answers, not pushes." in section(html, "stance")


def test_every_question_is_two_clicks_from_the_dashboard_in_both_languages(staged):
    p = staged
    client = browser(p.users["pmo"])
    for language, words in (
        ("en", ("fragmented journey stage", "contradict", "cross-functional")),
        ("de", ("fragmentierte", "widerspricht der proaktiven Haltung", "funktionsübergreifend")),
    ):
        html = client.get(DASHBOARD, {"period": ""}, HTTP_ACCEPT_LANGUAGE=language)
        panel = section(html.content.decode(), "journey-panel")
        for word in words:
            assert word in panel, (language, word, panel)
        anchors = {link.split("#")[1] for link in links_in(panel) if "#" in link}
        assert anchors == {
            "fragmented",
            "department-conflicts",
            "unserved",
            "stance-conflicts",
            "stance-exceptions",
            "teams",
        }
        for link in links_in(panel):
            page = client.get(link.split("#")[0], HTTP_ACCEPT_LANGUAGE=language)
            assert page.status_code == 200
            if "#" in link:
                assert f'id="{link.split("#")[1]}"' in page.content.decode()


def test_the_panel_counts_what_the_viewer_may_see(staged):
    p = staged
    ProactiveStance.objects.create(
        vision=p.vision,
        touchpoint=choices.Touchpoint.PHONE,
        stance=choices.Stance.NO_AI,
        rationale="Phone stays human.",
    )
    counts = {}
    for role in ("pmo", "viewer"):
        html = browser(p.users[role]).get(DASHBOARD, {"period": ""}).content.decode()
        panel = section(html, "journey-panel")
        counts[role] = re.search(r"(\d+) initiatives? contradicts?", panel).group(1)
    assert counts == {"pmo": "2", "viewer": "1"}
    journey_html = browser(p.users["viewer"]).get(JOURNEY, {"period": ""}).content.decode()
    assert p.key("secret") not in journey_html


def test_the_nav_links_the_journey_page(staged):
    html = browser(staged.users["viewer"]).get(DASHBOARD).content.decode()
    nav = html[html.index('class="registry-board-nav"') :]
    assert (
        f'href="{reverse("registry_board:journey")}" id="nav-journey"' in nav[: nav.index("</nav>")]
    )


def test_who_may_open_the_journey_page(staged):
    assert browser(staged.users["norole"]).get(JOURNEY).status_code == 403
    anonymous = staged.client("anonymous")  # an API client is a Django test client
    assert anonymous.get(JOURNEY).status_code == 302


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_the_journey_page_runs_a_constant_number_of_queries(staged, role):
    client = browser(staged.users[role])
    client.get(JOURNEY)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(JOURNEY, {"period": ""}).status_code == 200
        return len(queries)

    before = measure()
    for n in range(6):
        made = factories.InitiativeFactory(
            stage=choices.Stage.PILOT,
            customer_facing=True,
            touchpoints=[choices.Touchpoint.EMAIL, choices.Touchpoint.APP],
            journey_stages=[choices.JourneyStage.USAGE],
            interaction_mode=choices.InteractionMode.PROACTIVE,
        )
        factories.TeamRoleFactory(initiative=made, role="analyst")
        if n % 2:
            made.systems.set([staged.systems["crm"]])
    assert measure() == before
