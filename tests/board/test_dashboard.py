"""The portfolio dashboard as the PMO and the board see it: headline figures, the heatmap
whose cells open the filtered initiative list, goal progress, the funnel and the lists, for a
vision and quarter; confidential work only for those who may see it; a constant number of
queries as the portfolio grows.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import choices
from registry.models import Alignment, Initiative, Review
from registry.services import lifecycle
from tests import factories
from tests.api.support import Portfolio, make_portfolio, make_user

DASHBOARD = "/admin/registry/board/"


@pytest.fixture
def portfolio(db) -> Portfolio:
    """The API tests' crafted portfolio, plus an imported IT chatbot that overlaps with the
    billing chatbot and lacks its pilot evidence, and a goal only the secret voicebot serves.
    """
    p = make_portfolio()
    it_bot = factories.InitiativeFactory(
        name="IT support bot",
        kind=choices.Kind.CHATBOT,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        touchpoints=[choices.Touchpoint.CHAT],
        journey_stages=[choices.JourneyStage.SUPPORT],
        budget_planned=Decimal("20000"),
        stage=choices.Stage.PILOT,
    )
    lifecycle.record_initial_stage(initiative=it_bot, imported_from="jira")
    p.initiatives["it_bot"] = it_bot
    p.goals["fcr"] = factories.GoalFactory(vision=p.vision, code="G-FCR", title="First contact")
    Alignment.objects.create(
        initiative=p.initiatives["secret"], goal=p.goals["fcr"], strength=1, is_primary=False
    )
    return p


def browser(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def figure(html: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}"><span class="registry-figure__value">([^<]*)<', html)
    assert match, name
    return match.group(1)


def section(html: str, name: str) -> str:
    """The HTML of one section of the page (by id), up to the next section."""
    start = html.index(f'id="{name}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else None]


def links_in(html: str) -> list[str]:
    return [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', html)]


def change_link(initiative: Initiative) -> str:
    return reverse("admin:registry_initiative_change", args=[initiative.pk])


def test_the_admin_index_leads_to_the_dashboard(portfolio):
    page = browser(portfolio.users["viewer"]).get("/admin/").content.decode()
    assert f'href="{DASHBOARD}" id="nav-dashboard"' in page
    # The stock app list stays below it.
    assert reverse("admin:registry_initiative_changelist") in page
    assert reverse("admin:registry_savedview_changelist") in page


def test_headline_figures_of_the_whole_portfolio(portfolio):
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()

    # chat, nbo, triage, secret, legacy, it_bot; aligned: chat, nbo, secret.
    assert figure(html, "count") == "6"
    assert figure(html, "aligned") == "50 %"
    # triage 10,000 + legacy 5,000 + it_bot 20,000 serve no goal of the active vision.
    assert figure(html, "unaligned-budget") == "35,000 EUR"
    assert "of 255,000 EUR" in html
    assert figure(html, "coverage") == "0"
    assert figure(html, "overlaps") == "1"
    assert figure(html, "gate-gaps") == "1"


def test_the_quarter_narrows_every_figure(portfolio):
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": "2026-Q4"}).content.decode()
    assert figure(html, "count") == "5"  # triage ended in 2025
    assert "initiatives active in 2026-Q4" in html
    assert '<option value="2026-Q4" selected>' in html


def test_the_quarter_defaults_to_this_one(portfolio):
    response = browser(portfolio.users["pmo"]).get(DASHBOARD)
    today = datetime.date.today()
    assert response.context["period"] == f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert response.context["vision"] == portfolio.vision


def test_a_bad_quarter_is_said_and_the_whole_portfolio_shown(portfolio):
    response = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": "2026-Q7"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not a quarter like 2026-Q4" in html
    assert figure(html, "count") == "6"


def test_heatmap_cells_open_the_filtered_initiative_list(portfolio):
    client = browser(portfolio.users["pmo"])
    html = client.get(DASHBOARD, {"period": ""}).content.decode()
    heatmap = section(html, "heatmap")
    nps, service = portfolio.goals["nps"], portfolio.departments["service"]
    cell = next(
        link
        for link in links_in(heatmap)
        if f"goal={nps.pk}&" in link and f"lead_department__id__exact={service.pk}" in link
    )
    assert re.search(r"<title>G-NPS × Customer service: 2 · 170,000 EUR</title>", heatmap)

    listed = client.get(cell)

    assert listed.status_code == 200
    shown = {obj.key for obj in listed.context["cl"].result_list}
    assert shown == set(portfolio.keys("chat", "secret"))
    # The row of work serving no goal opens the unaligned initiatives of a department.
    it = portfolio.departments["it"]
    none_cell = next(
        link
        for link in links_in(heatmap)
        if "alignment=none" in link and f"lead_department__id__exact={it.pk}" in link
    )
    unaligned = {obj.key for obj in client.get(none_cell).context["cl"].result_list}
    assert unaligned == set(portfolio.keys("triage", "legacy", "it_bot"))


def test_heatmap_links_carry_the_quarter(portfolio):
    client = browser(portfolio.users["pmo"])
    html = client.get(DASHBOARD, {"period": "2026-Q4"}).content.decode()
    it = portfolio.departments["it"]
    none_cell = next(
        link
        for link in links_in(section(html, "heatmap"))
        if "alignment=none" in link and f"lead_department__id__exact={it.pk}" in link
    )
    assert "active_in=2026-Q4" in none_cell
    shown = {obj.key for obj in client.get(none_cell).context["cl"].result_list}
    assert shown == set(portfolio.keys("legacy", "it_bot"))  # triage ended in 2025


def test_lists_link_to_the_initiatives(portfolio):
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    initiatives = portfolio.initiatives

    unaligned = links_in(section(html, "unaligned"))
    for name in ("triage", "legacy", "it_bot"):
        assert change_link(initiatives[name]) in unaligned, name
    assert change_link(initiatives["chat"]) not in unaligned
    overlaps = section(html, "overlaps")
    assert change_link(initiatives["chat"]) in links_in(overlaps)
    assert change_link(initiatives["it_bot"]) in links_in(overlaps)
    assert "same kind" in overlaps
    silos = links_in(section(html, "silos"))
    assert change_link(initiatives["nbo"]) in silos
    assert change_link(initiatives["chat"]) not in silos  # marketing takes part
    gate_gaps = section(html, "gate-gaps")
    assert change_link(initiatives["it_bot"]) in links_in(gate_gaps)
    assert "a hypothesis" in gate_gaps


def test_goal_progress_and_funnel(portfolio):
    html = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    progress = section(html, "goal-progress")
    # G-NPS: baseline 20, latest 25, target 40 → 25 %; the others have no measurement.
    assert re.search(r"25 % · expected \d+ % · (on track|behind)", progress)
    assert progress.count("no measurement yet") == 2
    assert progress.count('class="registry-progress__expected"') == 3
    funnel = section(html, "funnel")
    counts = dict(re.findall(r"<title>(\w+): (\d+)</title>", funnel))
    assert counts == {
        "Idea": "3",
        "Proposed": "0",
        "Approved": "1",
        "Pilot": "2",
        "Scaling": "0",
        "Production": "0",
    }


def test_confidential_work_is_not_shown_to_outsiders(portfolio):
    secret = portfolio.initiatives["secret"]
    viewer = browser(portfolio.users["viewer"]).get(DASHBOARD, {"period": ""}).content.decode()
    assert secret.key not in viewer
    assert "Secret voicebot" not in viewer
    assert figure(viewer, "count") == "5"
    assert figure(viewer, "coverage") == "1"  # only the secret voicebot serves G-FCR
    teamie = browser(portfolio.users["teamie"]).get(DASHBOARD, {"period": ""}).content.decode()
    assert secret.key in teamie
    assert figure(teamie, "count") == "6"


def test_who_may_open_the_dashboard(portfolio):
    norole = make_user("staff-without-role")
    assert browser(norole).get(DASHBOARD).status_code == 403
    anonymous = Client().get(DASHBOARD)
    assert anonymous.status_code == 302
    assert "/admin/login/" in anonymous["Location"]


def test_the_pmo_starts_the_review_of_the_quarter(portfolio):
    pmo, viewer = browser(portfolio.users["pmo"]), browser(portfolio.users["viewer"])
    html = pmo.get(DASHBOARD, {"period": "2027-Q1"}).content.decode()
    assert 'id="review-open-form"' in html
    assert (
        'id="review-open-form"' not in viewer.get(DASHBOARD, {"period": "2027-Q1"}).content.decode()
    )
    form = {"vision": portfolio.vision.pk, "period": "2027-Q1"}
    assert viewer.post(reverse("registry_board:review-open"), form).status_code == 403

    response = pmo.post(reverse("registry_board:review-open"), form)

    review = Review.objects.get(period="2027-Q1")
    assert response.status_code == 302
    assert response["Location"] == reverse("registry_board:review", args=[review.pk])
    again = pmo.get(DASHBOARD, {"period": "2027-Q1"}).content.decode()
    assert reverse("registry_board:review", args=[review.pk]) in again
    duplicate = pmo.post(reverse("registry_board:review-open"), form, follow=True)
    assert "already exists" in duplicate.content.decode()
    assert Review.objects.filter(period="2027-Q1").count() == 1


def test_the_changelist_filters_by_quarter(portfolio):
    client = browser(portfolio.users["pmo"])
    changelist = reverse("admin:registry_initiative_changelist")
    shown = client.get(changelist, {"active_in": "2025-Q1"}).context["cl"].result_list
    assert {obj.key for obj in shown} == set(portfolio.keys("triage", "secret", "legacy", "it_bot"))
    assert client.get(changelist, {"active_in": "2025-Q9"}).status_code == 302


# --- a constant number of queries ---------------------------------------------------------------


def grow(portfolio: Portfolio, count: int, offset: int) -> None:
    departments = list(portfolio.departments.values())[:3]
    goals = [portfolio.goals["nps"], portfolio.goals["aht"], portfolio.goals["fcr"]]
    systems = list(portfolio.systems.values())
    for n in range(offset, offset + count):
        department = departments[n % 3]
        initiative = factories.InitiativeFactory(
            name=f"Grown {n}",
            owner=factories.PersonFactory(department=department),
            lead_department=department,
            kind=[choices.Kind.CHATBOT, choices.Kind.AUTOMATION][n % 2],
            stage=[choices.Stage.IDEA, choices.Stage.PILOT, choices.Stage.PRODUCTION][n % 3],
            touchpoints=["chat"],
            journey_stages=[["billing", "support"][n % 2]],
            confidential=n % 6 == 0,
            start_date=datetime.date(2026, 1, 1),
        )
        if n % 4:
            factories.AlignmentFactory(initiative=initiative, goal=goals[n % 3], strength=1 + n % 3)
        initiative.systems.add(systems[n % 2])
        if n % 5 == 0:
            lifecycle.record_initial_stage(initiative=initiative, imported_from="jira")


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_the_dashboard_runs_a_constant_number_of_queries(portfolio, role):
    client = browser(portfolio.users[role])
    grow(portfolio, 10, 0)
    client.get(DASHBOARD)  # warm up: session, role cache

    def measure(period: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(DASHBOARD, {"period": period})
        assert response.status_code == 200
        return len(queries), len(response.content)

    small = {period: measure(period) for period in ("", "2026-Q4")}
    grow(portfolio, 190, 10)
    large = {period: measure(period) for period in ("", "2026-Q4")}

    assert Initiative.objects.count() > 200
    for period in small:
        assert large[period][0] == small[period][0], period
        assert large[period][1] > small[period][1], period  # the page really shows more
