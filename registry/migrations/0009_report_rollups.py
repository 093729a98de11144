"""Report rollups kept by the database (registry/selectors/rollup.py explains the design).

Statement triggers on initiatives, alignments, goals and visions keep the active vision's
per-initiative contributions and the report deltas current; the last step fills them for
the data already there.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = r"""
CREATE FUNCTION registry_quarter(day date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT extract(year FROM day)::int * 4 + extract(quarter FROM day)::int - 1
$$;

-- What the initiatives contribute now: their report columns and their alignment to the live
-- goals of the active vision (the rule of InitiativeQuerySet.with_alignment_level and
-- with_primary_goal). Archived initiatives get a row too (live = false): the list shows
-- their alignment level, the reports leave them out.
CREATE FUNCTION registry_rollup_state(ids bigint[]) RETURNS SETOF registry_initiativerollup
LANGUAGE sql STABLE AS $$
    SELECT i.id, i.archived_at IS NULL, i.confidential,
           i.stage NOT IN ('retired', 'stopped'),
           registry_quarter(i.start_date), registry_quarter(i.end_date),
           i.stage, i.kind, i.lead_department_id, i.risk_tier, i.interaction_mode,
           i.currency, i.budget_planned, i.budget_spent,
           coalesce(l.strength, 0)::smallint,
           coalesce(l.goal_ids, '{}'), coalesce(l.goal_strengths, '{}'), l.primary_goal_id
    FROM registry_initiative i
    LEFT JOIN LATERAL (
        SELECT max(a.strength) AS strength,
               min(a.goal_id) FILTER (WHERE a.is_primary) AS primary_goal_id,
               array_agg(a.goal_id ORDER BY a.goal_id) AS goal_ids,
               array_agg(a.strength ORDER BY a.goal_id) AS goal_strengths
        FROM registry_alignment a
        JOIN registry_goal g ON g.id = a.goal_id AND g.archived_at IS NULL
        JOIN registry_vision v ON v.id = g.vision_id AND v.status = 'active'
        WHERE a.initiative_id = i.id
    ) l ON TRUE
    WHERE i.id = ANY(ids)
$$;

-- The portfolio report's cells one initiative counts in: one per breakdown dimension and
-- the total. Codes are text; departments and goals by id, the alignment level by strength.
CREATE FUNCTION registry_rollup_cells(s registry_initiativerollup)
RETURNS TABLE (
    dimension varchar, code text, confidential boolean, open boolean, aligned boolean,
    start_quarter integer, end_quarter integer, initiatives bigint,
    budget_planned numeric, budget_spent numeric
)
LANGUAGE sql IMMUTABLE AS $$
    SELECT d.dimension, d.code, s.confidential, s.open, s.alignment_strength > 0,
           s.start_quarter, s.end_quarter, 1::bigint, s.budget_planned, s.budget_spent
    FROM (VALUES
        ('stage', s.stage::text),
        ('kind', s.kind::text),
        ('lead_department', s.lead_department_id::text),
        ('primary_goal', s.primary_goal_id::text),
        ('alignment_level', s.alignment_strength::text),
        ('risk_tier', s.risk_tier::text),
        ('interaction_mode', s.interaction_mode::text),
        ('currency', s.currency::text),
        ('total', NULL)
    ) AS d(dimension, code)
$$;

-- The alignment matrix's cells: one per goal of the active vision the initiative serves.
CREATE FUNCTION registry_rollup_alignment_cells(s registry_initiativerollup)
RETURNS TABLE (
    goal_id bigint, lead_department_id bigint, strength smallint, confidential boolean,
    start_quarter integer, end_quarter integer, initiatives bigint, budget_planned numeric
)
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.goal_id, s.lead_department_id, g.strength, s.confidential,
           s.start_quarter, s.end_quarter, 1::bigint, s.budget_planned
    FROM unnest(s.goal_ids, s.goal_strengths) AS g(goal_id, strength)
$$;

-- Append sign × the contributions of the initiatives' current rollup rows, summed per cell.
CREATE FUNCTION registry_rollup_add(sign integer, ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO registry_portfoliorollup
        (dimension, code, confidential, open, aligned, start_quarter, end_quarter,
         initiatives, budget_planned, budget_spent)
    SELECT c.dimension, c.code, c.confidential, c.open, c.aligned, c.start_quarter,
           c.end_quarter, sign * sum(c.initiatives), sign * sum(c.budget_planned),
           sign * sum(c.budget_spent)
    FROM registry_initiativerollup s CROSS JOIN LATERAL registry_rollup_cells(s) c
    WHERE s.initiative_id = ANY(ids) AND s.live
    GROUP BY 1, 2, 3, 4, 5, 6, 7;

    INSERT INTO registry_alignmentrollup
        (goal_id, lead_department_id, strength, confidential, start_quarter, end_quarter,
         initiatives, budget_planned)
    SELECT c.goal_id, c.lead_department_id, c.strength, c.confidential, c.start_quarter,
           c.end_quarter, sign * sum(c.initiatives), sign * sum(c.budget_planned)
    FROM registry_initiativerollup s CROSS JOIN LATERAL registry_rollup_alignment_cells(s) c
    WHERE s.initiative_id = ANY(ids) AND s.live AND s.open
    GROUP BY 1, 2, 3, 4, 5, 6;
$$;

-- The one rule: bring the initiatives' contributions up to date with their rows.
CREATE FUNCTION registry_rollup_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    -- Another transaction refreshing one of these initiatives waits here until we commit,
    -- then sees our rows: its difference is taken against what we wrote, never a stale one.
    PERFORM 1 FROM registry_initiativerollup r
     WHERE r.initiative_id = ANY(ids) ORDER BY r.initiative_id FOR UPDATE;
    SELECT coalesce(array_agg(coalesce(f.initiative_id, r.initiative_id)), '{}')
      INTO changed
      FROM registry_rollup_state(ids) f
      FULL JOIN (SELECT * FROM registry_initiativerollup WHERE initiative_id = ANY(ids)) r
        ON r.initiative_id = f.initiative_id
     WHERE f IS DISTINCT FROM r;
    IF cardinality(changed) = 0 THEN
        RETURN;
    END IF;
    PERFORM registry_rollup_add(-1, changed);
    DELETE FROM registry_initiativerollup WHERE initiative_id = ANY(changed);
    INSERT INTO registry_initiativerollup SELECT * FROM registry_rollup_state(changed);
    PERFORM registry_rollup_add(1, changed);
END;
$$;

-- Everything from scratch: when the active vision changes, and after loads with triggers off.
CREATE FUNCTION registry_rollup_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE registry_initiativerollup, registry_portfoliorollup, registry_alignmentrollup;
    INSERT INTO registry_initiativerollup
    SELECT i.id, i.archived_at IS NULL, i.confidential,
           i.stage NOT IN ('retired', 'stopped'),
           registry_quarter(i.start_date), registry_quarter(i.end_date),
           i.stage, i.kind, i.lead_department_id, i.risk_tier, i.interaction_mode,
           i.currency, i.budget_planned, i.budget_spent,
           coalesce(l.strength, 0)::smallint,
           coalesce(l.goal_ids, '{}'), coalesce(l.goal_strengths, '{}'), l.primary_goal_id
    FROM registry_initiative i
    LEFT JOIN (
        SELECT a.initiative_id, max(a.strength) AS strength,
               min(a.goal_id) FILTER (WHERE a.is_primary) AS primary_goal_id,
               array_agg(a.goal_id ORDER BY a.goal_id) AS goal_ids,
               array_agg(a.strength ORDER BY a.goal_id) AS goal_strengths
        FROM registry_alignment a
        JOIN registry_goal g ON g.id = a.goal_id AND g.archived_at IS NULL
        JOIN registry_vision v ON v.id = g.vision_id AND v.status = 'active'
        GROUP BY a.initiative_id
    ) l ON l.initiative_id = i.id;
    PERFORM registry_rollup_add(1, ARRAY(SELECT initiative_id FROM registry_initiativerollup));
    ANALYZE registry_initiativerollup;
END;
$$;

-- Fold the deltas into one row per cell; returns the rows left in both rollups.
CREATE FUNCTION registry_rollup_compact() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    portfolio_rows bigint;
    alignment_rows bigint;
BEGIN
    WITH gone AS (DELETE FROM registry_portfoliorollup RETURNING *)
    INSERT INTO registry_portfoliorollup
        (dimension, code, confidential, open, aligned, start_quarter, end_quarter,
         initiatives, budget_planned, budget_spent)
    SELECT dimension, code, confidential, open, aligned, start_quarter, end_quarter,
           sum(initiatives), sum(budget_planned), sum(budget_spent)
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(initiatives) <> 0 OR sum(budget_planned) <> 0 OR sum(budget_spent) <> 0;
    GET DIAGNOSTICS portfolio_rows = ROW_COUNT;

    WITH gone AS (DELETE FROM registry_alignmentrollup RETURNING *)
    INSERT INTO registry_alignmentrollup
        (goal_id, lead_department_id, strength, confidential, start_quarter, end_quarter,
         initiatives, budget_planned)
    SELECT goal_id, lead_department_id, strength, confidential, start_quarter, end_quarter,
           sum(initiatives), sum(budget_planned)
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(initiatives) <> 0 OR sum(budget_planned) <> 0;
    GET DIAGNOSTICS alignment_rows = ROW_COUNT;
    RETURN portfolio_rows + alignment_rows;
END;
$$;

-- Triggers: one refresh per statement, with the rows it touched.
CREATE FUNCTION registry_rollup_initiatives_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM registry_rollup_refresh(ARRAY(SELECT id FROM old_rows));
    ELSE
        PERFORM registry_rollup_refresh(ARRAY(SELECT id FROM new_rows));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION registry_rollup_alignments_written() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM registry_rollup_refresh(ARRAY(SELECT DISTINCT initiative_id FROM new_rows));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM registry_rollup_refresh(ARRAY(
            SELECT initiative_id FROM new_rows UNION SELECT initiative_id FROM old_rows));
    ELSE
        PERFORM registry_rollup_refresh(ARRAY(SELECT DISTINCT initiative_id FROM old_rows));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION registry_rollup_goals_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_rollup_refresh(ARRAY(
        SELECT DISTINCT a.initiative_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        JOIN registry_alignment a ON a.goal_id = n.id
        WHERE o.archived_at IS DISTINCT FROM n.archived_at
           OR o.vision_id IS DISTINCT FROM n.vision_id));
    RETURN NULL;
END;
$$;

CREATE FUNCTION registry_rollup_visions_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    moved boolean;
BEGIN
    -- Each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        moved := EXISTS (SELECT 1 FROM new_rows WHERE status = 'active');
    ELSIF TG_OP = 'DELETE' THEN
        moved := EXISTS (SELECT 1 FROM old_rows WHERE status = 'active');
    ELSE
        moved := EXISTS (
            SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.status = 'active') <> (o.status = 'active'));
    END IF;
    IF moved THEN
        PERFORM registry_rollup_rebuild();
    END IF;
    RETURN NULL;
END;
$$;
"""

TRIGGERS = """
CREATE TRIGGER registry_rollup_initiative_insert AFTER INSERT ON registry_initiative
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_initiatives_written();
CREATE TRIGGER registry_rollup_initiative_update AFTER UPDATE ON registry_initiative
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_initiatives_written();
CREATE TRIGGER registry_rollup_initiative_delete AFTER DELETE ON registry_initiative
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_initiatives_written();
CREATE TRIGGER registry_rollup_alignment_insert AFTER INSERT ON registry_alignment
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_alignments_written();
CREATE TRIGGER registry_rollup_alignment_update AFTER UPDATE ON registry_alignment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_alignments_written();
CREATE TRIGGER registry_rollup_alignment_delete AFTER DELETE ON registry_alignment
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_alignments_written();
CREATE TRIGGER registry_rollup_goal_update AFTER UPDATE ON registry_goal
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_goals_updated();
CREATE TRIGGER registry_rollup_vision_insert AFTER INSERT ON registry_vision
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_visions_written();
CREATE TRIGGER registry_rollup_vision_update AFTER UPDATE ON registry_vision
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_visions_written();
CREATE TRIGGER registry_rollup_vision_delete AFTER DELETE ON registry_vision
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION registry_rollup_visions_written();
"""

DROP = """
DROP TRIGGER IF EXISTS registry_rollup_initiative_insert ON registry_initiative;
DROP TRIGGER IF EXISTS registry_rollup_initiative_update ON registry_initiative;
DROP TRIGGER IF EXISTS registry_rollup_initiative_delete ON registry_initiative;
DROP TRIGGER IF EXISTS registry_rollup_alignment_insert ON registry_alignment;
DROP TRIGGER IF EXISTS registry_rollup_alignment_update ON registry_alignment;
DROP TRIGGER IF EXISTS registry_rollup_alignment_delete ON registry_alignment;
DROP TRIGGER IF EXISTS registry_rollup_goal_update ON registry_goal;
DROP TRIGGER IF EXISTS registry_rollup_vision_insert ON registry_vision;
DROP TRIGGER IF EXISTS registry_rollup_vision_update ON registry_vision;
DROP TRIGGER IF EXISTS registry_rollup_vision_delete ON registry_vision;
DROP FUNCTION IF EXISTS registry_rollup_visions_written();
DROP FUNCTION IF EXISTS registry_rollup_goals_updated();
DROP FUNCTION IF EXISTS registry_rollup_alignments_written();
DROP FUNCTION IF EXISTS registry_rollup_initiatives_written();
DROP FUNCTION IF EXISTS registry_rollup_compact();
DROP FUNCTION IF EXISTS registry_rollup_rebuild();
DROP FUNCTION IF EXISTS registry_rollup_refresh(bigint[]);
DROP FUNCTION IF EXISTS registry_rollup_add(integer, bigint[]);
DROP FUNCTION IF EXISTS registry_rollup_alignment_cells(registry_initiativerollup);
DROP FUNCTION IF EXISTS registry_rollup_cells(registry_initiativerollup);
DROP FUNCTION IF EXISTS registry_rollup_state(bigint[]);
DROP FUNCTION IF EXISTS registry_quarter(date);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0008_event_feed_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AlignmentRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('goal_id', models.BigIntegerField()),
                ('lead_department_id', models.BigIntegerField(null=True)),
                ('strength', models.PositiveSmallIntegerField()),
                ('confidential', models.BooleanField()),
                ('start_quarter', models.IntegerField(null=True)),
                ('end_quarter', models.IntegerField(null=True)),
                ('initiatives', models.BigIntegerField()),
                ('budget_planned', models.DecimalField(decimal_places=2, max_digits=20)),
            ],
            options={
                'verbose_name': 'alignment rollup',
            },
        ),
        migrations.CreateModel(
            name='PortfolioRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('dimension', models.CharField(max_length=20)),
                ('code', models.TextField(null=True)),
                ('confidential', models.BooleanField()),
                ('open', models.BooleanField()),
                ('aligned', models.BooleanField()),
                ('start_quarter', models.IntegerField(null=True)),
                ('end_quarter', models.IntegerField(null=True)),
                ('initiatives', models.BigIntegerField()),
                ('budget_planned', models.DecimalField(decimal_places=2, max_digits=20)),
                ('budget_spent', models.DecimalField(decimal_places=2, max_digits=20)),
            ],
            options={
                'verbose_name': 'portfolio rollup',
            },
        ),
        migrations.CreateModel(
            name='InitiativeRollup',
            fields=[
                ('initiative', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='rollup', serialize=False, to='registry.initiative')),
                ('live', models.BooleanField()),
                ('confidential', models.BooleanField()),
                ('open', models.BooleanField()),
                ('start_quarter', models.IntegerField(null=True)),
                ('end_quarter', models.IntegerField(null=True)),
                ('stage', models.CharField(max_length=20)),
                ('kind', models.CharField(max_length=30)),
                ('lead_department_id', models.BigIntegerField(null=True)),
                ('risk_tier', models.CharField(max_length=12)),
                ('interaction_mode', models.CharField(max_length=10)),
                ('currency', models.CharField(max_length=3)),
                ('budget_planned', models.DecimalField(decimal_places=2, max_digits=14)),
                ('budget_spent', models.DecimalField(decimal_places=2, max_digits=14)),
                ('alignment_strength', models.PositiveSmallIntegerField(help_text='Strongest alignment to a live goal of the active vision; 0 for none.')),
                ('goal_ids', django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), size=None)),
                ('goal_strengths', django.contrib.postgres.fields.ArrayField(base_field=models.SmallIntegerField(), size=None)),
                ('primary_goal', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='registry.goal')),
            ],
            options={
                'verbose_name': 'initiative rollup',
                'indexes': [models.Index(fields=['alignment_strength'], name='registry_irollup_strength_idx')],
            },
        ),
        migrations.RunSQL(FUNCTIONS + TRIGGERS + "SELECT registry_rollup_rebuild();", DROP),
    ]
