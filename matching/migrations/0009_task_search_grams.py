"""Free-text search at every length on PostgreSQL: a GIN index over the 1- and 2-grams of
the normalised search text, replacing the trigram index of ``0002``.

A trigram index cannot serve a query shorter than three characters, and two-character words
are what people type in Japanese (草刈, 祭り, 田植): such a search read every live task.
Neither pg_bigm nor PGroonga is packaged for Debian's PostgreSQL, so the key is our own:
``matching_search_grams(text)`` (IMMUTABLE, so that it can be indexed) gives the text's
characters and its overlapping pairs of characters, and ``matching_task_search_grams`` is a
GIN index on that expression. ``matching.selectors.search`` writes the predicate the index
answers: the query itself for one or two characters, every bigram of it and then the exact
substring for three or more.

An expression index rather than a stored generated column: the same index, updated by every
write of ``search_text`` alike, without a few kilobytes of array in each row that every read
of a task would carry. The function is priced high so that the planner never evaluates it row
by row where the index can answer (about 0.1 ms a task), and the table analysed so that the
planner knows how common each gram is. The index is built concurrently, so
that the board takes writes while it is made. SQLite keeps its plain substring search.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION matching_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000
AS $$
    SELECT c || ARRAY(SELECT a || b FROM unnest(c[:cardinality(c) - 1], c[2:]) AS u(a, b))
    FROM string_to_array(t, NULL) AS c
$$
"""
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS matching_task_search_grams "
    "ON matching_task USING gin (matching_search_grams(search_text))"
)
TRIGRAM = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS matching_task_search_trgm "
    "ON matching_task USING gin (search_text gin_trgm_ops)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(INDEX)
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS matching_task_search_trgm")
        schema_editor.execute("ANALYZE matching_task")  # the expression's statistics


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGRAM)
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS matching_task_search_grams")
        schema_editor.execute("DROP FUNCTION IF EXISTS matching_search_grams(text)")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY runs outside a transaction

    dependencies = [("matching", "0008_loop_between_host_and_participants")]

    operations = [migrations.RunPython(forwards, backwards)]
