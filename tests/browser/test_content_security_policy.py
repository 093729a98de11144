"""Every page a person opens works under the Content-Security-Policy: the admin (changelist,
change form with its widgets), the board's dashboard and review page (inline SVG and
styles), the Swagger UI from drf-spectacular-sidecar and the browsable API. Chromium reports
each blocked script, style or image on the console; none may appear.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from registry.demo import load_demo_portfolio
from registry.models import Initiative, Review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple"


def test_pages_render_under_the_policy_without_a_violation(page, live_server, screenshot):
    load_demo_portfolio()
    user = get_user_model().objects.create_user("csp-pmo", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="PMO"))
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "csp-pmo")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    initiative = Initiative.objects.order_by("key").first()
    review = Review.objects.order_by("pk").first()
    pages = [
        reverse("admin:index"),
        reverse("admin:registry_initiative_changelist"),
        reverse("admin:registry_initiative_change", args=[initiative.pk]),
        reverse("registry_board:dashboard"),
        reverse("registry_board:review", args=[review.pk]),
        "/api/v1/initiatives/?page_size=5",
    ]
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    screenshot(page, "browsable-api")

    # The Swagger UI builds the whole page with its scripts: it renders the operations.
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    # A large schema is rendered as it scrolls into view: scroll through the page and
    # collect the operations seen, until more than 50 have been rendered.
    seen: set[str] = set()
    for _ in range(200):
        for block in page.locator(".opblock-summary").all_inner_texts():
            seen.add(" ".join(block.split()[:2]))
        if len(seen) > 50:
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(150)
    assert len(seen) > 50, sorted(seen)
    screenshot(page, "swagger-ui")
    assert not violations, violations
