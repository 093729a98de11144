"""The demo portfolio: a hand-written company built through the domain, not inserted as rows.

`fixtures/demo_portfolio.yaml` describes Nordlicht Energie GmbH in natural keys. Initiatives are
created at `idea` and walked through `lifecycle.initiative_transition` like the PMO would, so
every stage change passes its gates; those marked `imported` come in at their stage the way a
sync brings in an existing inventory, so their missing evidence shows as gate gaps. The
closed 2026-Q3 review is held through the review service, which freezes each decision's
snapshot, before the moves the review decided on are made.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from registry import permissions
from registry.choices import (
    STAGE_ORDER,
    AlignmentStrength,
    Autonomy,
    Channel,
    Decision,
    DepartmentFunction,
    Direction,
    InteractionMode,
    JourneyStage,
    Kind,
    LearningOutcome,
    Metric,
    NoteKind,
    ReviewStatus,
    RiskTier,
    Stage,
    Stance,
    SystemCategory,
    TeamRoleKind,
    Touchpoint,
    VisionStatus,
    VoiceReviewOutcome,
)
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    Initiative,
    Learning,
    Measurement,
    Note,
    Person,
    ProactiveStance,
    Review,
    ReviewDecision,
    StageChange,
    System,
    Tag,
    TeamRole,
    Vision,
    VoiceReview,
)
from registry.quarters import quarter_bounds
from registry.services.history import history_context
from registry.services.lifecycle import TransitionError, initiative_transition, record_initial_stage
from registry.services.reviews import ReviewError, review_close, review_decide, review_open
from registry.services.saved_views import SavedView, saved_views_seed_standing

DEFAULT_DEMO_PATH = Path(settings.BASE_DIR) / "fixtures" / "demo_portfolio.yaml"
ACTOR_NAME = "load_demo"
IMPORTED_FROM = "spreadsheet"
# Journal entries are dated in the company's working day, not at midnight.
NOTE_TIME = datetime.time(10, 0)


class DemoDataError(ValueError):
    """The demo file is inconsistent; the message names the entry and what is wrong."""


class DemoAlreadyLoadedError(DemoDataError):
    """A vision exists already: the demo only goes into an empty registry."""


@dataclass(frozen=True)
class DemoSummary:
    """What a load created, counted in the database afterwards."""

    counts: dict[str, int]
    keys_by_ref: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{name}: {count}" for name, count in self.counts.items()]


@dataclass(frozen=True)
class DemoLogin:
    """A login for trying the registry in one of its roles."""

    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    email: str
    person_email: str = ""


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(
        "pmo", "pmo-demo", permissions.PMO, "Portfolio", "Office", "pmo@nordlicht-energie.example"
    ),
    DemoLogin(
        "viewer",
        "viewer-demo",
        permissions.VIEWER,
        "Board",
        "Viewer",
        "viewer@nordlicht-energie.example",
    ),
    # The contributor is a real person of the demo company who owns a few initiatives.
    DemoLogin(
        "contributor",
        "contributor-demo",
        permissions.CONTRIBUTOR,
        "Emma",
        "Richter",
        "emma.richter@nordlicht-energie.example",
        person_email="emma.richter@nordlicht-energie.example",
    ),
)


# --- reading ------------------------------------------------------------------------------------


def _fields(names: str) -> frozenset[str]:
    return frozenset(names.split())


# The fields each entry may have: anything else is a typo and fails the load.
SECTION_KEYS = _fields(
    "company departments people systems tags visions initiatives dependencies reviews "
    "voice_principles voice_reviews learnings"
)
DEPARTMENT_KEYS = _fields("slug name function")
PERSON_KEYS = _fields("email name department title")
SYSTEM_KEYS = _fields("slug name category owner_department vendor contains_personal_data")
VISION_KEYS = _fields(
    "title status statement horizon_start horizon_end executive_sponsor goals stances"
)
STANCE_KEYS = _fields("touchpoint journey_stage stance rationale")
GOAL_KEYS = _fields(
    "code parent title theme metric unit direction baseline baseline_date target "
    "target_date weight owner measurements notes touchpoints journey_stages"
)
INITIATIVE_KEYS = _fields(
    "ref name kind stage review_stage paused_from stopped_from path transition_notes "
    "imported owner lead_department departments summary touchpoints journey_stages "
    "interaction_mode autonomy customer_segments systems tags budget_planned budget_spent "
    "currency expected_benefit start_date target_date end_date risk_tier customer_facing "
    "uses_personal_data confidential hypothesis success_criteria learnings source "
    "external_id external_url alignments team notes"
)
ALIGNMENT_KEYS = _fields("goal strength primary expected_impact rationale")
TEAM_KEYS = _fields("person role")
NOTE_KEYS = _fields("at kind text")
DEPENDENCY_KEYS = _fields("from to note")
REVIEW_KEYS = _fields("vision period held_on status summary notes decisions")
DECISION_KEYS = _fields("initiative decision rationale")
VOICE_PRINCIPLE_KEYS = _fields("vision tone language ai_disclosure handover")
VOICE_REVIEW_KEYS = _fields("initiative at outcome note reviewer")
LEARNING_KEYS = _fields("initiative hypothesis outcome effect lesson recorded_on")


def read_demo_file(path: str | Path) -> dict[str, Any]:
    """The parsed demo file; DemoDataError when it is not a mapping of the known sections."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DemoDataError(f"{path} must hold a mapping of sections.")
    _check_keys(data, SECTION_KEYS, "the demo file")
    return data


