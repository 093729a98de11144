"""A synthetic portfolio for benchmarks: 1k to 1M initiatives in minutes.

Built set-based: initiatives and people are streamed with COPY (psycopg 3 `cursor.copy`)
from rows made by a seeded random generator, and every link table (alignments, tags,
participating departments, systems, team roles, stage history) is filled by one
`INSERT … SELECT` that derives its rows from the initiative ids with a hash, so the data is
the same on every run and no row makes a round trip through Python.

The load runs with `session_replication_role = replica`, which switches off every trigger of
the session: pghistory's history triggers, the webhook outbox triggers, the deferred
"one primary" check and the foreign-key triggers. That is safe because the generator writes
consistent data by construction (exactly one primary per aligned initiative, gates met for
each stage, every id it points to exists), and it is what makes a million rows load in
minutes. History is then written set-based as the triggers would have written it: one
insert event per initiative (under one "seed_bench" history context) and an archive event
per archived one. Secondary indexes of the big tables are dropped before the load and built
again after it (a bulk index build is many times faster than row-by-row maintenance), then
`VACUUM ANALYZE` gives the planner real statistics.
"""

from __future__ import annotations

import datetime
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connections

from registry import choices
from registry.choices import Stage
from registry.selectors import rollup

SEED = 20260101
ACTIVE_GOALS = 12
RETIRED_GOALS = 4
TAG_COUNT = 60
SOURCES: tuple[tuple[str, str, int], ...] = (
    # (source, external id prefix, share in percent); the rest is registered by hand.
    ("jira", "CX", 35),
    ("servicenow", "PRJ", 20),
    ("catalogue", "UC", 10),
)
# Share of initiatives per stage, in percent (sums to 100).
STAGE_MIX: tuple[tuple[str, int], ...] = (
    (Stage.IDEA, 22),
    (Stage.PROPOSED, 15),
    (Stage.APPROVED, 10),
    (Stage.PILOT, 16),
    (Stage.SCALING, 8),
    (Stage.PRODUCTION, 15),
    (Stage.RETIRED, 6),
    (Stage.PAUSED, 5),
    (Stage.STOPPED, 3),
)
# How each stage was reached (the lifecycle's main line; paused and stopped from pilot).
STAGE_PATHS: dict[str, tuple[tuple[str, str], ...]] = {}
_line = [str(s) for s in choices.STAGE_ORDER]
for _index, _stage in enumerate(_line):
    STAGE_PATHS[_stage] = (("", _line[0]),) + tuple((_line[i], _line[i + 1]) for i in range(_index))
STAGE_PATHS["paused"] = (*STAGE_PATHS["pilot"], ("pilot", "paused"))
STAGE_PATHS["stopped"] = (*STAGE_PATHS["pilot"], ("pilot", "stopped"))
BEYOND_PROPOSED = {str(s) for s in (*choices.BEYOND_PROPOSED, Stage.PAUSED, Stage.STOPPED)}
NEEDS_EXPERIMENT = BEYOND_PROPOSED - {Stage.APPROVED}
NEEDS_LEARNINGS = {Stage.SCALING, Stage.PRODUCTION, Stage.RETIRED, Stage.STOPPED}

