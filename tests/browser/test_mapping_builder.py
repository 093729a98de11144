"""The mapping builder in a real browser: a PMO uploads a 3,000-row export of a layout the
registry has never seen, takes the suggested fields, maps the status words, previews, dry-runs,
saves the mapping and imports while the run page shows the progress; then the same mapping
imports the next quarter's file from the command line."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from registry import permissions
from registry.models import ImportMapping, ImportRun, Initiative
from tests import factories
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 3000
STATES = ["Live", "Pilot", "Backlog", "On hold", "Sunset"]


def jira_export(rows: int, *, suffix: str = "") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Issue key", "Summary", "Status", "Team", "Due date", "Description"])
    for n in range(1, rows + 1):
        writer.writerow(
            [
                f"CX-{n}",
                f"Assistant {n}{suffix}",
                STATES[n % len(STATES)],
                "Customer Service" if n % 2 else "Marketing",
                f"2026-{n % 12 + 1:02d}-15",
                f"Helps customers with question type {n} so that fewer of them need to call us.",
            ]
        )
    return out.getvalue().encode()


@pytest.fixture
def pmo(db):
    factories.DepartmentFactory(name="Customer Service", slug="service")
    return factories.UserFactory(username="board-pmo", groups=[permissions.PMO], is_staff=True)


def test_pmo_builds_runs_and_saves_a_mapping_for_an_unseen_export(
    page, live_server, pmo, tmp_path, screenshot
):
    export = tmp_path / "jira-cx.csv"
    export.write_bytes(jira_export(ROWS))
    log_in(page, live_server, "board-pmo")
    page.click("#registry-board-links #nav-builder")
    page.set_input_files("#id_file", str(export))
    page.click("#builder-upload-form input[type=submit]")
    page.wait_for_selector("#builder-columns")
    screenshot(page, "columns")

    # The suggestions, taken as they are.
    chosen = {
        row.get_attribute("data-column"): row.locator("select").input_value()
        for row in page.locator("#builder-columns tbody tr").all()
    }
    assert chosen == {
        "Issue key": "id",
        "Summary": "name",
        "Status": "stage",
        "Team": "lead_department",
        "Due date": "target_date",
        "Description": "summary",
    }
    stage_map = page.locator("#value-map-stage")
    assert stage_map.get_by_label("Live", exact=True).input_value() == "production"
    # "Sunset" is retired in our words; "On hold" left unmapped is a warning per row.
    stage_map.get_by_label("On hold", exact=True).select_option("")
    team_map = page.locator("#value-map-lead_department")
    assert team_map.get_by_label("Customer Service", exact=True).input_value() == "service"

    page.click("#builder-preview")
    page.wait_for_selector("#builder-preview-rows")
    preview = page.inner_text("#builder-preview-rows")
    assert "Assistant 1" in preview
    assert "Customer Service" in preview  # the registered department, by its name
    assert "Marketing" in preview  # one the import would create
    assert "On hold" in preview  # row 4's status: not mapped, so a warning
    screenshot(page, "preview")

    page.click("#builder-dry-run")
    page.wait_for_selector("#builder-dry-run-module")
    assert page.inner_text("#builder-dry-run-module .count-created") == str(ROWS)
    assert Initiative.objects.count() == 0
    screenshot(page, "dry-run")

    page.fill("#id_name", "jira-cx")
    page.click("#builder-save")
    page.wait_for_selector(".messagelist")
    assert "Saved the mapping 'jira-cx'" in page.inner_text(".messagelist")
    assert ImportMapping.objects.filter(name="jira-cx").exists()

    # The import, with its progress polled until the summary shows.
    statuses: list[dict] = []

    def keep_status(response) -> None:
        if response.url.endswith("/status/"):
            try:
                statuses.append(response.json())
            except Exception:  # noqa: BLE001 - the last one's body is gone once the page reloads
                return

    page.on("response", keep_status)
    page.click("#builder-run")
    page.wait_for_selector("#builder-progress, #builder-run-done")
    screenshot(page, "progress")
    page.wait_for_selector("#builder-run-done", timeout=180_000)
    screenshot(page, "done")
    assert "The import was written." in page.inner_text("#builder-run-done")
    assert page.inner_text(".count-created") == str(ROWS)
    assert Initiative.objects.filter(source="jira-cx").count() == ROWS
    # The page showed the rows as they were written, chunk by chunk.
    importing = [
        s["done"] for s in statuses if s["status"] == "running" and s["phase"] == "importing"
    ]
    assert importing, statuses
    assert min(importing) < ROWS, statuses
    run = ImportRun.objects.get()
    assert (run.status, run.done, run.total) == ("done", ROWS, ROWS)

    # Next quarter: the saved mapping, by name, from the command line.
    next_quarter = tmp_path / "jira-cx-q2.csv"
    next_quarter.write_bytes(jira_export(3, suffix=" v2"))
    call_command(
        "import_initiatives",
        str(next_quarter),
        "--mapping",
        "jira-cx",
        "--no-progress",
        stdout=io.StringIO(),
    )
    assert Initiative.objects.get(source="jira-cx", external_id="CX-2").name == "Assistant 2 v2"


def test_a_file_over_the_upload_limit_is_refused_before_it_is_sent(
    page, live_server, pmo, tmp_path, settings
):
    settings.REGISTRY_IMPORT_MAX_UPLOAD_BYTES = 100_000
    big = tmp_path / "big.csv"
    big.write_bytes(jira_export(2000))
    log_in(page, live_server, "board-pmo")
    page.goto(f"{live_server.url}/admin/registry/import/builder/")
    page.set_input_files("#id_file", str(big))
    page.click("#builder-upload-form input[type=submit]")
    page.wait_for_selector("#builder-upload-error:not([hidden])")
    assert page.inner_text("#builder-upload-error") == (
        "The file is larger than 97.7\xa0KB, the limit for uploads."
    )
    assert page.url.endswith("/admin/registry/import/builder/")
