"""Export of the filtered portfolio as CSV and XLSX in the registry's own layout, and the round
trip through the importer: into the same registry nothing changes; into an empty one the same
initiatives come back field by field.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pghistory.models import Events

from registry.models import (
    Dependency,
    Initiative,
    Person,
    ReviewDecision,
    StageChange,
)
from registry.spreadsheets import exports, imports
from registry.sync import upsert as sync
from tests import factories
from tests.api.support import API, make_portfolio

pytestmark = pytest.mark.django_db
EXPORT = f"{API}initiatives/export/"


@pytest.fixture
def portfolio():
    p = make_portfolio()
    # Texts a spreadsheet would run as formulas, and values the layout must keep exactly.
    chat = p.initiatives["chat"]
    chat.learnings = '=HYPERLINK("http://evil")\n-second line; with a semicolon'
    chat.customer_segments = ["retail", "@vip"]
    chat.budget_spent = Decimal("1234.56")
    chat.save()
    factories.AlignmentFactory(
        initiative=chat,
        goal=p.goals["aht"],
        strength=1,
        is_primary=False,
        expected_impact=Decimal("-12.5000"),
        rationale='Shorter chats, "quoted"; multi\nline.',
    )
    return p


def snapshot() -> dict[str, dict]:
    """Every live initiative as a user sees it, field by field, by key."""
    rows = exports.export_queryset(Initiative.objects.filter(archived_at__isnull=True))
    result = {}
    for i in rows:
        result[i.key] = {
            **{name: getattr(i, name) for name in sync.SCALAR_FIELDS},
            "stage": i.stage,
            "owner": (i.owner.email, i.owner.name) if i.owner else None,
            "lead_department": i.lead_department.slug if i.lead_department else None,
            "departments": sorted(d.slug for d in i.departments.all()),
            "systems": sorted(s.slug for s in i.systems.all()),
            "tags": sorted(t.name for t in i.tags.all()),
            "alignments": sorted(
                (a.goal.code, a.strength, a.is_primary, a.expected_impact, a.rationale)
                for a in i.alignments.all()
            ),
            "source": i.source,
            "external_id": i.external_id,
        }
    return result


def import_export(content: bytes, filename: str, **options) -> imports.ImportReport:
    return imports.import_file(
        content,
        mapping=imports.load_mapping("registry-export"),
        source="registry-export",
        filename=filename,
        **options,
    )


def wipe_initiatives() -> None:
    ReviewDecision.objects.all().delete()
    Dependency.objects.all().delete()
    Initiative.objects.all().delete()


# --- the files ------------------------------------------------------------------------------


def test_csv_export_has_the_layout_and_the_lists_filters(portfolio):
    pmo = portfolio.client("pmo")
    response = pmo.get(EXPORT, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="initiatives-')
    text = response.content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert list(table[0]) == list(exports.HEADERS)
    live = sorted(portfolio.key(name) for name in portfolio.initiatives if name != "archived")
    assert [row["key"] for row in table] == live
    chat = next(row for row in table if row["key"] == portfolio.key("chat"))
    assert chat["learnings"].startswith("'=HYPERLINK")  # not run as a formula
    assert chat["customer_segments"] == "retail; @vip"  # only a cell's start is a formula
    assert chat["owner_email"] == "carol@example.com"
    assert chat["budget_spent"] == "1234.56"
    assert chat["alignment_level"] == "strong"

    piloting = pmo.get(EXPORT, {"format": "csv", "stage": "pilot"}).content.decode("utf-8-sig")
    assert [row["key"] for row in csv.DictReader(io.StringIO(piloting))] == [portfolio.key("chat")]
    viewer = portfolio.client("viewer").get(EXPORT).content.decode("utf-8-sig")
    assert portfolio.key("secret") not in viewer
    assert portfolio.client("anonymous").get(EXPORT).status_code == 401
    bad = pmo.get(EXPORT, {"stage": "bogus"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["attr"] == "stage"


def test_xlsx_export_reads_as_the_same_table(portfolio):
    pmo = portfolio.client("pmo")
    response = pmo.get(EXPORT, {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_MEDIA_TYPE
    table = imports.read_table(response.content, filename="x.xlsx")
    csv_table = imports.read_table(pmo.get(EXPORT, {"format": "csv"}).content)
    assert table.headers == csv_table.headers
    assert [row.values["key"] for row in table.rows] == [
        row.values["key"] for row in csv_table.rows
    ]
    chat = next(row.values for row in table.rows if row.values["key"] == portfolio.key("chat"))
    assert chat["learnings"].startswith("'=HYPERLINK")  # escaped as in CSV, a text cell
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    learnings = list(exports.HEADERS).index("learnings") + 1
    cells = [sheet.cell(row=r, column=learnings) for r in range(2, sheet.max_row + 1)]
    assert all(cell.data_type != "f" for cell in cells)


def test_export_query_count_is_flat(portfolio):
    pmo = portfolio.client("pmo")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert pmo.get(EXPORT).status_code == 200
        return len(queries)

    few = count()
    for n in range(15):
        initiative = factories.InitiativeFactory(name=f"More {n}")
        initiative.tags.add(portfolio.tags["gdpr"])
        factories.AlignmentFactory(initiative=initiative, goal=portfolio.goals["nps"])
    assert count() == few


# --- the round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_importing_an_export_into_the_same_registry_changes_nothing(portfolio, file_format):
    content = portfolio.client("pmo").get(EXPORT, {"format": file_format}).content
    before, events = snapshot(), Events.objects.count()
    report = import_export(content, f"export.{file_format}")
    counts = report.counts()
    assert report.rejections() == []
    assert counts["unchanged"] == len(before) == counts["rows"]
    assert snapshot() == before
    assert Events.objects.count() == events


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_importing_an_export_into_an_empty_registry_gives_the_same_initiatives(
    portfolio, file_format
):
    content = portfolio.client("pmo").get(EXPORT, {"format": file_format}).content
    before = snapshot()
    highest = max(int(key[3:]) for key in Initiative.objects.values_list("key", flat=True))
    wipe_initiatives()
    Person.objects.filter(email="mark@example.com").delete()  # owners come back from the file

    report = import_export(content, f"export.{file_format}")
    assert report.rejections() == []
    assert report.counts()["created"] == len(before)
    assert snapshot() == before
    assert Person.objects.get(email="mark@example.com").name == "Mark Eting"
    journal = StageChange.objects.get(initiative__key=portfolio.key("chat"))
    assert (journal.to_stage, journal.imported_from) == ("pilot", "registry-export")

    again = import_export(content, f"export.{file_format}")
    assert again.counts()["unchanged"] == len(before)
    new = portfolio.client("pmo").post(
        f"{API}initiatives/", {"name": "After the restore", "kind": "other"}, format="json"
    )
    assert int(new.json()["key"][3:]) > highest  # the sequence moved past the imported keys


def test_the_command_imports_an_export(portfolio, tmp_path: Path):
    path = tmp_path / "portfolio.csv"
    path.write_bytes(portfolio.client("pmo").get(EXPORT).content)
    out = io.StringIO()
    call_command(
        "import_initiatives",
        str(path),
        "--mapping",
        "registry-export",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "unchanged" in out.getvalue()
    assert Initiative.objects.filter(source="registry-export").count() == 0


def test_edits_in_the_spreadsheet_come_back_as_updates(portfolio):
    content = portfolio.client("pmo").get(EXPORT).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    triage = next(row for row in rows if row["key"] == portfolio.key("triage"))
    triage["summary"] = "Edited in Excel."
    triage["tags"] = "gdpr; quick-win"
    triage["alignments"] = '[{"goal": "G-AHT", "strength": 2, "is_primary": true}]'
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    report = import_export(buffer.getvalue().encode(), "edited.csv")
    statuses = {row.key or row.external_id: row.status for row in report.rows}
    assert statuses.pop(portfolio.key("triage")) == "updated"
    assert set(statuses.values()) == {"unchanged"}
    initiative = Initiative.objects.get(key=portfolio.key("triage"))
    assert initiative.summary == "Edited in Excel."
    assert sorted(initiative.tags.values_list("name", flat=True)) == ["gdpr", "quick-win"]
    assert list(initiative.alignments.values_list("goal__code", "strength", "is_primary")) == [
        ("G-AHT", 2, True)
    ]
    last = Events.objects.filter(pgh_obj_model="registry.Initiative", pgh_obj_id=str(initiative.pk))
    assert last.order_by("-pgh_id").first().pgh_context["channel"] == "import"


def test_rows_the_layout_refuses(portfolio):
    header = ",".join(exports.HEADERS)
    nbo = portfolio.key("nbo")
    rows = [
        f"AI-12,Short key,other{',' * (len(exports.HEADERS) - 3)}",
        f"XX-0001,Not a key,other{',' * (len(exports.HEADERS) - 3)}",
    ]
    text = "\n".join([header, *rows]) + "\n"
    report = import_export(text.encode(), "bad.csv")
    assert [issue["field"] for issue in report.rejections()] == ["key", "key"]
    assert report.counts()["rejected"] == 2

    moved = portfolio.client("pmo").get(EXPORT, {"source": "jira"}).content.decode("utf-8-sig")
    moved = moved.replace(",jira,J-1,", ",servicenow,J-1,")
    report = import_export(moved.encode(), "moved.csv")
    refused = {(r["external_id"], r["field"]) for r in report.rejections()}
    assert refused == {(nbo, "source")}
    assert Initiative.objects.get(key=nbo).source == "jira"


def test_dry_run_of_an_export_import_writes_nothing(portfolio):
    content = portfolio.client("pmo").get(EXPORT).content
    wipe_initiatives()
    report = import_export(content, "export.csv", dry_run=True)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert report.counts()["created"] == len(rows)
    assert not Initiative.objects.exists()


# --- the admin action ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "content_type"),
    [
        ("export_selected_csv", "text/csv"),
        ("export_selected_xlsx", exports.XLSX_MEDIA_TYPE),
    ],
)
def test_admin_exports_the_selected_initiatives(portfolio, action, content_type):
    user = portfolio.users["pmo"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    chosen = [portfolio.initiatives["chat"], portfolio.initiatives["triage"]]
    response = client.post(
        "/admin/registry/initiative/",
        {"action": action, "_selected_action": [i.pk for i in chosen]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    table = imports.read_table(response.content)
    assert [row.values["key"] for row in table.rows] == sorted(i.key for i in chosen)
    report = import_export(response.content, "selected")
    assert report.counts()["unchanged"] == 2


def test_the_admins_import_page_reads_an_export_back(portfolio):
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    user = portfolio.users["pmo"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    content = portfolio.client("pmo").get(EXPORT, {"format": "xlsx"}).content
    uploaded = client.post(
        reverse("registry_import:start"),
        {
            "file": SimpleUploadedFile("export.xlsx", content),
            "mapping": "registry-export",
            "source": "",
            "atomic": "on",
        },
    )
    assert uploaded.status_code == 302, uploaded.content
    preview = client.get(uploaded["Location"]).content.decode()
    unchanged = re.search(r'<td class="count-unchanged">(\d+)</td>', preview)
    assert unchanged is not None
    assert int(unchanged.group(1)) == Initiative.objects.filter(archived_at__isnull=True).count()
