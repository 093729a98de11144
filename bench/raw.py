"""Baseline endpoints for the benchmark: the API's reads without Django's ORM or DRF.

Mounted only by `portfolio.bench_settings` (see `bench/urls.py`), never in production.

- `raw`: the same statements the API sends (exact count of the filtered rows, page with
  the same annotations, the same prefetches), executed on the raw psycopg connection, the answer
  assembled from tuples and serialised with orjson. This is the near-limit of the stack.
- `pg`: PostgreSQL builds the whole page as JSON (`json_agg`); Python only adds count and
  links around it.

Both answer with the API's JSON shape (tests compare them with the API field by field) and
authenticate the same `Authorization: Token …` header with one query, as the API does.
"""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from registry import choices
from registry.choices import ALIGNMENT_LEVEL_BY_STRENGTH
from registry.models import INITIATIVE_MANY_FIELDS, INITIATIVE_WRITABLE_FIELDS, Initiative
from registry.services import lifecycle

LOCAL_TZ = zoneinfo.ZoneInfo(settings.TIME_ZONE)
MAX_PAGE_SIZE = 500
STAGES = frozenset(choices.Stage.values)
LEVEL_STRENGTH = {str(level): strength for strength, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()}


class _Stub:
    """Just what the lifecycle's rules read, for precomputing them per stage."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


# next_stages depends only on (stage, paused_from): computed once by the lifecycle module.
NEXT_STAGES = {
    (stage, paused_from): lifecycle.next_stages(_Stub(stage=stage, paused_from=paused_from))
    for stage in choices.Stage.values
    for paused_from in ["", *choices.Stage.values]
}


def gate_gaps(row: dict[str, Any], has_primary: bool) -> list[str]:
    stub = _Stub(
        stage=row["stage"],
        paused_from=row["paused_from"],
        owner_id=row["owner_id"],
        summary=row["summary"],
        hypothesis=row["hypothesis"],
        success_criteria=row["success_criteria"],
        learnings=row["learnings"],
        risk_tier=row["risk_tier"],
    )
    return lifecycle.gate_gaps(stub, has_primary_alignment=has_primary)  # type: ignore[arg-type]


# --- SQL shared by both variants -------------------------------------------------------------

ACTIVE_ALIGNMENT = """
    FROM registry_alignment a
    JOIN registry_goal g ON g.id = a.goal_id
    JOIN registry_vision v ON v.id = g.vision_id
    WHERE g.archived_at IS NULL AND v.status = 'active' AND a.initiative_id = i.id
"""
STRENGTH = f"COALESCE((SELECT a.strength {ACTIVE_ALIGNMENT} ORDER BY 1 DESC LIMIT 1), 0)"
PRIMARY_GOAL = f"(SELECT a.goal_id {ACTIVE_ALIGNMENT} AND a.is_primary LIMIT 1)"
SPANNED = """(
    SELECT count(DISTINCT u.id) FROM unnest(
        ARRAY[i.lead_department_id]::bigint[]
        || ARRAY(SELECT x.department_id FROM registry_initiative_departments x
                 WHERE x.initiative_id = i.id)
        || ARRAY(SELECT p.department_id FROM registry_teamrole t
                 JOIN registry_person p ON p.id = t.person_id WHERE t.initiative_id = i.id)
    ) AS u(id)
)"""
# The initiative's columns the page reads: its writable fields (relations as their id
# columns; many-to-many ones are read apart) and what the registry keeps — one declaration
# with the application's read path (`registry.models.INITIATIVE_WRITABLE_FIELDS`).
COLUMNS = [
    "id",
    "key",
    "stage",
    "paused_from",
    *(
        Initiative._meta.get_field(name).column
        for name in INITIATIVE_WRITABLE_FIELDS
        if name not in INITIATIVE_MANY_FIELDS
    ),
    "version",
    "archived_at",
    "created_at",
    "updated_at",
]
PAGE_SELECT = f"""
    SELECT {", ".join(f"i.{c}" for c in COLUMNS)},
           o.email, o.name, ld.slug, ld.name, cb.username, ub.username,
           {STRENGTH} AS strength, {PRIMARY_GOAL} AS primary_goal_id, {SPANNED} AS spanned
    FROM registry_initiative i
    LEFT JOIN registry_person o ON o.id = i.owner_id
    LEFT JOIN registry_department ld ON ld.id = i.lead_department_id
    LEFT JOIN auth_user cb ON cb.id = i.created_by_id
    LEFT JOIN auth_user ub ON ub.id = i.updated_by_id
