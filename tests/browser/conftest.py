"""Playwright for Python driving Debian's Chromium (never a downloaded browser).

The tests skip, saying why, where /usr/bin/chromium or the playwright package is missing;
CI installs both. Screenshots go to the git-ignored `artifacts/browser/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from registry import choices, permissions
from registry.models import Initiative
from registry.services import lifecycle
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "browser"


@pytest.fixture
def page(db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium page, 1400×1000, started after the test database is ready."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI has it")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    # Playwright's sync API keeps an event loop in this thread; the test's own database
    # reads run beside it, so Django's async guard would refuse them without this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server answers in short-lived threads: each closes its database connection
    # when its request ends, so none outlives the test and blocks the test database's drop.
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(20_000)
        yield context.new_page()
        # Database reads made while Playwright's loop runs get connections of their own
        # (asgiref's context-local storage); close them before the test database is dropped.
        connections.close_all()
        context.close()
        browser.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Any:
    """`screenshot(page, "step")` → artifacts/browser/<test>/<nn>-step.png."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []

    def take(page: Any, name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        return path

    return take


# --- a small portfolio and a PMO who logs in -----------------------------------------------

PASSWORD = "correct-horse-battery"


@pytest.fixture
def crafted(db):
    """Two departments, two goals, three initiatives with no dates (active in every quarter)."""
    pmo = factories.UserFactory(username="board-pmo", groups=[permissions.PMO], is_staff=True)
    vision = factories.VisionFactory(title="One Nordlicht")
    nps = factories.GoalFactory(vision=vision, code="G-NPS", title="Customers recommend us")
    factories.GoalFactory(vision=vision, code="G-AHT", title="Shorter calls")
    service = factories.DepartmentFactory(slug="service", name="Service")
    sales = factories.DepartmentFactory(slug="sales", name="Sales")

    def make(name: str, department, **fields) -> Initiative:
        initiative = factories.InitiativeFactory(
            name=name,
            owner=factories.PersonFactory(department=department),
            lead_department=department,
            **fields,
        )
        lifecycle.record_initial_stage(initiative=initiative)
        return initiative

    bot = make(
        "Billing bot",
        service,
        stage=choices.Stage.PILOT,
        hypothesis="Customers want instant answers.",
        success_criteria="30 % resolved without an agent.",
        learnings="Works for instalments.",
        budget_planned=Decimal("120000"),
    )
    factories.AlignmentFactory(initiative=bot, goal=nps, strength=3)
    assist = make("Agent assist", service, kind=choices.Kind.AGENT_ASSIST)
    factories.AlignmentFactory(initiative=assist, goal=nps, strength=2)
    offers = make("Offer engine", sales, kind=choices.Kind.PERSONALIZATION)
    return {"pmo": pmo, "vision": vision, "bot": bot, "assist": assist, "offers": offers}


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
