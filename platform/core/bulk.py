"""Writing many rows at once, for the generators of people and boards: ids reserved from the
tables' own sequences (so that later inserts never collide), then the rows by COPY on
PostgreSQL or by ``bulk_create`` elsewhere (the embedded SQLite, for small sizes).

Rows are lists of column values in the order of ``columns``, their ids filled in from
``reserve``. A JSON column's value is JSON text, as COPY takes it; ``bulk_create`` is given
the decoded value. The writer holds no connection: threads may share one, each writing
through its own.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence

from django.db import connection, models, transaction


class BulkWriter:
    def __init__(self, *, use_copy: bool = True) -> None:
        self.postgresql = connection.vendor == "postgresql"
        self.use_copy = use_copy and self.postgresql
        self._sequences: dict[str, str] = {}

    def prepare(self, models_: Sequence[type[models.Model]]) -> None:
        """Look up the id sequences of ``models_`` now (``reserve`` needs no more catalogue
        look-ups by table afterwards, while another connection may hold the tables)."""
        if self.postgresql:
            with connection.cursor() as cursor:
                for model in models_:
                    self._sequence(cursor, model._meta.db_table)

    def _sequence(self, cursor, table: str) -> str:
        sequence = self._sequences.get(table)
        if sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = self._sequences[table] = cursor.fetchone()[0]
        return sequence

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
                    sequence = self._sequence(cursor, table)
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

    def write_text(self, model: type[models.Model], columns: Sequence[str], text: str) -> None:
        """Insert rows given as COPY text (one line per row, tab-separated in the order of
        ``columns``, ``\\N`` for NULL, booleans ``t``/``f``, timestamps with their offset;
        the caller writes no tab, newline or backslash inside a value), in the caller's
        transaction: by COPY as they are, or parsed back through the model's fields for
        ``bulk_create``, so that both give the same rows."""
        if not text:
            return
        if self.use_copy:
            names = ", ".join(f'"{name}"' for name in columns)
            sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
            with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
                copy.write(text)
            return
        fields = {f.column: f for f in model._meta.concrete_fields}
        chosen = [fields[column] for column in columns]
        rows = []
        for line in text.splitlines():
            row = []
            for field, value in zip(chosen, line.split("\t"), strict=True):
                if value == r"\N":
                    row.append(None)
                elif isinstance(field, models.JSONField):
                    row.append(value)  # write() decodes it
                elif isinstance(field, models.BooleanField):
                    row.append(value == "t")
                else:
                    row.append(field.to_python(value))
            rows.append(row)
        self.write(model, columns, rows)


# --- Loading into empty tables -----------------------------------------------------------

# A table's indexes and its constraints other than CHECKs and NOT NULL: what costs a bulk load
# row by row (B-tree insertions, and a foreign key's look-up with its row lock at the commit)
# and costs far less built once over the loaded rows. A key that another table's foreign key
# rests on stays (the primary key of most tables).
_INDEXES_SQL = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = %s::regclass
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid
                        AND c.contype IN ('p', 'u', 'x'))
    ORDER BY i.indexrelid
"""
_CONSTRAINTS_SQL = """
    SELECT c.conname, c.contype, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.conrelid = %s::regclass AND c.contype IN ('f', 'p', 'u')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint r  -- a key another table's FK points to
                      WHERE r.contype = 'f' AND r.conindid = c.conindid AND c.contype <> 'f')
    ORDER BY c.contype = 'f', c.oid
"""


# What makes an index or a constraint what it is, as the catalogue holds it: a definition
# read back from its printed form must give the same. The parse trees of expressions and
# predicates are compared as PostgreSQL's own equal() compares nodes: without the positions
# of their tokens in the SQL text and the display form of casts (``location``, ``…format``).
_INDEX_FACTS = """
    SELECT pg_get_indexdef(x.indexrelid), x.indisunique, x.indisprimary, x.indisexclusion,
           x.indimmediate, x.indnatts, x.indnkeyatts, x.indkey::text, x.indcollation::text,
           x.indclass::text, x.indoption::text, i.reloptions, i.relam, x.indnullsnotdistinct,
           regexp_replace(COALESCE(x.indexprs::text, ''),
                          ':(location|[a-z]*format) -?[0-9]+', '', 'g'),
           regexp_replace(COALESCE(x.indpred::text, ''),
                          ':(location|[a-z]*format) -?[0-9]+', '', 'g')
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indexrelid = %s::regclass
"""
_CONSTRAINT_FACTS = """
    SELECT pg_get_constraintdef(c.oid), c.contype, c.condeferrable, c.condeferred,
           c.convalidated, c.conkey::text, c.confkey::text, c.confrelid, c.confupdtype,
           c.confdeltype, c.confmatchtype, (SELECT pg_get_indexdef(c.conindid)),
           regexp_replace(COALESCE(c.conbin::text, ''),
                          ':(location|[a-z]*format) -?[0-9]+', '', 'g')
    FROM pg_constraint c
    WHERE c.conrelid = %s::regclass AND c.conname = %s
"""


def _comes_back_the_same(cursor, drop: str, create: str, facts: str, params: list) -> bool:
    """Whether dropping and creating again (on the empty table: instant) gives what was
    there; either way, what was there is left in place (a savepoint is rolled back)."""

    class _Undo(Exception):
        pass

    same = False
    try:
        with transaction.atomic():
            cursor.execute(facts, params)
            before = cursor.fetchall()
            cursor.execute(drop)
            cursor.execute(create)
            cursor.execute(facts, params)
            same = cursor.fetchall() == before
            raise _Undo
    except _Undo:
        pass
    return same


