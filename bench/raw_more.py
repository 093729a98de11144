"""More baselines for the benchmark (bench settings only): reports and batch sync.

- Reports: the very statements `registry.selectors.reports` sends for a PMO (captured once per
  process from the report function itself), replayed on the raw psycopg cursor; the rows go
  out as JSON through orjson with no further shaping.
- Sync: COPY the batch into a temporary staging table, then set-based
  `INSERT … ON CONFLICT (source, external_id) DO UPDATE … WHERE … IS DISTINCT FROM …`
  for the initiatives, their tags and primary alignment, and the first stage change of the
  new ones. Triggers (history, outbox) fire as they do for the API.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from bench.raw import _answer, _raw_cursor, _unauthorised, authenticate
from registry.selectors import reports
from registry.sync.upsert import advisory_key

_captured: dict[str, list[tuple[str, Any]]] = {}


def _capture(name: str, run: Callable[[Any], Any]) -> list[tuple[str, Any]]:
    """The (sql, params) the report function sends, recorded once for a PMO viewer."""
    if name not in _captured:
        statements: list[tuple[str, Any]] = []

        def record(execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
            statements.append((sql, params))
            return execute(sql, params, many, context)

        user = get_user_model().objects.get(username="bench-pmo")
        with connection.execute_wrapper(record):
            run(user)
        _captured[name] = statements
    return _captured[name]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


def _replay(request: HttpRequest, name: str, run: Callable[[Any], Any]) -> HttpResponse:
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    statements = _capture(name, run)
    out = []
    for sql, params in statements:
        cursor.execute(sql, params)
        out.append(cursor.fetchall() if cursor.description else [])
    return _answer(orjson.dumps(out, default=_default), cursor.count)


def report_portfolio(request: HttpRequest) -> HttpResponse:
    return _replay(request, "portfolio", lambda user: reports.portfolio_summary(user=user))


def report_alignment_matrix(request: HttpRequest) -> HttpResponse:
    return _replay(request, "matrix", lambda user: reports.alignment_matrix(user=user))


# --- batch sync ----------------------------------------------------------------------------

STAGE_COLUMNS = (
    "external_id text, name text, summary text, kind text, budget_planned numeric, "
    "risk_tier text, touchpoints varchar(30)[], journey_stages varchar(30)[], "
    "lead_department text, tags text[], goal text, strength smallint, is_primary boolean"
)
COMPARED = (
    "name",
    "summary",
    "kind",
    "budget_planned",
    "risk_tier",
    "touchpoints",
    "journey_stages",
    "lead_department_id",
)


def _row(item: dict[str, Any]) -> tuple:
    alignment = (item.get("alignments") or [{}])[0]
    return (
        str(item["external_id"]),
        item.get("name", ""),
        item.get("summary", ""),
        item.get("kind", "other"),
        Decimal(str(item.get("budget_planned") or 0)),
        item.get("risk_tier", "minimal"),
        item.get("touchpoints") or [],
        item.get("journey_stages") or [],
        item.get("lead_department"),
        item.get("tags") or [],
        alignment.get("goal"),
        alignment.get("strength", 2),
        bool(alignment.get("is_primary", True)),
    )


@csrf_exempt  # token-authenticated, as the API's sync endpoint
def sync_batch(request: HttpRequest) -> HttpResponse:
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    body = orjson.loads(request.body)
    source, items = body["source"], body["items"]
    now = datetime.datetime.now(tz=datetime.UTC)
    with transaction.atomic():
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_key("sync", source)])
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS bench_sync_stage ({STAGE_COLUMNS}) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy("COPY bench_sync_stage FROM STDIN") as copy:
            for item in items:
                copy.write_row(_row(item))
        cursor.count += 1
        changed = " OR ".join(f"r.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in COMPARED)
        cursor.execute(
            f"""
            INSERT INTO registry_initiative AS r (created_at, updated_at, name, summary, kind,
                stage, paused_from, touchpoints, journey_stages, interaction_mode,
                customer_segments, autonomy, budget_planned, budget_spent, currency,
                expected_benefit, risk_tier, customer_facing, uses_personal_data,
                confidential, hypothesis, success_criteria, learnings, source, external_id,
                external_url, version, lead_department_id)
            SELECT %(now)s, %(now)s, s.name, s.summary, s.kind, 'idea', '', s.touchpoints,
                s.journey_stages, 'reactive', '{{}}', 'human_in_the_loop', s.budget_planned,
                0, 'EUR',
                '', s.risk_tier, false, false, false, '', '', '', %(source)s, s.external_id,
                '', 1, d.id
            FROM bench_sync_stage s LEFT JOIN registry_department d ON d.slug = s.lead_department
            ON CONFLICT (source, external_id) WHERE archived_at IS NULL AND external_id IS NOT NULL
            DO UPDATE SET name = EXCLUDED.name, summary = EXCLUDED.summary, kind = EXCLUDED.kind,
                budget_planned = EXCLUDED.budget_planned, risk_tier = EXCLUDED.risk_tier,
                touchpoints = EXCLUDED.touchpoints, journey_stages = EXCLUDED.journey_stages,
                lead_department_id = EXCLUDED.lead_department_id,
                version = r.version + 1, updated_at = EXCLUDED.updated_at
            WHERE {changed}
            RETURNING r.id, r.external_id, (r.xmax = 0) AS created
            """,
            {"now": now, "source": source},
        )
        written = cursor.fetchall()
        ids = [row[0] for row in written]
        created = [row[0] for row in written if row[2]]
        cursor.execute(
            """
            DELETE FROM registry_initiative_tags x USING registry_initiative i, bench_sync_stage s
            WHERE x.initiative_id = i.id AND i.id = ANY(%(ids)s) AND s.external_id = i.external_id
              AND x.tag_id NOT IN (SELECT t.id FROM registry_tag t WHERE t.slug = ANY(s.tags))
            """,
            {"ids": ids},
        )
        cursor.execute(
            """
            INSERT INTO registry_initiative_tags (initiative_id, tag_id)
            SELECT i.id, t.id FROM registry_initiative i
            JOIN bench_sync_stage s ON s.external_id = i.external_id
            JOIN registry_tag t ON t.slug = ANY(s.tags)
            WHERE i.id = ANY(%(ids)s)
            ON CONFLICT (initiative_id, tag_id) DO NOTHING
            """,
            {"ids": ids},
        )
        cursor.execute(
            """
            INSERT INTO registry_alignment AS a (created_at, updated_at, strength, is_primary,
                rationale, version, goal_id, initiative_id)
            SELECT %(now)s, %(now)s, s.strength, s.is_primary, '', 1, g.id, i.id
            FROM registry_initiative i JOIN bench_sync_stage s ON s.external_id = i.external_id
            JOIN registry_goal g ON g.code = s.goal
            WHERE i.id = ANY(%(ids)s)
            ON CONFLICT (initiative_id, goal_id) DO UPDATE SET strength = EXCLUDED.strength,
                is_primary = EXCLUDED.is_primary, version = a.version + 1
            WHERE (a.strength, a.is_primary)
                IS DISTINCT FROM (EXCLUDED.strength, EXCLUDED.is_primary)
            """,
            {"now": now, "ids": ids},
        )
        cursor.execute(
            """
            INSERT INTO registry_stagechange (initiative_id, from_stage, to_stage, at,
                actor_name, imported_from, note)
            SELECT id, '', 'idea', %(now)s, 'bench', %(source)s, ''
            FROM unnest(%(ids)s::bigint[]) id
            """,
            {"now": now, "source": source, "ids": created},
        )
        cursor.execute(
            "SELECT i.external_id, i.key, i.version, i.stage FROM registry_initiative i "
            "JOIN bench_sync_stage s ON s.external_id = i.external_id "
            "WHERE i.source = %s AND i.archived_at IS NULL",
            [source],
        )
        state = {row[0]: row[1:] for row in cursor.fetchall()}
    created_ids = {row[1] for row in written if row[2]}
    updated_ids = {row[1] for row in written if not row[2]}
    results = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
    for index, item in enumerate(items):
        external_id = str(item["external_id"])
        result = (
            "created"
            if external_id in created_ids
            else "updated"
            if external_id in updated_ids
            else "unchanged"
        )
        counts[result] += 1
        key, version, stage = state[external_id]
        results.append(
            {
                "index": index,
                "external_id": external_id,
                "result": result,
                "key": key,
                "version": version,
                "stage": stage,
            }
        )
    body_out = orjson.dumps(
        {"source": source, "atomic": True, "written": True, "counts": counts, "items": results}
    )
    return _answer(body_out, cursor.count)


@csrf_exempt  # token-authenticated, as the API's sync endpoint
def sync_batch_module(request: HttpRequest) -> HttpResponse:
    """`module`: the API's sync without its HTTP layer and without join-or-justify — the
    registry.sync.upsert upsert itself (validation, lifecycle gates, set-based writes, history).
    """
    from registry.api.core.authentication import ApiTokenAuthentication
    from registry.sync import upsert as sync

    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    token = request.headers["Authorization"][6:].strip()
    user, api_token = ApiTokenAuthentication().authenticate_credentials(token)
    body = orjson.loads(request.body)
    batch = sync.sync_batch(
        source=body["source"],
        items=body["items"],
        actor=user,
        actor_name=api_token.name,
        atomic=body.get("atomic", True),
    )
    counts = batch.counts()
    return _answer(orjson.dumps({"counts": counts, "written": batch.written}), cursor.count)
