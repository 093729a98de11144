"""Overlap scoring: which open initiatives of other departments do the same thing, and why.

DESIGN §2 defines an overlap as two open initiatives of different lead departments that do the
same thing. The first rule read only structured keys (kind × touchpoint × journey stage, or
primary goal and system) and was noise: 23 groups for 56 demo initiatives, a tariff recommender
paired with a data-subject-access-request automation because they share a goal and a system,
while a new "outage notification bot" matched nothing, and an inventory that carries no
touchpoints (the 2023 US federal AI inventory) got no overlap at all.

The score reads what the texts say first and the structured keys second:

- `similar_name`: trigram similarity of the names (pg_trgm's measure, as the SQL function
  `registry_similarity`, migration 0016: the embedded PostgreSQL has no pg_trgm),
- `shared_terms`: the share of stemmed words of name, summary and hypothesis both use
  (PostgreSQL full text, English configuration; Dice coefficient of the lexeme sets),
- `kind`, `touchpoint`, `journey_stage`, `goal` (same primary goal), `system` (shared systems):
  small fixed contributions.

A pair is an overlap when its score reaches `THRESHOLD`. The structured keys together stay
below it, so sharing a goal and a system (or kind, touchpoint and journey stage) alone is never
an overlap; the texts have to agree too. The weights and threshold were chosen on the labelled
pairs in `tests/selectors/overlap_pairs.csv` (docs/OVERLAPS.md has precision and recall).

Candidates are found through the full-text index, never by a pass over the portfolio: for each
subject up to `CANDIDATES_PER_WORD` initiatives using each word of its name (`search_vector`,
`registry_init_search_gin`). Only those are scored, so the work grows with the batch, not with
the portfolio. A trigram probe of similar names (a GIN trigram index) found no pair on the
labelled set that the words missed and cost 40 ms per subject at 100,000 templated names, so
names are compared by trigram similarity only when scoring (migration 0016).
Visibility is the caller's: candidates come from the initiatives the user may see
(`visible_initiatives`), open and with a lead department.

The pages that show every overlap of the portfolio would score every initiative per request:
190 s at 10,000 initiatives. Above `REGISTRY_OVERLAP_LIVE_LIMIT` open initiatives they read
the pairs the worker keeps (`OverlapCandidate`, scored with everything visible, filtered here
by what the reader may see); `overlap_freshness` says how many initiatives changed since.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, Max, OuterRef
from django.db.models.functions import Greatest, Least
from django.utils import formats
from django.utils.translation import gettext as _

from registry.choices import CLOSED_STAGES, Kind
from registry.i18n.labels import label_of
from registry.models import (
    Alignment,
    Department,
    Initiative,
    OverlapCandidate,
    OverlapScan,
    Vision,
)
from registry.selectors.visibility import visible_initiatives

# Weights of the reasons (chosen on the labelled pairs, docs/OVERLAPS.md); the score is their
# sum. The shared structured keys are listed as context but weigh nothing: on the labelled
# pairs the false overlaps shared them as often as the true ones (that was the old rule's
# noise). What does separate them is a different kind of system, which counts against.
WEIGHT_NAME = 0.30
WEIGHT_NAME_TERMS = 0.40
WEIGHT_TERMS = 0.20
WEIGHT_KIND_DIFFERS = -0.30
WEIGHT_SHARED_KEY = 0.0
# Shared terms give their full weight from this Dice coefficient up.
TERMS_FULL_AT = 0.3
THRESHOLD = 0.27
# Candidates per subject: per word of its name, texts that use it (unranked: a ranked probe
# reads every match, thousands for a common word at 100,000 initiatives).
CANDIDATES_PER_WORD = 50
# Document counts above this make a word common (inverse document frequency).
DF_CAP = 500
# Words named in a reason.
TERMS_SHOWN = 8

RULES = (
    "similar_name",
    "name_terms",
    "shared_terms",
    "kind_differs",
    "kind",
    "touchpoint",
    "journey_stage",
    "goal",
    "system",
)


@dataclass(frozen=True)
class Subject:
    """What the score compares of one initiative: stored, or form/API values not saved yet."""

    name: str
    summary: str = ""
    hypothesis: str = ""
    learnings: str = ""
    kind: str = ""
    touchpoints: Sequence[str] = ()
    journey_stages: Sequence[str] = ()
    lead_department_id: int | None = None
    goal_id: int | None = None
    system_ids: Sequence[int] = ()
    pk: int | None = None
    key: str | None = None


def resolve_vision(vision: Vision | int | None) -> Vision | None:
    """The vision whose primary goals count: the one given, or the active one."""
    if isinstance(vision, Vision):
        return vision
    if vision is None:
        return Vision.objects.active().first()
    return Vision.objects.get(pk=vision)


def _vision_id(vision: Vision | int | None) -> int | None:
    resolved = resolve_vision(vision)
    return resolved.pk if resolved else None


def candidate_scope(*, user: Any, period: str | None = None) -> models.QuerySet:
    """Open, live initiatives with a lead department the user may see: what can overlap."""
    qs = visible_initiatives(user, Initiative.objects.live()).exclude(stage__in=CLOSED_STAGES)
    if period:
        qs = qs.active_in(period)
    return qs.filter(lead_department__isnull=False).order_by()


def _pk(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return value.pk if isinstance(value, models.Model) else int(value)


def subject_from_values(
    values: Mapping[str, Any], *, vision: Vision | int | None = None
) -> Subject:
    """A subject from form or API values (Department/Goal/System objects or ids).

    `primary_goal` and `systems` left out of the mapping are read from the stored initiative
    `pk`/`id` when there is one.
    """
    pk = _pk(values.get("pk", values.get("id")))
    department = values.get("lead_department", values.get("lead_department_id"))
    if "primary_goal" in values:
        goal_id = _pk(values.get("primary_goal"))
    elif pk is not None:
        goal_id = _stored_goals([pk], _vision_id(vision)).get(pk)
    else:
        goal_id = None
    if "systems" in values:
        system_ids = [_pk(s) for s in values.get("systems") or []]
    elif pk is not None:
        system_ids = list(
            Initiative.systems.through.objects.filter(initiative_id=pk).values_list(
                "system_id", flat=True
            )
        )
    else:
        system_ids = []
    return Subject(
        pk=pk,
        name=str(values.get("name") or ""),
        summary=str(values.get("summary") or ""),
        hypothesis=str(values.get("hypothesis") or ""),
        learnings=str(values.get("learnings") or ""),
        kind=str(values.get("kind") or ""),
        touchpoints=list(values.get("touchpoints") or []),
        journey_stages=list(values.get("journey_stages") or []),
        lead_department_id=department.pk if isinstance(department, Department) else _pk(department),
        goal_id=goal_id,
        system_ids=[s for s in system_ids if s is not None],
    )


def _stored_goals(ids: Iterable[int], vision_id: int | None) -> dict[int, int]:
    """Primary goal (of the vision, not archived) by initiative id."""
    return dict(
        Alignment.objects.filter(
            initiative_id__in=list(ids),
            is_primary=True,
            goal__vision_id=vision_id,
            goal__archived_at__isnull=True,
        ).values_list("initiative_id", "goal_id")
    )


# What a subject is built from, for a stored initiative.
SCAN_FIELDS = (
    "pk",
    "key",
    "name",
    "summary",
    "hypothesis",
    "learnings",
    "kind",
    "touchpoints",
    "journey_stages",
    "lead_department_id",
)


def subjects_by_key(
    keys: Iterable[str], *, vision: Vision | int | None = None
) -> dict[str, Subject]:
    """The stored initiatives of `keys` as subjects (unknown keys are left out)."""
    rows = list(Initiative.objects.filter(key__in=list(keys)).values(*SCAN_FIELDS))
    return _subjects(rows, _vision_id(vision))


def _subjects(rows: list[dict[str, Any]], vision_id: int | None) -> dict[str, Subject]:
    ids = [row["pk"] for row in rows]
    goals = _stored_goals(ids, vision_id)
    systems: dict[int, list[int]] = {}
    for initiative_id, system_id in Initiative.systems.through.objects.filter(
        initiative_id__in=ids
    ).values_list("initiative_id", "system_id"):
        systems.setdefault(initiative_id, []).append(system_id)
    return {
        row["key"]: Subject(
            **{
                k: v or ([] if k in ("touchpoints", "journey_stages") else v)
                for k, v in row.items()
            },
            goal_id=goals.get(row["pk"]),
            system_ids=systems.get(row["pk"], []),
        )
        for row in rows
    }


def subject_of(initiative: Initiative, *, vision: Vision | int | None = None) -> Subject:
    """An initiative's current field values (possibly unsaved) with its stored goal and systems."""
    stored = subject_from_values({"pk": initiative.pk}, vision=vision) if initiative.pk else None
    return Subject(
        pk=initiative.pk,
        key=initiative.key if initiative.pk else None,
        name=initiative.name or "",
        summary=initiative.summary or "",
        hypothesis=initiative.hypothesis or "",
        learnings=initiative.learnings or "",
        kind=initiative.kind or "",
        touchpoints=list(initiative.touchpoints or []),
        journey_stages=list(initiative.journey_stages or []),
        lead_department_id=initiative.lead_department_id,
        goal_id=stored.goal_id if stored else None,
        system_ids=list(stored.system_ids) if stored else [],
    )


