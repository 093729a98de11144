"""The PMO's day in a real browser, in English and German at 1280 and 1920 px: the
dashboard stays within the page with many departments and long lists, the changelist's
quick filters sit above the results and filter, the change form folds and its alignment
rows fit. Screenshots of each go to artifacts/browser/.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry import choices
from tests import factories
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 1920)
CHIP = {"en": "Serving no goal", "de": "Ohne CX-Ziel"}
FOLDED = {"en": "Experiment", "de": "Experiment"}
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def many_departments(crafted):
    """Sixteen departments in four functions, each leading work that serves no goal."""
    functions = [
        choices.DepartmentFunction.SERVICE,
        choices.DepartmentFunction.SALES,
        choices.DepartmentFunction.MARKETING,
        choices.DepartmentFunction.IT,
    ]
    for n in range(16):
        department = factories.DepartmentFactory(
            slug=f"region-{n}", name=f"Region {n} unit", function=functions[n % 4]
        )
        factories.InitiativeFactory(name=f"Regional pilot {n}", lead_department=department)
    return crafted


def switch_language(page, live_server, language: str) -> None:
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )


@pytest.mark.parametrize("language", ["en", "de"])
def test_dashboard_changelist_and_change_form(
    page, live_server, many_departments, screenshot, language
):
    log_in(page, live_server, "board-pmo")
    switch_language(page, live_server, language)
    dashboard = f"{live_server.url}{reverse('registry_board:dashboard')}?period="
    changelist = f"{live_server.url}{reverse('admin:registry_initiative_changelist')}"
    bot = many_departments["bot"]
    change = f"{live_server.url}{reverse('admin:registry_initiative_change', args=[bot.pk])}"

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})

        # The dashboard: functions as columns, no sideways scrolling, lists cut at ten.
        page.goto(dashboard)
        assert page.locator("html").get_attribute("lang") == language
        headers = page.locator("svg.registry-heatmap .registry-heatmap__header").all_text_contents()
        assert not any("Region" in header for header in headers)
        assert len(headers) <= 5
        assert page.evaluate(PAGE_WIDTH) <= width
        unaligned = page.locator("#unaligned")
        assert unaligned.locator("tbody tr").count() == 10
        assert "(17)" in unaligned.locator("h2").inner_text()  # 16 regional + the offer engine
        screenshot(page, f"dashboard-{language}-{width}")

        # The changelist: the chips above the results, a chip filters.
        page.goto(changelist)
        chips = page.locator("#quick-filters")
        results = page.locator("#result_list")
        assert chips.bounding_box()["y"] < results.bounding_box()["y"]
        assert chips.bounding_box()["y"] < 400
        chips.get_by_text(CHIP[language], exact=True).click()
        page.wait_for_url("**alignment=none**")
        assert page.locator(".registry-chip--selected").count() == 1
        assert page.locator("#result_list tbody tr").count() == 17
        assert page.locator("#export-list-xlsx").get_attribute("href").endswith("?alignment=none")
        screenshot(page, f"changelist-{language}-{width}")

        # The change form: folded by theme, alignment rows named by goal and within the page.
        page.goto(change)
        folds = page.locator("fieldset details")
        assert folds.count() == 7
        assert all(not folds.nth(i).evaluate("d => d.open") for i in range(folds.count()))
        assert "G-NPS" in page.locator("#alignments-group").inner_text()
        inline = page.locator("#alignments-group .tabular")
        assert inline.evaluate("n => n.scrollWidth <= n.clientWidth + 1")
        assert page.evaluate(PAGE_WIDTH) <= width
        page.locator("fieldset details summary").filter(has_text=FOLDED[language]).click()
        assert page.locator("#id_hypothesis").is_visible()
        screenshot(page, f"change-form-{language}-{width}")
