"""Spreadsheet import: the federal inventories, messy real-world files, the command and the
admin's upload → preview → confirm flow. Everything is written through the sync module into
the real PostgreSQL, and checked as a user (or the next tool) would see it.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from registry.choices import RiskTier, Stage
from registry.models import Department, Initiative, Person, StageChange, Tag
from registry.spreadsheets import imports
from registry.sync import upsert as sync
from tests import factories

DATA = Path(__file__).resolve().parents[1] / "data"
FEDERAL_2023 = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "us-federal-ai-inventory-2023.csv"
)
SAMPLE_2025 = DATA / "us-federal-2025-sample.csv"
ROADMAP_CP1252 = DATA / "service-roadmap-cp1252.csv"
ROADMAP_MAPPING = DATA / "service-roadmap-mapping.yaml"

needs_federal_2023 = pytest.mark.skipif(
    not FEDERAL_2023.is_file(),
    reason=f"the shared federal inventory is not beside the repository ({FEDERAL_2023})",
)
pytestmark = pytest.mark.django_db


def run_command(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_initiatives", *args, stdout=out, stderr=err)
    return out.getvalue()


def import_sample(**options) -> imports.ImportReport:
    options.setdefault("source", "us-federal-2025")
    return imports.import_file(
        options.pop("data", None) or SAMPLE_2025.read_bytes(),
        mapping=imports.load_mapping("us-federal-2025"),
        filename=SAMPLE_2025.name,
        **options,
    )


def history_events():
    return apps.get_model("registry", "InitiativeEvent").objects.select_related("pgh_context")


def history_actors(events) -> set[tuple[str, str]]:
    return {(e.pgh_context.metadata["channel"], e.pgh_context.metadata["actor"]) for e in events}


def snapshot(source: str) -> dict[str, dict]:
    """What a user sees of a source's initiatives, keyed by external id."""
    return {
        initiative.external_id: {
            "name": initiative.name,
            "summary": initiative.summary,
            "kind": initiative.kind,
            "stage": initiative.stage,
            "risk_tier": initiative.risk_tier,
            "confidential": initiative.confidential,
            "uses_personal_data": initiative.uses_personal_data,
            "start_date": initiative.start_date,
            "expected_benefit": initiative.expected_benefit,
            "lead_department": initiative.lead_department.slug,
            "owner": initiative.owner_id,
            "tags": sorted(tag.slug for tag in initiative.tags.all()),
        }
        for initiative in Initiative.objects.filter(source=source)
        .select_related("lead_department")
        .prefetch_related("tags")
    }