BRANDS = (
    "Nordlicht",
    "Sonnenhof",
    "Bergwerk",
    "Kuestenstrom",
    "Alpenmobil",
    "Rheinbank",
    "Elbversand",
    "Hansewohnen",
)
FUNCTIONS = [str(f) for f in choices.DepartmentFunction.values]
KIND_WORDS = {
    "chatbot": ("Chatbot", "Virtual agent", "Service assistant"),
    "voicebot": ("Voicebot", "IVR assistant", "Voice agent"),
    "agent_assist": ("Agent assist", "Reply suggestions", "Knowledge copilot"),
    "automation": ("E-mail triage", "Claims automation", "Back-office RPA"),
    "predictive_analytics": ("Churn prediction", "Demand forecast", "Propensity model"),
    "personalization": ("Next best offer", "Recommendations", "Personalised journeys"),
    "generative_content": ("Content studio", "Product texts", "Letter drafting"),
    "sentiment_analytics": ("Voice of the customer", "Sentiment radar", "Complaint mining"),
    "other": ("Pilot", "Experiment", "Prototype"),
}
TOPICS = (
    "billing questions",
    "tariff changes",
    "moving house",
    "meter readings",
    "payment reminders",
    "contract renewal",
    "onboarding",
    "outage reports",
    "delivery tracking",
    "returns",
    "complaints",
    "loyalty offers",
)
SEGMENTS = ("private", "business", "premium", "students", "seniors", "new-customers")
SYSTEM_CATEGORIES = [str(c) for c in choices.SystemCategory.values]
VENDORS = ("Salesforce", "SAP", "Genesys", "Snowflake", "OpenAI", "Adobe", "In-house", "Zendesk")
ROLES = [str(r) for r in choices.TeamRoleKind.values]
METRICS = (
    ("G-NPS", "Raise NPS", "loyalty", "nps", "points", "increase", "20", "45"),
    ("G-CSAT", "Raise service CSAT", "service", "csat", "%", "increase", "72", "85"),
    ("G-CES", "Cut customer effort", "service", "ces", "points", "decrease", "3.8", "2.5"),
    ("G-CHURN", "Reduce churn", "loyalty", "churn_rate", "%", "decrease", "11", "8"),
    ("G-FCR", "First-contact resolution", "service", "fcr", "%", "increase", "64", "80"),
    ("G-AHT", "Cut handling time", "efficiency", "aht", "seconds", "decrease", "340", "260"),
    ("G-SELF", "Grow digital self-service", "digital", "self_service_share", "%", "increase",
     "35", "60"),
    ("G-CONV", "Lift online conversion", "growth", "conversion", "%", "increase", "2.1", "3.0"),
    ("G-TTA", "Answer faster", "service", "time_to_answer", "seconds", "decrease", "90", "30"),
    ("G-RET", "Retain customers", "loyalty", "retention", "%", "increase", "82", "88"),
    ("G-REV", "Revenue per customer", "growth", "revenue_per_customer", "EUR", "increase",
     "410", "450"),
    ("G-DIGI", "Digital-first service", "digital", "other", "%", "increase", "20", "50"),
)  # fmt: skip