"""
NAMES = [
    *COLUMNS,
    "owner_email",
    "owner_name",
    "lead_slug",
    "lead_name",
    "created_by",
    "updated_by",
    "strength",
    "primary_goal_id",
    "spanned",
]


def _level_condition(levels: Sequence[str]) -> str:
    """The `alignment` filter as (anti-)semi-joins the planner can drive from an index."""
    exists = "EXISTS (SELECT 1 {src} AND a.strength >= {n})"
    parts = []
    for level in levels:
        strength = LEVEL_STRENGTH[level]
        has = exists.format(src=ACTIVE_ALIGNMENT, n=strength) if strength else "TRUE"
        above = exists.format(src=ACTIVE_ALIGNMENT, n=strength + 1) if strength < 3 else "FALSE"
        parts.append(f"({has} AND NOT {above})")
    return "(" + " OR ".join(parts) + ")"


class Query:
    """The list's filters as SQL (the subset the benchmark drives: stage, goal, alignment, q)."""

    def __init__(self, request: HttpRequest) -> None:
        params = request.GET
        self.page_size = min(MAX_PAGE_SIZE, int(params.get("page_size") or 50))
        self.page = max(1, int(params.get("page") or 1))
        where = ["i.archived_at IS NULL"]
        args: list[Any] = []
        stages = [s for s in params.getlist("stage") if s in STAGES]
        if stages:
            where.append("i.stage = ANY(%s)")
            args.append(stages)
        if params.get("goal"):
            where.append(
                "EXISTS (SELECT 1 FROM registry_alignment a JOIN registry_goal g "
                "ON g.id = a.goal_id WHERE a.initiative_id = i.id AND g.code = %s)"
            )
            args.append(params["goal"])
        levels = [lv for lv in params.getlist("alignment") if lv in LEVEL_STRENGTH]
        if levels:
            where.append(_level_condition(levels))
        if params.get("q"):
            where.append(
                "(i.search_vector @@ websearch_to_tsquery('english'::regconfig, %s) OR i.key = %s)"
            )
            args += [params["q"], params["q"].strip().upper()]
        self.where = " AND ".join(where)
        self.args = args


