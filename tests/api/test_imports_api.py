"""`POST /api/v1/imports/`: upload a spreadsheet, get the import report. Who may sync a source
may import into it; the report names every adjustment; an all-or-nothing refusal writes
nothing and answers 400 with the report.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from registry.models import ApiToken, Initiative, Tag
from tests.api.support import API, error_attrs, make_portfolio
from tests.spreadsheets.test_import_no_loss import COLUMNS_2025, MESSY_2025, csv_bytes, row_2025

IMPORTS = f"{API}imports/"


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def upload(data: bytes, name: str = "inventory.csv", **fields):
    return {"file": SimpleUploadedFile(name, data), "mapping": "us-federal-2025", **fields}


def test_the_pmo_imports_a_file_and_gets_the_report(portfolio):
    pmo = portfolio.client("pmo")

    response = pmo.post(IMPORTS, upload(csv_bytes(COLUMNS_2025, MESSY_2025)), format="multipart")

    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["written"] is True
    assert report["encoding"] == "utf-8-sig"
    assert report["counts"]["created"] == 12
    assert report["counts"]["duplicates"] == 1
    assert {group["code"] for group in report["warning_groups"]} >= {
        "id_collision",
        "time_dropped",
        "excel_serial",
        "name_fallback",
    }
    assert report["notices"][0]["code"] == "date_order"
    assert Initiative.objects.filter(source="us-federal-2025").count() == 12
    # The PMO may create the tags the file names.
    assert Tag.objects.filter(slug="machine-learning").exists()


def test_a_dry_run_writes_nothing(portfolio):
    pmo = portfolio.client("pmo")

    response = pmo.post(
        IMPORTS,
        upload(csv_bytes(COLUMNS_2025, MESSY_2025), dry_run="true"),
        format="multipart",
    )

    assert response.status_code == 200
    assert response.json()["counts"]["created"] == 12
    assert response.json()["written"] is False
    assert not Initiative.objects.filter(source="us-federal-2025").exists()
    assert not Tag.objects.filter(slug="machine-learning").exists()


def test_an_integration_imports_into_its_own_source_only(portfolio):
    ApiToken.objects.filter(pk=portfolio.tokens["jira"][0].pk).update(can_create_tags=True)
    jira = portfolio.client("integration")
    data = csv_bytes(COLUMNS_2025, [row_2025(id="J-1", use_case_name="Claims triage")])

    own = jira.post(IMPORTS, upload(data, dry_run="true"), format="multipart")
    other = jira.post(IMPORTS, upload(data, source="us-federal-2025"), format="multipart")

    assert own.status_code == 200
    assert own.json()["source"] == "jira"
    assert other.status_code == 403
    assert not Initiative.objects.filter(source="us-federal-2025").exists()


def test_an_integration_without_tag_permission_gets_each_row_refused_naming_the_tags(portfolio):
    jira = portfolio.client("integration")
    data = csv_bytes(COLUMNS_2025, [row_2025(id="J-1", use_case_name="Claims triage")])

    refused = jira.post(IMPORTS, upload(data), format="multipart")

    assert refused.status_code == 400
    assert error_attrs(refused) == ["rows.2.tags"]
    assert "Machine Learning" in refused.json()["errors"][0]["detail"]
    assert refused.json()["report"]["written"] is False

    ApiToken.objects.filter(pk=portfolio.tokens["jira"][0].pk).update(can_create_tags=True)
    allowed = jira.post(IMPORTS, upload(data), format="multipart")

    assert allowed.status_code == 200, allowed.json()
    assert Initiative.objects.get(source="jira", external_id="DOL:J-1").name == "Claims triage"


@pytest.mark.parametrize("role", ["viewer", "contributor", "norole"])
def test_other_roles_may_not_import(portfolio, role):
    data = csv_bytes(COLUMNS_2025, MESSY_2025)

    response = portfolio.client(role).post(IMPORTS, upload(data), format="multipart")

    assert response.status_code == 403
    assert not Initiative.objects.filter(source="us-federal-2025").exists()


def test_anonymous_visitors_may_not_import(portfolio):
    response = portfolio.client("anonymous").post(
        IMPORTS, upload(csv_bytes(COLUMNS_2025, MESSY_2025)), format="multipart"
    )

    assert response.status_code in (401, 403)


def test_an_all_or_nothing_import_with_a_bad_row_writes_nothing(portfolio):
    rows = [*MESSY_2025, row_2025(agency="", use_case_name="", agency_bureau="")]

    response = portfolio.client("pmo").post(
        IMPORTS, upload(csv_bytes(COLUMNS_2025, rows)), format="multipart"
    )

    assert response.status_code == 400
    assert error_attrs(response) == ["rows.15.external_id"]
    assert response.json()["report"]["counts"]["not_written"] == 12
    assert not Initiative.objects.filter(source="us-federal-2025").exists()

    kept = portfolio.client("pmo").post(
        IMPORTS, upload(csv_bytes(COLUMNS_2025, rows), atomic="false"), format="multipart"
    )

    assert kept.status_code == 200
    assert kept.json()["counts"]["created"] == 12
    assert kept.json()["rejection_groups"][0]["rows"] == [15]


@pytest.mark.parametrize(
    ("fields", "attr"),
    [
        ({"mapping": "no-such-layout"}, "mapping"),
        ({"file": SimpleUploadedFile("old.xls", b"\xd0\xcf\x11\xe0rest")}, "file"),
        ({"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")}, "file"),
    ],
)
def test_bad_uploads_are_a_400_naming_the_field(portfolio, fields, attr):
    body = {**upload(csv_bytes(COLUMNS_2025, MESSY_2025)), **fields}

    response = portfolio.client("pmo").post(IMPORTS, body, format="multipart")

    assert response.status_code == 400
    assert error_attrs(response) == [attr]


def test_a_json_body_is_refused(portfolio):
    response = portfolio.client("pmo").post(IMPORTS, {"mapping": "x"}, format="json")

    assert response.status_code == 415


def test_the_report_never_shows_confidential_initiatives_of_others(portfolio):
    """Rows are matched only within the importer's source: a confidential initiative of
    another source never appears in an integration's report."""
    secret = portfolio.initiatives["secret"]
    data = csv_bytes(
        COLUMNS_2025,
        [row_2025(id="J-9", use_case_name=secret.name, problem_solved=secret.summary)],
    )
    ApiToken.objects.filter(pk=portfolio.tokens["jira"][0].pk).update(can_create_tags=True)

    response = portfolio.client("integration").post(
        IMPORTS, upload(data, dry_run="true"), format="multipart"
    )

    assert response.status_code == 200
    assert secret.key not in io.StringIO(response.content.decode()).read()
