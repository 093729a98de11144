"""How events get into the outbox: PostgreSQL triggers on the tables that change.

A trigger runs inside the statement that changes the row, so the event commits or rolls back
with the change — no code path can forget it, and set-based writes (bulk sync, `update()`,
raw SQL) are captured like single saves. Each trigger writes a small payload of ids and keys
(initiative key, source, external id, version, stage); receivers fetch details through the
API. The triggers are registered on the models here and installed by the registry's
migrations (django-pgtrigger).

Events per initiative row update: `initiative.archived` when archived_at gets set,
`initiative.stage_changed` when the stage changes, and `initiative.updated` for any other
change (or a version bump alone, which is how related data such as departments or tags
report a change). A write that changes nothing but bookkeeping emits nothing.
"""

from __future__ import annotations

import pgtrigger

from registry.models import Alignment, Initiative, Measurement, Review

OUTBOX_TABLE = "registry_outboxevent"

# PL/pgSQL: the initiative as receivers identify it, from a registry_initiative row `{row}`.
_INITIATIVE_JSON = """jsonb_build_object(
    'id', {row}.id,
    'key', {row}.key,
    'source', NULLIF({row}.source, ''),
    'external_id', {row}.external_id,
    'version', {row}.version,
    'stage', {row}.stage,
    'archived_at', {row}.archived_at
)"""

_INSERT = f"""
    INSERT INTO {OUTBOX_TABLE}
        (event_type, occurred_at, ordering_key, initiative_id, subscription_id, payload,
         dispatched_at)
    VALUES ({{event}}, clock_timestamp(), {{key}}, {{initiative_id}}, NULL, {{payload}}, NULL);
"""


def _insert(*, event: str, key: str, initiative_id: str, payload: str) -> str:
    return _INSERT.format(event=event, key=key, initiative_id=initiative_id, payload=payload)


_INITIATIVE_KEY = "'initiative:' || NEW.id"
_INITIATIVE_CREATED = _insert(
    event="'initiative.created'",
    key=_INITIATIVE_KEY,
    initiative_id="NEW.id",
    payload="jsonb_build_object('initiative', subject)",
)
_INITIATIVE_ARCHIVED = _insert(
    event="'initiative.archived'",
    key=_INITIATIVE_KEY,
    initiative_id="NEW.id",
    payload="jsonb_build_object('initiative', subject)",
)
_INITIATIVE_STAGE_CHANGED = _insert(
    event="'initiative.stage_changed'",
    key=_INITIATIVE_KEY,
    initiative_id="NEW.id",
    payload=(
        "jsonb_build_object('initiative', subject, 'from_stage', OLD.stage, 'to_stage', NEW.stage)"
    ),
)
_INITIATIVE_UPDATED = _insert(
    event="'initiative.updated'",
    key=_INITIATIVE_KEY,
    initiative_id="NEW.id",
    payload="jsonb_build_object('initiative', subject, 'changed_fields', to_jsonb(rest))",
)

INITIATIVE_FUNC = f"""
DECLARE
    subject jsonb := {_INITIATIVE_JSON.format(row="NEW")};
    changed text[];
    rest text[];
    covered text[] := ARRAY['version'];
    archived boolean := false;
    moved boolean := false;
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_INITIATIVE_CREATED}
        RETURN NULL;
    END IF;

    -- Column names whose value changed, minus bookkeeping that every save touches.
    SELECT COALESCE(array_agg(n.key ORDER BY n.key), '{{}}') INTO changed
      FROM jsonb_each(to_jsonb(NEW)) n
     WHERE n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key)
       AND n.key NOT IN ('updated_at', 'updated_by_id', 'search_vector');
    IF cardinality(changed) = 0 THEN
        RETURN NULL;
    END IF;

    IF OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN
        archived := true;
        covered := covered || ARRAY['archived_at', 'archived_by_id'];
        {_INITIATIVE_ARCHIVED}
    END IF;

    IF OLD.stage IS DISTINCT FROM NEW.stage THEN
        moved := true;
        -- A closing move also sets the end date; that is part of the move.
        covered := covered || ARRAY['stage', 'paused_from', 'end_date'];
        {_INITIATIVE_STAGE_CHANGED}
    END IF;

    SELECT COALESCE(array_agg(
               CASE c WHEN 'owner_id' THEN 'owner'
                      WHEN 'lead_department_id' THEN 'lead_department'
                      WHEN 'archived_by_id' THEN 'archived_by'
                      ELSE c END ORDER BY c), '{{}}')
      INTO rest
      FROM unnest(changed) c
     WHERE c <> ALL (covered);
    IF cardinality(rest) > 0 OR NOT (archived OR moved) THEN
        {_INITIATIVE_UPDATED}
    END IF;
    RETURN NULL;
END;
"""

