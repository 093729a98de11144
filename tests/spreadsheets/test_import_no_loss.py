"""The import loses nothing: every row ends created, updated, unchanged, duplicate or rejected
with a reason, and every adjustment (a date's time dropped, an id suffixed, a name filled in)
is named in the report, grouped by cause, and in its CSV form.

The files are built here from the published column names of the inventories, with the cases
that cost the 2025 inventory 43 rows and 491 start dates.
"""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.core.management import call_command

from registry.models import Initiative
from registry.spreadsheets import dates, imports

pytestmark = pytest.mark.django_db

COLUMNS_2025 = (
    "agency",
    "agency_name",
    "id",
    "use_case_name",
    "agency_bureau",
    "contact_email",
    "is_withheld",
    "development_stage",
    "is_high_impact",
    "HI_justification",
    "topic_area",
    "classification",
    "problem_solved",
    "benefits",
    "system_outputs",
    "operational_date",
    "contracting_usage",
    "vendor_name",
)


def row_2025(**values: str) -> dict[str, str]:
    base = {
        "agency": "DOL",
        "agency_name": "Department of Labor",
        "agency_bureau": "Employment and Training Administration",
        "is_withheld": "No",
        "development_stage": "Deployed",
        "is_high_impact": "Not high-impact",
        "classification": "Classical ML",
        "problem_solved": "Claims wait for manual review.",
    }
    return {**base, **values}


def csv_bytes(columns, rows, *, encoding="utf-8-sig") -> bytes:
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue().encode(encoding)


MESSY_2025 = [
    # 2: a date-time with seconds
    row_2025(id="DOL-1", use_case_name="Claims triage", operational_date="01/15/2015 00:00:00"),
    # 3: AM/PM, and the value that settles the file's order (24 can only be the day)
    row_2025(id="DOL-2", use_case_name="Wage lookup", operational_date="09/24/2024 12:00:00 AM"),
    # 4: ISO with a time
    row_2025(id="DOL-3", use_case_name="Form reader", operational_date="2024-09-24T00:00:00"),
    # 5: day first with dots
    row_2025(id="DOL-4", use_case_name="Call summaries", operational_date="24.09.2024"),
    # 6: an Excel serial number
    row_2025(id="DOL-5", use_case_name="Fraud signals", operational_date="45559"),
    # 7: fits both orders: read month first, as row 3 shows the file writes them
    row_2025(id="DOL-6", use_case_name="Benefit chat", operational_date="05/06/2024"),
    # 8: a time other than midnight: dropped, and said
    row_2025(id="DOL-7", use_case_name="Queue forecast", operational_date="3/1/2025 3:15 PM"),
    # 9 and 10: no id; same name, agency and bureau, but different use cases
    row_2025(use_case_name="Document classifier", problem_solved="Sorts incoming mail."),
    row_2025(use_case_name="Document classifier", problem_solved="Sorts scanned forms."),
    # 11 and 12: the source used one id for two different use cases
    row_2025(id="DOL-9", use_case_name="Translation helper"),
    row_2025(id="DOL-9", use_case_name="Speech to text"),
    # 13: the same row again: a duplicate, skipped and said
    row_2025(id="DOL-9", use_case_name="Speech to text"),
    # 14: no name, but an id, an agency and a description
    row_2025(id="DOL-10", problem_solved="Matches job seekers to open training courses fast."),
]


def import_2025(data: bytes, **options) -> imports.ImportReport:
    return imports.import_file(
        data,
        mapping=imports.load_mapping("us-federal-2025"),
        source="us-federal-2025",
        filename="inventory-2025.csv",
        **options,
    )


