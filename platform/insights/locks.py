"""The statistics' locks, in the order they are taken: the rebuild's lock, then the state
row (``State``, locked with ``select_for_update`` by every run that moves the marks).

A rebuild (``insights.counts_rebuild``, ``manage.py stats_rebuild``) recounts everything
for minutes at national scale; two at once would do it twice and fight over the same cells.
The rebuild's lock holds across processes and is let go when its holder ends, however it
ends: on PostgreSQL a session-level advisory lock (released by the server when the
connection closes); on SQLite (the embedded default) an exclusive ``flock`` on a file beside
the database (released by the kernel when the process dies). It is tried, never waited for:
the second rebuild is told that one is running.

Every run that moves the marks or rewrites counts (an update, a rebuild, a board recount, a
publication) then holds the state row (``lock_state``) for its transaction: one at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

from .models import State

# The advisory lock's key: a fixed number of our own (CRC-32 of the name, so it reads back).
REBUILD_KEY = zlib.crc32(b"insights.counts_rebuild")
_local = threading.Lock()  # an in-memory SQLite database: one process, so a process lock


class RebuildRunning(Exception):
    """Another rebuild holds the lock."""


@contextlib.contextmanager
def rebuild_lock() -> Iterator[None]:
    """Hold the rebuild's lock for the block; ``RebuildRunning`` at once if another has it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [REBUILD_KEY])
            if not cursor.fetchone()[0]:
                raise RebuildRunning
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [REBUILD_KEY])
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        if not _local.acquire(blocking=False):
            raise RebuildRunning
        try:
            yield
        finally:
            _local.release()
        return
    with Path(f"{name}.rebuild.lock").open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebuildRunning from None
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def lock_state() -> State:
    """The one state row (created on first use), locked for this transaction."""
    return State.objects.select_for_update().get_or_create(id=1)[0]
