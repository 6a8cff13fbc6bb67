"""The board's hottest statements, prepared: planned once per connection, not per call.

A sign-up's lock and write (``locks.lock_session_and_person``, ``services._writes``) are
the same text every time; planning them (a join of four tables with its subqueries, an
insert into a table of many indexes and constraints) cost PostgreSQL more than running
them. Django turns psycopg's automatic preparing off (``prepare_threshold``, for the sake
of connection poolers) and binds parameters on the client, so these run on a cursor that
binds on the server and asks psycopg to prepare them (it keeps each connection's prepared
statements, and forgets them with the connection). A pooler in front of PostgreSQL must
then keep prepared statements (PgBouncer 1.21 and later, ``max_prepared_statements``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor

_NEVER_BY_ITSELF = 2**31 - 1  # executions before psycopg would prepare unasked


class _Preparing(ServerBindingCursor):
    """Binds on the server and prepares every statement it runs."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        done = super().execute(query, params, prepare=True, binary=binary)
        if self._query is None:
            # psycopg keeps no query of a prepared statement; Django's debug log (and
            # CaptureQueriesContext) reads it there: the statement, with its placeholders.
            self._query = _Shown(query)
        return done


class _Shown:
    """What Django's ``last_executed_query`` reads of a cursor's query."""

    def __init__(self, query: str) -> None:
        self.query = query.encode()


@contextmanager
def prepared_cursor() -> Iterator:
    """A cursor of the default connection whose statements are prepared (PostgreSQL), else
    the usual one; wrapped as Django wraps its own (``CaptureQueriesContext`` sees them)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # None turns preparing off even when asked for. Django's own cursors bind on the
        # client and never prepare, so nothing else is prepared by this: only ours, asked.
        raw.prepare_threshold = _NEVER_BY_ITSELF
    with connection._prepare_cursor(_Preparing(raw)) as cursor:
        yield cursor