def test_every_messy_row_of_the_2025_layout_arrives_and_every_adjustment_is_named():
    data = csv_bytes(COLUMNS_2025, MESSY_2025)

    report = import_2025(data, atomic=False)

    counts = report.counts()
    assert counts["rows"] == 13
    assert (counts["created"], counts["duplicates"], counts["rejected"]) == (12, 1, 0)
    assert Initiative.objects.count() == 12
    started = dict(Initiative.objects.values_list("name", "start_date"))
    assert started["Claims triage"] == datetime.date(2015, 1, 15)
    assert started["Wage lookup"] == datetime.date(2024, 9, 24)
    assert started["Form reader"] == datetime.date(2024, 9, 24)
    assert started["Call summaries"] == datetime.date(2024, 9, 24)
    assert started["Fraud signals"] == datetime.date(2024, 9, 24)
    assert started["Benefit chat"] == datetime.date(2024, 5, 6)
    assert started["Queue forecast"] == datetime.date(2025, 3, 1)
    # Both "Document classifier" rows and both "DOL-9" use cases are kept.
    ids = set(Initiative.objects.values_list("external_id", flat=True))
    assert len([eid for eid in ids if eid.startswith("derived-")]) == 2
    nine = dict(
        Initiative.objects.filter(external_id__startswith="DOL:DOL-9").values_list(
            "name", "external_id"
        )
    )
    assert nine["Translation helper"] == "DOL:DOL-9"
    assert re.fullmatch(r"DOL:DOL-9~[0-9a-f]{8}", nine["Speech to text"])
    unnamed = Initiative.objects.get(external_id="DOL:DOL-10")
    assert unnamed.name.startswith("Matches job seekers to open training courses")

    groups = {group["code"]: group for group in report.warning_groups()}
    assert groups["id_collision"]["count"] == 2
    assert groups["id_collision"]["rows"] == [10, 12]
    assert groups["time_dropped"]["rows"] == [8]
    assert "3:15 PM" in groups["time_dropped"]["example"]
    assert "15:15" in groups["time_dropped"]["example"]
    assert groups["excel_serial"]["rows"] == [6]
    assert groups["name_fallback"]["rows"] == [14]
    # The order was settled by the file, so it is said once, not row by row.
    assert "ambiguous_date" not in groups
    [notice] = report.notices
    assert notice.code == "date_order"
    assert notice.rows == [7, 8]
    assert "month first" in notice.message
    assert "3" in notice.message

    lines = list(csv.DictReader(io.StringIO(imports.report_csv(report))))
    # Every source row is in the CSV report with its outcome.
    assert {int(line["row"]) for line in lines if line["row"]} == set(range(2, 15))
    assert {line["status"] for line in lines if line["row"]} == {"created", "duplicate"}
    by_code = {line["code"] for line in lines}
    assert {"id_collision", "time_dropped", "excel_serial", "name_fallback"} <= by_code
    assert {"duplicate", "date_order"} <= by_code


def test_reimporting_the_messy_file_changes_nothing_with_the_same_ids():
    data = csv_bytes(COLUMNS_2025, MESSY_2025)
    first = import_2025(data)
    ids = sorted(row.external_id for row in first.rows)

    again = import_2025(data)

    assert again.counts()["unchanged"] == 12
    assert again.counts()["duplicates"] == 1
    assert sorted(row.external_id for row in again.rows) == ids
    assert set(Initiative.objects.values_list("version", flat=True)) == {1}


def test_a_fallback_name_never_replaces_the_name_an_initiative_has():
    data = csv_bytes(COLUMNS_2025, [row_2025(id="DOL-10", use_case_name="Course matcher")])
    import_2025(data)

    report = import_2025(csv_bytes(COLUMNS_2025, [row_2025(id="DOL-10")]))

    assert report.counts()["unchanged"] == 1
    assert Initiative.objects.get().name == "Course matcher"


def test_a_day_first_file_reads_its_ambiguous_dates_day_first_and_says_why():
    rows = [
        row_2025(id="A", use_case_name="One", operational_date="24/09/2024"),
        row_2025(id="B", use_case_name="Two", operational_date="05/06/2024"),
    ]

    report = import_2025(csv_bytes(COLUMNS_2025, rows))

    assert Initiative.objects.get(external_id="DOL:B").start_date == datetime.date(2024, 6, 5)
    [notice] = report.notices
    assert "day first" in notice.message
    assert notice.rows == [3]


def test_when_nothing_settles_the_order_each_ambiguous_date_is_listed():
    rows = [row_2025(id="A", use_case_name="One", operational_date="05/06/2024")]

    report = import_2025(csv_bytes(COLUMNS_2025, rows))

    assert Initiative.objects.get().start_date == datetime.date(2024, 5, 6)
    [group] = report.warning_groups()
    assert (group["code"], group["rows"]) == ("ambiguous_date", [2])
    assert "the mapping's default" in report.notices[0].message


