"""The demo portfolio: it loads through the domain and tells the story the registry is for.

Nordlicht Energie's portfolio must show what a PMO meets in real life — initiatives without a
goal, silos, duplicated work across departments, imported inventory with gate gaps, and a
closed quarterly review — while every stage change of its own initiatives obeys the gates.
The checks below recompute those properties independently (plain Python over the loaded
rows, DESIGN §2's rules) rather than trusting the annotations alone.
"""

from __future__ import annotations

import datetime
import io
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.test import Client

from registry import permissions
from registry.choices import Decision, Kind, NoteKind, ReviewStatus, RiskTier, Stage, VisionStatus
from registry.demo import (
    DEFAULT_DEMO_PATH,
    DemoAlreadyLoadedError,
    DemoDataError,
    DemoSummary,
    ensure_demo_logins,
    load_demo_portfolio,
    read_demo_file,
)
from registry.models import (
    Department,
    Dependency,
    Goal,
    Initiative,
    Measurement,
    Note,
    Person,
    Review,
    StageChange,
    System,
    Vision,
)
from registry.services.lifecycle import gate_gaps
from tests import factories

# DESIGN §2's lifecycle table, written out here so the check does not reuse the code it checks.
MAIN_LINE_MOVES = {
    ("idea", "proposed"),
    ("proposed", "approved"),
    ("approved", "pilot"),
    ("pilot", "scaling"),
    ("scaling", "production"),
    ("production", "retired"),
}
OPEN = {"idea", "proposed", "approved", "pilot", "scaling", "production"}
CLOSED = {"retired", "stopped"}
QUARTER_ENDS = [
    datetime.date(2025, 3, 31),
    datetime.date(2025, 6, 30),
    datetime.date(2025, 9, 30),
    datetime.date(2025, 12, 31),
    datetime.date(2026, 3, 31),
    datetime.date(2026, 6, 30),
    datetime.date(2026, 9, 30),
]


def fire_deferred_constraints() -> None:
    """Run the deferred triggers (e.g. 'exactly one primary alignment') now, not at commit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker) -> Iterator[DemoSummary]:
    """The demo loaded once for the class, inside a transaction rolled back afterwards.

    Each test runs in its own savepoint within it, so tests cannot disturb each other and
    nothing leaks into other test modules.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        summary = load_demo_portfolio(DEFAULT_DEMO_PATH)
        ensure_demo_logins()
        fire_deferred_constraints()
        yield summary
        transaction.set_rollback(True)


def initiative(demo: DemoSummary, ref: str) -> Initiative:
    return Initiative.objects.get(key=demo.keys_by_ref[ref])


