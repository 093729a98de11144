"""The PMO answers the journey questions from the dashboard in a real browser, in English and
German: each panel link opens the journey page at its section, and a cell of the journey map
opens the initiative list filtered to exactly that cell."""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry import choices
from registry.models import Initiative, ProactiveStance
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECTIONS = {
    "fragmented": ("Fragmented journeys", "Fragmentierte Journeys"),
    "stance-conflicts": (
        "Contradicting the proactive stance",
        "Widerspruch zur proaktiven Haltung",
    ),
    "teams": ("Team composition of customer-facing pilots", "Teamzusammensetzung der Piloten"),
}


@pytest.fixture
def journey(crafted):
    touch = {
        "bot": ([choices.Touchpoint.CHAT], {"customer_facing": True}),
        "assist": ([choices.Touchpoint.PHONE], {}),
        "offers": (
            [choices.Touchpoint.EMAIL],
            {"customer_facing": True, "interaction_mode": choices.InteractionMode.PROACTIVE},
        ),
    }
    for name, (touchpoints, fields) in touch.items():
        Initiative.objects.filter(pk=crafted[name].pk).update(
            touchpoints=touchpoints, journey_stages=[choices.JourneyStage.SUPPORT], **fields
        )
    ProactiveStance.objects.create(
        vision=crafted["vision"],
        touchpoint=choices.Touchpoint.EMAIL,
        stance=choices.Stance.REACTIVE,
        rationale="E-mail answers, it does not push.",
    )
    return crafted


def test_each_journey_question_is_two_clicks_away(page, live_server, journey, screenshot):
    log_in(page, live_server, "board-pmo")
    dashboard = f"{live_server.url}{reverse('registry_board:dashboard')}?period="
    for index, language in enumerate(("en", "de")):
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        for anchor, headings in SECTIONS.items():
            page.goto(dashboard)
            page.click(f"#journey-panel a[href$='#{anchor}']")  # click 1
            page.wait_for_url(f"**/board/journey/**#{anchor}")
            heading = page.locator(f"#{anchor} h2").inner_text()
            assert heading.startswith(headings[index]), heading
        screenshot(page, f"journey-{language}")
    assert journey["offers"].key in page.locator("#stance-conflicts").inner_text()
    fragmented = page.locator("#fragmented").inner_text()
    assert all(journey[name].key in fragmented for name in ("bot", "assist", "offers"))


def test_a_map_cell_opens_the_filtered_initiative_list(page, live_server, journey):
    log_in(page, live_server, "board-pmo")
    page.goto(f"{live_server.url}{reverse('registry_board:journey')}?period=")
    page.click("td[data-touchpoint='email'][data-journey-stage='support'] a")  # click 2
    page.wait_for_url("**/registry/initiative/?**")
    rows = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(rows) == 1
    assert journey["offers"].key in rows[0]