def authenticate(cursor: Any, request: HttpRequest) -> bool:
    """One query, as the API's token authentication (hash lookup, usable, active user)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Token "):
        return False
    digest = hashlib.sha256(header[6:].strip().encode()).hexdigest()
    cursor.execute(
        "SELECT t.id FROM registry_apitoken t JOIN auth_user u ON u.id = t.user_id "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active "
        "AND (t.expires_at IS NULL OR t.expires_at > now())",
        [digest],
    )
    return cursor.fetchone() is not None


def count_rows(cursor: Any, query: Query) -> int:
    """The exact number of matches, as the API counts: over the filtered rows, no joins."""
    cursor.execute(f"SELECT count(*) FROM registry_initiative i WHERE {query.where}", query.args)
    return cursor.fetchone()[0]


def page_links(request: HttpRequest, query: Query, count: int) -> tuple[str | None, str | None]:
    base = request.build_absolute_uri(request.path)
    params = request.GET.copy()

    def link(page: int) -> str:
        params["page"] = str(page)
        if page == 1:
            del params["page"]
        encoded = urlencode(list(params.lists()), doseq=True)
        return f"{base}?{encoded}" if encoded else base

    has_next = query.page * query.page_size < count
    return (link(query.page + 1) if has_next else None), (
        link(query.page - 1) if query.page > 1 else None
    )


def _local(value: Any) -> Any:
    return value.astimezone(LOCAL_TZ) if value is not None else None


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def fetch_page(cursor: Any, where: str, args: list[Any], limit: str) -> list[dict[str, Any]]:
    cursor.execute(f"{PAGE_SELECT} WHERE {where} ORDER BY i.key {limit}", args)
    return [dict(zip(NAMES, row, strict=True)) for row in cursor.fetchall()]


def fetch_related(cursor: Any, ids: list[int]) -> dict[str, dict[int, list[tuple]]]:
    """The five prefetches of the API, grouped by initiative."""
    statements = {
        "departments": "SELECT x.initiative_id, d.slug, d.id, d.name FROM registry_department d "
        "JOIN registry_initiative_departments x ON x.department_id = d.id "
        "WHERE x.initiative_id = ANY(%s) ORDER BY d.name",
        "systems": "SELECT x.initiative_id, s.slug, s.id, s.name FROM registry_system s "
        "JOIN registry_initiative_systems x ON x.system_id = s.id "
        "WHERE x.initiative_id = ANY(%s) ORDER BY s.name",
        "tags": "SELECT x.initiative_id, t.slug FROM registry_tag t "
        "JOIN registry_initiative_tags x ON x.tag_id = t.id "
        "WHERE x.initiative_id = ANY(%s) ORDER BY t.slug",
        "alignments": "SELECT a.initiative_id, a.id, g.code, g.id, g.title, a.strength, "
        "a.is_primary FROM registry_alignment a JOIN registry_goal g ON g.id = a.goal_id "
        "WHERE a.initiative_id = ANY(%s) ORDER BY a.is_primary DESC, a.strength DESC, a.id",
        "team": "SELECT t.initiative_id, t.id, p.email, p.id, p.name, t.role "
        "FROM registry_teamrole t JOIN registry_person p ON p.id = t.person_id "
        "WHERE t.initiative_id = ANY(%s) ORDER BY t.role, p.name",
    }
    related: dict[str, dict[int, list[tuple]]] = {}
    for name, sql in statements.items():
        cursor.execute(sql, [ids])
        grouped: dict[int, list[tuple]] = defaultdict(list)
        for row in cursor.fetchall():
            grouped[row[0]].append(row[1:])
        related[name] = grouped
    return related


def represent(rows: list[dict[str, Any]], related: dict, api: str) -> list[dict[str, Any]]:
    """The API's initiative JSON, from tuples."""
    out = []
    for r in rows:
        pk = r["id"]
        alignments = [
            {
                "id": aid,
                "goal": {"code": code, "id": gid, "title": title, "url": f"{api}goals/{code}/"},
                "strength": strength,
                "is_primary": primary,
                "url": f"{api}alignments/{aid}/",
            }
            for aid, code, gid, title, strength, primary in related["alignments"].get(pk, ())
        ]
        primary_goal = None
        if r["primary_goal_id"] is not None:
            primary_goal = next(
                (a["goal"] for a in alignments if a["goal"]["id"] == r["primary_goal_id"]), None
            )
        out.append(
            {
                "url": f"{api}initiatives/{r['key']}/",
                "id": pk,
                "key": r["key"],
                "stage": r["stage"],
                "name": r["name"],
                "summary": r["summary"],
                "kind": r["kind"],
                "owner": {
                    "email": r["owner_email"],
                    "id": r["owner_id"],
                    "name": r["owner_name"],
                    "url": f"{api}people/{r['owner_id']}/",
                }
                if r["owner_id"] is not None
                else None,
                "lead_department": {
                    "slug": r["lead_slug"],
                    "id": r["lead_department_id"],
                    "name": r["lead_name"],
                    "url": f"{api}departments/{r['lead_slug']}/",
                }
                if r["lead_department_id"] is not None
                else None,
                "departments": [
                    {"slug": s, "id": i, "name": n, "url": f"{api}departments/{s}/"}
                    for s, i, n in related["departments"].get(pk, ())
                ],
                "touchpoints": r["touchpoints"],
                "journey_stages": r["journey_stages"],
                "interaction_mode": r["interaction_mode"],
                "systems": [
                    {"slug": s, "id": i, "name": n, "url": f"{api}systems/{s}/"}
                    for s, i, n in related["systems"].get(pk, ())
                ],
                "customer_segments": r["customer_segments"],
                "autonomy": r["autonomy"],
                "budget_planned": _money(r["budget_planned"]),
                "budget_spent": _money(r["budget_spent"]),
                "currency": r["currency"],
                "expected_benefit": r["expected_benefit"],
                "start_date": r["start_date"],
                "target_date": r["target_date"],
                "end_date": r["end_date"],
                "risk_tier": r["risk_tier"],
                "customer_facing": r["customer_facing"],
                "uses_personal_data": r["uses_personal_data"],
                "confidential": r["confidential"],
                "hypothesis": r["hypothesis"],
                "success_criteria": r["success_criteria"],
                "learnings": r["learnings"],
                "tags": [name for (name,) in related["tags"].get(pk, ())],
                "source": r["source"],
                "external_id": r["external_id"],
                "external_url": r["external_url"],
                "paused_from": r["paused_from"],
                "next_stages": NEXT_STAGES[(r["stage"], r["paused_from"])],
                "alignment_level": str(ALIGNMENT_LEVEL_BY_STRENGTH[r["strength"]]),
                "primary_goal": primary_goal,
                "alignments": alignments,
                "team": [
                    {
                        "id": tid,
                        "person": {
                            "email": email,
                            "id": person,
                            "name": name,
                            "url": f"{api}people/{person}/",
                        },
                        "role": role,
                        "url": f"{api}team-roles/{tid}/",
                    }
                    for tid, email, person, name, role in related["team"].get(pk, ())
                ],
                "gate_gaps": gate_gaps(r, r["primary_goal_id"] is not None),
                "is_silo": r["spanned"] <= 1,
                "version": r["version"],
                "archived_at": _local(r["archived_at"]),
                "created_at": _local(r["created_at"]),
                "updated_at": _local(r["updated_at"]),
                "created_by": r["created_by"],
                "updated_by": r["updated_by"],
            }
        )
    return out