def _check_keys(entry: Any, allowed: frozenset[str], where: str) -> None:
    # A typo (or an unquoted comma in a flow mapping) must fail loudly, not load half an entry.
    if not isinstance(entry, Mapping):
        raise DemoDataError(f"{where} must be a mapping, not {entry!r}.")
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        raise DemoDataError(f"{where} has unknown field(s): {', '.join(unknown)}.")


def _choice(value: Any, choices: type[TextChoices], where: str) -> str:
    if value not in choices.values:
        raise DemoDataError(f"{where}: {value!r} is not one of {', '.join(choices.values)}.")
    return str(value)


def _choices(values: Any, choices: type[TextChoices], where: str) -> list[str]:
    return [_choice(value, choices, where) for value in values or ()]


def _date(value: Any, where: str) -> datetime.date | None:
    if value is None or isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise DemoDataError(f"{where}: {value!r} is not a date like 2026-01-31.") from exc


def _decimal(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise DemoDataError(f"{where}: {value!r} is not a number.") from exc


def _at(day: Any, time: datetime.time, where: str) -> datetime.datetime:
    parsed = _date(day, where)
    if parsed is None:
        raise DemoDataError(f"{where}: a date is required.")
    return timezone.make_aware(datetime.datetime.combine(parsed, time))


def quarter_end(period: str) -> datetime.date:
    """Last day of a quarter such as `2026-Q3`, the day a quarterly measurement is taken."""
    try:
        return quarter_bounds(period)[1]
    except ValueError as exc:
        raise DemoDataError(str(exc)) from exc


# --- lifecycle paths ----------------------------------------------------------------------------


def lifecycle_path(spec: Mapping[str, Any], where: str) -> list[str]:
    """The stages a non-imported initiative moves through after `idea`, in order."""
    stage = _choice(spec.get("stage", Stage.IDEA), Stage, f"{where} stage")
    if "path" in spec:
        path = _choices(spec["path"], Stage, f"{where} path")
        if (path[-1] if path else Stage.IDEA) != stage:
            raise DemoDataError(f"{where}: the path must end at the stage {stage}.")
        return path
    if stage == Stage.PAUSED:
        return [*_main_line_to(spec.get("paused_from"), f"{where} paused_from"), Stage.PAUSED]
    if stage == Stage.STOPPED:
        return [*_main_line_to(spec.get("stopped_from"), f"{where} stopped_from"), Stage.STOPPED]
    return _main_line_to(stage, f"{where} stage")


def _main_line_to(stage: Any, where: str) -> list[str]:
    if stage not in STAGE_ORDER:
        raise DemoDataError(f"{where}: {stage!r} is not a stage of the main line.")
    return list(STAGE_ORDER[1 : STAGE_ORDER.index(stage) + 1])


def split_at_review(path: list[str], review_stage: str | None, where: str) -> int:
    """How many moves of `path` happen before the review decides (the rest follow it)."""
    if review_stage is None:
        return len(path)
    if review_stage == Stage.IDEA:
        return 0
    if review_stage not in path:
        raise DemoDataError(f"{where}: review_stage {review_stage} is not on its path {path}.")
    return len(path) - path[::-1].index(review_stage)


# --- loading ------------------------------------------------------------------------------------


@dataclass
class _PlannedInitiative:
    ref: str
    spec: Mapping[str, Any]
    initiative: Initiative
    imported: bool
    path: list[str]
    moves_before_review: int


class _DemoLoader:
    """Builds the demo company in dependency order; every lookup fails with a clear message."""

    def __init__(self, data: Mapping[str, Any], *, actor: Any = None) -> None:
        self.data = data
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.actor_name = self.actor.get_username() if self.actor else ACTOR_NAME
        self.departments: dict[str, Department] = {}
        self.people: dict[str, Person] = {}
        self.systems: dict[str, System] = {}
        self.tags: dict[str, Tag] = {}
        self.visions: list[Vision] = []
        self.goals: dict[str, Goal] = {}
        self.planned: dict[str, _PlannedInitiative] = {}

    # lookups
    def department(self, slug: Any, where: str) -> Department | None:
        if slug is None:
            return None
        try:
            return self.departments[slug]
        except KeyError:
            raise DemoDataError(f"{where}: unknown department {slug!r}.") from None

    def person(self, email: Any, where: str) -> Person | None:
        if email is None:
            return None
        try:
            return self.people[str(email).strip().lower()]
        except KeyError:
            raise DemoDataError(f"{where}: unknown person {email!r}.") from None

    def system(self, slug: str, where: str) -> System:
        try:
            return self.systems[slug]
        except KeyError:
            raise DemoDataError(f"{where}: unknown system {slug!r}.") from None

    def tag(self, name: str, where: str) -> Tag:
        try:
            return self.tags[name]
        except KeyError:
            raise DemoDataError(f"{where}: tag {name!r} is not listed under tags.") from None

    def goal(self, code: str, where: str) -> Goal:
        try:
            return self.goals[code]
        except KeyError:
            raise DemoDataError(f"{where}: unknown goal {code!r}.") from None

    def planned_initiative(self, ref: str, where: str) -> _PlannedInitiative:
        try:
            return self.planned[ref]
        except KeyError:
            raise DemoDataError(f"{where}: unknown initiative ref {ref!r}.") from None

    # sections
    def load(self) -> dict[str, str]:
        self.load_organisation()
        self.load_visions()
        self.load_initiatives()
        self.load_voice_and_learnings()
        self.load_dependencies()
        self.walk(before_review=True)
        self.load_reviews()
        self.walk(before_review=False)
        return {ref: plan.initiative.key for ref, plan in self.planned.items()}

    def load_organisation(self) -> None:
        departments = []
        for entry in self.data.get("departments") or ():
            _check_keys(entry, DEPARTMENT_KEYS, f"department {entry!r}")
            where = f"department {entry.get('slug')!r}"
            departments.append(
                Department(
                    slug=entry["slug"],
                    name=entry["name"],
                    function=_choice(entry["function"], DepartmentFunction, f"{where} function"),
                )
            )
        self.departments = {d.slug: d for d in Department.objects.bulk_create(departments)}

        people = []
        for entry in self.data.get("people") or ():
            _check_keys(entry, PERSON_KEYS, f"person {entry!r}")
            where = f"person {entry.get('email')!r}"
            people.append(
                Person(
                    email=str(entry["email"]).strip().lower(),
                    name=entry["name"],
                    department=self.department(entry.get("department"), where),
                    title=entry.get("title") or "",
                )
            )
        self.people = {p.email: p for p in Person.objects.bulk_create(people)}

        systems = []
        for entry in self.data.get("systems") or ():
            _check_keys(entry, SYSTEM_KEYS, f"system {entry!r}")
            where = f"system {entry.get('slug')!r}"
            systems.append(
                System(
                    slug=entry["slug"],
                    name=entry["name"],
                    category=_choice(entry["category"], SystemCategory, f"{where} category"),
                    owner_department=self.department(entry.get("owner_department"), where),
                    vendor=entry.get("vendor") or "",
                    contains_personal_data=bool(entry.get("contains_personal_data")),
                )
            )
        self.systems = {s.slug: s for s in System.objects.bulk_create(systems)}

        tags = [Tag(name=name) for name in self.data.get("tags") or ()]
        self.tags = {t.name: t for t in Tag.objects.bulk_create(tags)}

    def load_visions(self) -> None:
        measurements: list[Measurement] = []
        notes: list[Note] = []
        for entry in self.data.get("visions") or ():
            _check_keys(entry, VISION_KEYS, f"vision {entry.get('title')!r}")
            where = f"vision {entry['title']!r}"
            vision = Vision.objects.create(
                title=entry["title"],
                statement=entry["statement"],
                horizon_start=_date(entry["horizon_start"], f"{where} horizon_start"),
                horizon_end=_date(entry["horizon_end"], f"{where} horizon_end"),
                executive_sponsor=self.person(entry.get("executive_sponsor"), where),
                status=_choice(entry.get("status", VisionStatus.DRAFT), VisionStatus, where),
            )
            self.visions.append(vision)
            self.load_stances(vision, entry.get("stances") or ())
            for goal_entry in entry.get("goals") or ():
                goal, goal_measurements, goal_notes = self.build_goal(vision, goal_entry)
                measurements.extend(goal_measurements)
                notes.extend(goal_notes)
        Measurement.objects.bulk_create(measurements)
        Note.objects.bulk_create(notes)

    def load_stances(self, vision: Vision, entries: Iterable[Mapping[str, Any]]) -> None:
        """The vision's proactive stance, before any initiative moves through its gate."""
        for entry in entries:
            where = f"stance {entry.get('touchpoint')!r}"
            _check_keys(entry, STANCE_KEYS, where)
            ProactiveStance.objects.create(
                vision=vision,
                touchpoint=_choice(entry["touchpoint"], Touchpoint, f"{where} touchpoint"),
                journey_stage=(
                    _choice(entry["journey_stage"], JourneyStage, f"{where} journey_stage")
                    if entry.get("journey_stage")
                    else ""
                ),
                stance=_choice(entry["stance"], Stance, f"{where} stance"),
                rationale=str(entry["rationale"]).strip(),
            )

    def build_goal(
        self, vision: Vision, entry: Mapping[str, Any]
    ) -> tuple[Goal, list[Measurement], list[Note]]:
        _check_keys(entry, GOAL_KEYS, f"goal {entry.get('code')!r}")
        code = entry["code"]
        where = f"goal {code}"
        if code in self.goals:
            raise DemoDataError(f"{where} is defined twice.")
        parent = self.goal(entry["parent"], f"{where} parent") if entry.get("parent") else None
        if parent is not None and parent.vision_id != vision.pk:
            raise DemoDataError(f"{where}: its parent {parent.code} belongs to another vision.")
        goal = Goal.objects.create(
            vision=vision,
            parent=parent,
            code=code,
            title=entry["title"],
            theme=entry.get("theme") or "",
            metric=_choice(entry["metric"], Metric, f"{where} metric"),
            unit=entry["unit"],
            direction=_choice(entry["direction"], Direction, f"{where} direction"),
            baseline=_decimal(entry["baseline"], f"{where} baseline"),
            baseline_date=_date(entry["baseline_date"], f"{where} baseline_date"),
            target=_decimal(entry["target"], f"{where} target"),
            target_date=_date(entry["target_date"], f"{where} target_date"),
            weight=entry.get("weight", 1),
            owner=self.person(entry.get("owner"), f"{where} owner"),
            touchpoints=_choices(entry.get("touchpoints") or [], Touchpoint, where),
            journey_stages=_choices(entry.get("journey_stages") or [], JourneyStage, where),
        )
        self.goals[code] = goal
        series = entry.get("measurements") or {}
        measurements = [
            Measurement(
                goal=goal,
                observed_on=quarter_end(str(period)),
                value=_decimal(value, f"{where} measurement {period}"),
                source=series.get("source") or "",
            )
            for period, value in (series.get("values") or {}).items()
        ]
        notes = [
            self.build_note(note, f"{where} note", goal=goal) for note in entry.get("notes") or ()
        ]
        return goal, measurements, notes

    def build_note(self, entry: Mapping[str, Any], where: str, **subject: Any) -> Note:
        _check_keys(entry, NOTE_KEYS, where)
        if not str(entry.get("text") or "").strip():
            raise DemoDataError(f"{where}: a note needs a text.")
        return Note(
            **subject,
            author=self.actor,
            at=_at(entry.get("at"), NOTE_TIME, f"{where} at"),
            kind=_choice(entry.get("kind", NoteKind.INFO), NoteKind, f"{where} kind"),
            text=str(entry["text"]).strip(),
        )

    def load_initiatives(self) -> None:
        plans: list[_PlannedInitiative] = []
        for spec in self.data.get("initiatives") or ():
            _check_keys(spec, INITIATIVE_KEYS, f"initiative {spec.get('ref')!r}")
            ref = spec.get("ref")
            where = f"initiative {ref!r}"
            if not ref or ref in {plan.ref for plan in plans}:
                raise DemoDataError(f"{where}: every initiative needs its own ref.")
            imported = bool(spec.get("imported"))
            stage = _choice(spec.get("stage", Stage.IDEA), Stage, f"{where} stage")
            if imported:
                if spec.get("review_stage") not in (None, stage) or "path" in spec:
                    raise DemoDataError(f"{where}: an imported initiative stays at its stage.")
                path, before_review = [], 0
            else:
                path = lifecycle_path(spec, where)
                before_review = split_at_review(path, spec.get("review_stage"), where)
            if stage in (Stage.RETIRED, Stage.STOPPED) and not spec.get("end_date"):
                # Otherwise the move would stamp today's date and shift the demo's quarters.
                raise DemoDataError(f"{where}: a {stage} initiative needs an end_date.")
            initiative = self.build_initiative(spec, where, stage=stage, imported=imported)
            plans.append(_PlannedInitiative(ref, spec, initiative, imported, path, before_review))

        # bulk_create reads the generated keys (AI-0001 …) back, in the file's order.
        Initiative.objects.bulk_create([plan.initiative for plan in plans])
        self.planned = {plan.ref: plan for plan in plans}

        departments_through = Initiative.departments.through
        systems_through = Initiative.systems.through
        tags_through = Initiative.tags.through
        department_links, system_links, tag_links = [], [], []
        alignments: list[Alignment] = []
        team: list[TeamRole] = []
        notes: list[Note] = []
        for plan in self.planned.values():
            spec, initiative, where = plan.spec, plan.initiative, f"initiative {plan.ref!r}"
            department_links += [
                departments_through(initiative=initiative, department=self.department(slug, where))
                for slug in dict.fromkeys(spec.get("departments") or ())
            ]
            system_links += [
                systems_through(initiative=initiative, system=self.system(slug, where))
                for slug in dict.fromkeys(spec.get("systems") or ())
            ]
            tag_links += [
                tags_through(initiative=initiative, tag=self.tag(name, where))
                for name in dict.fromkeys(spec.get("tags") or ())
            ]
            alignments += self.build_alignments(initiative, spec.get("alignments") or (), where)
            for member in spec.get("team") or ():
                _check_keys(member, TEAM_KEYS, f"{where} team member")
                team.append(
                    TeamRole(
                        initiative=initiative,
                        person=self.person(member["person"], f"{where} team"),
                        role=_choice(member["role"], TeamRoleKind, f"{where} team role"),
                    )
                )
            notes += [
                self.build_note(note, f"{where} note", initiative=initiative)
                for note in spec.get("notes") or ()
            ]
        departments_through.objects.bulk_create(department_links)
        systems_through.objects.bulk_create(system_links)
        tags_through.objects.bulk_create(tag_links)
        Alignment.objects.bulk_create(alignments)
        TeamRole.objects.bulk_create(team)
        Note.objects.bulk_create(notes)

        for plan in self.planned.values():
            record_initial_stage(
                initiative=plan.initiative,
                actor=self.actor,
                actor_name=self.actor_name,
                imported_from=IMPORTED_FROM if plan.imported else "",
                note=(
                    "Imported at this stage from the 2024 AI use-case spreadsheet."
                    if plan.imported
                    else ""
                ),
            )

    def build_initiative(
        self, spec: Mapping[str, Any], where: str, *, stage: str, imported: bool
    ) -> Initiative:
        start_date = _date(spec.get("start_date"), f"{where} start_date")
        owner = self.person(spec.get("owner"), f"{where} owner")
        paused_from = ""
        if imported and stage == Stage.PAUSED:
            paused_from = _choice(spec.get("paused_from"), Stage, f"{where} paused_from")
        return Initiative(
            name=spec["name"],
            summary=str(spec.get("summary") or "").strip(),
            kind=_choice(spec["kind"], Kind, f"{where} kind"),
            stage=stage if imported else Stage.IDEA,
            paused_from=paused_from,
            owner=owner,
            lead_department=self.department(spec.get("lead_department"), where),
            touchpoints=_choices(spec.get("touchpoints"), Touchpoint, f"{where} touchpoints"),
            journey_stages=_choices(
                spec.get("journey_stages"), JourneyStage, f"{where} journey_stages"
            ),
            interaction_mode=_choice(
                spec.get("interaction_mode", InteractionMode.REACTIVE),
                InteractionMode,
                f"{where} interaction_mode",
            ),
            customer_segments=[str(s) for s in spec.get("customer_segments") or ()],
            autonomy=_choice(
                spec.get("autonomy", Autonomy.HUMAN_IN_THE_LOOP), Autonomy, f"{where} autonomy"
            ),
            budget_planned=_decimal(spec.get("budget_planned", 0), f"{where} budget_planned"),
            budget_spent=_decimal(spec.get("budget_spent", 0), f"{where} budget_spent"),
            currency=spec.get("currency", "EUR"),
            expected_benefit=str(spec.get("expected_benefit") or "").strip(),
            start_date=start_date,
            target_date=_date(spec.get("target_date"), f"{where} target_date"),
            end_date=_date(spec.get("end_date"), f"{where} end_date"),
            risk_tier=_choice(
                spec.get("risk_tier", RiskTier.MINIMAL), RiskTier, f"{where} risk_tier"
            ),
            customer_facing=bool(spec.get("customer_facing")),
            uses_personal_data=bool(spec.get("uses_personal_data")),
            confidential=bool(spec.get("confidential")),
            hypothesis=str(spec.get("hypothesis") or "").strip(),
            success_criteria=str(spec.get("success_criteria") or "").strip(),
            learnings=str(spec.get("learnings") or "").strip(),
            source=spec.get("source") or "",
            external_id=spec.get("external_id"),
            external_url=spec.get("external_url") or "",
            created_by=self.actor,
            updated_by=self.actor,
        )

    def build_alignments(
        self, initiative: Initiative, entries: Iterable[Mapping[str, Any]], where: str
    ) -> list[Alignment]:
        alignments = []
        for entry in entries:
            _check_keys(entry, ALIGNMENT_KEYS, f"{where} alignment")
            strength = entry.get("strength")
            if strength not in AlignmentStrength.values:
                raise DemoDataError(f"{where}: alignment strength must be 1, 2 or 3.")
            alignments.append(
                Alignment(
                    initiative=initiative,
                    goal=self.goal(entry["goal"], f"{where} alignment"),
                    strength=strength,
                    is_primary=bool(entry.get("primary")),
                    expected_impact=_decimal(entry.get("expected_impact"), f"{where} impact"),
                    rationale=str(entry.get("rationale") or "").strip(),
                )
            )
        primaries = sum(a.is_primary for a in alignments)
        if alignments and primaries != 1:
            raise DemoDataError(
                f"{where}: exactly one alignment must be primary, found {primaries}."
            )
        return alignments

    def load_dependencies(self) -> None:
        dependencies = []
        for entry in self.data.get("dependencies") or ():
            _check_keys(entry, DEPENDENCY_KEYS, f"dependency {entry!r}")
            where = f"dependency {entry.get('from')!r} → {entry.get('to')!r}"
            dependencies.append(
                Dependency(
                    from_initiative=self.planned_initiative(entry["from"], where).initiative,
                    to_initiative=self.planned_initiative(entry["to"], where).initiative,
                    note=str(entry.get("note") or "").strip(),
                )
            )
        Dependency.objects.bulk_create(dependencies)

    def walk(self, *, before_review: bool) -> None:
        """Move each initiative along its path: up to the review, or from it to the end."""
        for plan in self.planned.values():
            moves = (
                plan.path[: plan.moves_before_review]
                if before_review
                else plan.path[plan.moves_before_review :]
            )
            notes = plan.spec.get("transition_notes") or {}
            for to_stage in moves:
                note_key = "resume" if plan.initiative.stage == Stage.PAUSED else to_stage
                try:
                    initiative_transition(
                        initiative=plan.initiative,
                        to_stage=to_stage,
                        actor=self.actor,
                        actor_name=self.actor_name,
                        note=str(notes.get(note_key) or "").strip(),
                    )
                except TransitionError as exc:
                    raise DemoDataError(f"initiative {plan.ref!r}: {exc.message}") from exc

    def load_voice_and_learnings(self) -> None:
        """The vision's voice principles, voice reviews and learnings (before the walk: a
        customer-facing pilot scales only with a passed voice review)."""
        for entry in self.data.get("voice_principles") or ():
            _check_keys(entry, VOICE_PRINCIPLE_KEYS, "voice principles")
            vision = self.review_vision(entry.get("vision", "active"), "voice principles")
            for name in ("tone", "language", "ai_disclosure", "handover"):
                setattr(vision, f"voice_{name}", str(entry.get(name) or "").strip())
            vision.save()
        reviews = []
        for entry in self.data.get("voice_reviews") or ():
            _check_keys(entry, VOICE_REVIEW_KEYS, "voice review")
            where = f"voice review of {entry.get('initiative')!r}"
            reviews.append(
                VoiceReview(
                    initiative=self.planned_initiative(entry.get("initiative"), where).initiative,
                    reviewed_at=_at(entry.get("at"), datetime.time(11), where),
                    outcome=_choice(entry.get("outcome"), VoiceReviewOutcome, f"{where} outcome"),
                    note=str(entry.get("note") or "").strip(),
                    reviewer_name=str(entry.get("reviewer") or self.actor_name),
                )
            )
        VoiceReview.objects.bulk_create(reviews)
        learnings = []
        for entry in self.data.get("learnings") or ():
            _check_keys(entry, LEARNING_KEYS, "learning")
            where = f"learning of {entry.get('initiative')!r}"
            learnings.append(
                Learning(
                    initiative=self.planned_initiative(entry.get("initiative"), where).initiative,
                    hypothesis=str(entry.get("hypothesis") or "").strip(),
                    outcome=_choice(entry.get("outcome"), LearningOutcome, f"{where} outcome"),
                    effect=str(entry.get("effect") or "").strip(),
                    lesson=str(entry.get("lesson") or "").strip(),
                    recorded_on=_date(entry.get("recorded_on"), f"{where} recorded_on"),
                )
            )
        Learning.objects.bulk_create(learnings)

    def load_reviews(self) -> None:
        for entry in self.data.get("reviews") or ():
            _check_keys(entry, REVIEW_KEYS, f"review {entry.get('period')!r}")
            self.load_review(entry)

    def load_review(self, entry: Mapping[str, Any]) -> None:
        """Open the review, decide, close it — through the review service, like the board does.

        Decisions are taken while initiatives stand where they stood in the meeting; the moves
        the review decided on follow in the second walk.
        """
        period = str(entry["period"])
        where = f"review {period}"
        vision = self.review_vision(entry.get("vision", "active"), where)
        held_on = _date(entry.get("held_on"), f"{where} held_on")
        status = _choice(entry.get("status", ReviewStatus.OPEN), ReviewStatus, f"{where} status")
        refs = {plan.initiative.key: ref for ref, plan in self.planned.items()}
        try:
            review = review_open(
                vision=vision,
                period=period,
                actor=self.actor,
                held_on=held_on,
                summary=str(entry.get("summary") or "").strip(),
            )
            seen: set[str] = set()
            for decision in entry.get("decisions") or ():
                _check_keys(decision, DECISION_KEYS, f"{where} decision")
                plan = self.planned_initiative(decision["initiative"], f"{where} decision")
                if plan.ref in seen:
                    raise DemoDataError(f"{where}: two decisions on {plan.ref!r}.")
                seen.add(plan.ref)
                review_decide(
                    review=review,
                    initiative=plan.initiative,
                    decision=_choice(
                        decision["decision"], Decision, f"{where} decision on {plan.ref!r}"
                    ),
                    rationale=str(decision.get("rationale") or "").strip(),
                    actor=self.actor,
                )
            Note.objects.bulk_create(
                [
                    self.build_note(note, f"{where} note", review=review)
                    for note in entry.get("notes") or ()
                ]
            )
            if status == ReviewStatus.CLOSED:
                review_close(review=review, actor=self.actor, held_on=held_on)
        except ReviewError as exc:
            named = ", ".join(refs.get(key, key) for key in exc.keys)
            raise DemoDataError(
                f"{where}: {exc.message}" + (f" ({named})" if named else "")
            ) from exc

    def review_vision(self, name: str, where: str) -> Vision:
        for vision in self.visions:
            if (name == "active" and vision.status == VisionStatus.ACTIVE) or vision.title == name:
                return vision
        raise DemoDataError(f"{where}: unknown vision {name!r}.")


def demo_counts() -> dict[str, int]:
    """Counts of what the demo fills, for the command's summary."""
    return {
        "departments": Department.objects.count(),
        "people": Person.objects.count(),
        "systems": System.objects.count(),
        "tags": Tag.objects.count(),
        "visions": Vision.objects.count(),
        "goals": Goal.objects.count(),
        "measurements": Measurement.objects.count(),
        "initiatives": Initiative.objects.count(),
        "alignments": Alignment.objects.count(),
        "team roles": TeamRole.objects.count(),
        "dependencies": Dependency.objects.count(),
        "notes": Note.objects.count(),
        "stage changes": StageChange.objects.count(),
        "reviews": Review.objects.count(),
        "review decisions": ReviewDecision.objects.count(),
        "voice reviews": VoiceReview.objects.count(),
        "learnings": Learning.objects.count(),
    }


def load_demo_portfolio(path: str | Path = DEFAULT_DEMO_PATH, *, actor: Any = None) -> DemoSummary:
    """Build the demo portfolio from `path` in one transaction; only into an empty registry."""
    data = read_demo_file(path)
    with history_context(channel=Channel.COMMAND, actor=ACTOR_NAME), transaction.atomic():
        if Vision.objects.exists():
            raise DemoAlreadyLoadedError("A vision exists already; the demo is not loaded twice.")
        keys_by_ref = _DemoLoader(data, actor=actor).load()
        return DemoSummary(counts=demo_counts(), keys_by_ref=keys_by_ref)


@transaction.atomic
def ensure_demo_logins() -> list[DemoLogin]:
    """Create or repair the demo logins; writes nothing when they are already as they should be."""
    user_model = get_user_model()
    with history_context(channel=Channel.COMMAND, actor=ACTOR_NAME):
        for login in DEMO_LOGINS:
            user, created = user_model.objects.get_or_create(
                username=login.username,
                defaults={
                    "first_name": login.first_name,
                    "last_name": login.last_name,
                    "email": login.email,
                    "is_staff": True,
                },
            )
            wanted = {"is_staff": True, "is_superuser": False, "is_active": True}
            changed = [name for name, value in wanted.items() if getattr(user, name) != value]
            for name in changed:
                setattr(user, name, wanted[name])
            if created or not user.check_password(login.password):
                user.set_password(login.password)
                changed.append("password")
            if changed:
                user.save(update_fields=changed)
            user.groups.add(Group.objects.get(name=login.role))
            if login.person_email:
                person = Person.objects.filter(email=login.person_email).first()
                if person is not None and person.user_id != user.pk:
                    Person.objects.filter(user=user).exclude(pk=person.pk).update(user=None)
                    person.user = user
                    person.save(update_fields=["user", "updated_at"])
    return list(DEMO_LOGINS)


def ensure_demo_saved_views() -> list[SavedView]:
    """The review's standing queries as shared saved views of the demo PMO (kept if present)."""
    pmo = next(login for login in DEMO_LOGINS if login.role == permissions.PMO)
    owner = get_user_model().objects.get(username=pmo.username)
    return saved_views_seed_standing(owner=owner)
