"""Writing many rows at once, for the generators of people and boards: ids reserved from the
tables' own sequences (so that later inserts never collide), then the rows by COPY on
PostgreSQL or by ``bulk_create`` elsewhere (the embedded SQLite, for small sizes).

Rows are lists of column values in the order of ``columns``, their ids filled in from
``reserve``. A JSON column's value is JSON text, as COPY takes it; ``bulk_create`` is given
the decoded value. The writer holds no connection: threads may share one, each writing
through its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models, transaction


class BulkWriter:
    def __init__(self, *, use_copy: bool = True) -> None:
        self.postgresql = connection.vendor == "postgresql"
        self.use_copy = use_copy and self.postgresql

    def reserve(self, counts: Sequence[tuple[type[models.Model], int]]) -> list[int]:
        """The first of ``count`` consecutive new ids for each model (0 for none), from its
        sequence, in a short transaction of its own."""
        firsts = []
        with transaction.atomic(), connection.cursor() as cursor:
            for model, count in counts:
                table = model._meta.db_table
                if not count:
                    firsts.append(0)
                elif self.postgresql:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    sequence = cursor.fetchone()[0]
                    # ALTER SEQUENCE holds every other nextval() on it off until this
                    # transaction ends (it changes nothing here: Django's increment is 1),
                    # so the block between nextval() and setval() is ours alone. Unlike a
                    # table lock, it does not wait for the other writer's open transaction.
                    cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
                    cursor.execute("SELECT nextval(%s)", [sequence])
                    first = cursor.fetchone()[0]
                    if count > 1:
                        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
                    firsts.append(first)
                else:
                    cursor.execute(f'SELECT MAX(id) FROM "{table}"')  # noqa: S608  (our table)
                    firsts.append((cursor.fetchone()[0] or 0) + 1)
        return firsts

    def write(self, model: type[models.Model], columns: Sequence[str], rows: list) -> None:
        """Insert ``rows`` (lists of values in the order of ``columns``, database column
        names) into the model's table, in the caller's transaction."""
        if not rows:
            return
        if self.use_copy:
            names = ", ".join(f'"{name}"' for name in columns)
            sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
            with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        fields = {f.column: f for f in model._meta.concrete_fields}
        attnames = [fields[column].attname for column in columns]
        json_columns = {
            i for i, column in enumerate(columns) if isinstance(fields[column], models.JSONField)
        }
        objects = []
        for row in rows:
            values = dict(zip(attnames, row, strict=True))
            for i in json_columns:
                values[attnames[i]] = json.loads(row[i])
            objects.append(model(**values))
        model.objects.bulk_create(objects, batch_size=1000)
