"""Versions of what public pages show, kept in the cache and moved after each commit.

A page cached "by what it shows" keys its entry on the versions of its data: the board's
(``board``: every task, session or sign-up write moves it) or the reference data's
(``places``). A writer calls ``version_bump(name)`` inside its transaction; the cache's
counter is incremented once that transaction commits (``transaction.on_commit``), once per
name and commit however many rows were written, and never for a rollback.

Why a reader never keeps old data under a new version:

- A reader takes the version **before** it queries, and stores what it read marked with
  that version only; an entry is served only while its mark equals the version read with
  it in the same round trip (``core.public_cache``: one ``MGET``, atomic in Redis). The
  writer commits first and bumps after, in the same thread, before its own response is
  sent; so any request that begins after the writer's answer (the "very next request")
  reads the bumped version, finds no entry marked with it, and queries data that include
  the commit.
- A reader that took the old version and queried before the commit stores old data marked
  with the old version, which no one is served once the bump has happened (even if it
  overwrote a newer entry: the next reader sees the marks differ and builds again). One
  that took the old version and queried after the commit stores new data under the old
  mark: harmless.
- A version that disappears (evicted, Redis flushed) starts again from the clock in
  microseconds, never from a number used before, so an old entry cannot come back into use.
- Redis down: ``core.cache`` answers from each process's memory, where a bump by one
  process is not seen by the others; callers therefore bypass their cache while it is down
  (``cache_is_down``). A bump lost at the moment Redis fails is bounded by the entries'
  own expiry (``core.public_cache``: a minute).
"""

from __future__ import annotations

import threading
import time

from django.core.cache import cache
from django.db import transaction

_PREFIX = "version:"


def _key(name: str) -> str:
    return f"{_PREFIX}{name}"


def _fresh() -> int:
    return time.time_ns() // 1000


def version_keys(*names: str) -> list[str]:
    return [_key(name) for name in names]


def versions_from(found: dict, names: tuple[str, ...]) -> tuple[int, ...]:
    """The versions of ``names`` from what a ``get_many`` of ``version_keys`` (and perhaps
    other keys, read in the same round trip) found; a missing one is started here."""
    out = []
    for key in version_keys(*names):
        value = found.get(key)
        if value is None:
            cache.add(key, _fresh(), timeout=None)
            value = cache.get(key) or _fresh()
        out.append(int(value))
    return tuple(out)


def versions_of(*names: str) -> tuple[int, ...]:
    """The current versions of ``names``, in one round trip (started where missing)."""
    return versions_from(cache.get_many(version_keys(*names)), names)


def _incr(name: str) -> None:
    key = _key(name)
    try:
        cache.incr(key)
    except ValueError:  # missing: a new start, from the clock (above)
        cache.add(key, _fresh(), timeout=None)


class _Batch:
    """The bumps registered until one commit: the first callback of a name increments,
    the others skip (as ``core.queue`` does for tasks). A callback dropped with a
    rolled-back savepoint never runs, so a later bump in the transaction still counts."""

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.closed = False


_local = threading.local()


def version_bump(name: str) -> None:
    """Move ``name``'s version once the current transaction commits (at once outside one)."""
    batch = getattr(_local, "batch", None)
    if batch is None or batch.closed:
        batch = _local.batch = _Batch()

    def bump() -> None:
        batch.closed = True
        if name in batch.done:
            return
        batch.done.add(name)
        _incr(name)

    transaction.on_commit(bump)


def cache_is_down() -> bool:
    """Whether the shared cache is out of reach (this process then uses its own memory)."""
    is_down = getattr(cache, "is_down", None)
    return bool(is_down and is_down())