# --- the statement ----------------------------------------------------------------------------

_CANDIDATES_SQL = """
WITH base AS NOT MATERIALIZED ({base_sql}),
subject AS MATERIALIZED (
    SELECT s.*,
           tsvector_to_array(to_tsvector('english', s.name || ' ' || s.summary || ' '
                                 || s.hypothesis || ' ' || s.learnings)) AS lexemes,
           tsvector_to_array(to_tsvector('english', s.name)) AS name_lexemes,
           nullif(array_to_string(ARRAY(
               SELECT quote_literal(l)
               FROM unnest(tsvector_to_array(to_tsvector('english', s.name))) AS l
           ), ' | '), '')::tsquery AS name_query
    FROM jsonb_to_recordset(%s::jsonb) AS s(
        n int, id bigint, name text, summary text, hypothesis text, learnings text,
        kind text, touchpoints text[], journey_stages text[], lead_department_id bigint,
        goal_id bigint, system_ids bigint[])
    WHERE s.lead_department_id IS NOT NULL
),
-- Probes straight into the full-text index, then what the user may see: per word of the
-- name up to {per_word} texts that use it, so that a rare word ("outage") is not crowded out
-- by a common one ("bot").
candidate AS MATERIALIZED (
    SELECT DISTINCT s.n, b.id
    FROM subject s
    CROSS JOIN LATERAL (
        (SELECT hit.id FROM unnest(s.name_lexemes) AS l
         CROSS JOIN LATERAL (
             SELECT o.id FROM registry_initiative o
             WHERE o.search_vector @@ quote_literal(l)::tsquery
               AND o.lead_department_id <> s.lead_department_id
             LIMIT {per_word}) AS hit)

    ) c
    JOIN base b ON b.id = c.id
    WHERE b.lead_department_id <> s.lead_department_id AND b.id IS DISTINCT FROM s.id
),
pair AS MATERIALIZED (
    SELECT c.n, o.id, o.key, o.name, o.stage, o.kind, o.touchpoints, o.journey_stages,
           o.lead_department_id,
           -- The stored search vector without the key's own lexemes ("ai-0042", "ai", …).
           tsvector_to_array(ts_delete(o.search_vector,
                                       tsvector_to_array(to_tsvector('english', o.key))))
               AS lexemes,
           tsvector_to_array(to_tsvector('english', o.name)) AS name_lexemes
    FROM candidate c JOIN base o ON o.id = c.id
),
-- How rare each name word is: its inverse document frequency among the initiatives that
-- are not confidential (the same for everyone, so it tells nobody about what they may not
-- see), the document count read from the full-text index and capped (a word in more than
-- {df_cap} is common whatever the exact count).
total AS (
    SELECT count(*) AS n FROM registry_initiative WHERE NOT confidential
),
word AS (
    SELECT l AS lexeme FROM subject, unnest(name_lexemes) AS l
    UNION
    SELECT l FROM pair, unnest(name_lexemes) AS l
),
weight AS MATERIALIZED (
    SELECT jsonb_object_agg(w.lexeme, ln((t.n + 1)::float / (1 + (
               SELECT count(*) FROM (
                   SELECT 1 FROM registry_initiative o
                   WHERE o.search_vector @@ quote_literal(w.lexeme)::tsquery
                     AND NOT o.confidential
                   LIMIT {df_cap}) AS hit)))) AS idf
    FROM word w CROSS JOIN total t
)
SELECT p.n, p.id, p.key, p.name, p.stage, d.slug AS lead_department,
       d.name AS lead_department_name,
       registry_similarity(p.name, s.name) AS name_similarity,
       (SELECT array_agg(l ORDER BY (w.idf ->> l)::float DESC, l)
        FROM (SELECT DISTINCT l FROM unnest(s.name_lexemes || p.name_lexemes) AS l
              WHERE l = ANY(s.name_lexemes) AND l = ANY(p.lexemes)
                 OR l = ANY(p.name_lexemes) AND l = ANY(s.lexemes)) AS t) AS name_terms,
       (coalesce((SELECT sum((w.idf ->> l)::float) FILTER (WHERE l = ANY(p.lexemes))
                         / nullif(sum((w.idf ->> l)::float), 0)
                  FROM unnest(s.name_lexemes) AS l), 0)
        + coalesce((SELECT sum((w.idf ->> l)::float) FILTER (WHERE l = ANY(s.lexemes))
                           / nullif(sum((w.idf ->> l)::float), 0)
                    FROM unnest(p.name_lexemes) AS l), 0)) / 2 AS name_cover,
       ARRAY(SELECT unnest(p.lexemes) INTERSECT SELECT unnest(s.lexemes) ORDER BY 1)
           AS shared_terms,
       cardinality(p.lexemes) + cardinality(s.lexemes) AS terms,
       p.kind AS other_kind, s.kind AS subject_kind,
       ARRAY(SELECT unnest(p.touchpoints) INTERSECT SELECT unnest(s.touchpoints) ORDER BY 1)
           AS touchpoints,
       ARRAY(SELECT unnest(p.journey_stages) INTERSECT SELECT unnest(s.journey_stages)
             ORDER BY 1) AS journey_stages,
       (SELECT g.code FROM registry_alignment al
        JOIN registry_goal g
          ON g.id = al.goal_id AND g.vision_id = %s AND g.archived_at IS NULL
        WHERE al.initiative_id = p.id AND al.is_primary AND al.goal_id = s.goal_id) AS goal,
       ARRAY(SELECT sy.slug FROM registry_initiative_systems isy
             JOIN registry_system sy ON sy.id = isy.system_id
             WHERE isy.initiative_id = p.id AND isy.system_id = ANY(s.system_ids)
             ORDER BY sy.slug) AS systems
FROM pair p
JOIN subject s ON s.n = p.n
JOIN registry_department d ON d.id = p.lead_department_id
CROSS JOIN weight w
"""


