"""A PMO answers two questions from the dashboard in a browser, in English and German:
"which customer-facing AI has no voice review" (on the dashboard itself, one click to the
initiative) and "what did last quarter's pilots teach us" (one click on a number opens
those learnings in the library).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from registry import choices
from registry.models import Initiative
from registry.services import learning as learning_service
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_voice_gaps_and_learnings_from_the_dashboard(page, live_server, crafted, screenshot):
    bot = crafted["bot"]
    Initiative.objects.filter(pk=bot.pk).update(touchpoints=[choices.Touchpoint.CHAT])
    for outcome, lesson in (
        ("refuted", "Billing questions need the account first."),
        ("refuted", "Customers distrust answers without the invoice line."),
        ("confirmed", "Instalment questions are answered well."),
    ):
        learning_service.learning_record(
            actor=crafted["pmo"],
            initiative=bot,
            data={
                "hypothesis": "Customers want instant answers.",
                "outcome": outcome,
                "lesson": lesson,
                "recorded_on": timezone.localdate(),
            },
        )
    log_in(page, live_server, "board-pmo")
    dashboard = f"{live_server.url}{reverse('registry_board:dashboard')}"

    for language, heading, refuted in (
        ("en", "Customer-facing AI without a passed voice review", "Refuted"),
        ("de", "Kundennahe KI ohne bestandene Stimmprüfung", "Widerlegt"),
    ):
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page.goto(dashboard)
        panel = page.locator("#voice-review-gaps")
        assert heading in panel.inner_text()
        assert "Billing bot" in panel.inner_text()
        table = page.locator("#learnings-by-quarter")
        assert refuted.upper() in table.inner_text().upper()
        screenshot(page, f"dashboard-{language}")

        # One click: the refuted hypotheses of this quarter, in the learning library.
        table.locator("tbody tr").first.locator('td[data-outcome="refuted"] a').click()
        page.wait_for_url("**/admin/registry/learning/**")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 2
        assert "Customers want instant answers." in page.inner_text("#result_list")
        assert bot.key in page.inner_text("#result_list")
        screenshot(page, f"learnings-{language}")
