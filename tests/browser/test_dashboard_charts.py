"""The dashboard's charts draw the same in German as in English: numbers in markup
(coordinates, widths, opacities) never follow the reader's language, numbers in text do.

Before, German formatting reached the SVG (`x="349,0"`, `fill-opacity="0,57"`): the progress
bars rendered empty, the expected-progress marks sat at the left edge and the heatmap lost its
shading.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from tests import factories
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GEOMETRY = """
() => [...document.querySelectorAll(
    'svg.registry-progress rect, svg.registry-progress line, svg.registry-funnel rect, '
    + 'svg.registry-heatmap rect')].map(node => {
        const box = node.getBBox();
        return {
            chart: node.closest('svg').getAttribute('class'),
            x: Math.round(box.x), y: Math.round(box.y),
            width: Math.round(box.width), height: Math.round(box.height),
            opacity: getComputedStyle(node).fillOpacity,
        };
    })
"""
MARKUP_NUMBERS = """
() => [...document.querySelectorAll('svg [x], svg [width], svg [fill-opacity], svg [x1]')]
    .flatMap(node => ['x', 'width', 'fill-opacity', 'x1']
        .map(name => node.getAttribute(name)).filter(value => value !== null))
"""


def test_charts_have_the_same_geometry_in_english_and_german(
    page,
    live_server,
    crafted,
    screenshot,  # noqa: F811
):
    nps = crafted["bot"].alignments.get().goal
    factories.MeasurementFactory(
        goal=nps, observed_on=datetime.date.today(), value=nps.baseline + Decimal("7.5")
    )
    log_in(page, live_server, "board-pmo")
    url = f"{live_server.url}{reverse('registry_board:dashboard')}"
    drawn = {}
    for language in ("en", "de"):
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language
        for size in (1280, 1920):
            page.set_viewport_size({"width": size, "height": 1000})
            screenshot(page, f"dashboard-{language}-{size}")
        numbers = page.evaluate(MARKUP_NUMBERS)
        assert numbers
        assert not [n for n in numbers if "," in n], numbers
        drawn[language] = page.evaluate(GEOMETRY)

    english, german = drawn["en"], drawn["de"]
    assert english == german
    charts = {shape["chart"] for shape in english}
    assert {"registry-progress", "registry-funnel", "registry-heatmap"} <= charts
    # The progress bar of the measured goal is drawn, and the heatmap is shaded.
    progress = [s for s in english if s["chart"] == "registry-progress" and s["width"] > 0]
    assert len(progress) >= 3  # track, bar, marker
    opacities = {s["opacity"] for s in english if s["chart"] == "registry-heatmap"}
    assert len(opacities) > 1