def _fetch(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    # The probes are only cheap through the trigram and full-text indexes. The planner prices
    # `registry_similarity()` and `@@` per row far below what they cost, so on a small or freshly
    # loaded table it scans instead: 20 ms per subject at 766 initiatives instead of 0.3 ms.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _features(
    subjects: Sequence[Subject], *, user: Any, vision_id: int | None, period: str | None
) -> list[dict[str, Any]]:
    """Candidate rows with what the score reads, `n` the subject's index: one statement."""
    if not subjects:
        return []
    base = candidate_scope(user=user, period=period).values(
        "id",
        "key",
        "name",
        "stage",
        "kind",
        "touchpoints",
        "journey_stages",
        "lead_department_id",
        "search_vector",
    )
    base_sql, base_params = base.query.sql_with_params()
    payload = [
        {
            "n": n,
            "id": s.pk,
            "name": s.name,
            "summary": s.summary,
            "hypothesis": s.hypothesis,
            "learnings": s.learnings,
            "kind": s.kind,
            "touchpoints": list(s.touchpoints),
            "journey_stages": list(s.journey_stages),
            "lead_department_id": s.lead_department_id,
            "goal_id": s.goal_id,
            "system_ids": list(s.system_ids),
        }
        for n, s in enumerate(subjects)
    ]
    sql = _CANDIDATES_SQL.format(
        base_sql=base_sql,
        per_word=int(CANDIDATES_PER_WORD),
        df_cap=int(DF_CAP),
    )
    return _fetch(sql, [*base_params, json.dumps(payload), vision_id])


