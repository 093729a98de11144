"""The journey reports over HTTP — journey map, proactive stance (conflicts, exceptions) and
team composition — and the stance gate through the API: figures of a crafted portfolio, as
JSON and CSV, for each role; confidential work never shows for outsiders; constant queries.

The crafted portfolio (tests/api/support.py) plus, here:

| initiative | stage    | lead      | touchpoints × stages | shares                        |
|------------|----------|-----------|----------------------|-------------------------------|
| chat       | pilot    | service   | chat, web × support  | CRM; owner carol, team mark   |
| triage     | idea     | it        | email × support      | owner ivy                     |
| nbo        | approved | marketing | email × renewal      | proactive                     |
| mail       | proposed | marketing | email × support      | owner max; proactive          |
| secret     | idea     | service   | phone × support      | confidential; owner ivy       |
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.models import Initiative, ProactiveStance, StageChange
from registry.services import lifecycle
from tests import factories
from tests.api.support import API, error_attrs, make_portfolio

ROLES = ["pmo", "viewer", "contributor", "integration"]


@pytest.fixture
def portfolio(db):
    p = make_portfolio()
    secret = p.initiatives["secret"]
    secret.touchpoints = [choices.Touchpoint.PHONE]
    secret.journey_stages = [choices.JourneyStage.SUPPORT]
    secret.customer_facing = True
    secret.save()
    chat = p.initiatives["chat"]
    chat.customer_facing = True
    chat.save()
    mail = factories.InitiativeFactory(
        name="Proactive mail",
        summary="Writes to customers before they ask.",
        stage=choices.Stage.PROPOSED,
        owner=factories.PersonFactory(name="Max Mailer", department=p.departments["marketing"]),
        lead_department=p.departments["marketing"],
        touchpoints=[choices.Touchpoint.EMAIL],
        journey_stages=[choices.JourneyStage.SUPPORT],
        interaction_mode=choices.InteractionMode.PROACTIVE,
        customer_facing=True,
    )
    factories.AlignmentFactory(initiative=mail, goal=p.goals["aht"], strength=2, is_primary=True)
    lifecycle.record_initial_stage(initiative=mail, actor_name="fixture")
    p.initiatives["mail"] = mail
    # G-NPS names phone support, which only the confidential voicebot serves.
    nps = p.goals["nps"]
    nps.touchpoints = [choices.Touchpoint.PHONE]
    nps.journey_stages = [choices.JourneyStage.SUPPORT]
    nps.save()
    return p


def get(client, report: str, **params):
    return client.get(f"{API}reports/{report}/", params)


def stance(p, touchpoint: str, value: str, stage: str = "") -> ProactiveStance:
    return ProactiveStance.objects.create(
        vision=p.vision,
        touchpoint=touchpoint,
        journey_stage=stage,
        stance=value,
        rationale="Customers did not ask for it.",
    )


def cell(body: dict, touchpoint: str, stage: str) -> dict:
    return next(
        c for c in body["cells"] if (c["touchpoint"], c["journey_stage"]) == (touchpoint, stage)
    )


# --- journey map ------------------------------------------------------------------------------


def test_journey_map_cells_for_a_viewer(portfolio):
    body = get(portfolio.client("viewer"), "journey-map").json()
    p = portfolio
    assert body["count"] == 5  # chat, nbo, triage, legacy, mail (open, visible)
    assert body["unplaced_count"] == 1  # legacy has no touchpoint
    support_email = cell(body, "email", "support")
    assert support_email["count"] == 2
    assert support_email["initiatives"] == p.keys("triage", "mail")
    assert support_email["stages"] == [
        {"stage": "idea", "count": 1},
        {"stage": "proposed", "count": 1},
    ]
    assert support_email["alignment_level"] == "moderate"
    assert support_email["alignment_levels"] == [
        {"level": "none", "count": 1},
        {"level": "moderate", "count": 1},
    ]
    assert support_email["departments"] == ["it", "marketing"]
    assert "touchpoint=email" in support_email["list_url"]
    assert "journey_stage=support" in support_email["list_url"]
    assert cell(body, "chat", "support")["initiatives"] == [p.key("chat")]
    assert {(c["touchpoint"], c["journey_stage"]) for c in body["cells"]} == {
        ("web", "support"),
        ("email", "support"),
        ("email", "renewal"),
        ("chat", "support"),
    }


def test_a_cells_link_lists_exactly_its_initiatives(portfolio):
    client = portfolio.client("viewer")
    support_email = cell(get(client, "journey-map").json(), "email", "support")
    listed = client.get(support_email["list_url"]).json()
    assert sorted(row["key"] for row in listed["results"]) == support_email["initiatives"]


def test_journey_map_flags(portfolio):
    p = portfolio
    body = get(p.client("viewer"), "journey-map").json()
    # Support is served on chat, web and e-mail by groups that share no system or person.
    assert body["fragmented"] == [
        {
            "journey_stage": "support",
            "touchpoints": ["web", "email", "chat"],
            "groups": [
                {"initiatives": [p.key("chat")], "touchpoints": ["web", "chat"]},
                {"initiatives": [p.key("triage")], "touchpoints": ["email"]},
                {"initiatives": [p.key("mail")], "touchpoints": ["email"]},
            ],
        }
    ]
    # IT and marketing both work on e-mail support, and no goal joins them.
    assert body["department_conflicts"] == [
        {
            "touchpoint": "email",
            "journey_stage": "support",
            "departments": ["it", "marketing"],
            "initiatives": p.keys("triage", "mail"),
        }
    ]
    # G-NPS names phone support; only the confidential voicebot serves it.
    assert body["unserved"] == [
        {"touchpoint": "phone", "journey_stage": "support", "goals": ["G-NPS"]}
    ]
    assert body["flag_counts"] == {"fragmented": 1, "department_conflicts": 1, "unserved": 1}


def test_shared_systems_people_and_goals_clear_the_flags(portfolio):
    p = portfolio
    # Mail and triage share the CRM with the chatbot; triage serves G-AHT like mail.
    p.initiatives["mail"].systems.set([p.systems["crm"]])
    p.initiatives["triage"].systems.set([p.systems["crm"]])
    factories.AlignmentFactory(initiative=p.initiatives["triage"], goal=p.goals["aht"], strength=1)
    body = get(p.client("viewer"), "journey-map").json()
    assert body["fragmented"] == []
    assert body["department_conflicts"] == []
    assert cell(body, "email", "support")["no_shared_goal"] is False


def test_confidential_work_shows_only_to_the_pmo(portfolio):
    p = portfolio
    secret = p.key("secret")
    for role in ("viewer", "contributor", "integration"):
        response = get(p.client(role), "journey-map")
        assert response.status_code == 200
        assert secret not in response.content.decode()
        assert "phone" not in {c["touchpoint"] for c in response.json()["cells"]}
    body = get(p.client("pmo"), "journey-map").json()
    assert cell(body, "phone", "support")["initiatives"] == [secret]
    assert body["unserved"] == []
    # Secret and triage share their owner: one group, so the fragments are chat, that, mail.
    groups = body["fragmented"][0]["groups"]
    assert {"initiatives": p.keys("triage", "secret"), "touchpoints": ["email", "phone"]} in groups
    # The team member of the confidential voicebot sees it too.
    assert secret in get(p.client("teamie"), "journey-map").content.decode()


def test_journey_map_for_a_quarter_and_errors(portfolio):
    p = portfolio
    body = get(p.client("viewer"), "journey-map", period="2026-Q4").json()
    assert body["period"] == "2026-Q4"
    assert p.key("triage") not in str(body["cells"])  # ended mid-2025
    assert all("active_in=2026-Q4" in c["list_url"] for c in body["cells"])
    bad = get(p.client("viewer"), "journey-map", period="2026-Q5")
    assert bad.status_code == 400
    assert error_attrs(bad) == ["period"]
    assert get(p.client("anonymous"), "journey-map").status_code in (401, 403)
    assert get(p.client("norole"), "journey-map").status_code == 403


def test_journey_map_as_csv(portfolio):
    response = get(portfolio.client("pmo"), "journey-map", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    support_email = next(
        r for r in rows if (r["touchpoint"], r["journey_stage"]) == ("email", "support")
    )
    assert support_email["count"] == "2"
    assert support_email["no_shared_goal"] == "true"
    assert support_email["fragmented_stage"] == "true"


def test_journey_map_runs_a_constant_number_of_queries(portfolio):
    client = portfolio.client("viewer")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert get(client, "journey-map").status_code == 200
        return len(captured)

    before = queries()
    for _n in range(6):
        made = factories.InitiativeFactory(
            touchpoints=[choices.Touchpoint.APP], journey_stages=[choices.JourneyStage.USAGE]
        )
        made.systems.set([portfolio.systems["cdp"]])
        factories.TeamRoleFactory(initiative=made, person=portfolio.people["ivy"], role="engineer")
    assert queries() == before


# --- proactive stance -------------------------------------------------------------------------


def test_the_gate_asks_for_a_note_when_work_contradicts_the_stance(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.REACTIVE)
    pmo = p.client("pmo")
    url = f"{API}initiatives/{p.key('mail')}/transition/"

    refused = pmo.post(url, {"to": "approved"}, format="json")

    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert error["code"] == "gate_not_met"
    assert error["missing"] == ["stance_exception"]
    assert "justifying the exception to the vision's proactive stance" in error["detail"]
    assert Initiative.objects.get(key=p.key("mail")).stage == "proposed"

    moved = pmo.post(url, {"to": "approved", "note": "Opt-in customers only."}, format="json")

    assert moved.status_code == 200, moved.content
    change = StageChange.objects.filter(initiative__key=p.key("mail")).latest("id")
    assert (change.to_stage, change.stance_exception, change.note) == (
        "approved",
        True,
        "Opt-in customers only.",
    )


def test_work_that_keeps_to_the_stance_passes_without_a_note(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.PROACTIVE)
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.NO_AI, choices.JourneyStage.BILLING)
    moved = p.client("pmo").post(
        f"{API}initiatives/{p.key('mail')}/transition/", {"to": "approved"}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert not StageChange.objects.filter(stance_exception=True).exists()


def test_internal_work_does_not_contradict_the_stance(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.NO_AI)
    mail = p.initiatives["mail"]
    Initiative.objects.filter(pk=mail.pk).update(customer_facing=False)
    moved = p.client("pmo").post(
        f"{API}initiatives/{mail.key}/transition/", {"to": "approved"}, format="json"
    )
    assert moved.status_code == 200, moved.content


def test_a_stage_specific_stance_wins_over_the_touchpoints(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.PROACTIVE)
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.REACTIVE, choices.JourneyStage.SUPPORT)
    body = get(p.client("viewer"), "proactive-stance").json()
    assert [row["key"] for row in body["results"]] == [p.key("mail")]
    assert body["results"][0]["conflicts"] == [
        {"touchpoint": "email", "journey_stage": "support", "stance": "reactive"}
    ]


def test_stance_reports_for_each_role(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.REACTIVE)
    stance(p, choices.Touchpoint.PHONE, choices.Stance.NO_AI)
    lifecycle.initiative_transition(
        initiative=p.initiatives["mail"], to_stage="approved", note="Opt-in customers only."
    )
    secret = p.initiatives["secret"]
    Initiative.objects.filter(pk=secret.pk).update(stage="proposed")
    secret.refresh_from_db()
    lifecycle.initiative_transition(initiative=secret, to_stage="approved", note="Secret reason.")

    for role in ("viewer", "contributor", "integration"):
        conflicts = get(p.client(role), "proactive-stance").json()
        assert [row["key"] for row in conflicts["results"]] == [p.key("mail")]
        row = conflicts["results"][0]
        assert (row["exception"], row["exception_note"]) == (True, "Opt-in customers only.")
        exceptions = get(p.client(role), "stance-exceptions").json()
        assert [row["key"] for row in exceptions["results"]] == [p.key("mail")]
        assert "Secret reason." not in get(p.client(role), "stance-exceptions").content.decode()

    pmo_conflicts = get(p.client("pmo"), "proactive-stance").json()
    assert [row["key"] for row in pmo_conflicts["results"]] == p.keys("mail", "secret")
    exceptions = get(p.client("pmo"), "stance-exceptions").json()["results"]
    assert {row["key"] for row in exceptions} == set(p.keys("mail", "secret"))
    quarter = exceptions[0]["quarter"]
    assert get(p.client("pmo"), "stance-exceptions", period=quarter).json()["count"] == 2
    assert get(p.client("pmo"), "stance-exceptions", period="2020-Q1").json()["count"] == 0
    csv_body = get(p.client("viewer"), "stance-exceptions", format="csv").content.decode()
    assert "Opt-in customers only." in csv_body
    assert "Secret reason." not in csv_body


def test_stance_reports_run_a_constant_number_of_queries(portfolio):
    p = portfolio
    stance(p, choices.Touchpoint.EMAIL, choices.Stance.REACTIVE)
    client = p.client("viewer")
    urls = [f"{API}reports/{name}/" for name in ("proactive-stance", "stance-exceptions")]

    def queries() -> tuple[list[int], list[int]]:
        counts, sizes = [], []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200
            counts.append(len(captured))
            sizes.append(response.json()["count"])
        return counts, sizes

    queries()
    before, before_sizes = queries()
    for n in range(5):
        made = factories.InitiativeFactory(
            stage=choices.Stage.PROPOSED,
            customer_facing=True,
            touchpoints=[choices.Touchpoint.EMAIL],
            interaction_mode=choices.InteractionMode.PROACTIVE,
        )
        factories.AlignmentFactory(initiative=made, goal=p.goals["nps"], is_primary=True)
        lifecycle.initiative_transition(initiative=made, to_stage="approved", note=f"Case {n}.")
    after, after_sizes = queries()
    assert after == before
    assert [a - b for a, b in zip(after_sizes, before_sizes, strict=True)] == [5, 5]


# --- team composition -------------------------------------------------------------------------


def test_team_composition_of_customer_facing_pilots(portfolio):
    p = portfolio
    designer = factories.PersonFactory(department=p.departments["service"])
    scientist = factories.PersonFactory(department=p.departments["it"])
    staffed = factories.InitiativeFactory(
        name="Staffed pilot",
        stage=choices.Stage.PILOT,
        customer_facing=True,
        owner=p.people["carol"],
        lead_department=p.departments["service"],
    )
    factories.TeamRoleFactory(initiative=staffed, person=designer, role="ux_designer")
    factories.TeamRoleFactory(initiative=staffed, person=scientist, role="data_scientist")
    lonely = factories.InitiativeFactory(
        name="Lonely pilot",
        stage=choices.Stage.PILOT,
        customer_facing=True,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        confidential=True,
    )
    factories.TeamRoleFactory(initiative=lonely, person=p.people["ivy"], role="analyst")

    body = get(p.client("viewer"), "team-composition").json()

    assert body["stage"] == "pilot"
    by_key = {row["key"]: row for row in body["results"]}
    assert set(by_key) == {p.key("chat"), staffed.key}
    assert by_key[p.key("chat")]["flags"] == ["no_ux", "no_data"]
    assert by_key[staffed.key]["flags"] == []
    assert by_key[staffed.key]["roles"] == ["data_scientist", "ux_designer"]
    assert (body["count"], body["cross_functional_count"], body["share_cross_functional"]) == (
        2,
        1,
        0.5,
    )
    assert body["flag_counts"] == {"no_ux": 1, "no_data": 1, "single_department": 0}

    pmo = get(p.client("pmo"), "team-composition").json()
    assert {row["key"]: row["flags"] for row in pmo["results"]}[lonely.key] == [
        "no_ux",
        "single_department",
    ]
    assert pmo["count"] == 3
    assert get(p.client("pmo"), "team-composition", stage="scaling").json()["count"] == 0
    bad = get(p.client("pmo"), "team-composition", stage="nowhere")
    assert bad.status_code == 400
    assert error_attrs(bad) == ["stage"]


@pytest.mark.parametrize("role", ROLES)
def test_every_new_report_answers_each_role(portfolio, role):
    for report in ("journey-map", "proactive-stance", "stance-exceptions", "team-composition"):
        response = get(portfolio.client(role), report)
        assert response.status_code == 200, (report, response.content)
        assert portfolio.key("secret") not in response.content.decode() or role == "pmo"
        csv_response = get(portfolio.client(role), report, format="csv")
        assert csv_response.status_code == 200


def test_the_report_index_lists_the_new_reports(portfolio):
    index = portfolio.client("viewer").get(f"{API}reports/").json()
    for name in ("journey_map", "proactive_stance", "stance_exceptions", "team_composition"):
        assert index[name].endswith(f"/reports/{name.replace('_', '-')}/")
