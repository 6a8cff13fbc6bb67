"""Free-text search at every length on PostgreSQL: the normalised search text's 1- and
2-grams in a generated column with a GIN index, in place of the trigram index of ``0002``.

A trigram index cannot serve a query shorter than three characters, and two-character words
are what people type in Japanese (草刈, 祭り, 田植): such a search read every live task.
Neither pg_bigm nor PGroonga is packaged for Debian's PostgreSQL, so the key is our own:
``matching_search_grams(text)`` (IMMUTABLE, so that a generated column may call it) gives the
text's characters and its overlapping pairs of characters; ``search_grams`` holds them for
each task, recomputed by PostgreSQL at every write, and ``matching_task_search_grams`` is its
GIN index. ``matching.selectors.search`` writes the predicate the index answers: the query
itself for one or two characters, every bigram of it and then the exact substring for three
or more.

A stored column rather than an index on the function's expression: the planner may test a
row's grams outside the index (walking the board by date and filtering), and computing them
costs about 0.1 ms a task where reading them costs a few microseconds. The model does not
declare the column, so that no read of a task carries it. Adding it rewrites the table once
(about 30 s at 100,000 tasks on this machine); the index is then built concurrently and the
table analysed, so that the planner knows how common each gram is. SQLite keeps its plain
substring search.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION matching_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT c || ARRAY(SELECT a || b FROM unnest(c[:cardinality(c) - 1], c[2:]) AS u(a, b))
    FROM string_to_array(t, NULL) AS c
$$
"""
COLUMN = (
    "ALTER TABLE matching_task ADD COLUMN IF NOT EXISTS search_grams text[] "
    "GENERATED ALWAYS AS (matching_search_grams(search_text)) STORED"
)
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS matching_task_search_grams "
    "ON matching_task USING gin (search_grams)"
)
TRIGRAM = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS matching_task_search_trgm "
    "ON matching_task USING gin (search_text gin_trgm_ops)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(COLUMN)
        schema_editor.execute(INDEX)
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS matching_task_search_trgm")
        schema_editor.execute("ANALYZE matching_task")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGRAM)
        schema_editor.execute("ALTER TABLE matching_task DROP COLUMN IF EXISTS search_grams")
        schema_editor.execute("DROP FUNCTION IF EXISTS matching_search_grams(text)")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("matching", "0008_loop_between_host_and_participants")]

    operations = [migrations.RunPython(forwards, backwards)]
