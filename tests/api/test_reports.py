"""The report endpoints over HTTP: figures of the crafted portfolio as JSON and as CSV, the
`vision` and `period` parameters, confidential initiatives never counted for outsiders, the
OpenAPI description, and a constant number of queries as the portfolio grows.

The crafted portfolio (tests/api/support.py), live and by hand:

| initiative | stage    | lead      | planned | aligned to (active vision) | dates               |
|------------|----------|-----------|---------|----------------------------|---------------------|
| chat       | pilot    | service   | 100000  | G-NPS strong, primary      | 2026-01-01 → open   |
| nbo        | approved | marketing |  50000  | G-AHT weak, primary        | 2026-10-01 → open   |
| triage     | idea     | it        |  10000  | —                          | 2025-01-01 → 06-30  |
| secret     | idea     | service   |  70000  | G-NPS moderate (confid.)   | open                |
| legacy     | idea     | it        |   5000  | — (a retired vision only)  | open                |
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.models import Alignment, Initiative
from registry.services import lifecycle
from tests import factories
from tests.api.support import API, error_attrs, make_portfolio

REPORTS = [
    "portfolio",
    "alignment-matrix",
    "goal-progress",
    "coverage",
    "silos",
    "overlaps",
    "systems",
    "gate-gaps",
    "journey-map",
    "proactive-stance",
    "stance-exceptions",
    "team-composition",
    "voice-review-gaps",
]


@pytest.fixture
def portfolio(db):
    p = make_portfolio()
    # IT builds a billing chatbot in chat for support, like service's: an overlap.
    p.initiatives["it_bot"] = factories.InitiativeFactory(
        name="IT support bot",
        kind=choices.Kind.CHATBOT,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        touchpoints=[choices.Touchpoint.CHAT],
        journey_stages=[choices.JourneyStage.SUPPORT],
        budget_planned=Decimal("20000"),
        stage=choices.Stage.PILOT,
        source="jira",
        external_id="J-9",
    )
    it_bot = p.initiatives["it_bot"]
    lifecycle.record_initial_stage(initiative=it_bot, imported_from="jira")  # no evidence
    # A goal only the confidential voicebot serves: a coverage gap for outsiders.
    p.goals["fcr"] = factories.GoalFactory(
        vision=p.vision, code="G-FCR", title="Resolve at first contact", weight=5
    )
    Alignment.objects.create(
        initiative=p.initiatives["secret"], goal=p.goals["fcr"], strength=1, is_primary=False
    )
    return p


def get(client, report: str, **params):
    return client.get(f"{API}reports/{report}/", params)


def rows_of(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv"), response.content[:200]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- each report, JSON and CSV ------------------------------------------------------------------


def test_index_links_every_report(portfolio):
    body = portfolio.client("viewer").get(f"{API}reports/").json()
    assert sorted(body) == sorted(name.replace("-", "_") for name in REPORTS)
    assert body["gate_gaps"].endswith("/api/v1/reports/gate-gaps/")


def test_portfolio_figures(portfolio):
    pmo = get(portfolio.client("pmo"), "portfolio").json()
    assert pmo["vision"] == {
        "id": portfolio.vision.pk,
        "title": "Effortless service",
        "status": "active",
    }
    assert pmo["period"] is None
    assert pmo["totals"] == {
        "count": 6,
        "aligned_count": 3,
        "share_aligned": 0.5,
        "budget_planned": "255000.00",
        "budget_spent": "0.00",
        "budget_planned_unaligned": "35000.00",
        "budget_spent_unaligned": "0.00",
        "coverage_gap_count": 0,
        "currencies": ["EUR"],
    }
    stages = {row["code"]: row["count"] for row in pmo["breakdowns"]["stage"]}
    assert (stages["idea"], stages["approved"], stages["pilot"]) == (3, 1, 2)
    goals = {row["code"]: row for row in pmo["breakdowns"]["primary_goal"]}
    assert goals["G-NPS"]["budget_planned"] == "170000.00"
    assert goals["G-FCR"]["count"] == 0
    assert goals[None]["count"] == 3

    viewer = get(portfolio.client("viewer"), "portfolio", period="2026-Q4").json()
    assert viewer["period"] == "2026-Q4"
    # triage ended in 2025; the confidential voicebot is not the viewer's to see.
    assert viewer["totals"]["count"] == 4
    assert viewer["totals"]["budget_planned"] == "175000.00"
    assert viewer["totals"]["coverage_gap_count"] == 1  # G-FCR: only the voicebot serves it


def test_portfolio_csv(portfolio):
    response = get(portfolio.client("pmo"), "portfolio", format="csv", period="2026-Q4")
    assert response["Content-Disposition"] == 'attachment; filename="portfolio-2026-Q4.csv"'
    rows = rows_of(response)
    total = rows[0]
    assert (total["dimension"], total["count"], total["aligned_count"]) == ("total", "5", "3")
    assert total["budget_planned"] == "245000.00"
    assert total["share_aligned"] == "0.6"
    assert total["budget_planned_unaligned"] == "25000.00"
    pilot = next(r for r in rows if (r["dimension"], r["code"]) == ("stage", "pilot"))
    assert (pilot["count"], pilot["budget_planned"], pilot["share_aligned"]) == (
        "2",
        "120000.00",
        "",
    )
    departments = {r["code"]: r["name"] for r in rows if r["dimension"] == "lead_department"}
    assert departments == {"it": "IT", "marketing": "Marketing", "service": "Customer service"}
    accept = portfolio.client("pmo").get(f"{API}reports/portfolio/", HTTP_ACCEPT="text/csv")
    assert rows_of(accept)[0]["count"] == "6"


def test_alignment_matrix_json_and_csv(portfolio):
    pmo = get(portfolio.client("pmo"), "alignment-matrix").json()
    assert [goal["code"] for goal in pmo["goals"]] == ["G-AHT", "G-FCR", "G-NPS"]
    cells = {(c["goal"], c["department"]): c for c in pmo["cells"]}
    assert set(cells) == {("G-AHT", "marketing"), ("G-FCR", "service"), ("G-NPS", "service")}
    assert cells["G-NPS", "service"] == {
        "goal": "G-NPS",
        "department": "service",
        "count": 2,
        "budget_planned": "170000.00",
        "max_strength": 3,
        "alignment_level": "strong",
    }
    assert pmo["unaligned"] == [{"department": "it", "count": 3, "budget_planned": "35000.00"}]

    viewer = get(portfolio.client("viewer"), "alignment-matrix", format="csv")
    rows = {(r["goal"], r["department"]): r for r in rows_of(viewer)}
    assert set(rows) == {("G-AHT", "marketing"), ("G-NPS", "service"), ("", "it")}
    assert rows["G-NPS", "service"]["count"] == "1"
    assert rows["G-NPS", "service"]["goal_title"] == "Raise NPS"
    assert rows["G-NPS", "service"]["department_name"] == "Customer service"
    assert rows["", "it"]["alignment_level"] == "none"
    assert rows["", "it"]["budget_planned"] == "35000.00"


def test_goal_progress_json_and_csv(portfolio):
    body = get(portfolio.client("pmo"), "goal-progress").json()
    assert body["count"] == 3
    nps = next(row for row in body["results"] if row["code"] == "G-NPS")
    assert (nps["baseline"], nps["current"], nps["target"]) == ("20.0000", "25.0000", "40.0000")
    assert nps["progress_pct"] == 25.0
    assert nps["contributing_keys"] == portfolio.keys("chat", "secret")

    rows = rows_of(get(portfolio.client("viewer"), "goal-progress", format="csv"))
    nps_row = next(row for row in rows if row["code"] == "G-NPS")
    assert nps_row["contributing_keys"] == portfolio.key("chat")
    assert nps_row["contributing_count"] == "1"
    assert nps_row["on_track"] in ("true", "false")
    assert next(row for row in rows if row["code"] == "G-AHT")["current"] == ""


def test_coverage_json_and_csv(portfolio):
    assert get(portfolio.client("pmo"), "coverage").json()["results"] == []
    body = get(portfolio.client("viewer"), "coverage").json()
    assert [(row["code"], row["weight"]) for row in body["results"]] == [("G-FCR", 5)]
    rows = rows_of(get(portfolio.client("viewer"), "coverage", format="csv"))
    assert [(row["code"], row["title"]) for row in rows] == [("G-FCR", "Resolve at first contact")]


def test_silos_json_and_csv(portfolio):
    body = get(portfolio.client("pmo"), "silos").json()
    expected = portfolio.keys("nbo", "triage", "secret", "legacy", "it_bot")
    assert [row["key"] for row in body["results"]] == expected
    rows = rows_of(get(portfolio.client("viewer"), "silos", format="csv"))
    assert [row["key"] for row in rows] == portfolio.keys("nbo", "triage", "legacy", "it_bot")
    nbo = next(row for row in rows if row["key"] == portfolio.key("nbo"))
    assert (nbo["lead_department"], nbo["alignment_level"], nbo["budget_planned"]) == (
        "marketing",
        "weak",
        "50000.00",
    )


def test_overlaps_json_and_csv(portfolio):
    body = get(portfolio.client("viewer"), "overlaps").json()
    assert body["count"] == 1
    group = body["results"][0]
    assert [m["key"] for m in group["members"]] == portfolio.keys("chat", "it_bot")
    assert group["departments"] == ["it", "service"]
    (pair,) = group["pairs"]
    assert pair["keys"] == portfolio.keys("chat", "it_bot")
    assert pair["score"] == group["score"] >= 0.27
    assert round(sum(r["contribution"] for r in pair["reasons"]), 3) == pair["score"]
    assert {r["rule"] for r in pair["reasons"]} >= {"similar_name", "kind"}
    rows = rows_of(get(portfolio.client("viewer"), "overlaps", format="csv"))
    assert [(r["group"], r["key"], r["lead_department"]) for r in rows] == [
        ("1", portfolio.key("chat"), "service"),
        ("1", portfolio.key("it_bot"), "it"),
    ]
    assert rows[0]["reasons"].startswith(f"{portfolio.key('it_bot')} (")
    assert "similar name" in rows[0]["reasons"]
    assert float(rows[0]["score"]) == pair["score"]
    assert rows[0]["group_departments"] == "it; service"


def test_systems_json_and_csv(portfolio):
    portfolio.initiatives["it_bot"].systems.add(portfolio.systems["crm"])
    body = get(portfolio.client("viewer"), "systems").json()
    assert [row["slug"] for row in body["results"]] == ["crm"]
    crm = body["results"][0]
    assert (crm["initiative_count"], crm["department_count"]) == (2, 2)
    rows = rows_of(get(portfolio.client("viewer"), "systems", format="csv", min_initiatives=1))
    assert [(r["slug"], r["department"], r["initiatives"]) for r in rows] == [
        ("crm", "service", portfolio.key("chat")),  # equal counts: by department name
        ("crm", "it", portfolio.key("it_bot")),
        ("cdp", "marketing", portfolio.key("nbo")),
    ]
    assert rows[0]["department_initiative_count"] == "1"
    refused = get(portfolio.client("viewer"), "systems", min_initiatives=0)
    assert (refused.status_code, error_attrs(refused)) == (400, ["min_initiatives"])


def test_gate_gaps_json_and_csv(portfolio):
    body = get(portfolio.client("viewer"), "gate-gaps").json()
    assert [row["key"] for row in body["results"]] == [portfolio.key("it_bot")]
    row = body["results"][0]
    assert row["gate_gaps"] == ["primary_alignment", "hypothesis", "success_criteria"]
    assert (row["source"], row["imported_from"], row["external_id"]) == ("jira", "jira", "J-9")
    rows = rows_of(get(portfolio.client("pmo"), "gate-gaps", format="csv"))
    assert [(r["key"], r["gate_gaps"]) for r in rows] == [
        (portfolio.key("it_bot"), "primary_alignment; hypothesis; success_criteria")
    ]


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"period": "2026-Q5"}, "period"),
        ({"period": "Q4"}, "period"),
        ({"vision": "nope"}, "vision"),
        ({"vision": "999999"}, "vision"),
    ],
)
def test_bad_parameters_are_400_naming_them(portfolio, report, params, attr):
    for extra in ({}, {"format": "csv"}):
        response = get(portfolio.client("viewer"), report, **params, **extra)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert error_attrs(response) == [attr]


def test_vision_parameter_reports_on_another_vision(portfolio):
    old = portfolio.old_vision
    body = get(portfolio.client("pmo"), "portfolio", vision=old.pk).json()
    assert body["vision"]["id"] == old.pk
    assert body["totals"]["aligned_count"] == 1  # legacy, aligned to the old vision's goal
    matrix = get(portfolio.client("pmo"), "alignment-matrix", vision=old.pk).json()
    assert [goal["code"] for goal in matrix["goals"]] == ["G-OLD"]
    coverage = get(portfolio.client("pmo"), "coverage", vision=old.pk, format="csv")
    assert rows_of(coverage) == []


def test_without_an_active_vision_reports_say_so(portfolio):
    portfolio.vision.status = choices.VisionStatus.RETIRED
    portfolio.vision.save()
    body = get(portfolio.client("pmo"), "portfolio").json()
    assert body["vision"] is None
    assert body["totals"]["aligned_count"] == 0
    assert get(portfolio.client("pmo"), "goal-progress").json()["results"] == []


# --- who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("role", ["viewer", "contributor", "integration"])
def test_confidential_initiatives_are_never_counted_for_outsiders(portfolio, report, role):
    secret = portfolio.key("secret")
    client = portfolio.client(role)
    for extra in ({}, {"format": "csv"}, {"period": "2026-Q4"}):
        response = get(client, report, **extra)
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert "Secret voicebot" not in response.content.decode()
    totals = get(client, "portfolio").json()["totals"]
    assert totals["count"] == 5
    assert totals["budget_planned"] == "185000.00"


def test_the_team_of_a_confidential_initiative_sees_it_counted(portfolio):
    teamie = get(portfolio.client("teamie"), "portfolio").json()["totals"]
    assert teamie["count"] == 6
    silos = get(portfolio.client("teamie"), "silos").json()["results"]
    assert portfolio.key("secret") in [row["key"] for row in silos]


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("norole", 403)])
def test_reports_need_a_registry_role(portfolio, role, status):
    for report in REPORTS:
        assert get(portfolio.client(role), report).status_code == status


def test_reports_are_read_only(portfolio):
    response = portfolio.client("pmo").post(f"{API}reports/portfolio/", {})
    assert response.status_code == 405


# --- OpenAPI ------------------------------------------------------------------------------------


def test_reports_are_documented_with_their_shapes(db):
    from tests.api.support import api_client

    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    for report in REPORTS:
        operation = schema["paths"][f"/api/v1/reports/{report}/"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"vision", "period", "format"} <= names, report
        content = operation["responses"]["200"]["content"]
        assert set(content) >= {"application/json", "text/csv"}, report
        assert "400" in operation["responses"], report
    portfolio_ref = schema["paths"]["/api/v1/reports/portfolio/"]["get"]["responses"]["200"]
    ref = portfolio_ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(components[ref]["properties"]) == {"vision", "period", "totals", "breakdowns"}
    gaps = components["GateGap"]["properties"]["gate_gaps"]["items"]
    assert "$ref" in gaps or "enum" in gaps


# --- a constant number of queries ---------------------------------------------------------------


def grow(count: int, offset: int, *, departments, goals, systems) -> None:
    kinds = [choices.Kind.CHATBOT, choices.Kind.AUTOMATION, choices.Kind.PERSONALIZATION]
    stages = [choices.Stage.IDEA, choices.Stage.PILOT, choices.Stage.PRODUCTION]
    for n in range(offset, offset + count):
        department = departments[n % len(departments)]
        initiative = factories.InitiativeFactory(
            name=f"Grown {n}",
            owner=factories.PersonFactory(department=department),
            lead_department=department,
            kind=kinds[(n // 3) % 3],  # one kind across the three departments: overlaps
            stage=stages[(n // 3) % 3],
            touchpoints=[["chat", "web"][n % 2]],
            journey_stages=[["billing", "support"][(n // 2) % 2]],
            budget_planned=Decimal(1000 + n),
            confidential=n % 7 == 0,
            customer_facing=n % 2 == 0,
            start_date=datetime.date(2026, 1, 1),
        )
        if n % 4:
            factories.AlignmentFactory(
                initiative=initiative, goal=goals[n % len(goals)], strength=1 + n % 3
            )
        initiative.systems.add(systems[n % len(systems)])
        if n % 5 == 0:
            lifecycle.record_initial_stage(initiative=initiative, imported_from="jira")


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_report_endpoints_run_a_constant_number_of_queries(portfolio, role):
    setting = {
        "departments": list(portfolio.departments.values())[:3],
        "goals": [portfolio.goals["nps"], portfolio.goals["aht"], portfolio.goals["fcr"]],
        "systems": list(portfolio.systems.values()),
    }
    client = portfolio.client(role)
    grow(10, 0, **setting)
    urls = [f"{API}reports/{r}/?period=2026-Q4" for r in REPORTS]
    urls += [f"{API}reports/{r}/?format=csv" for r in REPORTS]

    def measure() -> dict[str, tuple[int, int]]:
        counts = {}
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            counts[url] = (len(queries), len(response.content))
        return counts

    measure()  # warm up: session, role cache
    small = measure()
    grow(190, 10, **setting)
    large = measure()

    assert Initiative.objects.count() > 200
    assert {url: n for url, (n, _size) in large.items()} == {
        url: n for url, (n, _size) in small.items()
    }
    for url in urls:
        # Every goal is served in both portfolios; no stance is set and no customer-facing
        # pilot grown here (tests/api/test_journey.py and tests/board/test_journey_page.py
        # grow those reports).
        if not any(name in url for name in ("coverage", "stance", "team-composition")):
            assert large[url][1] > small[url][1], url
