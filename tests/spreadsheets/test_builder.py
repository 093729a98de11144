"""The mapping builder's suggestions and the YAML it builds, on layouts the registry ships no
mapping for: a Jira export, a ServiceNow export, a German Excel inventory."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from registry.spreadsheets import builder, imports
from tests import factories

pytestmark = pytest.mark.django_db


def table_of(rows: list[list[str]]) -> imports.Table:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return imports.read_table(out.getvalue().encode())


JIRA = [
    [
        "Issue key",
        "Summary",
        "Status",
        "Issue Type",
        "Assignee",
        "Reporter email",
        "Created",
        "Due date",
        "Description",
        "Labels",
    ],
    [
        "AICX-1",
        "Billing chatbot",
        "In Progress",
        "Chatbot",
        "Ada Lovelace",
        "ada@example.com",
        "2026-01-12",
        "2026-09-30",
        "Answers billing questions around the clock so that fewer customers have to call us.",
        "billing",
    ],
    [
        "AICX-2",
        "Churn model",
        "Done",
        "Machine Learning",
        "Alan Turing",
        "alan@example.com",
        "2025-11-03",
        "2026-03-31",
        "Predicts which customers are about to leave, so that retention can call them first.",
        "churn",
    ],
    [
        "AICX-3",
        "Mail triage",
        "Backlog",
        "RPA",
        "Grace Hopper",
        "grace@example.com",
        "2026-02-01",
        "",
        "Sorts incoming e-mail by topic and urgency before any agent reads it, every morning.",
        "",
    ],
]


def suggestions(table: imports.Table) -> dict[str, str]:
    return {p.name: p.suggestion for p in builder.profile_table(table)}


def test_a_jira_export_gets_a_field_for_each_column():
    assert suggestions(table_of(JIRA)) == {
        "Issue key": "id",
        "Summary": "name",  # Jira's summary is the title: short text
        "Status": "stage",
        "Issue Type": "kind",
        "Assignee": "owner_name",
        "Reporter email": "owner_email",
        "Created": "start_date",
        "Due date": "target_date",
        "Description": "summary",
        "Labels": "tags",
    }


def test_content_decides_where_names_say_nothing():
    factories.DepartmentFactory(name="Kundenservice", slug="kundenservice")
    rows = [
        ["Nr", "Vorhaben", "Bereich", "Phase", "Kontakt", "Go-live", "Beschreibung"],
        ["1", "Chatbot", "Kundenservice", "Pilot", "a@example.de", "01.03.2026", "x" * 120],
        ["2", "Prognose", "Kundenservice", "Deployed", "b@example.de", "15.06.2025", "y" * 130],
    ]
    found = suggestions(table_of(rows))
    assert found["Bereich"] == "lead_department"  # a registered department's name
    assert found["Phase"] == "stage"
    assert found["Kontakt"] == "owner_email"  # e-mail addresses
    assert found["Go-live"] == "start_date"  # dates, and a go-live is a start
    assert found["Beschreibung"] == "summary"  # long text
    assert found["Nr"] == "id"  # unique and short


def test_each_field_is_suggested_for_one_column_at_most():
    rows = [["Status", "State", "Title"], ["Pilot", "Deployed", "A"], ["Retired", "Pilot", "B"]]
    found = [s for s in suggestions(table_of(rows)).values() if s]
    assert len(found) == len(set(found))


def test_other_tools_words_are_suggested_onto_ours():
    assert builder.suggested_value_map(
        "stage", ["In Progress", "Done", "Backlog", "Gibberish"]
    ) == {
        "In Progress": "pilot",
        "Done": "production",
        "Backlog": "idea",
        "Gibberish": "",
    }
    assert (
        builder.vocabulary_word("stage", "a) Pre-deployment – The use case is in development")
        == "proposed"
    )
    assert (
        builder.vocabulary_word("kind", "Generative AI: AI that generates content")
        == "generative_content"
    )
    assert builder.vocabulary_word("risk_tier", "High") == "high"


def test_department_words_map_onto_registered_departments_or_new_ones():
    factories.DepartmentFactory(name="Customer Service", slug="service")
    assert builder.suggested_value_map("lead_department", ["customer service", "Legal"]) == {
        "customer service": "service",
        "Legal": builder.NEW_DEPARTMENT,
    }


def test_the_built_yaml_is_a_mapping_the_importer_reads():
    choices = builder.BuilderChoices(
        title="jira-aicx",
        source="jira",
        columns={
            "name": "Summary",
            "stage": "Status",
            "kind": "Issue Type",
            "start_date": "Created",
        },
        id_columns=["Issue key"],
        value_maps={
            "stage": {"In Progress": "pilot", "Done": "production", "Backlog": builder.LEAVE_BLANK},
            "kind": {"Chatbot": "chatbot", "Machine Learning": "", "RPA": "automation"},
        },
    )
    text = builder.build_yaml(choices)
    data = yaml.safe_load(text)
    assert data["id"] == {"columns": ["Issue key"], "derive_from": ["Summary"]}
    assert data["fields"]["stage"]["map"] == {
        "In Progress": "pilot",
        "Done": "production",
        "Backlog": None,
    }
    mapping = builder.parse_built(text, slug="jira-aicx")
    outcomes = imports.map_table(table_of(JIRA), mapping)
    assert [(o.external_id, o.item.get("stage"), o.item["kind"]) for o in outcomes] == [
        ("AICX-1", "pilot", "chatbot"),
        ("AICX-2", "production", "other"),  # not mapped: the kind's default
        ("AICX-3", None, "automation"),  # mapped to "leave unset"
    ]


def test_an_unmapped_stage_word_is_a_warning_and_leaves_the_stage_unset():
    choices = builder.BuilderChoices(
        title="t",
        source="t",
        columns={"name": "Summary", "stage": "Status"},
        id_columns=["Issue key"],
        value_maps={"stage": {"In Progress": "pilot"}},
    )
    outcomes = imports.map_table(
        table_of(JIRA), builder.parse_built(builder.build_yaml(choices), slug="t")
    )
    done = outcomes[1]
    assert "stage" not in done.item
    assert not done.errors
    assert [w.field for w in done.warnings] == ["stage"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "empty.csv", "empty"),
        (imports.OLE_MAGIC + b"\x00" * 600, "locked.xlsx", "password-protected"),
        (bytes(range(256)) * 40, "binary.csv", "encoding"),
        ("name\n".encode("utf-16-le") * 50, "utf16.csv", "encoding"),
    ],
)
def test_unreadable_files_are_refused_saying_why(data, filename, message):
    with pytest.raises(imports.ImportFileError, match=message):
        builder.check_readable(data, filename=filename)


def test_readable_files_pass():
    builder.check_readable("Name;Stufe\nÄrger-Bot;Pilot\n".encode("cp1252"), filename="a.csv")
    builder.check_readable("name\nbot\n".encode("utf-16"), filename="b.csv")  # with a BOM


def test_a_word_only_late_in_a_long_file_still_gets_its_value_map():
    rows = [["Key", "Title", "Status"]]
    rows += [[f"K{n}", f"Bot {n}", "Pilot" if n % 2 else "Live"] for n in range(2500)]
    rows.append(["K-last", "Late bot", "Decommissioned"])
    profiles = builder.profile_table(table_of(rows))
    status = next(p for p in profiles if p.name == "Status")
    assert status.suggestion == "stage"
    assert builder.value_map_words(profiles, "Status") == ["Live", "Pilot", "Decommissioned"]
    assert builder.suggested_value_map("stage", status.distinct)["Decommissioned"] == "retired"


def test_each_suggestion_says_whether_the_name_or_the_content_decided():
    reasons = {p.name: p.reason for p in builder.profile_table(table_of(JIRA))}
    assert reasons["Summary"] == reasons["Status"] == "by its name"
    rows = [
        ["Spalte A", "Spalte B"],
        ["a@example.com", "2026-01-01"],
        ["b@example.com", "2026-02-01"],
    ]
    assert {p.reason for p in builder.profile_table(table_of(rows))} == {"by its content"}
