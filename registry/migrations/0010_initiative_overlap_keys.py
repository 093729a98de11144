"""The indexes the batch overlap lookup joins through (`reports.overlaps_by_key`, DESIGN §2).

- `registry_init_overlap_gin`: one GIN entry per kind × touchpoint × journey stage of an
  initiative, the first rule's key. One probe returns exactly the initiatives sharing kind, a
  touchpoint and a journey stage with a given one. The separate GIN indexes on touchpoints
  and on journey stages cannot do that: each matches about a third of the portfolio, so
  intersecting them costs the portfolio per item.
- `registry_align_primary_goal` (primary alignments by goal) and `registry_init_sys_by_system`
  (initiatives by system): the second rule, primary goal and system, joins the batch's goals
  with its systems through these two, index-only, instead of hashing every primary alignment
  and every initiative–system link of the portfolio. The latter is on the table Django keeps
  for `Initiative.systems`, which has no model to declare indexes on, so it is plain SQL.

`registry_overlap_keys` is IMMUTABLE (it only reads its arguments), as an index expression must
be. `|` never occurs in the vocabulary codes it joins. All are built concurrently so that
writes go on while they build.
"""

import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION registry_overlap_keys(
    kind text, touchpoints text[], journey_stages text[]
) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(kind || '|' || t || '|' || j), '{}')
    FROM unnest(touchpoints) AS t, unnest(journey_stages) AS j
$$
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS registry_overlap_keys(text, text[], text[])"

CREATE_SYSTEM_INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS registry_init_sys_by_system
    ON registry_initiative_systems (system_id, initiative_id)
"""
DROP_SYSTEM_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS registry_init_sys_by_system"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0009_report_rollups"),
    ]

    operations = [
        migrations.RunSQL(CREATE_FUNCTION, DROP_FUNCTION),
        AddIndexConcurrently(
            model_name="initiative",
            index=django.contrib.postgres.indexes.GinIndex(
                models.Func(
                    models.F("kind"),
                    models.F("touchpoints"),
                    models.F("journey_stages"),
                    function="registry_overlap_keys",
                    output_field=django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=30)
                    ),
                ),
                name="registry_init_overlap_gin",
            ),
        ),
        AddIndexConcurrently(
            model_name="alignment",
            index=models.Index(
                condition=models.Q(("is_primary", True)),
                fields=["goal", "initiative"],
                name="registry_align_primary_goal",
            ),
        ),
        migrations.RunSQL(CREATE_SYSTEM_INDEX, DROP_SYSTEM_INDEX),
    ]