class QueryCounter:
    """Counts statements on the raw cursor, for the X-Bench-Queries header."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.count = 0

    def execute(self, sql: str, params: Any = None) -> Any:
        self.count += 1
        return self.cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def _raw_cursor() -> QueryCounter:
    connection.ensure_connection()
    return QueryCounter(connection.connection.cursor())


def _answer(body: bytes, queries: int) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["X-Bench-Queries"] = str(queries)
    return response


def _unauthorised() -> JsonResponse:
    return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)


def initiative_list(request: HttpRequest) -> HttpResponse:
    """`raw`: the list page through psycopg tuples and orjson."""
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    query = Query(request)
    count = count_rows(cursor, query)
    offset = (query.page - 1) * query.page_size
    rows = fetch_page(cursor, query.where, query.args, f"LIMIT {query.page_size} OFFSET {offset}")
    related = fetch_related(cursor, [r["id"] for r in rows])
    api = request.build_absolute_uri("/api/v1/")
    next_link, previous_link = page_links(request, query, count)
    body = orjson.dumps(
        {
            "count": count,
            "count_exact": True,
            "next": next_link,
            "previous": previous_link,
            "results": represent(rows, related, api),
        }
    )
    return _answer(body, cursor.count)


def initiative_detail(request: HttpRequest, key: str) -> HttpResponse:
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    rows = fetch_page(cursor, "i.key = %s", [key], "")
    if not rows:
        return JsonResponse({"detail": "Not found."}, status=404)
    related = fetch_related(cursor, [rows[0]["id"]])
    body = orjson.dumps(represent(rows, related, request.build_absolute_uri("/api/v1/"))[0])
    response = _answer(body, cursor.count)
    response["ETag"] = f'"{rows[0]["version"]}"'
    return response


# --- PostgreSQL builds the JSON -------------------------------------------------------------


def _sql_literal_json(value: Any) -> str:
    return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"


NEXT_STAGES_SQL = (
    "CASE "
    + " ".join(
        f"WHEN p.stage = '{stage}' AND p.paused_from = '{paused}' THEN {_sql_literal_json(nexts)}"
        for (stage, paused), nexts in NEXT_STAGES.items()
        if paused == "" or stage == choices.Stage.PAUSED
    )
    + " ELSE '[]'::jsonb END"
)


def _gate_gaps_sql() -> str:
    """lifecycle.gate_gaps as SQL: the evidence each stage needs, minus what the row has."""
    checks = {
        "owner": "p.owner_id IS NULL",
        "summary": "btrim(p.summary) = ''",
        "primary_alignment": "p.primary_goal_id IS NULL",
        "hypothesis": "btrim(p.hypothesis) = ''",
        "success_criteria": "btrim(p.success_criteria) = ''",
        "learnings": "btrim(p.learnings) = ''",
        "risk_not_prohibited": "p.risk_tier = 'prohibited'",
    }
    effective = "CASE WHEN p.stage = 'paused' THEN p.paused_from ELSE p.stage END"
    items = []
    for gate, missing in checks.items():
        stages = [str(s) for s, needed in choices.EVIDENCE_BY_STAGE.items() if gate in needed]
        if not stages:
            continue
        listed = ", ".join(f"'{s}'" for s in stages)
        items.append(f"CASE WHEN ({effective}) IN ({listed}) AND {missing} THEN '{gate}' END")
    return (
        "COALESCE((SELECT jsonb_agg(g ORDER BY n) FROM unnest(ARRAY["
        + ", ".join(items)
        + "]) WITH ORDINALITY AS t(g, n) WHERE g IS NOT NULL), '[]'::jsonb)"
    )


GATE_GAPS_SQL = _gate_gaps_sql()


def _json_page_sql(where: str, limit: str) -> str:
    api = "%(api)s"
    return f"""
    WITH p AS ({PAGE_SELECT} WHERE {where} ORDER BY i.key {limit})
    SELECT COALESCE(json_agg(json_build_object(
        'url', {api} || 'initiatives/' || p.key || '/', 'id', p.id, 'key', p.key,
        'stage', p.stage, 'name', p.name, 'summary', p.summary, 'kind', p.kind,
        'owner', CASE WHEN p.owner_id IS NOT NULL THEN json_build_object('email', p.email,
            'id', p.owner_id, 'name', p.name_1, 'url', {api} || 'people/' || p.owner_id || '/')
            END,
        'lead_department', CASE WHEN p.lead_department_id IS NOT NULL THEN json_build_object(
            'slug', p.slug, 'id', p.lead_department_id, 'name', p.name_2,
            'url', {api} || 'departments/' || p.slug || '/') END,
        'departments', COALESCE((SELECT json_agg(json_build_object('slug', d.slug, 'id', d.id,
            'name', d.name, 'url', {api} || 'departments/' || d.slug || '/') ORDER BY d.name)
            FROM registry_department d JOIN registry_initiative_departments x
            ON x.department_id = d.id WHERE x.initiative_id = p.id), '[]'),
        'touchpoints', p.touchpoints, 'journey_stages', p.journey_stages,
        'interaction_mode', p.interaction_mode,
        'systems', COALESCE((SELECT json_agg(json_build_object('slug', s.slug, 'id', s.id,
            'name', s.name, 'url', {api} || 'systems/' || s.slug || '/') ORDER BY s.name)
            FROM registry_system s JOIN registry_initiative_systems x ON x.system_id = s.id
            WHERE x.initiative_id = p.id), '[]'),
        'customer_segments', p.customer_segments, 'autonomy', p.autonomy,
        'budget_planned', p.budget_planned::text, 'budget_spent', p.budget_spent::text,
        'currency', p.currency, 'expected_benefit', p.expected_benefit,
        'start_date', p.start_date, 'target_date', p.target_date, 'end_date', p.end_date,
        'risk_tier', p.risk_tier, 'customer_facing', p.customer_facing,
        'uses_personal_data', p.uses_personal_data, 'confidential', p.confidential,
        'hypothesis', p.hypothesis, 'success_criteria', p.success_criteria,
        'learnings', p.learnings,
        'tags', COALESCE((SELECT json_agg(t.slug ORDER BY t.slug) FROM registry_tag t
            JOIN registry_initiative_tags x ON x.tag_id = t.id WHERE x.initiative_id = p.id),
            '[]'),
        'source', p.source, 'external_id', p.external_id, 'external_url', p.external_url,
        'paused_from', p.paused_from, 'next_stages', {NEXT_STAGES_SQL},
        'alignment_level', CASE p.strength WHEN 3 THEN 'strong' WHEN 2 THEN 'moderate'
            WHEN 1 THEN 'weak' ELSE 'none' END,
        'primary_goal', (SELECT json_build_object('code', g.code, 'id', g.id,
            'title', g.title, 'url', {api} || 'goals/' || g.code || '/')
            FROM registry_goal g WHERE g.id = p.primary_goal_id),
        'alignments', COALESCE((SELECT json_agg(json_build_object('id', a.id,
            'goal', json_build_object('code', g.code, 'id', g.id, 'title', g.title,
            'url', {api} || 'goals/' || g.code || '/'), 'strength', a.strength,
            'is_primary', a.is_primary, 'url', {api} || 'alignments/' || a.id || '/')
            ORDER BY a.is_primary DESC, a.strength DESC, a.id)
            FROM registry_alignment a JOIN registry_goal g ON g.id = a.goal_id
            WHERE a.initiative_id = p.id), '[]'),
        'team', COALESCE((SELECT json_agg(json_build_object('id', t.id,
            'person', json_build_object('email', pe.email, 'id', pe.id, 'name', pe.name,
            'url', {api} || 'people/' || pe.id || '/'), 'role', t.role,
            'url', {api} || 'team-roles/' || t.id || '/') ORDER BY t.role, pe.name)
            FROM registry_teamrole t JOIN registry_person pe ON pe.id = t.person_id
            WHERE t.initiative_id = p.id), '[]'),
        'gate_gaps', {GATE_GAPS_SQL}, 'is_silo', p.spanned <= 1, 'version', p.version,
        'archived_at', p.archived_at, 'created_at', p.created_at,
        'updated_at', p.updated_at, 'created_by', p.username, 'updated_by', p.username_1
    ) ORDER BY p.key), '[]')::text
    FROM p
    """


def _dedupe_select() -> str:
    """PAGE_SELECT with the joined columns renamed, so the CTE has unique column names."""
    return (
        PAGE_SELECT.replace("o.email, o.name,", "o.email, o.name AS name_1,")
        .replace("ld.slug, ld.name,", "ld.slug, ld.name AS name_2,")
        .replace("cb.username, ub.username,", "cb.username, ub.username AS username_1,")
    )


PAGE_SELECT_JSON = _dedupe_select()


def _json_sql(where: str, limit: str) -> str:
    return _json_page_sql(where, limit).replace(PAGE_SELECT, PAGE_SELECT_JSON)


def _pg_params(args: list[Any], api: str) -> dict[str, Any]:
    named = {f"a{n}": value for n, value in enumerate(args)}
    named["api"] = api
    return named


def _named(where: str) -> str:
    """Positional %s of a WHERE clause → %(a0)s, %(a1)s … (the JSON SQL uses named ones)."""
    parts = where.split("%s")
    return "".join(
        part + (f"%(a{n})s" if n < len(parts) - 1 else "") for n, part in enumerate(parts)
    )


def initiative_list_pg(request: HttpRequest) -> HttpResponse:
    """`pg`: PostgreSQL renders the page's results; Python adds count and links."""
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    query = Query(request)
    count = count_rows(cursor, query)
    offset = (query.page - 1) * query.page_size
    sql = _json_sql(_named(query.where), f"LIMIT {query.page_size} OFFSET {offset}")
    cursor.execute(sql, _pg_params(query.args, request.build_absolute_uri("/api/v1/")))
    results = cursor.fetchone()[0]
    next_link, previous_link = page_links(request, query, count)
    head = orjson.dumps(
        {"count": count, "count_exact": True, "next": next_link, "previous": previous_link}
    )
    body = head[:-1] + b',"results":' + results.encode() + b"}"
    return _answer(body, cursor.count)


def initiative_detail_pg(request: HttpRequest, key: str) -> HttpResponse:
    cursor = _raw_cursor()
    if not authenticate(cursor, request):
        return _unauthorised()
    sql = _json_sql("i.key = %(a0)s", "")
    cursor.execute(sql, _pg_params([key], request.build_absolute_uri("/api/v1/")))
    results = cursor.fetchone()[0]
    if results == "[]":
        return JsonResponse({"detail": "Not found."}, status=404)
    return _answer(results[1:-1].encode(), cursor.count)
