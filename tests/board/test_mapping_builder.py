"""The mapping builder in the admin, through the Django test client: a PMO uploads a layout the
registry ships no mapping for, gets suggestions, previews, dry-runs, imports and saves the
mapping; bad files get a clear message and nothing written; nobody else reaches any of it."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from registry import permissions
from registry.board.imports import SESSION_UPLOADS
from registry.models import Department, ImportMapping, ImportRun, Initiative
from registry.spreadsheets import imports
from tests import factories

pytestmark = pytest.mark.django_db

HEADERS = ["Number", "Short description", "State", "Assignment group", "Opened", "Description"]
ROWS = [
    [
        "AI0001",
        "Billing chatbot",
        "Live",
        "Customer Service",
        "2026-01-12",
        "Answers billing questions at night so that fewer customers need to call the hotline.",
    ],
    [
        "AI0002",
        "Churn radar",
        "Pilot",
        "Marketing",
        "2025-11-03",
        "Predicts which customers are about to leave, so that retention teams can call them first.",
    ],
    [
        "AI0003",
        "Mail triage",
        "On hold",
        "Customer Service",
        "not a date",
        "Sorts incoming e-mail by topic and urgency before any agent reads it in the morning.",
    ],
]


def csv_bytes(rows=None, headers=HEADERS) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([headers, *(ROWS if rows is None else rows)])
    return out.getvalue().encode()


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client: Client, data: bytes, name: str = "servicenow.csv", **extra):
    return client.post(
        reverse("registry_import:builder-start"),
        {"file": SimpleUploadedFile(name, data), **extra},
    )


def builder_url(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def choices_post(action: str, **extra) -> dict[str, str]:
    """What the page posts for the suggested fields (as a PMO leaves them)."""
    data = {
        "name": "servicenow-ai",
        "source": "servicenow",
        "field-0": "id",
        "field-1": "name",
        "field-2": "stage",
        "field-3": "lead_department",
        "field-4": "start_date",
        "field-5": "summary",
        "atomic": "on",
        "action": action,
        "map-stage-column": "State",
        "map-lead_department-column": "Assignment group",
    }
    data.update(extra)
    return data


@pytest.fixture
def service(db):
    return factories.DepartmentFactory(name="Customer Service", slug="service")


def test_the_page_lists_columns_with_samples_and_suggestions(pmo_client, service):
    url = builder_url(upload(pmo_client, csv_bytes()))
    html = pmo_client.get(url).content.decode()
    columns = html[
        html.index('id="builder-columns"') : html.index(
            "</table>", html.index('id="builder-columns"')
        )
    ]
    assert "<code>Billing chatbot</code>" in columns
    for index, field in enumerate(
        ["id", "name", "stage", "lead_department", "start_date", "summary"]
    ):
        select = re.search(rf'name="field-{index}".*?</select>', columns, re.S).group(0)
        assert f'<option value="{field}" selected>' in select, (index, field)
    # The state column's words, each with a select, the suggestion chosen.
    stage_map = html[html.index('id="value-map-stage"') :]
    assert re.search(
        r'<label for="id_map-stage-\d+">On hold</label>.*?value="paused" selected', stage_map, re.S
    )
    departments = html[html.index('id="value-map-lead_department"') :]
    assert re.search(r'>Customer Service</label>.*?value="service" selected', departments, re.S)
    assert re.search(r'>Marketing</label>.*?value="__new__" selected', departments, re.S)


def test_preview_shows_the_first_rows_as_stored_with_every_warning(pmo_client, service):
    url = builder_url(upload(pmo_client, csv_bytes()))
    html = pmo_client.post(
        url,
        choices_post(
            "preview", **{"map-stage-0": "production", "map-stage-1": "pilot", "map-stage-2": ""}
        ),
    ).content.decode()
    preview = html[html.index('id="builder-preview-rows"') :]
    assert re.search(
        r"<code>AI0001</code>.*?created.*?Billing chatbot.*?Production.*?Customer Service",
        preview,
        re.S,
    )
    # "On hold" was left unmapped and "not a date" is no date: warnings, the rows still import.
    assert "On hold" in preview
    assert "not a date" in preview
    assert not Initiative.objects.exists()


def test_dry_run_counts_the_whole_file_and_writes_nothing(pmo_client, service):
    url = builder_url(upload(pmo_client, csv_bytes()))
    html = pmo_client.post(url, choices_post("dry_run")).content.decode()
    counts = html[html.index('id="import-counts"') :]
    assert re.search(r'class="count-created">3<', counts)
    assert "Marketing" in counts  # the new department it would create
    assert not Initiative.objects.exists()
    assert not Department.objects.filter(name="Marketing").exists()


def test_import_runs_and_its_page_shows_the_summary(pmo_client, service, settings):
    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    url = builder_url(upload(pmo_client, csv_bytes()))
    response = pmo_client.post(url, choices_post("run", **{"map-stage-0": "production"}))
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("registry_import:run", args=[run.token])
    html = pmo_client.get(response["Location"]).content.decode()
    assert "The import was written." in html
    assert re.search(r'class="count-created">3<', html)
    bot = Initiative.objects.get(source="servicenow", external_id="AI0001")
    assert (bot.name, bot.stage, bot.lead_department.slug) == (
        "Billing chatbot",
        "production",
        "service",
    )
    status = pmo_client.get(reverse("registry_import:run-status", args=[run.token])).json()
    assert status | {"phase_label": ""} == {
        "status": "done",
        "phase": "finished",
        "phase_label": "",
        "done": 3,
        "total": 3,
        "percent": 100,
        "error": "",
    }


def test_an_all_or_nothing_run_with_a_rejected_row_writes_nothing(pmo_client, service, settings):
    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    rows = [*ROWS, ["", "", "Live", "Marketing", "", ""]]  # no id, nothing to derive one from
    url = builder_url(upload(pmo_client, csv_bytes(rows)))
    response = pmo_client.post(url, choices_post("run"))
    html = pmo_client.get(response["Location"]).content.decode()
    assert "Nothing was written." in html
    assert 'id="import-rejections"' in html
    assert not Initiative.objects.exists()


def test_save_keeps_the_mapping_for_the_import_page_and_the_command_line(pmo_client, service):
    url = builder_url(upload(pmo_client, csv_bytes()))
    html = pmo_client.post(
        url, choices_post("save", name="ServiceNow AI"), follow=True
    ).content.decode()
    assert "Saved the mapping" in html
    assert "servicenow-ai" in html
    saved = ImportMapping.objects.get(name="servicenow-ai")
    mapping = imports.load_mapping("servicenow-ai")
    assert (mapping.name, mapping.default_source) == ("ServiceNow AI", "servicenow")
    assert saved.created_by.username == "pmo"
    start = pmo_client.get(reverse("registry_import:start")).content.decode()
    assert '<option value="servicenow-ai">' in start
    # Saving again under the same name is refused on the page, nothing changed.
    again = pmo_client.post(url, choices_post("save", name="servicenow-ai")).content.decode()
    assert "already called" in again
    assert ImportMapping.objects.count() == 1
    # Asked to, it replaces the saved one: the next quarter's file has a new column order.
    replaced = pmo_client.post(
        url, choices_post("save", name="servicenow-ai", replace="on", **{"field-5": ""})
    )
    assert replaced.status_code == 200
    assert "Description" not in ImportMapping.objects.get().yaml
    assert ImportMapping.objects.count() == 1


def test_two_fields_from_one_choice_and_a_missing_name_are_explained(pmo_client, service):
    url = builder_url(upload(pmo_client, csv_bytes()))
    html = pmo_client.post(
        url, choices_post("preview", **{"field-1": "", "field-5": "stage"})
    ).content.decode()
    errors = html[html.index('id="builder-errors"') :]
    assert "Stage is chosen for two columns" in errors
    assert "names" in errors
    assert 'id="builder-preview-rows"' not in html


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (bytes(range(256)) * 40, "binary.csv", "not text in an encoding"),
        (imports.XLSX_MAGIC + b"broken" * 100, "broken.xlsx", "cannot be opened"),
        (imports.OLE_MAGIC + b"\x00" * 600, "locked.xlsx", "password-protected"),
        (b"Number,Short description\n", "headers-only.csv", "no data rows"),
        (b"", "empty.csv", "empty"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_nothing_kept(pmo_client, data, name, message):
    response = upload(pmo_client, data, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not pmo_client.session.get(SESSION_UPLOADS)


def test_an_empty_sheet_is_refused(pmo_client):
    response = upload(pmo_client, xlsx_bytes([]), "empty.xlsx")
    assert "empty" in response.content.decode()


def test_the_upload_limit_is_the_setting(pmo_client, settings):
    settings.REGISTRY_IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    response = upload(pmo_client, csv_bytes() + b"x" * (1024 * 1024), "big.csv")
    assert "larger than 1.0\xa0MB, the limit" in response.content.decode()
    assert not pmo_client.session.get(SESSION_UPLOADS)


def test_an_xlsx_workbook_is_read_from_the_chosen_sheet(pmo_client, service):
    data = xlsx_bytes([HEADERS, *ROWS])
    url = builder_url(upload(pmo_client, data, "inventory.xlsx", sheet="Sheet"))
    html = pmo_client.get(url).content.decode()
    assert "<code>Churn radar</code>" in html
    assert "inventory.xlsx" in html
    assert "sheet: Sheet" in html
    refused = upload(pmo_client, data, "inventory.xlsx", sheet="Nope")
    assert "has no sheet" in refused.content.decode()


@pytest.fixture
def integration_user(db):
    return factories.UserFactory(
        username="integration", groups=[permissions.INTEGRATION], is_staff=True
    )


@pytest.mark.parametrize("role", ["viewer_user", "contributor_user", "integration_user"])
def test_nobody_but_the_pmo_reaches_the_builder_or_saved_mappings(
    role, request, pmo_user, settings
):
    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    secret = factories.InitiativeFactory(
        name="Secret merger bot", confidential=True, source="servicenow", external_id="AI0001"
    )
    pmo = Client()
    pmo.force_login(pmo_user)
    url = builder_url(upload(pmo, csv_bytes()))
    run_url = pmo.post(url, choices_post("run", atomic=""))["Location"]
    pmo.post(url, choices_post("save"))
    client = Client()
    client.force_login(request.getfixturevalue(role))
    token = run_url.rstrip("/").rsplit("/", 1)[1]
    for target in (
        reverse("registry_import:builder-start"),
        url,
        run_url,
        reverse("registry_import:run-status", args=[token]),
        reverse("admin:registry_importmapping_changelist"),
        reverse("admin:registry_importmapping_change", args=[ImportMapping.objects.get().pk]),
    ):
        response = client.get(target)
        assert response.status_code == 403, target
        assert secret.name not in response.content.decode()
    assert client.post(reverse("registry_import:builder-start"), {}).status_code == 403
    nav = client.get(reverse("admin:index")).content.decode()
    assert reverse("registry_import:builder-start") not in nav
    assert reverse("admin:registry_importmapping_changelist") not in nav


def test_a_run_is_only_its_starters(pmo_client, service, settings):
    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    url = builder_url(upload(pmo_client, csv_bytes()))
    run_url = pmo_client.post(url, choices_post("run"))["Location"]
    other = Client()
    other.force_login(factories.UserFactory(username="pmo2", groups=["PMO"], is_staff=True))
    assert other.get(run_url).status_code == 404


def test_the_import_page_and_the_navigation_link_the_builder(pmo_client):
    builder_start = reverse("registry_import:builder-start")
    assert (
        f'href="{builder_start}"'
        in pmo_client.get(reverse("registry_import:start")).content.decode()
    )
    assert f'href="{builder_start}"' in pmo_client.get(reverse("admin:index")).content.decode()
    assert pmo_client.get(builder_start).status_code == 200


def test_a_german_pmo_meets_no_english_label_in_the_builder(pmo_user, service, settings):
    from tests.i18n.test_i18n import english_labels, english_leftovers, german

    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    client = german(Client())
    client.force_login(pmo_user)
    rows = [["N1", "Rückruf-Bot", "Pilot", "Customer Service", "2026-01-12", "x" * 90]]
    headers = ["Nr", "Vorhaben", "Phase", "Bereich", "Beginn", "Beschreibung"]
    start = client.get(reverse("registry_import:builder-start"))
    url = builder_url(upload(client, csv_bytes(rows, headers)))
    pages = [start, client.get(url)]
    post = choices_post(
        "preview", **{"map-stage-column": "Phase", "map-lead_department-column": "Bereich"}
    )
    pages.append(client.post(url, post))
    pages.append(client.post(url, {**post, "action": "dry_run"}))
    run = client.post(url, {**post, "action": "run"})["Location"]
    pages.append(client.get(run))
    labels = english_labels()
    for page in pages:
        assert page.status_code == 200
        assert english_leftovers(page, labels) == [], page.wsgi_request.path
    assert "Spalten" in pages[1].content.decode()


def test_a_run_whose_process_died_says_so_instead_of_polling_forever(pmo_client, pmo_user):
    run = ImportRun.objects.create(token="t0k3n", created_by=pmo_user, filename="a.csv", total=3000)
    ImportRun.objects.filter(pk=run.pk).update(
        updated_at=run.updated_at - datetime.timedelta(minutes=11), done=400, phase="importing"
    )
    status = pmo_client.get(reverse("registry_import:run-status", args=["t0k3n"])).json()
    assert status["status"] == "failed"
    assert "stopped without finishing" in status["error"]
    page = pmo_client.get(reverse("registry_import:run", args=["t0k3n"])).content.decode()
    assert 'id="builder-run-failed"' in page
    assert 'id="builder-progress"' not in page


def test_a_running_run_shows_its_progress(pmo_client, pmo_user):
    run = ImportRun.objects.create(token="live", created_by=pmo_user, filename="a.csv")
    ImportRun.objects.filter(pk=run.pk).update(done=400, total=3000, phase="importing")
    page = pmo_client.get(reverse("registry_import:run", args=["live"])).content.decode()
    assert '<progress id="builder-progress-bar" max="3000" value="400">' in page
    assert "Importing" in page


def test_several_id_columns_make_one_external_id(pmo_client, service, settings):
    settings.REGISTRY_IMPORT_IN_BACKGROUND = False
    url = builder_url(upload(pmo_client, csv_bytes()))
    pmo_client.post(url, choices_post("run", **{"field-3": "id"}))
    assert Initiative.objects.filter(external_id="AI0001:Customer Service").exists()


def test_an_upload_waits_for_the_page_it_was_made_on(pmo_client, service):
    token = builder_url(upload(pmo_client, csv_bytes())).rstrip("/").rsplit("/", 1)[1]
    assert pmo_client.get(reverse("registry_import:preview", args=[token])).status_code == 404
    assert pmo_client.post(reverse("registry_import:confirm", args=[token])).status_code == 404
    assert not Initiative.objects.exists()
