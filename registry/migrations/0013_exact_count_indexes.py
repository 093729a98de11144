"""Indexes that let exact list counts read indexes instead of the initiative table.

A list's `count` is exact (`registry.selectors.counting`). Counting the live portfolio by
stage, kind, risk tier or source, or by goal, read the whole table at a million
initiatives (1 GB; 180–410 ms; 750 ms for anyone but the PMO). Two partial indexes of the
live rows — their ids, and their short filter columns with the id, each carrying what
visibility reads (confidential, owner) — and the initiative added to the goal index make
those counts index-only scans (20–230 ms; docs/PERFORMANCE.md). Built concurrently, like the
feed indexes (0008), so writes go on while they build; the goal index is rebuilt under a
temporary name first, so the goal filter always has one.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

LIVE = models.Q(("archived_at__isnull", True))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0012_saved_view_unique_shared_slug"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="initiative",
            index=models.Index(
                condition=LIVE,
                fields=["id"],
                include=("confidential", "owner"),
                name="registry_init_live_id_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="initiative",
            index=models.Index(
                condition=LIVE,
                fields=["stage", "kind", "risk_tier", "source", "id"],
                include=("confidential", "owner"),
                name="registry_init_live_dims_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="alignment",
            index=models.Index(
                fields=["goal", "strength"],
                include=("initiative",),
                name="registry_align_goal_cover",
            ),
        ),
        RemoveIndexConcurrently(model_name="alignment", name="registry_align_goal_idx"),
        migrations.RenameIndex(
            model_name="alignment",
            new_name="registry_align_goal_idx",
            old_name="registry_align_goal_cover",
        ),
    ]
