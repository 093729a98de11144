"""The dashboard's voice and learning panels: which customer-facing AI has no passed voice
review, and per quarter how many hypotheses were confirmed, refuted or left open — each
number one click from the list behind it, in English and German, and nothing of a
confidential initiative for those who may not see it.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from registry import choices
from registry.models import Initiative
from registry.quarters import quarter_of
from registry.services import learning as learning_service
from tests.api.support import Portfolio, make_portfolio
from tests.board.test_dashboard import DASHBOARD, browser, links_in, section


@pytest.fixture
def portfolio(db) -> Portfolio:
    p = make_portfolio()
    # The confidential voicebot is a pilot on the phone: it speaks to customers.
    Initiative.objects.filter(pk=p.initiatives["secret"].pk).update(
        stage=choices.Stage.PILOT, touchpoints=[choices.Touchpoint.PHONE]
    )
    for initiative in p.initiatives.values():
        initiative.refresh_from_db()
    return p


def record(p: Portfolio, name: str, outcome: str, on: datetime.date) -> None:
    learning_service.learning_record(
        actor=p.users["pmo"],
        initiative=p.initiatives[name],
        data={"hypothesis": f"{name} helps", "outcome": outcome, "lesson": "L", "recorded_on": on},
    )


def test_customer_facing_ai_without_a_passed_voice_review(portfolio):
    chat, secret = portfolio.initiatives["chat"], portfolio.initiatives["secret"]
    viewer = browser(portfolio.users["viewer"]).get(DASHBOARD, {"period": ""}).content.decode()
    panel = section(viewer, "voice-review-gaps")
    assert "(1)" in panel
    assert chat.key in panel
    assert "never reviewed" in panel
    assert secret.key not in panel
    pmo = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    assert "(2)" in section(pmo, "voice-review-gaps")
    assert secret.key in section(pmo, "voice-review-gaps")

    learning_service.voice_review_record(
        actor=portfolio.users["pmo"], initiative=chat, outcome="passed"
    )
    viewer = browser(portfolio.users["viewer"]).get(DASHBOARD, {"period": ""}).content.decode()
    assert "passed its latest voice review" in section(viewer, "voice-review-gaps")


def test_the_voice_panel_in_german(portfolio):
    client = browser(portfolio.users["viewer"])
    html = client.get(DASHBOARD, {"period": ""}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    panel = section(html, "voice-review-gaps")
    assert "Kundennahe KI ohne bestandene Stimmprüfung" in panel
    assert "nie geprüft" in panel
    learning = section(html, "learnings-by-quarter")
    assert "Widerlegt" in learning
    assert "Bestätigt" in learning


def test_each_quarters_outcomes_open_those_learnings(portfolio):
    today = timezone.localdate()
    this_quarter = quarter_of(today)
    record(portfolio, "chat", "refuted", today)
    record(portfolio, "chat", "refuted", today)
    record(portfolio, "chat", "confirmed", today)
    record(portfolio, "secret", "refuted", today)  # confidential: not for the viewer
    client = browser(portfolio.users["viewer"])
    html = client.get(DASHBOARD, {"period": ""}).content.decode()
    panel = section(html, "learnings-by-quarter")
    row = panel[panel.index(f'data-period="{this_quarter}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-outcome="refuted"><a' in row
    refuted_link = next(link for link in links_in(row) if "outcome__exact=refuted" in link)
    assert ">2</a>" in row
    # The second click: the learning library shows exactly the two.
    listed = client.get(refuted_link)
    assert listed.status_code == 200
    assert len(listed.context["cl"].result_list) == 2

    pmo = browser(portfolio.users["pmo"]).get(DASHBOARD, {"period": ""}).content.decode()
    pmo_panel = section(pmo, "learnings-by-quarter")
    pmo_row = pmo_panel[pmo_panel.index(f'data-period="{this_quarter}"') :]
    assert ">3</a>" in pmo_row[: pmo_row.index("</tr>")]


def test_the_dashboard_still_runs_for_a_viewer_without_learnings(portfolio):
    response = Client().get(DASHBOARD)
    assert response.status_code == 302
    page = browser(portfolio.users["viewer"]).get(DASHBOARD, {"period": ""})
    assert page.status_code == 200
    assert "What the pilots taught, per quarter" in page.content.decode()