@pytest.mark.parametrize(
    ("text", "expected", "dropped"),
    [
        ("01/15/2015 00:00:00", datetime.date(2015, 1, 15), ""),
        ("01/15/2015 00:00", datetime.date(2015, 1, 15), ""),
        ("09/24/2024 12:00:00 AM", datetime.date(2024, 9, 24), ""),
        ("09/24/2024 12:30 PM", datetime.date(2024, 9, 24), "12:30"),
        ("2024-09-24T00:00:00", datetime.date(2024, 9, 24), ""),
        ("2024-09-24T00:00:00.000Z", datetime.date(2024, 9, 24), ""),
        ("2024-09-24 08:05:09+02:00", datetime.date(2024, 9, 24), "08:05:09"),
        ("24.09.2024", datetime.date(2024, 9, 24), ""),
        ("24.09.2024 13:00", datetime.date(2024, 9, 24), "13:00"),
        ("45559", datetime.date(2024, 9, 24), ""),
        ("45559.75", datetime.date(2024, 9, 24), "18:00"),
        ("Sep 24, 2024", datetime.date(2024, 9, 24), ""),
        ("24 September 2024", datetime.date(2024, 9, 24), ""),
        ("9/24/24", datetime.date(2024, 9, 24), ""),
    ],
)
def test_date_forms(text, expected, dropped):
    parsed = dates.parse(text)

    assert (parsed.value, parsed.dropped_time) == (expected, dropped)


@pytest.mark.parametrize("text", ["Q3 FY2024", "13/13/2024", "2024-02-30", "25:00", "123"])
def test_what_is_not_a_date_is_refused(text):
    with pytest.raises(dates.DateError):
        dates.parse(text)


def test_command_writes_the_report_as_csv(tmp_path):
    source = tmp_path / "inventory.csv"
    source.write_bytes(csv_bytes(COLUMNS_2025, MESSY_2025))
    target = tmp_path / "report.csv"
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "import_initiatives",
        str(source),
        "--mapping",
        "us-federal-2025",
        "--no-progress",
        "--report",
        str(target),
        stdout=out,
        stderr=err,
    )

    output = out.getvalue()
    assert re.search(r"created\s+12\b", output)
    assert "Adjusted, by cause:" in output
    assert re.search(r"2  id_collision, external_id \[agency, id\]: rows 10, 12;", output)
    lines = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len({line["row"] for line in lines if line["row"]}) == 13
    assert f"Report written to {target}." in err.getvalue()


# --- the 2024 consolidated layout: no id column, question headers, Windows-1252 -------------

COLUMNS_2024 = (
    "Use Case Name",
    "Agency",
    "Agency Abbreviation",
    "Bureau",
    "Use Case Topic Area",
    "Other (Use Case Topic Area)",
    "Is the AI use case found in the below list of general commercial AI products and services?",
    "What is the intended purpose and expected benefits of the AI?",
    "Describe the AI system’s outputs.",
    "Stage of Development",
    "Is the AI use case rights-impacting, safety-impacting, both, or neither?",
    "Date Initiated",
    "Date when Acquisition and/or Development began",
    "Date Implemented",
    "Date Retired",
    # As published, with a trailing space.
    "Was the AI system involved in this use case developed (or is it to be developed) under "
    "contract(s) or in-house? ",
    "Does this AI use case involve personally identifiable information (PII) that is "
    "maintained by the agency?",
    "Is this AI use case supporting a High-Impact Service Provider (HISP) public-facing service?",
    "If the code is open-source, provide the link for the publicly available source code.",
)
PURPOSE = "What is the intended purpose and expected benefits of the AI?"
IMPACT = "Is the AI use case rights-impacting, safety-impacting, both, or neither?"


def row_2024(**values: str) -> dict[str, str]:
    base = {
        "Agency": "Department of Homeland Security",
        "Agency Abbreviation": "DHS",
        "Bureau": "CBP",
        "Use Case Topic Area": "Law & Justice",
        PURPOSE: "Speeds up the officers’ review.",
        "Stage of Development": "Initiated",
        IMPACT: "Neither",
    }
    return {**base, **{key.replace("_", " "): value for key, value in values.items()}}


MESSY_2024 = [
    # 2: a date-time, a trailing line break in the impact answer, curly apostrophes
    row_2024(
        **{
            "Use Case Name": "Babel",
            IMPACT: "Rights-Impacting\n",
            "Date Initiated": "8/29/2023 0:00",
        }
    ),
    # 3 and 4: same name, agency and bureau; different use cases
    row_2024(**{"Use Case Name": "Anomaly Detection", PURPOSE: "Finds anomalies in cargo."}),
    row_2024(**{"Use Case Name": "Anomaly Detection", PURPOSE: "Finds anomalies in vehicles."}),
    # 5: no name, a description
    row_2024(**{PURPOSE: "Translates travellers’ documents at the port of entry."}),
    # 6: an Excel serial and a retirement date in ISO with a time
    row_2024(
        **{
            "Use Case Name": "Fivecast ONYX",
            "Stage of Development": "Retired",
            "Date Initiated": "45167",
            "Date Retired": "2024-12-31T00:00:00",
        }
    ),
    # 7: a topic the map renames
    row_2024(
        **{
            "Use Case Name": "CBP Careers Bot - Leo",
            "Use Case Topic Area": "Government Services (includes Benefits and Service Delivery)",
            "Stage of Development": "Operation and Maintenance",
        }
    ),
]


