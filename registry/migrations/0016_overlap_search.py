"""pg_trgm for overlap scoring (`registry.selectors.overlaps`, DESIGN §2).

Overlap scoring reads what the initiatives' texts say: full text over name, summary and
hypothesis (the stored `search_vector` and its GIN index `registry_init_search_gin`, migration
0001, through which the candidates are found) and the trigram similarity of names, for which
`pg_trgm` brings `similarity()`. A GIN trigram index on the name was tried as a second probe
for candidates: on the labelled pairs it found nothing the words missed, and at 100,000
initiatives with templated names each probe read 40 ms of posting lists, so it is not built.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0015_import_mappings"),
    ]

    operations = [
        TrigramExtension(),
    ]