@pytest.mark.django_db
class TestDemoPortfolio:
    def test_one_active_vision_with_measurable_goals(self, demo):
        assert Vision.objects.filter(status=VisionStatus.ACTIVE).count() == 1
        assert Vision.objects.filter(status=VisionStatus.RETIRED).count() == 1
        vision = Vision.objects.get(status=VisionStatus.ACTIVE)
        goals = Goal.objects.filter(vision=vision)
        top_level = goals.filter(parent__isnull=True)
        assert top_level.count() == 6
        assert set(top_level.values_list("metric", flat=True)) == {
            "nps",
            "ces",
            "fcr",
            "churn_rate",
            "self_service_share",
            "time_to_answer",
        }
        sub_goals = goals.filter(parent__isnull=False)
        assert sub_goals.count() == 2
        assert all(goal.parent.vision_id == vision.pk for goal in sub_goals)
        for goal in goals:
            assert goal.baseline_date == datetime.date(2025, 1, 1)
            assert goal.target_date == datetime.date(2027, 12, 31)
            # A decrease goal's target lies below its baseline, and vice versa.
            assert (goal.target > goal.baseline) == (goal.direction == "increase")
            assert 1 <= goal.weight <= 10
            assert goal.owner is not None
            observed = list(
                Measurement.objects.filter(goal=goal)
                .order_by("observed_on")
                .values_list("observed_on", flat=True)
            )
            assert observed == QUARTER_ENDS, goal.code
        # Progress reads the latest quarter: churn lags, first-contact resolution is on track.
        progress = {g.code: g.progress for g in Goal.objects.with_progress().filter(vision=vision)}
        assert Decimal("0") < progress["G-CHURN"] < Decimal("0.25")
        assert Decimal("0.4") < progress["G-FCR"] < Decimal("0.7")

    def test_organisation(self, demo):
        assert Department.objects.count() == 8
        assert set(Department.objects.values_list("function", flat=True)) == {
            "marketing",
            "sales",
            "service",
            "it",
            "data",
            "product",
            "operations",
            "legal",
        }
        assert System.objects.count() == 10
        assert set(System.objects.values_list("category", flat=True)) >= {
            "crm",
            "cdp",
            "contact_centre",
            "data_warehouse",
            "ecommerce",
            "erp",
            "model_provider",
            "vendor_product",
        }
        people = Person.objects.all()
        assert people.count() >= 30
        assert all(person.title for person in people)
        assert people.values("department").distinct().count() >= 8

    def test_initiatives_cover_every_kind_stage_and_risk(self, demo):
        initiatives = Initiative.objects.all()
        assert initiatives.count() >= 50
        assert set(initiatives.values_list("kind", flat=True)) == set(Kind.values)
        assert set(initiatives.values_list("stage", flat=True)) == set(Stage.values)
        prohibited = initiatives.filter(risk_tier=RiskTier.PROHIBITED)
        assert [i.stage for i in prohibited] == [Stage.PROPOSED]
        assert initiatives.filter(risk_tier=RiskTier.HIGH).count() >= 2
        assert initiatives.filter(confidential=True).count() >= 2
        assert initiatives.filter(customer_facing=True).exists()
        assert initiatives.filter(customer_facing=False).exists()
        assert initiatives.filter(uses_personal_data=True).exists()
        for item in initiatives:
            assert item.owner_id, item.key
            assert item.lead_department_id, item.key
            assert item.summary, item.key
            assert Decimal(0) <= item.budget_spent <= item.budget_planned, item.key
            if item.stage in CLOSED:
                assert item.end_date is not None, item.key
        assert initiatives.filter(team__isnull=False).distinct().count() == initiatives.count()
        roles = set(Initiative.objects.values_list("team__role", flat=True))
        assert {"accountable", "responsible", "consulted", "informed"} <= roles

    def test_alignment_gaps_and_primaries(self, demo):
        levels = Initiative.objects.with_alignment_level()
        unaligned = levels.filter(alignment_level="none")
        assert unaligned.count() >= 8
        # Some of them are live at pilot or production: the fragmentation the review targets.
        assert unaligned.filter(stage__in=[Stage.PILOT, Stage.PRODUCTION]).count() >= 4
        aligned = Initiative.objects.annotate(
            alignments_count=Count("alignments"),
            primaries=Count("alignments", filter=Q(alignments__is_primary=True)),
        ).filter(alignments_count__gt=0)
        assert aligned.exists()
        assert all(item.primaries == 1 for item in aligned)
        fire_deferred_constraints()

    def test_silo_initiatives(self, demo):
        silos = Initiative.objects.with_silo_flag().filter(is_silo=True)
        assert silos.count() >= 5
        for item in silos.prefetch_related("departments", "team__person"):
            spanned = {item.lead_department_id}
            spanned |= {d.pk for d in item.departments.all()}
            spanned |= {r.person.department_id for r in item.team.all() if r.person.department_id}
            assert spanned == {item.lead_department_id}, item.key
        for ref in ("service-email-triage", "churn-early-warning", "churn-propensity"):
            assert silos.filter(key=demo.keys_by_ref[ref]).exists(), ref

    def test_overlapping_groups(self, demo):
        active_goals = set(Goal.objects.of_active_vision().values_list("pk", flat=True))
        candidates = [
            item
            for item in Initiative.objects.prefetch_related("alignments", "systems")
            if item.archived_at is None and item.stage not in CLOSED and item.lead_department_id
        ]
        sharing = defaultdict(set)  # shared trait -> the initiatives that have it
        for item in candidates:
            for touchpoint in item.touchpoints:
                for journey_stage in item.journey_stages:
                    sharing[("kind", item.kind, touchpoint, journey_stage)].add(item)
            goals = {
                a.goal_id
                for a in item.alignments.all()
                if a.is_primary and a.goal_id in active_goals
            }
            for goal in goals:
                for system in item.systems.all():
                    sharing[("goal", goal, system.pk)].add(item)
        groups: dict[frozenset[str], set[str]] = defaultdict(set)
        for trait, members in sharing.items():
            if len({m.lead_department_id for m in members}) >= 2:
                groups[frozenset(m.key for m in members)].add(trait[0])
        by_kind = [keys for keys, rules in groups.items() if "kind" in rules]
        assert len(groups) >= 3
        assert len(by_kind) >= 3
        for pair in (
            ("billing-assistant", "app-invoice-bot"),
            ("churn-early-warning", "churn-propensity"),
            ("service-email-triage", "mailroom-classification"),
        ):
            keys = {demo.keys_by_ref[ref] for ref in pair}
            assert any(keys <= group for group in by_kind), pair

    def test_dependencies_form_no_cycle(self, demo):
        edges = list(Dependency.objects.values_list("from_initiative_id", "to_initiative_id"))
        assert len(edges) >= 10
        needs = defaultdict(set)
        for source, target in edges:
            needs[source].add(target)

        def reaches(start: int, goal: int, seen: set[int]) -> bool:
            return any(
                nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                for nxt in needs[start]
            )

        assert not any(reaches(node, node, {node}) for node in list(needs))
        assert Dependency.objects.filter(
            from_initiative=initiative(demo, "billing-assistant"),
            to_initiative=initiative(demo, "crm-billing-integration"),
        ).exists()

    def test_every_stage_change_of_own_initiatives_is_a_legal_move(self, demo):
        imported = set(
            StageChange.objects.filter(imported_from="spreadsheet").values_list(
                "initiative_id", flat=True
            )
        )
        assert len(imported) >= 8
        changes = defaultdict(list)
        for change in StageChange.objects.order_by("at", "id"):
            changes[change.initiative_id].append(change)
        for item in Initiative.objects.all():
            history = changes[item.pk]
            if item.pk in imported:
                assert [(c.from_stage, c.to_stage) for c in history] == [("", item.stage)]
                continue
            assert (history[0].from_stage, history[0].to_stage) == ("", "idea"), item.key
            left_for_pause = None
            for before, change in zip(history, history[1:], strict=False):
                move = (change.from_stage, change.to_stage)
                assert change.from_stage == before.to_stage, item.key
                if change.to_stage == "paused":
                    assert change.from_stage in OPEN, item.key
                    assert change.note, item.key
                    left_for_pause = change.from_stage
                elif change.from_stage == "paused":
                    assert change.to_stage == left_for_pause, item.key
                    assert change.note, item.key
                elif change.to_stage == "stopped":
                    assert change.from_stage in OPEN, item.key
                    assert change.note, item.key
                else:
                    assert move in MAIN_LINE_MOVES, (item.key, move)
            assert history[-1].to_stage == item.stage, item.key
            assert gate_gaps(item) == [], item.key

    def test_imported_initiatives_show_gate_gaps(self, demo):
        imported = Initiative.objects.filter(stage_changes__imported_from="spreadsheet")
        with_gaps = [item for item in imported if gate_gaps(item)]
        assert len(with_gaps) >= 6
        assert any("primary_alignment" in gate_gaps(item) for item in with_gaps)
        assert imported.filter(stage__in=[Stage.PILOT, Stage.PRODUCTION]).count() >= 6
        assert set(imported.values_list("source", flat=True)) == {"spreadsheet"}

    def test_closed_review_decided_on_every_initiative_active_in_the_quarter(self, demo):
        review = Review.objects.get()
        assert review.vision.status == VisionStatus.ACTIVE
        assert review.period == "2026-Q3"
        assert review.status == ReviewStatus.CLOSED
        assert review.closed_at is not None
        assert review.held_on == datetime.date(2026, 10, 7)
        active = set(Initiative.objects.active_in("2026-Q3").values_list("key", flat=True))
        decided = set(review.decisions.values_list("initiative__key", flat=True))
        assert len(active) >= 30
        assert decided == active
        assert set(review.decisions.values_list("decision", flat=True)) == set(Decision.values)
        assert all(d.rationale for d in review.decisions.all())
        assert not Review.objects.filter(period="2026-Q4").exists()

        billing = review.decisions.get(initiative__key=demo.keys_by_ref["billing-assistant"])
        snapshot = billing.snapshot
        # Frozen as the board saw it: at pilot, before the scale decision moved it on.
        assert billing.decision == Decision.SCALE
        assert snapshot["stage"] == Stage.PILOT != billing.initiative.stage == Stage.SCALING
        assert snapshot["alignment_level"] == "strong"
        assert snapshot["primary_goal"] == "G-FCR-BILLING"
        assert snapshot["budget_planned"] == "420000.00"
        assert snapshot["budget_spent"] == "236000.00"
        assert "emma.richter@nordlicht-energie.example" in str(snapshot["owner"])
        assert snapshot["goal_progress"] is not None

        unaligned = review.decisions.get(initiative__key=demo.keys_by_ref["b2b-lead-scoring"])
        assert unaligned.snapshot["alignment_level"] == "none"
        assert unaligned.snapshot["primary_goal"] is None

    def test_notes_of_every_kind(self, demo):
        assert set(Note.objects.values_list("kind", flat=True)) == set(NoteKind.values)
        assert Note.objects.filter(review__isnull=False).exists()
        assert Note.objects.filter(goal__isnull=False).exists()
        assert Note.objects.filter(initiative__isnull=False).count() >= 20

    def test_demo_logins_work_in_the_admin(self, demo):
        user_model = get_user_model()
        for username, password, group in (
            ("pmo", "pmo-demo", permissions.PMO),
            ("viewer", "viewer-demo", permissions.VIEWER),
            ("contributor", "contributor-demo", permissions.CONTRIBUTOR),
        ):
            user = user_model.objects.get(username=username)
            assert user.is_staff
            assert not user.is_superuser
            assert list(user.groups.values_list("name", flat=True)) == [group]
            client = Client()
            assert client.login(username=username, password=password), username
            response = client.get("/admin/")
            assert response.status_code == 200, username

        contributor = Person.objects.get(user__username="contributor")
        assert contributor.email == "emma.richter@nordlicht-energie.example"
        assert contributor.owned_initiatives.count() >= 3

    def test_smoke_check_passes_on_the_demo(self, demo):
        out = io.StringIO()
        call_command("smoke_check", stdout=out)
        assert f"smoke check passed: {Initiative.objects.count()} initiatives" in out.getvalue()


