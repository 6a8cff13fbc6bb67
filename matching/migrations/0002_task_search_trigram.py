"""Free-text search on PostgreSQL: a trigram index (pg_trgm) on the normalised search text,
which serves ``LIKE '%…%'`` for Japanese as well (no word stemming). Other databases search
the same column without it."""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS matching_task_search_trgm "
    "ON matching_task USING gin (search_text gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS matching_task_search_trgm"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
