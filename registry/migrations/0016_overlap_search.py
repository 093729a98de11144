"""Trigram similarity for overlap scoring (`registry.selectors.overlaps`, DESIGN §2).

Overlap scoring reads what the initiatives' texts say: full-text over name, summary and
hypothesis (the stored `search_vector` and its GIN index, migration 0001) and trigram similarity
of names. `pg_trgm` brings `similarity()` and the `%` operator; `registry_init_name_trgm` is the
GIN trigram index that lets "initiatives named like this one" be an index probe rather than a
pass over the portfolio. Built concurrently so writes go on while it builds.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations
from django.db.models import F


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("registry", "0013_exact_count_indexes"),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrently(
            model_name="initiative",
            index=GinIndex(
                OpClass(F("name"), name="gin_trgm_ops"),
                name="registry_init_name_trgm",
            ),
        ),
    ]