def import_2024(data: bytes, **options) -> imports.ImportReport:
    return imports.import_file(
        data,
        mapping=imports.load_mapping("us-federal-2024"),
        source="us-federal-2024",
        filename="inventory-2024.csv",
        **options,
    )


def test_the_2024_layout_in_windows_1252_imports_every_row():
    data = csv_bytes(COLUMNS_2024, MESSY_2024, encoding="cp1252")

    report = import_2024(data)

    assert report.encoding == "cp1252"
    assert report.written
    assert (report.counts()["created"], report.counts()["rejected"]) == (6, 0)
    assert report.counts()["derived_ids"] == 6
    seen = {i.name: i for i in Initiative.objects.filter(source="us-federal-2024")}
    babel = seen["Babel"]
    assert (babel.risk_tier, babel.start_date) == ("high", datetime.date(2023, 8, 29))
    assert babel.lead_department.name == "Department of Homeland Security"
    assert "officers’ review" in babel.summary
    assert "Bureau: CBP" in babel.summary
    assert len([name for name in seen if name == "Anomaly Detection"]) == 1
    assert Initiative.objects.filter(name="Anomaly Detection").count() == 2
    assert "Translates travellers’ documents at the port of entry." in seen
    onyx = seen["Fivecast ONYX"]
    assert (onyx.stage, onyx.start_date, onyx.end_date) == (
        "retired",
        datetime.date(2023, 8, 29),
        datetime.date(2024, 12, 31),
    )
    leo = seen["CBP Careers Bot - Leo"]
    assert (leo.stage, list(leo.tags.values_list("name", flat=True))) == (
        "production",
        ["Government Services"],
    )
    codes = {group["code"] for group in report.warning_groups()}
    assert {"id_collision", "name_fallback", "excel_serial"} <= codes

    again = import_2024(data)

    assert again.counts()["unchanged"] == 6


def test_the_csv_report_never_hands_a_spreadsheet_a_formula():
    rows = [row_2025(id="X-1", use_case_name='=HYPERLINK("http://evil.example","Open")')]

    report = import_2025(csv_bytes(COLUMNS_2025, rows))

    [line] = list(csv.DictReader(io.StringIO(imports.report_csv(report))))
    assert line["name"] == '\'=HYPERLINK("http://evil.example","Open")'
    assert Initiative.objects.get().name == '=HYPERLINK("http://evil.example","Open")'


# --- the 2023 consolidated layout: ids given twice, rows without id or title ---------------

COLUMNS_2023 = (
    "Use_Case_ID",
    "Department_Code",
    "Agency",
    "Office",
    "Title",
    "Summary",
    "Development_Stage",
    "Techniques",
    "Source_Code",
    "Department",
)


def row_2023(**values: str) -> dict[str, str]:
    base = {
        "Department_Code": "DOE",
        "Agency": "Office of Science",
        "Department": "Department of Energy",
    }
    return {**base, **values}


def test_the_2023_layout_keeps_rows_that_share_an_id_or_have_no_title():
    rows = [
        row_2023(Use_Case_ID="DOE-0001-2023", Title="Grid forecast", Summary="Forecasts load."),
        row_2023(Use_Case_ID="DOE-0001-2023", Title="Grid outage map", Summary="Maps outages."),
        row_2023(Title="Document search", Summary="Finds reports."),
        row_2023(Title="Document search", Summary="Finds datasets."),
        row_2023(Use_Case_ID="DOE-0004-2023", Summary="Classifies lab safety incident reports."),
    ]
    data = csv_bytes(COLUMNS_2023, rows, encoding="utf-8")

    report = imports.import_file(
        data, mapping=imports.load_mapping("us-federal-2023"), source="us-federal-2023"
    )

    assert (report.counts()["created"], report.counts()["rejected"]) == (5, 0)
    names = set(Initiative.objects.values_list("name", flat=True))
    assert {"Grid forecast", "Grid outage map", "Document search"} <= names
    assert "Classifies lab safety incident reports." in names
    groups = {group["code"]: group["rows"] for group in report.warning_groups()}
    assert groups["id_collision"] == [3, 5]
    assert groups["name_fallback"] == [6]
