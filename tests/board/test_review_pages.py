"""The quarterly review in the admin: one initiative at a time, decide (with the lifecycle
move), close, read-only once closed, compare, the printable board summary, CSV and XLSX.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from registry.choices import Stage
from registry.models import Initiative, Review, ReviewDecision
from registry.services import lifecycle, reviews
from tests import factories
from tests.api.test_reviews import Quarter


@pytest.fixture
def q(db) -> Quarter:
    quarter = Quarter()
    for user in (quarter.pmo, quarter.viewer):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return quarter


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(q: Quarter, name: str = "review", review: Review | None = None) -> str:
    return reverse(f"registry_board:{name}", args=[(review or q.review).pk])


def decide(client: Client, q: Quarter, initiative: Initiative, decision: str = "continue", **extra):
    data = {"initiative": initiative.key, "decision": decision, "rationale": "Agreed.", **extra}
    return client.post(page_url(q, "review-decide"), data)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- going through the initiatives --------------------------------------------------------------


def test_the_page_shows_one_initiative_at_a_time_from_the_first_undecided(q):
    pmo = browser(q.pmo)
    decide(pmo, q, q.pilot)

    page = pmo.get(page_url(q))

    assert page.status_code == 200
    html = page.content.decode()
    keys = sorted([q.pilot.key, q.idea.key, q.secret.key])
    first_undecided = next(key for key in keys if key != q.pilot.key)
    assert page.context["current"].key == first_undecided
    assert "1 of 3 initiatives decided" in html
    assert 'id="decision-form"' in html
    for key in keys:
        assert f'?initiative={key}"' in html
    assert q.past.key not in html  # ended before the quarter
    chosen = pmo.get(page_url(q), {"initiative": q.pilot.key})
    assert chosen.context["current"].key == q.pilot.key
    assert "As the board saw it when deciding" in chosen.content.decode()
    assert pmo.get(page_url(q), {"initiative": q.past.key}).status_code == 404


def test_the_board_reads_but_does_not_decide(q):
    viewer = browser(q.viewer)
    page = viewer.get(page_url(q))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="decision-form"' not in html
    assert 'id="close-form"' not in html
    assert q.secret.key not in html  # confidential
    assert decide(viewer, q, q.idea).status_code == 403
    assert viewer.post(page_url(q, "review-close")).status_code == 403
    assert not ReviewDecision.objects.exists()


def test_deciding_moves_on_to_the_next_undecided(q):
    pmo = browser(q.pmo)
    keys = sorted([q.pilot.key, q.idea.key, q.secret.key])
    first = Initiative.objects.get(key=keys[0])

    response = decide(pmo, q, first, "pivot", rationale="Merge with the app bot.")

    assert response.status_code == 302
    assert response["Location"].endswith(f"?initiative={keys[1]}")
    stored = ReviewDecision.objects.get(review=q.review, initiative=first)
    assert (stored.decision, stored.rationale, stored.decided_by) == (
        "pivot",
        "Merge with the app bot.",
        q.pmo,
    )
    assert stored.snapshot["key"] == first.key
    assert f"{first.key}: Pivot." in messages_of(response)


def test_a_decision_can_make_the_move_through_the_gate(q):
    pmo = browser(q.pmo)

    refused = decide(pmo, q, q.pilot, "scale", apply_move="on")

    assert refused.status_code == 409
    assert "recorded learnings" in refused.content.decode()
    assert not ReviewDecision.objects.exists()
    assert Initiative.objects.get(pk=q.pilot.pk).stage == Stage.PILOT

    Initiative.objects.filter(pk=q.pilot.pk).update(learnings="Works for billing.")
    moved = decide(pmo, q, q.pilot, "scale", apply_move="on")
    assert moved.status_code == 302
    assert "Moved from Pilot to Scaling." in " ".join(messages_of(moved))
    assert Initiative.objects.get(pk=q.pilot.pk).stage == Stage.SCALING
    paused = decide(pmo, q, q.idea, "pause", apply_move="on", rationale="", note="Wait for CRM.")
    assert paused.status_code == 302
    assert Initiative.objects.get(pk=q.idea.pk).stage == Stage.PAUSED


def test_an_invalid_decision_is_shown_on_the_form(q):
    response = decide(browser(q.pmo), q, q.idea, "maybe")
    assert response.status_code == 400
    assert response.context["form"].errors["decision"]
    assert not ReviewDecision.objects.exists()


# --- closing, and the closed review ---------------------------------------------------------------


def test_closing_needs_every_decision_then_the_review_is_read_only(q):
    pmo = browser(q.pmo)
    decide(pmo, q, q.pilot)
    early = pmo.post(page_url(q, "review-close"), {"summary": "", "held_on": ""})
    assert "still need a decision" in " ".join(messages_of(early))
    assert Review.objects.get(pk=q.review.pk).status == "open"
    assert "disabled" in pmo.get(page_url(q)).content.decode().split('id="close-form"')[1]

    decide(pmo, q, q.idea, "stop", rationale="No goal.")
    decide(pmo, q, q.secret)
    closed = pmo.post(
        page_url(q, "review-close"), {"summary": "Two continue, one stop.", "held_on": "2026-12-10"}
    )
    assert "is closed" in " ".join(messages_of(closed))
    review = Review.objects.get(pk=q.review.pk)
    assert (review.status, review.summary, review.held_on) == (
        "closed",
        "Two continue, one stop.",
        datetime.date(2026, 12, 10),
    )

    page = pmo.get(page_url(q)).content.decode()
    assert 'data-review-status="closed"' in page
    assert "it and its decisions never change" in page
    assert 'id="decision-form"' not in page
    assert 'id="close-form"' not in page
    before = list(ReviewDecision.objects.order_by("pk").values_list("decision", "rationale"))
    again = decide(pmo, q, q.idea, "continue")
    assert again.status_code == 302
    assert "is closed" in " ".join(messages_of(again))
    assert list(ReviewDecision.objects.order_by("pk").values_list("decision", "rationale")) == (
        before
    )
    # The review record in the admin is read-only too, and links back to these pages.
    record = pmo.get(reverse("admin:registry_review_change", args=[q.review.pk])).content.decode()
    assert page_url(q) in record
    assert 'name="_save"' not in record


# --- compare, summary, exports --------------------------------------------------------------------


@pytest.fixture
def two_quarters(q):
    q3 = reviews.review_open(vision=q.vision, period="2026-Q3", actor=q.pmo)
    for initiative in (q.pilot, q.idea, q.secret):
        reviews.review_decide(review=q3, initiative=initiative, decision="continue", actor=q.pmo)
    reviews.review_close(review=q3, actor=q.pmo)
    Initiative.objects.filter(pk=q.pilot.pk).update(learnings="Works.")
    q.pilot.refresh_from_db()
    lifecycle.initiative_transition(initiative=q.pilot, to_stage=Stage.SCALING, actor=q.pmo)
    Initiative.objects.filter(pk=q.pilot.pk).update(budget_planned=Decimal("150000"))
    factories.MeasurementFactory(
        goal=q.nps, observed_on=datetime.date(2026, 9, 30), value=Decimal("30")
    )
    for initiative, decision in ((q.pilot, "scale"), (q.idea, "stop"), (q.secret, "pause")):
        reviews.review_decide(
            review=q.review, initiative=initiative, decision=decision, actor=q.pmo
        )
    return q3


def test_compare_shows_what_changed_since_the_previous_review(q, two_quarters):
    html = browser(q.pmo).get(page_url(q, "review-compare")).content.decode()
    text = html.lower()  # vocabulary codes or their labels
    assert "Compared with the 2026-Q3 review." in html
    assert f"{q.pilot.key} billing bot: pilot → scaling".lower() in text
    assert f"{q.pilot.key} billing bot: continue → scale".lower() in text
    assert f"{q.secret.key} secret voicebot: continue → pause".lower() in text
    assert "100,000 → 150,000 EUR" in html
    assert "G-NPS: 25.0 % → 50.0 % (+25" in html
    viewer = browser(q.viewer).get(page_url(q, "review-compare")).content.decode()
    assert q.secret.key not in viewer
    first = browser(q.pmo).get(page_url(q, "review-compare", two_quarters)).content.decode()
    assert "There is no earlier review of this vision to compare with" in first


def test_the_board_summary_prints_the_decisions(q, two_quarters):
    client = browser(q.pmo)
    html = client.get(page_url(q, "review-summary")).content.decode()
    assert "Quarterly portfolio review 2026-Q4" in html
    assert 'href="/static/registry/board.css"' in html
    assert 'class="no-print"' in html
    for label, key in (("Scale (1)", q.pilot.key), ("Stop (1)", q.idea.key)):
        assert label in html
        assert key in html
    assert "G-NPS: 25.0 % → 50.0 %" in html
    stylesheet = b"".join(client.get("/static/registry/board.css").streaming_content)
    assert b"@media print" in stylesheet
    assert b".no-print { display: none" in stylesheet


def test_exports_show_what_the_board_saw(q, two_quarters):
    Initiative.objects.filter(pk=q.pilot.pk).update(name="Renamed later", budget_planned=1)
    client = browser(q.pmo)

    response = client.get(page_url(q, "review-export-csv"))

    assert response["Content-Disposition"] == 'attachment; filename="review-2026-Q4.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_key = {row["Key"]: row for row in rows}
    pilot = by_key[q.pilot.key]
    # Codes or their labels, whichever language the export speaks.
    assert (pilot["Initiative"], pilot["Decision"].lower(), pilot["Stage"].lower()) == (
        "Billing bot",
        "scale",
        "scaling",
    )
    assert pilot["Planned budget"] == "150000.00"
    assert pilot["Goal progress %"] == "50.0"
    assert pilot["Decided by"] == "review-pmo"

    workbook = load_workbook(io.BytesIO(client.get(page_url(q, "review-export-xlsx")).content))
    sheet = workbook["2026-Q4"]
    header = [cell.value for cell in sheet[1]]
    values = {
        row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(2, values_only=True)
    }
    assert values[q.pilot.key]["Planned budget"] == 150000.0
    assert values[q.idea.key]["Decision"].lower() == "stop"
    assert workbook["About"]["B2"].value == "2026-Q4"
    viewer_rows = browser(q.viewer).get(page_url(q, "review-export-csv")).content.decode()
    assert q.secret.key not in viewer_rows
