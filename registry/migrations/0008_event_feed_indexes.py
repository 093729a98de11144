"""Indexes of the history event tables for the change feed: each table is paged in
(pgh_created_at, pgh_id) order, and an event's previous one (its diff's "before") is found
by (pgh_obj, pgh_id).

Built concurrently: a plain CREATE INDEX would hold back every write to the tracked tables
(their triggers insert into these tables) for as long as the build takes.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

FEED = ("pgh_created_at", "pgh_id")
PREVIOUS = ("pgh_obj", "pgh_id")

# model, index name prefix, whether its events name their object (pgh_obj)
TABLES = [
    ("visionevent", "vision", True),
    ("goalevent", "goal", True),
    ("measurementevent", "measure", True),
    ("initiativeevent", "init", True),
    ("initiativedepartmentevent", "initdept", False),
    ("initiativesystemevent", "initsys", False),
    ("initiativetagevent", "inittag", False),
    ("alignmentevent", "align", True),
    ("dependencyevent", "dep", True),
    ("teamroleevent", "team", True),
    ("reviewdecisionevent", "decision", True),
]


def operations() -> list[AddIndexConcurrently]:
    result = []
    for model, prefix, per_object in TABLES:
        result.append(
            AddIndexConcurrently(
                model_name=model,
                index=models.Index(fields=list(FEED), name=f"registry_{prefix}ev_feed_idx"),
            )
        )
        if per_object:
            result.append(
                AddIndexConcurrently(
                    model_name=model,
                    index=models.Index(fields=list(PREVIOUS), name=f"registry_{prefix}ev_prev_idx"),
                )
            )
    return result


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0007_saved_view"),
    ]

    operations = operations()
