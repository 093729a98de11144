"""The quarterly review in a real browser: the PMO logs in, reads the dashboard, follows a
heatmap cell to the filtered initiative list, opens the quarter's review, decides on every
initiative (one of them scaled through its gate), closes it, and finds it read-only.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import choices
from registry.models import Initiative, Review, ReviewDecision
from registry.quarters import quarter_of
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pmo_runs_a_quarterly_review_in_the_browser(page, live_server, crafted, screenshot):
    period = quarter_of(timezone.localdate())
    log_in(page, live_server, "board-pmo")
    screenshot(page, "admin-index")

    # The dashboard, from the admin index.
    page.click("#registry-board-links #nav-dashboard")
    page.wait_for_selector("#heatmap svg")
    assert page.inner_text("#figure-count .registry-figure__value") == "3"
    assert page.inner_text("#figure-aligned .registry-figure__value") == "67 %"
    screenshot(page, "dashboard")

    # A heatmap cell opens the initiative list filtered by goal and department.
    cell = page.locator(
        "a.registry-heatmap__link", has=page.locator("title", has_text="G-NPS × Service")
    )
    cell.click()
    page.wait_for_url(re.compile(r".*/admin/registry/initiative/\?.*goal=.*"))
    listed = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(listed) == 2
    assert any(crafted["bot"].key in row for row in listed)
    assert any(crafted["assist"].key in row for row in listed)
    screenshot(page, "filtered-changelist")

    # Start this quarter's review from the dashboard.
    page.goto(f"{live_server.url}{reverse('registry_board:dashboard')}")
    page.click("#review-open-form input[type=submit]")
    page.wait_for_selector("#decision-form")
    assert page.inner_text(".messagelist") == f"The {period} review is open."
    screenshot(page, "review-opened")

    # Decide on every initiative, one at a time; the pilot is scaled through its gate.
    decisions = {crafted["bot"].key: "scale", crafted["offers"].key: "stop"}
    for _ in range(3):
        key = page.get_attribute("#current-initiative", "data-key")
        decision = decisions.get(key, "continue")
        page.check(f"#decision-form input[name=decision][value={decision}]")
        page.fill("#decision-form textarea[name=rationale]", f"{decision.title()} {key}.")
        if decision == "scale":
            page.check("#decision-form input[name=apply_move]")
        page.click("#decision-form input[type=submit]")
        page.wait_for_selector(".messagelist")
        message = page.inner_text(".messagelist")
        assert key in message
        if decision == "scale":
            assert "Moved from Pilot to Scaling." in message
    assert "3 of 3 initiatives decided" in page.inner_text("#review-progress")
    screenshot(page, "all-decided")

    # Close it.
    page.fill("#close-form textarea[name=summary]", "One scaled, one stopped, one continues.")
    page.click("#close-form input[type=submit]")
    page.wait_for_selector("#review-closed")
    assert "is closed" in page.inner_text(".messagelist")
    screenshot(page, "closed")

    # Read-only from now on: no forms on the review page, none in the admin record.
    assert page.locator("#decision-form").count() == 0
    assert page.locator("#close-form").count() == 0
    assert page.get_attribute("#content-main", "data-review-status") == "closed"
    review = Review.objects.get(vision=crafted["vision"], period=period)
    page.goto(f"{live_server.url}{reverse('admin:registry_review_change', args=[review.pk])}")
    assert page.locator("input[name=_save]").count() == 0
    assert page.locator("a", has_text="View the decisions").count() == 1
    screenshot(page, "closed-record")
    page.goto(f"{live_server.url}{reverse('registry_board:review-summary', args=[review.pk])}")
    assert "Quarterly portfolio review" in page.inner_text("h1")
    screenshot(page, "board-summary")

    assert review.status == choices.ReviewStatus.CLOSED
    assert dict(
        ReviewDecision.objects.filter(review=review).values_list("initiative__key", "decision")
    ) == {
        crafted["bot"].key: "scale",
        crafted["assist"].key: "continue",
        crafted["offers"].key: "stop",
    }
    assert Initiative.objects.get(pk=crafted["bot"].pk).stage == choices.Stage.SCALING