@dataclass
class Sizes:
    """How big each part of the portfolio is for N initiatives."""

    initiatives: int
    departments: int
    people: int
    systems: int

    @classmethod
    def for_initiatives(cls, n: int) -> Sizes:
        return cls(
            initiatives=n,
            departments=max(12, min(200, n // 1000)),
            people=max(60, n // 10),
            systems=max(10, min(400, n // 500)),
        )


@dataclass
class Report:
    """What was built and how long each step took (seconds)."""

    sizes: Sizes
    steps: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return round(sum(self.steps.values()), 1)


def _sql_list(values: list[str]) -> str:
    """Constant vocabulary codes as a SQL list (they are identifiers, never user input)."""
    assert all(value.replace("_", "").isalnum() for value in values)
    return ", ".join(f"'{value}'" for value in values)


def _coprime_step(n: int, start: int) -> int:
    """A step that walks n slots without repeating (so picks per initiative stay distinct)."""
    step = start
    while math.gcd(step, n) != 1:
        step += 1
    return step


class Generator:
    """Builds the synthetic portfolio on one database connection (alias)."""

    def __init__(
        self,
        *,
        initiatives: int,
        using: str = "default",
        seed: int = SEED,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.sizes = Sizes.for_initiatives(initiatives)
        self.using = using
        self.seed = seed
        self.random = random.Random(seed)
        self.log = log or (lambda message: None)
        self.report = Report(sizes=self.sizes)
        self.now = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def connection(self) -> Any:
        return connections[self.using]

    def execute(self, sql: str, params: Any = None) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def scalar(self, sql: str, params: Any = None) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def step(self, name: str, action: Callable[[], int | None]) -> None:
        started = time.perf_counter()
        rows = action()
        elapsed = time.perf_counter() - started
        self.report.steps[name] = round(elapsed, 2)
        if rows is not None:
            self.report.rows[name] = rows
        self.log(f"{name}: {rows if rows is not None else '-'} rows in {elapsed:.1f}s")

    def copy_rows(self, table: str, columns: list[str], rows: Iterator[tuple]) -> int:
        """Stream rows into a table with COPY (text format, one network round trip)."""
        count = 0
        raw = self.connection.connection  # the psycopg 3 connection under Django's wrapper
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    # --- the build --------------------------------------------------------------------------

    def run(self) -> Report:
        """Empty the registry's portfolio tables and build the synthetic portfolio."""
        self.connection.ensure_connection()
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("SET synchronous_commit = off")
        dropped: list[tuple[str, str]] = []
        try:
            self.step("truncate", self.truncate)
            self.step("drop secondary indexes", lambda: self.drop_indexes(dropped))
            self.step("users and context", self.users_and_context)
            self.step("departments", self.departments)
            self.step("people", self.people)
            self.step("systems and tags", self.systems_and_tags)
            self.step("visions and goals", self.visions_and_goals)
            self.step("initiatives (COPY)", self.initiatives)
            self.step("alignments", self.alignments)
            self.step("tags per initiative", self.initiative_tags)
            self.step("participating departments", self.initiative_departments)
            self.step("systems per initiative", self.initiative_systems)
            self.step("team roles", self.team_roles)
            self.step("stage history", self.stage_changes)
            self.step("dependencies", self.dependencies)
            self.step("history events", self.history_events)
            self.step("key sequence", self.key_sequence)
        finally:
            # Also after a failure: a benchmark database must never be left without indexes.
            self.step("build indexes", lambda: self.build_indexes(dropped))
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")
        self.step("report rollups", lambda: rollup.rebuild(self.connection))
        self.step("vacuum analyze", self.vacuum_analyze)
        return self.report

    PORTFOLIO_TABLES = (
        "registry_initiativeevent",
        "registry_alignmentevent",
        "registry_teamroleevent",
        "registry_initiativetagevent",
        "registry_initiativedepartmentevent",
        "registry_initiativesystemevent",
        "registry_dependencyevent",
        "registry_reviewdecisionevent",
        "registry_goalevent",
        "registry_visionevent",
        "registry_measurementevent",
        "registry_outboxevent",
        "registry_webhookdelivery",
        "registry_idempotencyrecord",
        "registry_reviewdecision",
        "registry_review",
        "registry_note",
        "registry_stagechange",
        "registry_dependency",
        "registry_teamrole",
        "registry_initiative_tags",
        "registry_initiative_systems",
        "registry_initiative_departments",
        "registry_alignment",
        "registry_initiative",
        "registry_measurement",
        "registry_webhooksubscription",
        "registry_goal",
        "registry_vision",
        "registry_system",
        "registry_tag",
        "registry_person",
        "registry_department",
    )
    BIG_TABLES = (
        "registry_initiative",
        "registry_alignment",
        "registry_initiative_tags",
        "registry_initiative_departments",
        "registry_initiative_systems",
        "registry_teamrole",
        "registry_stagechange",
        "registry_initiativeevent",
    )

    def truncate(self) -> None:
        self.execute(f"TRUNCATE {', '.join(self.PORTFOLIO_TABLES)} RESTART IDENTITY CASCADE")
        self.execute("ALTER SEQUENCE registry_initiative_key_seq RESTART WITH 1")

    def drop_indexes(self, dropped: list[tuple[str, str]]) -> int:
        """Drop indexes that back no constraint on the big tables; remember their DDL."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                JOIN pg_class t ON t.oid = i.indrelid
                LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
                WHERE t.relname = ANY(%s) AND c.oid IS NULL AND NOT i.indisprimary
                  AND NOT i.indisunique
                """,
                [list(self.BIG_TABLES)],
            )
            dropped.extend(cursor.fetchall())
            for name, _definition in dropped:
                cursor.execute(f"DROP INDEX {name}")
        return len(dropped)

    def build_indexes(self, dropped: list[tuple[str, str]]) -> int:
        with self.connection.cursor() as cursor:
            for _name, definition in dropped:
                cursor.execute(definition)
        return len(dropped)

    def users_and_context(self) -> int:
        from django.contrib.auth.models import Group, User

        from registry import permissions

        pmo, _ = User.objects.db_manager(self.using).get_or_create(
            username="bench-pmo", defaults={"is_staff": True, "is_superuser": True}
        )
        pmo.is_staff = pmo.is_superuser = True
        pmo.set_password("bench-pmo")
        pmo.save(using=self.using)
        group = Group.objects.db_manager(self.using).filter(name=permissions.PMO).first()
        if group is not None:
            pmo.groups.add(group)
        self.user_id = pmo.pk
        self.context_id = str(uuid.UUID(int=self.seed))
        self.execute(
            "INSERT INTO pghistory_context (id, created_at, updated_at, metadata) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            [
                self.context_id,
                self.now,
                self.now,
                json.dumps({"channel": "command", "actor": "seed_bench"}),
            ],
        )
        return 1

    def departments(self) -> int:
        rows = []
        for n in range(self.sizes.departments):
            function = FUNCTIONS[n % len(FUNCTIONS)]
            brand = BRANDS[(n // len(FUNCTIONS)) % len(BRANDS)]
            generation = n // (len(FUNCTIONS) * len(BRANDS))
            suffix = f" {generation + 1}" if generation else ""
            name = f"{brand} {function.title()}{suffix}"
            slug = f"{brand.lower()}-{function}{'-' + str(generation + 1) if generation else ''}"
            rows.append((self.now, self.now, name, slug, function))
        return self.copy_rows(
            "registry_department", ["created_at", "updated_at", "name", "slug", "function"],
            iter(rows),
        )  # fmt: skip

    def people(self) -> int:
        first = (
            "Anna",
            "Ben",
            "Clara",
            "David",
            "Eva",
            "Felix",
            "Greta",
            "Hannes",
            "Ida",
            "Jonas",
            "Katrin",
            "Lukas",
            "Mia",
            "Noah",
            "Olga",
            "Paul",
            "Rita",
            "Sven",
        )
        last = (
            "Becker",
            "Fischer",
            "Hoffmann",
            "Klein",
            "Koch",
            "Lange",
            "Meyer",
            "Neumann",
            "Richter",
            "Schmidt",
            "Schulz",
            "Wagner",
            "Weber",
            "Wolf",
            "Zimmermann",
        )
        titles = ("Product owner", "Service manager", "Data scientist", "CX lead", "Engineer",
                  "Analyst", "Head of department", "UX designer")  # fmt: skip
        rng = self.random
        departments = self.sizes.departments

        def rows() -> Iterator[tuple]:
            for n in range(1, self.sizes.people + 1):
                given, family = rng.choice(first), rng.choice(last)
                yield (
                    self.now,
                    self.now,
                    f"{given} {family}",
                    f"{given.lower()}.{family.lower()}.{n}@example.com",
                    rng.choice(titles),
                    1 + (n * 7) % departments,
                )

        return self.copy_rows(
            "registry_person",
            ["created_at", "updated_at", "name", "email", "title", "department_id"],
            rows(),
        )

    def systems_and_tags(self) -> int:
        rows = []
        for n in range(self.sizes.systems):
            category = SYSTEM_CATEGORIES[n % len(SYSTEM_CATEGORIES)]
            vendor = VENDORS[n % len(VENDORS)]
            name = f"{vendor} {category.replace('_', ' ')} {n + 1}"
            rows.append(
                (
                    self.now, self.now, name, f"sys-{n + 1}", category,
                    1 + n % self.sizes.departments, vendor, n % 3 == 0,
                )
            )  # fmt: skip
        count = self.copy_rows(
            "registry_system",
            ["created_at", "updated_at", "name", "slug", "category", "owner_department_id",
             "vendor", "contains_personal_data"],
            iter(rows),
        )  # fmt: skip
        words = ("gdpr", "quick-win", "genai", "legacy", "vendor", "eu-ai-act", "cost-saving",
                 "revenue", "pilot-lab", "customer-voice")  # fmt: skip
        slugs = [f"{words[n % len(words)]}-{n // len(words) + 1}" for n in range(TAG_COUNT)]
        tags = [(slug, slug) for slug in slugs]  # a tag's label and its slug (migration 0014)
        return count + self.copy_rows("registry_tag", ["name", "slug"], iter(tags))

    def visions_and_goals(self) -> int:
        self.execute(
            """
            INSERT INTO registry_vision (id, created_at, updated_at, title, statement,
                horizon_start, horizon_end, status, executive_sponsor_id, voice_tone,
                voice_language, voice_ai_disclosure, voice_handover)
            VALUES (1, %(now)s, %(now)s, 'Effortless, personal service', 'Every customer
                gets an answer in one contact, in the channel they choose.', '2026-01-01',
                '2028-12-31', 'active', 1, '', '', '', ''),
                (2, %(now)s, %(now)s, 'Digital first', 'The previous vision.', '2022-01-01',
                '2025-12-31', 'retired', 2, '', '', '', '')
            """,
            {"now": self.now},
        )
        rows = []
        for n, (code, title, theme, metric, unit, direction, base, target) in enumerate(METRICS):
            rows.append((
                self.now, self.now, code, title, theme, metric, unit, direction,
                Decimal(base), datetime.date(2026, 1, 1), Decimal(target),
                datetime.date(2028, 12, 31), 1 + n % 10, 1, 1 + n, 1, [], [],
            ))  # fmt: skip
        for n in range(RETIRED_GOALS):
            rows.append((
                self.now, self.now, f"G-OLD{n + 1}", f"Old goal {n + 1}", "legacy", "other",
                "%", "increase", Decimal(10), datetime.date(2022, 1, 1), Decimal(20),
                datetime.date(2025, 12, 31), 1, 2, 20 + n, 1, [], [],
            ))  # fmt: skip
        count = self.copy_rows(
            "registry_goal",
            ["created_at", "updated_at", "code", "title", "theme", "metric", "unit",
             "direction", "baseline", "baseline_date", "target", "target_date", "weight",
             "vision_id", "owner_id", "version", "touchpoints", "journey_stages"],
            iter(rows),
        )  # fmt: skip
        self.execute("SELECT setval(pg_get_serial_sequence('registry_vision', 'id'), 2)")
        measurements = [
            (goal, datetime.date(2026, month, 1), Decimal(value), "bench", "", self.now)
            for goal in range(1, ACTIVE_GOALS + 1)
            for month, value in ((3, 10 + goal), (6, 12 + goal), (9, 13 + goal))
        ]
        return count + self.copy_rows(
            "registry_measurement",
            ["goal_id", "observed_on", "value", "source", "note", "created_at"],
            iter(measurements),
        )

    def initiative_rows(self) -> Iterator[tuple]:
        rng = self.random
        kinds = list(KIND_WORDS)
        touchpoints = [str(t) for t in choices.Touchpoint.values]
        journeys = [str(j) for j in choices.JourneyStage.values]
        modes = [str(m) for m in choices.InteractionMode.values]
        autonomies = [str(a) for a in choices.Autonomy.values]
        risks = ("minimal", "minimal", "limited", "limited", "high")
        stages = [str(stage) for stage, share in STAGE_MIX for _ in range(share)]
        source_slots = [
            (source, prefix) for source, prefix, share in SOURCES for _ in range(share)
        ] + [("", "")] * (100 - sum(share for _s, _p, share in SOURCES))
        start_base = datetime.date(2024, 1, 1)
        created_base = datetime.datetime(2023, 6, 1, tzinfo=datetime.UTC)
        span_seconds = int((self.now - created_base).total_seconds())
        counters: dict[str, int] = {}
        n_people = self.sizes.people
        n_departments = self.sizes.departments
        for n in range(1, self.sizes.initiatives + 1):
            kind = kinds[rng.randrange(len(kinds))]
            stage = stages[rng.randrange(100)]
            topic = TOPICS[rng.randrange(len(TOPICS))]
            brand = BRANDS[rng.randrange(len(BRANDS))]
            label = KIND_WORDS[kind][rng.randrange(3)]
            name = f"{label} for {topic} · {brand} {n}"
            journey = rng.sample(journeys, rng.randint(1, 3))
            touch = rng.sample(touchpoints, rng.randint(1, 3))
            risk = risks[rng.randrange(len(risks))]
            if stage not in (Stage.IDEA, Stage.PROPOSED) and risk == "prohibited":
                risk = "high"
            if stage in (Stage.IDEA, Stage.PROPOSED) and rng.random() < 0.01:
                risk = "prohibited"
            summary = (
                f"{label} that helps {brand} customers with {topic} through "
                f"{' and '.join(touch)}, so fewer of them need to call."
            )
            experiment = stage in NEEDS_EXPERIMENT
            hypothesis = (
                f"If we offer {label.lower()} for {topic}, repeat contacts drop by "
                f"{5 + n % 20}% within a quarter."
                if experiment or rng.random() < 0.3
                else ""
            )
            success = f"Repeat contacts on {topic} down {5 + n % 20}%." if hypothesis else ""
            learnings = (
                f"Customers accept {label.lower()} for {topic} when a human is one click away."
                if stage in NEEDS_LEARNINGS
                else ""
            )
            start = start_base + datetime.timedelta(days=rng.randrange(1100))
            target = start + datetime.timedelta(days=90 + rng.randrange(540))
            end = target if stage in (Stage.RETIRED, Stage.STOPPED) else None
            created = created_base + datetime.timedelta(seconds=rng.randrange(span_seconds))
            updated = created + datetime.timedelta(
                seconds=rng.randrange(max(1, int((self.now - created).total_seconds())))
            )
            source, prefix = source_slots[rng.randrange(100)]
            if source:
                counters[source] = counters.get(source, 0) + 1
                external_id = f"{prefix}-{counters[source]}"
                url = f"https://{source}.example.com/browse/{external_id}"
            else:
                external_id, url = None, ""
            archived = (
                self.now - datetime.timedelta(days=rng.randrange(300))
                if (rng.random() < 0.03)
                else None
            )
            planned = Decimal(rng.randrange(5, 2000) * 1000)
            spent = (planned * Decimal(rng.randrange(0, 100)) / 100).quantize(Decimal("1"))
            owner = (
                1 + rng.randrange(n_people) if stage != Stage.IDEA or rng.random() < 0.7 else None
            )
            yield (
                created, updated, name, summary, kind, stage,
                str(Stage.PILOT) if stage == Stage.PAUSED else "",
                touch, journey, modes[rng.randrange(2)],
                rng.sample(SEGMENTS, rng.randint(0, 2)),
                autonomies[rng.randrange(3)], planned, spent, "EUR",
                f"Lower cost to serve for {topic}." if rng.random() < 0.5 else "",
                start, target, end, risk, rng.random() < 0.6, rng.random() < 0.5,
                rng.random() < 0.05, hypothesis, success, learnings, source, external_id, url,
                1 + rng.randrange(4), archived, self.user_id if archived else None,
                self.user_id, self.user_id, 1 + rng.randrange(n_departments), owner,
            )  # fmt: skip

    INITIATIVE_COLUMNS = [
        "created_at", "updated_at", "name", "summary", "kind", "stage", "paused_from",
        "touchpoints", "journey_stages", "interaction_mode", "customer_segments", "autonomy",
        "budget_planned", "budget_spent", "currency", "expected_benefit", "start_date",
        "target_date", "end_date", "risk_tier", "customer_facing", "uses_personal_data",
        "confidential", "hypothesis", "success_criteria", "learnings", "source", "external_id",
        "external_url", "version", "archived_at", "archived_by_id", "created_by_id",
        "updated_by_id", "lead_department_id", "owner_id",
    ]  # fmt: skip

    def initiatives(self) -> int:
        # `key` is left out: its default draws from registry_initiative_key_seq, as the
        # application does, so AI-0001 … follow the ids and the sequence stays consistent.
        return self.copy_rows(
            "registry_initiative", self.INITIATIVE_COLUMNS, self.initiative_rows()
        )

    # Deterministic pseudo-random numbers per initiative in SQL: a multiplicative hash of
    # the id, shifted so each use draws different bits.
    @staticmethod
    def _h(salt: int) -> str:
        return f"((i.id * 2654435761 + {salt * 40503}) % 1000003)"

    def alignments(self) -> int:
        """2–4 alignments (about 3) per aligned initiative, exactly one primary; about 20 %
        of the early-stage ones are aligned to nothing (the fragmentation the registry shows).
        """
        goals = ACTIVE_GOALS + RETIRED_GOALS
        step = _coprime_step(goals, 5)
        h = self._h
        return self.execute(
            f"""
            INSERT INTO registry_alignment (created_at, updated_at, strength, is_primary,
                expected_impact, rationale, version, goal_id, initiative_id)
            SELECT i.created_at, i.created_at,
                   CASE WHEN j = 0 THEN 2 + {h(3)} % 2 ELSE 1 + ({h(4)} + j) % 3 END,
                   j = 0,
                   CASE WHEN j = 0 THEN round((({h(5)} % 500) / 100.0)::numeric, 4) END,
                   CASE WHEN j = 0 THEN 'Serves this goal directly.' ELSE '' END,
                   1,
                   1 + (({h(1)} % {ACTIVE_GOALS}) + j * {step}) % {goals},
                   i.id
            FROM registry_initiative i
            CROSS JOIN LATERAL generate_series(0, 1 + {h(2)} % 3) AS j
            WHERE i.stage IN ({_sql_list(sorted(BEYOND_PROPOSED))}) OR {h(6)} % 10 >= 3
            """
        )

    def _links(self, table: str, column: str, count: int, per: str, salt: int) -> int:
        step = _coprime_step(count, 7 + salt)
        h = self._h
        return self.execute(
            f"""
            INSERT INTO {table} (initiative_id, {column})
            SELECT i.id, 1 + ({h(salt)} + j * {step}) % {count}
            FROM registry_initiative i CROSS JOIN LATERAL generate_series(1, {per}) AS j
            """
        )

    def initiative_tags(self) -> int:
        return self._links(
            "registry_initiative_tags", "tag_id", TAG_COUNT, f"2 + {self._h(11)} % 5", 11
        )

    def initiative_departments(self) -> int:
        return self._links(
            "registry_initiative_departments", "department_id", self.sizes.departments,
            f"{self._h(12)} % 4", 12,
        )  # fmt: skip

    def initiative_systems(self) -> int:
        return self._links(
            "registry_initiative_systems", "system_id", self.sizes.systems,
            f"1 + {self._h(13)} % 3", 13,
        )  # fmt: skip

    def team_roles(self) -> int:
        step = _coprime_step(self.sizes.people, 101)
        h = self._h
        return self.execute(
            f"""
            INSERT INTO registry_teamrole (initiative_id, person_id, role)
            SELECT i.id, 1 + ({h(14)} + j * {step}) % {self.sizes.people},
                   (ARRAY[{_sql_list(ROLES)}])[1 + ({h(15)} + j) % {len(ROLES)}]
            FROM registry_initiative i CROSS JOIN LATERAL generate_series(0, {h(16)} % 4) AS j
            """
        )

    def stage_changes(self) -> int:
        values = ", ".join(
            f"('{stage}', {order}, '{from_stage}', '{to_stage}')"
            for stage, path in STAGE_PATHS.items()
            for order, (from_stage, to_stage) in enumerate(path)
        )
        return self.execute(
            f"""
            INSERT INTO registry_stagechange (initiative_id, from_stage, to_stage, at,
                actor_name, imported_from, note, by_id, stance_exception)
            SELECT i.id, p.from_stage, p.to_stage,
                   i.created_at + (i.updated_at - i.created_at) * p.nth / 8.0,
                   'seed_bench', CASE WHEN p.nth = 0 THEN i.source ELSE '' END,
                   CASE WHEN p.to_stage IN ('paused', 'stopped') THEN 'Decided in review.'
                        ELSE '' END,
                   {int(self.user_id)}, false
            FROM registry_initiative i
            JOIN (VALUES {values}) AS p(stage, nth, from_stage, to_stage) ON p.stage = i.stage
            """
        )

    def dependencies(self) -> int:
        # One in twenty initiatives needs an older one: always towards a smaller id, no cycles.
        h = self._h
        return self.execute(
            f"""
            INSERT INTO registry_dependency (from_initiative_id, to_initiative_id, note,
                created_at)
            SELECT i.id, 1 + {h(17)} % (i.id - 1), '', i.created_at
            FROM registry_initiative i WHERE i.id > 1 AND {h(18)} % 20 = 0
            """
        )

    def history_events(self) -> int:
        """The events pghistory's triggers would have written: an insert per initiative and
        alignment, and an update (the archiving) per archived initiative.
        """
        columns = [*self.INITIATIVE_COLUMNS, "key", "id"]
        listed = ", ".join(columns)
        selected = ", ".join(f"i.{c}" for c in columns)
        # The insert event shows the row as created: not yet archived.
        as_created = selected.replace("i.archived_at", "NULL").replace("i.archived_by_id", "NULL")
        count = self.execute(
            f"""
            INSERT INTO registry_initiativeevent (pgh_created_at, pgh_label, pgh_obj_id,
                pgh_context_id, {listed})
            SELECT i.created_at, 'insert', i.id, %s::uuid, {as_created}
            FROM registry_initiative i
            UNION ALL
            SELECT i.archived_at, 'update', i.id, %s::uuid, {selected}
            FROM registry_initiative i WHERE i.archived_at IS NOT NULL
            """,
            [self.context_id, self.context_id],
        )
        return count + self.execute(
            """
            INSERT INTO registry_alignmentevent (pgh_created_at, pgh_label, pgh_obj_id,
                pgh_context_id, id, created_at, updated_at, strength, is_primary,
                expected_impact, rationale, version, goal_id, initiative_id)
            SELECT a.created_at, 'insert', a.id, %s::uuid, a.id, a.created_at, a.updated_at,
                   a.strength, a.is_primary, a.expected_impact, a.rationale, a.version,
                   a.goal_id, a.initiative_id
            FROM registry_alignment a
            """,
            [self.context_id],
        )

    def key_sequence(self) -> int:
        """Keys came from the sequence; make sure it is past the highest key in any case."""
        return self.scalar(
            "SELECT setval('registry_initiative_key_seq', GREATEST(1, (SELECT "
            "max(substring(key FROM 4)::bigint) FROM registry_initiative)))"
        )

    def vacuum_analyze(self) -> None:
        connection = self.connection
        autocommit = connection.get_autocommit()
        connection.set_autocommit(True)
        try:
            with connection.cursor() as cursor:
                rollups = ("registry_initiativerollup", "registry_portfoliorollup")
                for table in (*self.PORTFOLIO_TABLES, *rollups, "pghistory_context", "auth_user"):
                    cursor.execute(f"VACUUM ANALYZE {table}")
        finally:
            connection.set_autocommit(autocommit)