_ALIGNMENT_CHANGED = _insert(
    event="'alignment.changed'",
    key="'initiative:' || rec.initiative_id",
    initiative_id="rec.initiative_id",
    payload=(
        "jsonb_build_object("
        "'operation', operation, "
        "'initiative', COALESCE(subject, jsonb_build_object('id', rec.initiative_id)), "
        "'alignment', jsonb_build_object('id', rec.id, 'goal_id', rec.goal_id, "
        "'goal', goal_code, 'strength', rec.strength, 'is_primary', rec.is_primary))"
    ),
)

ALIGNMENT_FUNC = f"""
DECLARE
    rec registry_alignment%ROWTYPE;
    operation text;
    subject jsonb;
    goal_code text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        rec := OLD;
        operation := 'deleted';
    ELSE
        rec := NEW;
        operation := CASE TG_OP WHEN 'INSERT' THEN 'created' ELSE 'updated' END;
    END IF;
    IF TG_OP = 'UPDATE' AND NOT EXISTS (
        SELECT 1 FROM jsonb_each(to_jsonb(NEW)) n
         WHERE n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key)
           AND n.key NOT IN ('updated_at', 'version')
    ) THEN
        RETURN NULL;
    END IF;
    -- Empty when the initiative itself is being deleted (cascade): the id still identifies it.
    SELECT {_INITIATIVE_JSON.format(row="i")} INTO subject
      FROM registry_initiative i WHERE i.id = rec.initiative_id;
    SELECT g.code INTO goal_code FROM registry_goal g WHERE g.id = rec.goal_id;
    {_ALIGNMENT_CHANGED}
    RETURN NULL;
END;
"""

_REVIEW_CLOSED = _insert(
    event="'review.closed'",
    key="'review:' || NEW.id",
    initiative_id="NULL",
    payload=(
        "jsonb_build_object('review', jsonb_build_object("
        "'id', NEW.id, 'vision_id', NEW.vision_id, 'period', NEW.period, "
        "'closed_at', NEW.closed_at, 'decisions', "
        "(SELECT count(*) FROM registry_reviewdecision d WHERE d.review_id = NEW.id)))"
    ),
)

REVIEW_FUNC = f"""
BEGIN
    IF NEW.status = 'closed' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'closed') THEN
        {_REVIEW_CLOSED}
    END IF;
    RETURN NULL;
END;
"""

_MEASUREMENT_ADDED = _insert(
    event="'measurement.added'",
    key="'goal:' || NEW.goal_id",
    initiative_id="NULL",
    payload=(
        "jsonb_build_object('measurement', jsonb_build_object("
        "'id', NEW.id, 'goal_id', NEW.goal_id, "
        "'goal', (SELECT g.code FROM registry_goal g WHERE g.id = NEW.goal_id), "
        "'observed_on', NEW.observed_on, 'value', NEW.value::text, 'source', NEW.source))"
    ),
)

MEASUREMENT_FUNC = f"""
BEGIN
    {_MEASUREMENT_ADDED}
    RETURN NULL;
END;
"""

pgtrigger.register(
    pgtrigger.Trigger(
        name="outbox_initiative",
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update,
        func=INITIATIVE_FUNC,
    )
)(Initiative)
pgtrigger.register(
    pgtrigger.Trigger(
        name="outbox_alignment",
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=ALIGNMENT_FUNC,
    )
)(Alignment)
pgtrigger.register(
    pgtrigger.Trigger(
        name="outbox_review",
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update,
        func=REVIEW_FUNC,
    )
)(Review)
pgtrigger.register(
    pgtrigger.Trigger(
        name="outbox_measurement",
        when=pgtrigger.After,
        operation=pgtrigger.Insert,
        func=MEASUREMENT_FUNC,
    )
)(Measurement)