def schema_of(tables: Sequence[str]) -> list[tuple]:
    """The indexes and constraints of ``tables`` as PostgreSQL describes them (names,
    definitions, deferral, validity): equal lists mean the same schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, i.relname, pg_get_indexdef(i.oid), x.indisunique,
                      x.indisprimary, x.indisvalid, x.indisready, x.indimmediate,
                      regexp_replace(COALESCE(x.indexprs::text, ''),
                                     ':(location|[a-z]*format) -?[0-9]+', '', 'g'),
                      regexp_replace(COALESCE(x.indpred::text, ''),
                                     ':(location|[a-z]*format) -?[0-9]+', '', 'g')
               FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class c ON c.oid = x.indrelid
               WHERE c.relname = ANY(%s) ORDER BY 1, 2""",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid),
                      c.condeferrable, c.condeferred, c.convalidated, f.relname,
                      regexp_replace(COALESCE(c.conbin::text, ''),
                                     ':(location|[a-z]*format) -?[0-9]+', '', 'g')
               FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
               LEFT JOIN pg_class f ON f.oid = c.confrelid
               WHERE t.relname = ANY(%s) ORDER BY 1, 2""",
            [list(tables)],
        )
        return indexes + cursor.fetchall()


class DeferredIndexes:
    """Inside the caller's transaction on PostgreSQL: lock ``models``' tables, and for each
    one that is empty drop its indexes, key and foreign-key constraints (CHECKs stay, and a
    key another table's foreign key rests on), to be built again by ``restore()`` over the
    loaded rows from their own definitions (``pg_get_indexdef``, ``pg_get_constraintdef``): the same
    names and definitions the migrations made. PostgreSQL checks each foreign key again
    over the whole table as it is added (one join, not a look-up per row), so nothing
    unchecked is committed; and as all of it is one transaction, a failure anywhere rolls
    the schema back with the rows.

    ``empty`` lists the tables found empty. Tables that hold rows keep everything. Until the
    commit nobody else reads or writes the tables, nor the tables their dropped foreign keys
    reference (dropping one takes its triggers off that table): a tool for loading a new
    database, not a live one.
    """

    def __init__(self, models_: Sequence[type[models.Model]]) -> None:
        if connection.vendor != "postgresql" or not connection.in_atomic_block:
            raise RuntimeError("DeferredIndexes works inside a transaction on PostgreSQL.")
        self.empty: list[str] = []
        self.kept: list[str] = []  # what would not come back the same: left in place
        self.timings: list[tuple[str, float]] = []  # of restore(): each statement, seconds
        self._recreate: list[str] = []
        tables = [model._meta.db_table for model in models_]
        with connection.cursor() as cursor:
            # Nobody else writes (or reads) these tables until the commit.
            cursor.execute(
                "LOCK TABLE " + ", ".join(f'"{t}"' for t in tables) + " IN ACCESS EXCLUSIVE MODE"
            )
            for table in tables:
                cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')  # noqa: S608
                if cursor.fetchone()[0]:
                    continue
                self.empty.append(table)
                cursor.execute(_INDEXES_SQL, [f'"{table}"'])
                indexes = cursor.fetchall()
                cursor.execute(_CONSTRAINTS_SQL, [f'"{table}"'])
                constraints = cursor.fetchall()
                # Foreign keys first (they may rest on a key of the same tables), then keys,
                # then indexes; built again in the reverse order.
                steps = [
                    (
                        name,
                        f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
                        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}',
                        _CONSTRAINT_FACTS,
                        [table, name],
                    )
                    for name, _, definition in sorted(constraints, key=lambda c: c[1] != "f")
                ] + [
                    (name, f"DROP INDEX {name}", definition, _INDEX_FACTS, [name])
                    for name, definition in indexes
                ]
                for name, drop, create, facts, params in steps:
                    if _comes_back_the_same(cursor, drop, create, facts, params):
                        cursor.execute(drop)
                        self._recreate.insert(0, create)
                    else:
                        self.kept.append(name)

    def restore(self, *, memory: str = "512MB") -> None:
        """Build the dropped indexes and constraints again (unique ones and foreign keys are
        checked over the loaded rows as they are added). ``memory`` is this transaction's
        ``maintenance_work_mem`` (the sorts of the index builds) and ``work_mem`` (the hash
        join that checks a foreign key), so that neither spills to disk in small pieces."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = %s", [memory])
            cursor.execute("SET LOCAL work_mem = %s", [memory])
            for statement in self._recreate:
                started = time.perf_counter()
                cursor.execute(statement)
                self.timings.append((statement, time.perf_counter() - started))
        self._recreate = []


def table_empty(model: type[models.Model]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{model._meta.db_table}")')  # noqa: S608
        return cursor.fetchone()[0]


@contextlib.contextmanager
def load_transaction(
    models_: Sequence[type[models.Model]], *, use_copy: bool = True
) -> Iterator[DeferredIndexes | None]:
    """Around a bulk load into ``models_``' tables: if one of them is empty (on PostgreSQL,
    outside a transaction, with COPY), ONE transaction with the empty tables' indexes and
    foreign keys deferred (``DeferredIndexes``), built again before the commit; otherwise
    nothing (yields None: the caller commits batch by batch as it likes)."""
    if not (
        use_copy
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and any(table_empty(model) for model in models_)
    ):
        yield None
        return
    with transaction.atomic():
        deferred = DeferredIndexes(models_)
        yield deferred
        deferred.restore()