def score_features(row: Mapping[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    """The score of one candidate row and its reasons, each with its contribution."""
    reasons: list[dict[str, Any]] = []

    def add(rule: str, contribution: float, **detail: Any) -> None:
        reasons.append({"rule": rule, "contribution": round(contribution, 3), **detail})

    similarity = float(row["name_similarity"] or 0)
    if similarity > 0:
        add("similar_name", WEIGHT_NAME * similarity, similarity=round(similarity, 3))
    cover = float(row["name_cover"] or 0)
    if cover > 0:
        add(
            "name_terms",
            WEIGHT_NAME_TERMS * cover,
            terms=list(row["name_terms"] or [])[:TERMS_SHOWN],
            similarity=round(cover, 3),
        )
    shared = list(row["shared_terms"] or [])
    dice = 2 * len(shared) / row["terms"] if row["terms"] else 0.0
    if shared:
        add(
            "shared_terms",
            WEIGHT_TERMS * min(1.0, dice / TERMS_FULL_AT),
            terms=shared[:TERMS_SHOWN],
            similarity=round(dice, 3),
        )
    kinds = (row["subject_kind"] or Kind.OTHER, row["other_kind"] or Kind.OTHER)
    if Kind.OTHER not in kinds and kinds[0] != kinds[1]:
        add("kind_differs", WEIGHT_KIND_DIFFERS, kinds=list(kinds))
    elif Kind.OTHER not in kinds:
        add("kind", WEIGHT_SHARED_KEY, kind=kinds[0])
    if row["touchpoints"]:
        add("touchpoint", WEIGHT_SHARED_KEY, touchpoints=list(row["touchpoints"]))
    if row["journey_stages"]:
        add("journey_stage", WEIGHT_SHARED_KEY, journey_stages=list(row["journey_stages"]))
    if row["goal"]:
        add("goal", WEIGHT_SHARED_KEY, goal=row["goal"])
    if row["systems"]:
        add("system", WEIGHT_SHARED_KEY, systems=list(row["systems"]))
    score = round(sum(reason["contribution"] for reason in reasons), 3)
    reasons.sort(key=lambda reason: (-abs(reason["contribution"]), RULES.index(reason["rule"])))
    return score, reasons


def _candidate(row: Mapping[str, Any], score: float, reasons: list[dict[str, Any]]) -> dict:
    return {
        "key": row["key"],
        "name": row["name"],
        "stage": row["stage"],
        "lead_department": row["lead_department"],
        "lead_department_name": row["lead_department_name"],
        "score": score,
        "reasons": reasons,
    }


def scored_candidates(
    subjects: Sequence[Subject],
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
    threshold: float = THRESHOLD,
) -> list[list[dict[str, Any]]]:
    """For each subject, the overlapping initiatives (score ≥ threshold), best first."""
    found: list[list[dict[str, Any]]] = [[] for _subject in subjects]
    if not subjects:
        return found
    for row in _features(subjects, user=user, vision_id=_vision_id(vision), period=period):
        score, reasons = score_features(row)
        if score >= threshold:
            found[row["n"]].append(_candidate(row, score, reasons))
    for rows in found:
        rows.sort(key=lambda candidate: (-candidate["score"], candidate["key"]))
    return found


def overlaps_of(
    subject: Subject | Initiative | Mapping[str, Any],
    *,
    user: Any,
    vision: Vision | int | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """One initiative's (or unsaved values') overlapping open initiatives, best first."""
    vision = resolve_vision(vision)
    if isinstance(subject, Initiative):
        subject = subject_of(subject, vision=vision)
    elif not isinstance(subject, Subject):
        subject = subject_from_values(subject, vision=vision)
    return scored_candidates([subject], user=user, vision=vision, period=period)[0]


class _Everything:
    """The reader of a scan: every initiative (each reader's visibility applies on reading)."""

    is_superuser = True
    is_authenticated = True


EVERYTHING = _Everything()


def unscanned(scope: models.QuerySet | None = None) -> models.QuerySet:
    """Open initiatives changed since their overlaps were last scored (or never scored)."""
    scope = candidate_scope(user=EVERYTHING) if scope is None else scope
    return scope.exclude(
        Exists(
            OverlapScan.objects.filter(
                initiative=OuterRef("pk"), scanned_at__gte=OuterRef("updated_at")
            )
        )
    )


def overlap_freshness(*, user: Any, period: str | None = None) -> dict[str, Any]:
    """Whether whole-portfolio overlaps are scored per request (`live`) or read from the kept
    scores, and then how many of the reader's open initiatives wait for the worker."""
    if _live(user=user, period=period):
        return {"live": True, "waiting": 0}
    scope = candidate_scope(user=user, period=period)
    return {"live": False, "waiting": unscanned(scope).count()}


def _live(*, user: Any, period: str | None) -> bool:
    limit = settings.REGISTRY_OVERLAP_LIVE_LIMIT
    return candidate_scope(user=user, period=period)[: limit + 1].count() <= limit


def kept_summary(
    *, user: Any, period: str | None, shown: int, members_shown: int
) -> dict[str, Any]:
    """The kept scores as a page that cannot list them all shows them: the exact number of
    groups and of initiatives in any group, and the `shown` largest groups, each with its
    `size`, first `members_shown` members by key and its three best pairs with reasons.

    Groups are joined from the pairs' ids alone (one row of three numbers per pair, deduplicated
    in SQL); only the pairs shown are read with their reasons. Reading every pair with its
    reasons took 11.5 s for 297,000 pairs at 10,000 benchmark initiatives.
    """
    scope = candidate_scope(user=user, period=period).values("pk")
    pairs = list(
        OverlapCandidate.objects.filter(initiative__in=scope, other__in=scope)
        .annotate(a=Least("initiative_id", "other_id"), b=Greatest("initiative_id", "other_id"))
        .values("a", "b")
        .annotate(best=Max("score"))
        .values_list("a", "b", "best")
    )
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b, _score in pairs:
        parent[root(a)] = root(b)
    members: dict[int, list[int]] = {}
    for node in parent:
        members.setdefault(root(node), []).append(node)
    best: dict[int, list[tuple[float, int, int]]] = {}
    for a, b, score in pairs:
        best.setdefault(root(a), []).append((score, a, b))
    info = {
        row["pk"]: row
        for row in Initiative.objects.filter(
            pk__in=[node for group in members.values() for node in group]
        ).values("pk", "key", "name", "stage", "lead_department__slug", "lead_department__name")
    }
    ordered = sorted(
        members,
        key=lambda top: (-len(members[top]), -max(s for s, _a, _b in best[top]), top),
    )[:shown]
    chosen = {
        top: sorted(best[top], key=lambda item: (-item[0], item[1], item[2]))[:3] for top in ordered
    }
    wanted = models.Q(pk__in=[])
    for items in chosen.values():
        for _score, a, b in items:
            wanted |= models.Q(initiative_id=a, other_id=b) | models.Q(initiative_id=b, other_id=a)
    reasons: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for a, b, found in OverlapCandidate.objects.filter(wanted).values_list(
        "initiative_id", "other_id", "reasons"
    ):
        reasons.setdefault((min(a, b), max(a, b)), found)
    groups = []
    for top in ordered:
        rows = sorted((info[node] for node in members[top]), key=lambda row: row["key"])
        groups.append(
            {
                "size": len(rows),
                "score": max(s for s, _a, _b in best[top]),
                "departments": sorted({row["lead_department__slug"] for row in rows}),
                "members": [
                    {
                        "id": row["pk"],
                        "key": row["key"],
                        "name": row["name"],
                        "stage": row["stage"],
                        "lead_department": row["lead_department__slug"],
                        "lead_department_name": row["lead_department__name"],
                    }
                    for row in rows[:members_shown]
                ],
                "pairs": [
                    {
                        "keys": sorted((info[a]["key"], info[b]["key"])),
                        "score": score,
                        "reasons": reasons.get((a, b), []),
                    }
                    for score, a, b in chosen[top]
                ],
            }
        )
    return {"count": len(members), "initiatives": len(parent), "groups": groups}


def _kept_pairs(*, user: Any, period: str | None) -> list[dict[str, Any]]:
    """The kept scores between two initiatives the reader may see, in scope."""
    scope = candidate_scope(user=user, period=period).values("pk")
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    kept = OverlapCandidate.objects.filter(initiative__in=scope, other__in=scope).values_list(
        "initiative__key", "other__key", "score", "reasons"
    )
    for subject, other, score, reasons in kept:
        keys = tuple(sorted((subject, other)))
        if keys not in pairs or score > pairs[keys]["score"]:
            pairs[keys] = {"keys": list(keys), "score": score, "reasons": reasons}
    return sorted(pairs.values(), key=lambda pair: (-pair["score"], pair["keys"]))


def scan_subjects(rows: list[dict[str, Any]]) -> tuple[Vision | None, list[Subject]]:
    """The subjects of a scan (rows of `SCAN_FIELDS`), against the active vision."""
    vision = resolve_vision(None)
    return vision, list(_subjects(rows, _vision_id(vision)).values())


def overlap_pairs(
    *, user: Any, vision: Vision | int | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """Every overlapping pair among what the user may see: `keys` (sorted), score, reasons.

    Scored now for a portfolio up to `REGISTRY_OVERLAP_LIVE_LIMIT` open initiatives; read from
    the kept scores above it (`overlap_freshness` tells how current they are)."""
    if not _live(user=user, period=period):
        return _kept_pairs(user=user, period=period)
    rows = list(candidate_scope(user=user, period=period).values(*SCAN_FIELDS))
    vision = resolve_vision(vision)
    subjects = list(_subjects(rows, _vision_id(vision)).values())
    found = scored_candidates(subjects, user=user, vision=vision, period=period)
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for subject, candidates in zip(subjects, found, strict=True):
        for candidate in candidates:
            keys = tuple(sorted((str(subject.key), candidate["key"])))
            pairs.setdefault(
                keys,  # type: ignore[arg-type]
                {"keys": list(keys), "score": candidate["score"], "reasons": candidate["reasons"]},
            )
    return sorted(pairs.values(), key=lambda pair: (-pair["score"], pair["keys"]))


def initiatives_with_overlaps(
    user: Any, *, vision: Vision | int | None = None, period: str | None = None
) -> models.QuerySet:
    """The initiatives the user may see that are part of an overlap pair, as a queryset (for a
    changelist filter): the same pairs as the overlaps report."""
    if not _live(user=user, period=period):
        scope = candidate_scope(user=user, period=period).values("pk")
        kept = OverlapCandidate.objects.filter(
            models.Q(initiative=OuterRef("pk"), other__in=scope)
            | models.Q(other=OuterRef("pk"), initiative__in=scope)
        )
        return visible_initiatives(user).filter(pk__in=scope).filter(Exists(kept))
    keys = {
        key
        for pair in overlap_pairs(user=user, vision=vision, period=period)
        for key in pair["keys"]
    }
    return visible_initiatives(user).filter(key__in=sorted(keys))


def reason_text(reason: Mapping[str, Any]) -> str:
    """One reason in the reader's language, with its contribution."""
    rule = reason["rule"]
    if rule == "similar_name":
        text = _("similar name")
    elif rule == "name_terms":
        text = _("words of the name in the other's text: %(terms)s") % {
            "terms": ", ".join(reason.get("terms", []))
        }
    elif rule == "kind_differs":
        text = _("different kinds: %(kinds)s") % {
            "kinds": ", ".join(label_of("kind", v) for v in reason["kinds"])
        }
    elif rule == "shared_terms":
        text = _("shared words: %(terms)s") % {"terms": ", ".join(reason.get("terms", []))}
    elif rule == "kind":
        text = _("same kind (%(kind)s)") % {"kind": label_of("kind", reason["kind"])}
    elif rule == "touchpoint":
        text = _("same touchpoint: %(values)s") % {
            "values": ", ".join(label_of("touchpoint", v) for v in reason["touchpoints"])
        }
    elif rule == "journey_stage":
        text = _("same journey stage: %(values)s") % {
            "values": ", ".join(label_of("journey_stage", v) for v in reason["journey_stages"])
        }
    elif rule == "goal":
        text = _("same primary goal %(goal)s") % {"goal": reason["goal"]}
    else:
        text = _("shared systems: %(values)s") % {"values": ", ".join(reason["systems"])}
    contribution = float(reason["contribution"])
    sign = "−" if contribution < 0 else "+"
    return f"{text} ({sign}{formats.number_format(abs(contribution), decimal_pos=2)})"


__all__ = [
    "CANDIDATES_PER_WORD",
    "EVERYTHING",
    "RULES",
    "SCAN_FIELDS",
    "THRESHOLD",
    "Subject",
    "candidate_scope",
    "initiatives_with_overlaps",
    "kept_summary",
    "overlap_freshness",
    "overlap_pairs",
    "overlaps_of",
    "reason_text",
    "scan_subjects",
    "score_features",
    "scored_candidates",
    "subject_from_values",
    "subject_of",
    "subjects_by_key",
    "unscanned",
]