def reordered_csv(path: Path, order) -> bytes:
    """The same file with its data rows in another order (BOM and CRLF kept)."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(rows[0])
    writer.writerows(order(rows[1:]))
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


# --- the shared 2023 federal inventory (710 real use cases) ------------------------------------


@needs_federal_2023
def test_federal_2023_dry_run_writes_nothing_and_reports_counts():
    output = run_command(str(FEDERAL_2023), "--mapping", "us-federal-2023", "--dry-run")

    assert "Dry run (nothing written" in output
    assert re.search(r"rows read\s+710\b", output)
    assert re.search(r"created\s+710\b", output)
    assert re.search(r"rejected\s+0\b", output)
    assert re.search(r"duplicates\s+0\b", output)
    assert re.search(r"derived ids\s+0\b", output)
    assert re.search(r"new departments\s+21\b", output)
    # The six titles longer than our 200 characters are shortened and reported, not rejected.
    assert output.count("name [Title]: Shortened from") == 6
    assert re.search(r"\b6  shortened, name \[Title\]: rows \d+", output)
    assert not Initiative.objects.exists()
    assert not Department.objects.exists()
    assert not Tag.objects.exists()
    assert not StageChange.objects.exists()
    assert not history_events().exists()


@needs_federal_2023
def test_federal_2023_import_then_reimport_changes_nothing():
    output = run_command(str(FEDERAL_2023), "--mapping", "us-federal-2023", "--no-progress")

    assert output.startswith("Imported:")
    assert re.search(r"created\s+710\b", output)
    initiatives = Initiative.objects.filter(source="us-federal-2023")
    assert initiatives.count() == 710
    assert initiatives.values("external_id").distinct().count() == 710
    # Every distinct Development_Stage word lands on one of our stages; blank ones are ideas.
    assert Counter(initiatives.values_list("stage", flat=True)) == {
        Stage.IDEA: 321,
        Stage.PRODUCTION: 160,
        Stage.APPROVED: 89,
        Stage.PROPOSED: 81,
        Stage.PILOT: 58,
        Stage.RETIRED: 1,
    }
    assert Department.objects.count() == 21
    energy = initiatives.get(external_id="DOE-0075-2023")
    assert energy.lead_department.name == "Department of Energy"
    assert len(energy.name) == 200
    assert energy.name.endswith("…")
    cbp = initiatives.get(external_id="DHS-0000-2023")
    assert cbp.summary.startswith("AI Curated Synthetic Data creates synthetic data")
    assert "\n\nAgency: Customs and Border Protection" in cbp.summary
    assert cbp.stage == Stage.PROPOSED  # "Initiation"
    assert set(cbp.tags.values_list("slug", "name")) == {("generative-ai", "Generative AI")}
    assert initiatives.exclude(external_url="").count() == 17
    # Brought in at the stage the inventory reports, recorded as imported, with its gaps.
    change = StageChange.objects.get(initiative=cbp)
    assert (change.from_stage, change.to_stage) == ("", Stage.PROPOSED)
    assert change.imported_from == "us-federal-2023"
    assert change.actor_name == "import:us-federal-2023"
    events = history_events().filter(pgh_obj__source="us-federal-2023")
    assert events.count() == 710
    assert history_actors(events) == {("import", "import:us-federal-2023")}

    again = imports.import_file(
        FEDERAL_2023.read_bytes(),
        mapping=imports.load_mapping("us-federal-2023"),
        source="us-federal-2023",
        filename=FEDERAL_2023.name,
    )

    assert again.written
    assert again.counts()["created"] == 0
    assert again.counts()["updated"] == 0
    assert again.counts()["unchanged"] == 710
    assert set(initiatives.values_list("version", flat=True)) == {1}
    assert history_events().count() == 710
    assert StageChange.objects.count() == 710


# --- the crafted 2025 layout: BOM, multi-line cells, placeholders, duplicates, no-id rows -------


def test_2025_sample_maps_every_column_and_cleans_the_mess():
    report = import_sample()

    assert report.written
    assert report.encoding == "utf-8-sig"
    counts = report.counts()
    assert counts["rows"] == 15
    assert counts["created"] == 14
    assert counts["rejected"] == 0
    assert counts["duplicates"] == 1
    assert counts["derived_ids"] == 2
    # Contact e-mails of no registered person, without names: no one is invented.
    assert counts["owners_left_unset"] == 10
    assert not Person.objects.exists()
    [duplicate] = report.duplicates
    assert (duplicate.row, duplicate.external_id, duplicate.duplicate_of) == (10, "DOL:DOL-001", 2)
    assert report.warnings() == [
        {
            "row": 9,
            "external_id": report.rows[7].external_id,
            "field": "start_date",
            "column": "operational_date",
            "code": "left_blank",
            "message": "'Q3 FY2024' is not a date this mapping understands. Left blank.",
        }
    ]
    seen = snapshot("us-federal-2025")
    # Ids are unique only within an agency: both agencies' "12" are kept apart.
    assert {"VA:12", "HHS:12", "DOL:DOL-001", "SSA:SSA-014"} <= set(seen)
    assert seen["VA:12"]["name"] == "Veteran Call Centre Sentiment Monitor"
    assert seen["HHS:12"]["name"] == "Medicare Plan Finder Recommendations"

    chat = seen["DOL:DOL-001"]
    assert chat["stage"] == Stage.PRODUCTION
    assert chat["risk_tier"] == RiskTier.MINIMAL
    assert chat["kind"] == "generative_content"
    assert chat["start_date"] == datetime.date(2024, 3, 15)
    assert chat["lead_department"] == "department-of-labor"
    assert chat["owner"] is None
    assert chat["tags"] == ["benefits-processing", "generative-ai"]
    assert chat["summary"].startswith(
        "Claimants wait days for answers to routine questions about their claim.\n"
        "The assistant answers"
    )
    assert "Vendor: Microsoft; OpenAI" in chat["summary"]
    assert "N/A" not in chat["summary"]  # HI_justification "N/A" is blank
    assert chat["expected_benefit"] == "Shorter wait times;\nfewer calls to state contact centres."

    triage = seen["DOL:DOL-002"]
    assert (triage["stage"], triage["risk_tier"]) == (Stage.PILOT, RiskTier.LIMITED)
    assert "Why not high-impact: Staff review every routing suggestion" in triage["summary"]
    assert "Vendor" not in triage["summary"]
    assert triage["uses_personal_data"] is True
    # Long-form answers ("c) Deployed – The use case …", "a) High-impact") are understood.
    assert seen["SSA:SSA-014"]["stage"] == Stage.PRODUCTION
    assert seen["SSA:SSA-014"]["risk_tier"] == RiskTier.HIGH
    assert seen["SSA:SSA-021"]["confidential"] is True  # withheld from public reporting
    assert seen["DHS:DHS-2411"]["risk_tier"] == RiskTier.LIMITED
    assert seen["DHS:DHS-2411"]["kind"] == "automation"  # Agentic AI
    assert seen["HHS:12"]["stage"] == Stage.PROPOSED  # Pre-deployment
    assert seen["HHS:12"]["start_date"] is None  # "N/A"
    assert seen["HHS:HHS-0107"]["stage"] == Stage.RETIRED
    assert seen["TREAS:TREAS-031"]["name"] == "IRS Notice Plain-Language Rewriter"
    derived = [eid for eid in seen if eid.startswith("derived-")]
    assert len(derived) == 2
    names = {seen[eid]["name"] for eid in derived}
    assert names == {
        "Search.gov Query Spelling Suggestions",
        "Login.gov Identity Verification Fraud Signals",
    }
    created = Department.objects.filter(slug="department-of-the-treasury").get()
    assert created.name == "Department of the Treasury"
    assert set(report.tags_created) >= {"Service Delivery", "Agentic AI", "NLP"}
    assert "other" not in Tag.objects.values_list("slug", flat=True)
    # Unaligned, so the gaps show: the intended onboarding path.
    gaps = report.gate_gap_counts()
    assert gaps["owner"] == 14
    assert gaps["primary_alignment"] == 11


def test_2025_owner_is_linked_when_the_person_is_registered():
    person = factories.PersonFactory(email="ai-inventory@dol.gov", name="DOL AI team")

    report = import_sample()

    assert report.counts()["owners_left_unset"] == 8
    owned = Initiative.objects.filter(owner=person)
    assert set(owned.values_list("external_id", flat=True)) == {"DOL:DOL-001", "DOL:DOL-002"}
    assert Person.objects.count() == 1


def test_2025_reimport_in_any_row_order_is_unchanged_with_the_same_derived_ids():
    first = import_sample()
    derived_before = {row.name: row.external_id for row in first.rows if row.derived_id}
    versions = dict(Initiative.objects.values_list("external_id", "version"))

    again = import_sample(data=reordered_csv(SAMPLE_2025, lambda rows: rows[::-1]))

    assert again.counts()["created"] == 0
    assert again.counts()["updated"] == 0
    assert again.counts()["unchanged"] == 14
    assert again.counts()["duplicates"] == 1
    assert {row.name: row.external_id for row in again.rows if row.derived_id} == derived_before
    assert dict(Initiative.objects.values_list("external_id", "version")) == versions
    assert all(eid.startswith("derived-") and len(eid) == 24 for eid in derived_before.values())


def test_derived_id_ignores_case_spacing_and_punctuation():
    assert imports.derived_id(["Search.gov  Query", "GSA"]) == imports.derived_id(
        ["search.gov query", " gsa "]
    )
    assert imports.derived_id(["Search.gov Query", "GSA"]) != imports.derived_id(
        ["Search.gov Query", "DOL"]
    )


def test_fields_only_on_create_do_not_overwrite_the_pmos_later_edits():
    import_sample()
    Initiative.objects.filter(external_id="DOL:DOL-001").update(kind="chatbot")

    again = import_sample()

    assert again.counts()["unchanged"] == 14
    assert Initiative.objects.get(external_id="DOL:DOL-001").kind == "chatbot"


def test_xlsx_of_the_same_rows_gives_the_same_portfolio_as_the_csv():
    from openpyxl import Workbook

    table = imports.read_table(SAMPLE_2025.read_bytes())
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(table.headers)
    for row in table.rows:
        cells: list[object] = []
        for header in table.headers:
            value = row.values[header]
            # As Excel stores them: real dates and numbers, Windows line breaks.
            if header == "operational_date" and re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", value):
                value = datetime.datetime.strptime(value, "%m/%d/%Y")  # noqa: DTZ007
            elif value.isdigit():
                value = int(value)
            elif isinstance(value, str):
                value = value.replace("\n", "\r\n")
            cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)

    from_xlsx = import_sample(data=buffer.getvalue(), source="from-xlsx")
    from_csv = import_sample(source="from-csv")

    assert from_xlsx.file_format == "xlsx"
    assert from_xlsx.counts() == from_csv.counts()
    assert snapshot("from-xlsx") == snapshot("from-csv")
    csv_into_xlsx_source = import_sample(source="from-xlsx")
    assert csv_into_xlsx_source.counts()["unchanged"] == 14


# --- a cp1252 file with semicolons, decimal commas and vocabularies that must match ------------


@pytest.fixture
def roadmap_world():
    factories.DepartmentFactory(name="Kundenservice", slug="kundenservice")
    factories.TagFactory(name="quick-win")
    factories.TagFactory(name="dsgvo")
    return factories.PersonFactory(email="anna@example.com", name="Anna Schmidt")


def import_roadmap(**options) -> imports.ImportReport:
    return imports.import_file(
        ROADMAP_CP1252.read_bytes(),
        mapping=imports.load_mapping(ROADMAP_MAPPING),
        source="service-roadmap",
        filename=ROADMAP_CP1252.name,
        **options,
    )


def test_cp1252_file_all_or_nothing_rejects_and_writes_nothing(roadmap_world):
    report = import_roadmap()

    assert report.encoding == "cp1252"
    assert report.failed
    assert not report.written
    assert report.counts()["rejected"] == 2
    assert report.counts()["not_written"] == 3
    assert [(r["row"], r["external_id"], r["field"]) for r in report.rejections()] == [
        (5, "SR-4", "tags"),
        (6, "SR-5", "stage"),
    ]
    messages = [r["message"] for r in report.rejections()]
    assert messages[0].startswith("Unknown tags: ki-strategie.")
    assert "'In Planung' is not in the mapping's vocabulary" in messages[1]
    assert not Initiative.objects.exists()
    assert list(Person.objects.all()) == [roadmap_world]  # the new owner was rolled back


def test_cp1252_file_without_atomic_writes_the_good_rows(roadmap_world):
    report = import_roadmap(atomic=False)

    assert report.written
    assert report.counts()["created"] == 3
    assert report.counts()["rejected"] == 2
    chatbot = Initiative.objects.get(external_id="SR-1")
    assert chatbot.name == "Rückfrage-Chatbot für Rechnungen"
    assert chatbot.summary == (
        "Beantwortet Fragen zu Rechnungen – rund um die Uhr.\n"
        "Übergibt an Mitarbeitende, wenn es „knifflig“ wird."
    )
    assert (chatbot.kind, chatbot.stage) == ("chatbot", Stage.PILOT)
    assert chatbot.budget_planned == Decimal("12500.00")
    assert chatbot.start_date == datetime.date(2025, 3, 1)
    assert chatbot.customer_facing is True
    assert chatbot.external_url == "https://jira.example.com/browse/SR-1"
    assert (chatbot.owner.name, chatbot.owner.email) == ("Jürgen Weiß", "juergen.weiss@example.com")
    assert set(chatbot.tags.values_list("slug", flat=True)) == {"quick-win", "dsgvo"}
    letters = Initiative.objects.get(external_id="SR-2")
    assert letters.owner == roadmap_world
    assert letters.kind == "other"  # "Stimmungsanalyse" is not in the map: the default
    assert letters.lead_department.slug == "kundenservice"
    assert letters.summary.endswith("\n\nNotizen: Prüfung durch den Datenschutz läuft")
    assist = Initiative.objects.get(name="Agent Assist für die Hotline")
    assert assist.external_id.startswith("derived-")
    assert assist.external_url == ""  # the link template needs a Ref
    assert assist.tags.count() == 0  # "TBD"
    assert assist.budget_planned == Decimal("8000")


def test_command_exit_status_follows_atomic_rejections(roadmap_world):
    with pytest.raises(CommandError, match="2 rows rejected; nothing written"):
        run_command(str(ROADMAP_CP1252), "--mapping", str(ROADMAP_MAPPING))
    assert not Initiative.objects.exists()

    output = run_command(
        str(ROADMAP_CP1252), "--mapping", str(ROADMAP_MAPPING), "--no-atomic", "--no-progress"
    )

    assert re.search(r"created\s+3\b", output)
    assert "row 5 (SR-4) tags [Schlagworte]: Unknown tags: ki-strategie." in output
    assert "row 6 (SR-5) stage [Status]: 'In Planung'" in output
    assert Initiative.objects.count() == 3


def test_command_draws_progress_on_stderr(roadmap_world):
    err = io.StringIO()
    call_command(
        "import_initiatives",
        str(ROADMAP_CP1252),
        "--mapping",
        str(ROADMAP_MAPPING),
        "--dry-run",
        "--no-atomic",
        stdout=io.StringIO(),
        stderr=err,
    )
    assert "Reading    [##############################] 5/5 rows" in err.getvalue()
    assert "Checking   [##############################] 3/3 rows" in err.getvalue()


# --- rules of the importer ---------------------------------------------------------------------

SIMPLE_MAPPING = {
    "id": {"column": "ID", "derive_from": ["Title"]},
    "placeholders": ["", "N/A", "none"],
    "create_missing_departments": True,
    "fields": {
        "name": "Title",
        "kind": {"value": "chatbot"},
        "lead_department": "Team",
        "stage": {"column": "Stage", "map": {"Live": "production", "Pilot": "pilot"}},
    },
}


def simple_import(text: str, **options) -> imports.ImportReport:
    return imports.import_file(
        text.encode("utf-8"),
        mapping=imports.parse_mapping(SIMPLE_MAPPING, slug="simple"),
        source="simple",
        **options,
    )


def test_same_id_with_other_values_keeps_both_rows_under_a_stable_suffixed_id():
    text = "ID,Title,Team,Stage\nA-1,Billing bot,Service,Live\nA-1,Billing bot v2,Service,Live\n"
    report = simple_import(text)

    assert report.written
    assert report.counts()["created"] == 2
    [warning] = report.warnings()
    suffixed = report.rows[1].external_id
    assert re.fullmatch(r"A-1~[0-9a-f]{8}", suffixed)
    assert (warning["row"], warning["code"]) == (3, "id_collision")
    assert warning["message"] == (
        f"Same id A-1 as row 2 but different values (name); imported under the id {suffixed}."
    )
    names = dict(Initiative.objects.values_list("external_id", "name"))
    assert names == {"A-1": "Billing bot", suffixed: "Billing bot v2"}

    again = simple_import(text)

    assert again.counts()["unchanged"] == 2
    assert again.rows[1].external_id == suffixed


CHUNKED = (
    "ID,Title,Team,Stage\n"
    "A-1,Bot 1,Service,Live\nA-2,Bot 2,Service,Live\nA-3,Bot 3,Service,Live\n"
    "A-4,Bot 4,Service,Live\nA-5,Bot 5,Service,Spaceship\n"
)


def test_a_refusal_in_a_later_chunk_rolls_back_the_earlier_chunks():
    report = simple_import(CHUNKED, chunk_size=2)

    assert report.failed
    assert report.counts()["not_written"] == 4
    [rejection] = report.rejections()
    assert (rejection["row"], rejection["field"]) == (6, "stage")
    assert "Spaceship" in rejection["message"]
    assert not Initiative.objects.exists()
    assert not Department.objects.exists()


def test_without_atomic_each_chunk_keeps_its_good_rows():
    report = simple_import(CHUNKED, chunk_size=2, atomic=False)

    assert report.written
    assert report.counts()["created"] == 4
    assert sorted(Initiative.objects.values_list("external_id", flat=True)) == [
        "A-1",
        "A-2",
        "A-3",
        "A-4",
    ]


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers():
    report = simple_import(
        'ID,Title,Team,Stage\nA-1,"Bot,\nwith a line break",Service,N/A\n,,,\nA-2,,Service,Live\n'
    )

    assert report.blank_rows == 1
    assert report.counts()["rejected"] == 0
    [warning] = report.warnings()
    # A-2 sits on the file's fifth line, but the multi-line cell is one row and row 3 is
    # blank: a spreadsheet shows it as row 4. Without a name it is named after its id.
    assert (warning["row"], warning["field"], warning["code"]) == (4, "name", "name_fallback")
    assert Initiative.objects.get(external_id="A-2").name == "A-2"


def test_placeholders_blank_a_cell_and_blank_cells_leave_fields_alone():
    simple_import("ID,Title,Team,Stage\nA-1,Bot,Service,Pilot\n")

    report = simple_import("ID,Title,Team,Stage\nA-1,Bot,none,N/A\n")

    assert report.counts()["unchanged"] == 1
    initiative = Initiative.objects.get()
    assert (initiative.stage, initiative.lead_department.slug) == (Stage.PILOT, "service")


def test_our_own_words_and_labels_need_no_map():
    mapping = {
        **SIMPLE_MAPPING,
        "fields": {
            **SIMPLE_MAPPING["fields"],
            "risk_tier": "Risk",
            "touchpoints": "Channels",
            "stage": "Stage",
            "external_url": {"template": "https://tracker.example.com/{Team}/{ID}"},
        },
    }

    imports.import_file(
        b"ID,Title,Team,Stage,Risk,Channels\nA 1,Bot,Service,Production,High,Chat; E-mail\n",
        mapping=imports.parse_mapping(mapping),
        source="simple",
    )

    initiative = Initiative.objects.get()
    assert (initiative.stage, initiative.risk_tier) == (Stage.PRODUCTION, RiskTier.HIGH)
    assert initiative.touchpoints == ["chat", "email"]
    assert initiative.external_url == "https://tracker.example.com/Service/A%201"


def test_the_file_must_have_the_mappings_columns():
    with pytest.raises(imports.ImportFileError, match="lacks the columns Team, Stage"):
        simple_import("ID,Title\nA-1,Bot\n")


def test_tab_separated_and_utf16_files_are_read():
    text = "ID\tTitle\tTeam\tStage\nA-1\tBot für Rückfragen\tService\tLive\n"

    report = imports.import_file(
        text.encode("utf-16"),
        mapping=imports.parse_mapping(SIMPLE_MAPPING),
        source="simple",
    )

    assert report.counts()["created"] == 1
    assert Initiative.objects.get().name == "Bot für Rückfragen"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fields": {"stage": {"column": "Stage", "map": {"Live": "prod"}}}}, "'prod' is not one"),
        ({"fields": {"name": {"colum": "Title"}}}, "unknown keys colum"),
        ({"fields": {"hypothesis": {"value": ""}}}, "must not be empty"),
        ({"fields": {"alignments": "Goal"}}, "cannot be imported"),
        ({"id": None}, "needs an id"),
        ({"department_function": "space"}, "department_function must be one of"),
        ({"fields": {"stage": {"column": "S", "unmapped": "default"}}}, "no default is given"),
    ],
)
def test_mapping_mistakes_are_explained(change, message):
    with pytest.raises(imports.MappingError, match=message):
        imports.parse_mapping({**SIMPLE_MAPPING, **change})


def test_shipped_mappings_load_and_cover_the_2023_stage_words():
    mappings = {mapping.slug: mapping for mapping in imports.shipped_mappings()}
    assert set(mappings) >= {"us-federal-2023", "us-federal-2025"}
    if FEDERAL_2023.is_file():
        table = imports.read_table(FEDERAL_2023.read_bytes())
        words = {row.values["Development_Stage"] for row in table.rows}
        stage_map = mappings["us-federal-2023"].fields["stage"].value_map
        assert {imports.normalise_word(w) for w in words if w} <= set(stage_map)


def test_amounts_in_either_notation():
    assert imports.parse_amount("12.500,00 €") == "12500.00"
    assert imports.parse_amount("$12,500.50") == "12500.50"
    assert imports.parse_amount("1,234") == "1234"
    assert imports.parse_amount("99,5") == "99.5"


# --- the sync module's dry run ----------------------------------------------------------------


def test_sync_dry_run_reports_what_a_real_run_would_do_without_writing():
    sync.sync_batch(
        source="jira",
        items=[
            {"external_id": "A", "name": "A", "kind": "chatbot"},
            {"external_id": "B", "name": "B", "kind": "chatbot"},
        ],
    )
    items = [
        {"external_id": "A", "name": "A", "kind": "chatbot"},
        {"external_id": "B", "name": "B renamed", "kind": "chatbot"},
        {"external_id": "C", "name": "C", "kind": "voicebot", "stage": "production"},
    ]
    keys_before = set(Initiative.objects.values_list("key", flat=True))

    preview = sync.sync_batch(source="jira", items=items, dry_run=True)

    assert not preview.written
    assert [i.result for i in preview.items] == ["unchanged", "updated", "created"]
    assert [i.version for i in preview.items] == [1, 2, 1]
    assert preview.items[2].key is None
    assert preview.items[2].stage == Stage.PRODUCTION
    assert Initiative.objects.get(external_id="B").name == "B"
    assert not Initiative.objects.filter(external_id="C").exists()

    real = sync.sync_batch(source="jira", items=items)

    assert [i.result for i in real.items] == [i.result for i in preview.items]
    assert [i.version for i in real.items] == [i.version for i in preview.items]
    assert real.items[2].gate_gaps == preview.items[2].gate_gaps
    # The dry run drew no key from the sequence: C follows A and B directly.
    number = int(real.items[2].key.removeprefix("AI-"))
    assert f"AI-{number - 1:04d}" in keys_before


# --- the admin: upload → preview → confirm → summary ---------------------------------------


def upload(client: Client, data: bytes, name: str = SAMPLE_2025.name, **fields):
    return client.post(
        reverse("registry_import:start"),
        {
            "file": SimpleUploadedFile(name, data, content_type="text/csv"),
            "mapping": "us-federal-2025",
            "source": "",
            "atomic": "on",
            **fields,
        },
    )


def cell(html: str, css_class: str) -> str:
    match = re.search(rf'<td class="{css_class}">(\d+)</td>', html)
    assert match, css_class
    return match.group(1)


def test_admin_import_preview_then_confirm(pmo_client, pmo_user):
    start = pmo_client.get(reverse("registry_import:start"))
    assert start.status_code == 200
    assert "US federal AI use case inventory (2025 layout)" in start.text
    assert 'enctype="multipart/form-data"' in start.text

    uploaded = upload(pmo_client, SAMPLE_2025.read_bytes())
    assert uploaded.status_code == 302
    preview = pmo_client.get(uploaded["Location"])

    assert preview.status_code == 200
    assert "Nothing has been written yet" in preview.text
    assert cell(preview.text, "count-created") == "14"
    assert cell(preview.text, "count-duplicates") == "1"
    assert cell(preview.text, "count-rejected") == "0"
    assert "Unemployment Insurance Claimant Chat Assistant" in preview.text
    assert "Row 10 (DOL:DOL-001) repeats row 2." in preview.text
    assert "Q3 FY2024" in preview.text  # the warning
    assert "Confirm and import" in preview.text
    assert not Initiative.objects.exists()

    token = uploaded["Location"].rstrip("/").rsplit("/", 1)[-1]
    confirmed = pmo_client.post(reverse("registry_import:confirm", args=[token]))
    assert confirmed.status_code == 302
    summary = pmo_client.get(confirmed["Location"])

    assert summary.status_code == 200
    assert "The import was written." in summary.text
    assert cell(summary.text, "count-created") == "14"
    imported = Initiative.objects.filter(source="us-federal-2025")
    assert imported.count() == 14
    assert set(imported.values_list("created_by", flat=True)) == {pmo_user.pk}
    first = imported.get(external_id="DOL:DOL-001")
    assert reverse("admin:registry_initiative_change", args=[first.pk]) in summary.text
    events = history_events().filter(pgh_obj__in=imported)
    assert history_actors(events) == {("import", "pmo")}
    # The upload is gone from the session: confirming twice cannot import twice.
    assert pmo_client.post(reverse("registry_import:confirm", args=[token])).status_code == 404


def test_admin_preview_lists_rejections_and_can_write_only_the_good_rows(pmo_client):
    data = SAMPLE_2025.read_bytes().replace(
        b"DOL,Department of Labor,DOL-002,Wage Determination Document Triage,"
        b"Wage and Hour Division",
        b"N/A,Department of Labor,,,",
    )  # row 3 loses its id and everything an id could be derived from
    uploaded = upload(pmo_client, data)
    preview = pmo_client.get(uploaded["Location"])

    assert cell(preview.text, "count-rejected") == "1"
    assert "would write nothing" in preview.text
    rejections = re.search(r'<table id="import-rejections">(.*?)</table>', preview.text, re.S)
    assert rejections is not None
    assert "The row has no id, and nothing to derive one from." in rejections.group(1)
    assert "agency, id" in rejections.group(1)

    token = uploaded["Location"].rstrip("/").rsplit("/", 1)[-1]
    confirmed = pmo_client.post(
        reverse("registry_import:confirm", args=[token]), {"skip_rejected": "1"}
    )
    summary = pmo_client.get(confirmed["Location"])

    assert cell(summary.text, "count-created") == "13"
    assert Initiative.objects.count() == 13
    assert not Initiative.objects.filter(external_id="DOL:DOL-002").exists()


def test_admin_upload_that_does_not_fit_the_mapping_is_explained(pmo_client):
    response = upload(pmo_client, b"Title,Owner\nBot,ana@example.com\n", name="wrong.csv")

    assert response.status_code == 200
    assert "lacks the columns" in response.text
    assert "agency, id" in response.text


def test_admin_discard_forgets_the_upload(pmo_client):
    uploaded = upload(pmo_client, SAMPLE_2025.read_bytes())
    token = uploaded["Location"].rstrip("/").rsplit("/", 1)[-1]

    pmo_client.post(reverse("registry_import:cancel", args=[token]))

    assert pmo_client.get(uploaded["Location"]).status_code == 404
    assert not Initiative.objects.exists()


def test_admin_import_is_refused_to_a_viewer(viewer_user):
    client = Client()
    client.force_login(viewer_user)

    assert client.get(reverse("registry_import:start")).status_code == 403
    assert upload(client, SAMPLE_2025.read_bytes()).status_code == 403
    assert not Initiative.objects.exists()


def test_admin_import_sends_anonymous_visitors_to_the_login():
    response = Client().get(reverse("registry_import:start"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
