"""Trigram similarity of names for overlap scoring (`registry.selectors.overlaps`, DESIGN §2).

Overlap scoring reads what the initiatives' texts say: full text over name, summary and
hypothesis (the stored `search_vector` and its GIN index `registry_init_search_gin`, migration
0001, through which the candidates are found) and the trigram similarity of the names.
pg_trgm's `similarity()` is the measure, but pg_trgm is a contrib extension that not every
PostgreSQL carries: the embedded PostgreSQL of `make run` / `make test` has none. So the same
measure is two SQL functions here, on every server alike: a word is a run of letters and
digits, lower-cased, padded with two blanks before and one after; its trigrams are the
distinct three-character windows; the similarity is shared trigrams over all trigrams of
both names (pg_trgm's definition). A GIN trigram index on the name was tried as a second probe
for candidates: on the labelled pairs it found nothing the words missed, and at 100,000
initiatives with templated names each probe read 40 ms of posting lists, so none is built.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION registry_trigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(padded, position, 3)), '{}')
    FROM (
        SELECT '  ' || word || ' ' AS padded
        FROM regexp_split_to_table(lower(coalesce(value, '')), '[^[:alnum:]]+') AS word
        WHERE word <> ''
    ) AS words
    CROSS JOIN LATERAL generate_series(1, length(padded) - 2) AS position
$$;

CREATE OR REPLACE FUNCTION registry_similarity(a text, b text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN cardinality(x) = 0 AND cardinality(y) = 0 THEN 0::real
        ELSE (SELECT count(*) FROM (SELECT unnest(x) INTERSECT SELECT unnest(y)) AS shared)::real
             / (SELECT count(*) FROM (SELECT unnest(x) UNION SELECT unnest(y)) AS every)::real
    END
    FROM (SELECT registry_trigrams(a) AS x, registry_trigrams(b) AS y) AS trigrams
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS registry_similarity(text, text);
DROP FUNCTION IF EXISTS registry_trigrams(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0015_import_mappings"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
