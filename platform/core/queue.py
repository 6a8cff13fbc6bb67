"""Work for the workers, queued by task name once the transaction commits.

A service says ``enqueue("matching.task_match", task.pk)``: it names the task and never
imports the task module, so task modules import services and services never import task
modules (no cycle; CONTRIBUTING.md, "Arrows").

Whatever the task is to do is already written in the database (an outbox row, a request
flag) and beat's periodic sweep finds it there: queueing only makes it prompt. So a broker
that is down loses nothing; the change itself succeeds and the sweep does the work once the
broker is back. The same task with the same arguments is sent once per transaction (one
fan-out, one relay kick), by our own bookkeeping below.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

# After the broker failed a request (down, or hung past the socket timeouts), this process
# leaves its enqueues to beat's sweeps for this long instead of waiting on it again.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until: dict[str, float] = {}  # by broker URL


def broker_is_down() -> bool:
    return _broker_down_until.get(current_app.conf.broker_url, 0.0) > time.monotonic()


class _Batch:
    """What the callbacks of one commit have sent.

    Every ``enqueue`` registers its own callback; the callbacks registered until a commit
    share one batch, and the first to run for a name and arguments sends, the others skip.
    A callback dropped with a rolled-back savepoint never runs, so what a later part of the
    transaction queues again is still sent. Once a batch's callbacks have started to run it
    is closed, and the next ``enqueue`` opens a new one."""

    def __init__(self) -> None:
        self.sent: set[tuple] = set()
        self.closed = False


_local = threading.local()  # one open batch per thread, as Django's connections are


def _open_batch() -> _Batch:
    batch = getattr(_local, "batch", None)
    if batch is None or batch.closed:
        batch = _local.batch = _Batch()
    return batch


def enqueue(name: str, *args, using: str | None = None) -> None:
    """Queue the task called ``name`` with ``args`` once the current transaction commits
    (at once outside a transaction)."""
    batch = _open_batch()
    key = (name, args)

    def send() -> None:
        batch.closed = True
        if key in batch.sent:
            return  # already sent by this commit
        batch.sent.add(key)
        _send(name, args)

    transaction.on_commit(send, using=using)


def send_now(name: str, *args) -> None:
    """Queue the task called ``name`` with ``args`` at once, whatever transaction is open:
    for beat's sweeps, which hold no change of their own to wait for."""
    _send(name, args)


def _send(name: str, args: tuple) -> None:
    app = current_app
    if app.conf.task_always_eager:
        if name not in app.tasks:
            app.loader.import_default_modules()  # the task modules of the installed apps
        app.tasks[name].apply(args=args, throw=app.conf.task_eager_propagates)
        return
    if broker_is_down():
        logger.info("Broker down; %s left to beat's sweep", name)
        return
    try:
        # Nobody waits for these results; without ignore_result, send_task would subscribe to
        # the result backend first (a second wait on a hung Redis).
        app.send_task(name, args=args, retry=False, ignore_result=True)
    except Exception as exc:  # kombu's OperationalError, redis errors, OSError
        _broker_down_until[app.conf.broker_url] = time.monotonic() + BROKER_DOWN_SECONDS
        logger.warning("Broker unavailable; %s left to beat's sweep: %r", name, exc)