# --- the command on an empty registry ---------------------------------------------------------


def registry_state() -> dict[str, object]:
    """Row counts of every registry table (history events included) and the logins' hashes."""
    state: dict[str, object] = {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("registry").get_models()
    }
    state["last initiative change"] = Initiative.objects.aggregate(at=Max("updated_at"))["at"]
    state["logins"] = sorted(
        get_user_model().objects.values_list("username", "password", "is_staff", "is_superuser")
    )
    state["linked people"] = sorted(
        Person.objects.filter(user__isnull=False).values_list("email", "user__username")
    )
    return state


@pytest.mark.django_db
def test_load_demo_loads_once_and_a_second_run_changes_nothing():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    fire_deferred_constraints()
    first = out.getvalue()
    assert f"initiatives: {Initiative.objects.count()}" in first
    for login in ("pmo", "pmo-demo", "viewer-demo", "contributor-demo"):
        assert login in first
    before = registry_state()

    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo portfolio already loaded" in out.getvalue()
    assert "contributor-demo" in out.getvalue()
    assert registry_state() == before


@pytest.mark.django_db
def test_load_demo_repairs_the_demo_logins():
    call_command("load_demo", stdout=io.StringIO())
    pmo = get_user_model().objects.get(username="pmo")
    pmo.set_password("forgotten")
    pmo.is_staff = False
    pmo.save()
    pmo.groups.clear()

    call_command("load_demo", stdout=io.StringIO())
    assert Client().login(username="pmo", password="pmo-demo")
    pmo.refresh_from_db()
    assert pmo.is_staff
    assert list(pmo.groups.values_list("name", flat=True)) == [permissions.PMO]


