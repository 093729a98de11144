"""Playwright for Python driving Debian's Chromium (never a downloaded browser).

The tests skip, saying why, where /usr/bin/chromium or the playwright package is missing;
CI installs both. Screenshots go to the git-ignored `artifacts/browser/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

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