@pytest.mark.django_db
def test_load_demo_leaves_a_registry_with_data_alone():
    factories.VisionFactory(title="Our real vision")
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Demo portfolio already loaded" in out.getvalue()
    assert list(Vision.objects.values_list("title", flat=True)) == ["Our real vision"]
    assert not Initiative.objects.exists()
    with pytest.raises(DemoAlreadyLoadedError):
        load_demo_portfolio(DEFAULT_DEMO_PATH)


@pytest.mark.django_db
def test_smoke_check_fails_clearly_without_the_demo():
    with pytest.raises(CommandError, match="demo portfolio is not loaded"):
        call_command("smoke_check", stdout=io.StringIO())


# --- a broken demo file fails loudly and writes nothing ----------------------------------------

MINIMAL = """
departments:
  - {slug: service, name: Service, function: service}
people:
  - {email: owner@example.com, name: Owner, department: service, title: Lead}
visions:
  - title: Vision
    status: active
    statement: Be good.
    horizon_start: 2025-01-01
    horizon_end: 2027-12-31
    goals:
      - {code: G-FCR, title: FCR, metric: fcr, unit: "%", direction: increase,
         baseline: 60, baseline_date: 2025-01-01, target: 80, target_date: 2027-12-31}
initiatives:
  - ref: bot
    name: Bot
    kind: KIND
    stage: STAGE
    owner: owner@example.com
    lead_department: service
    summary: Answers questions.
    alignments: [{goal: G-FCR, strength: 3, primary: true}]
    EXTRA
"""


def demo_file(
    tmp_path: Path, *, stage: str = "pilot", kind: str = "chatbot", extra: str = ""
) -> Path:
    path = tmp_path / "demo.yaml"
    text = MINIMAL.replace("STAGE", stage).replace("KIND", kind).replace("EXTRA", extra)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_a_minimal_file_loads(tmp_path):
    extra = "hypothesis: Customers ask less.\n    success_criteria: Fewer calls."
    summary = load_demo_portfolio(demo_file(tmp_path, extra=extra))
    assert Initiative.objects.get(key=summary.keys_by_ref["bot"]).stage == Stage.PILOT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stage", "kind", "extra", "message"),
    [
        ("pilot", "chatbot", "", r"initiative 'bot': .* needs a hypothesis and success criteria"),
        ("pilot", "chatbot", "budget: 10", r"initiative 'bot' has unknown field\(s\): budget"),
        ("scaling", "chatbot", "hypothesis: h\n    success_criteria: s", r"recorded learnings"),
        ("stopped", "chatbot", "stopped_from: proposed", r"a stopped initiative needs an end_date"),
        ("pilot", "chatbot", "systems: [crm]", r"unknown system 'crm'"),
        ("pilot", "robot", "", r"kind: 'robot' is not one of"),
    ],
)
def test_an_inconsistent_file_is_refused_and_nothing_is_written(
    tmp_path, stage, kind, extra, message
):
    path = demo_file(tmp_path, stage=stage, kind=kind, extra=extra)
    with pytest.raises(DemoDataError, match=message):
        load_demo_portfolio(path)
    assert not Vision.objects.exists()
    assert not Initiative.objects.exists()


def test_the_demo_file_is_well_formed():
    data = read_demo_file(DEFAULT_DEMO_PATH)
    refs = [item["ref"] for item in data["initiatives"]]
    assert len(refs) == len(set(refs))
    names = [item["name"] for item in data["initiatives"]]
    assert len(names) == len(set(names))
    assert sum(bool(item.get("imported")) for item in data["initiatives"]) >= 8
