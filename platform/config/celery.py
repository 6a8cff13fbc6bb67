"""The Celery application.

Workers: ``celery -A config worker -Q <queues>``; beat: ``celery -A config beat``.

Settings come from Django's settings under the ``CELERY_`` prefix (see ``config.settings.base``).
"""

import logging
import os

from celery import Celery

from . import paths  # noqa: F401  (the repository root on sys.path for registry/, matching/)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

logger = logging.getLogger(__name__)

app = Celery("furusato")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_on_commit(task, *args) -> None:
    """Queue ``task(*args)`` once the current transaction commits.

    Whatever the task is to do is already written in the database (an outbox row, a request
    flag), and beat's periodic sweep finds it there: this only makes it prompt. So a broker
    that is down loses nothing; the change itself succeeds and the sweep does the work once
    the broker is back."""
    from django.db import transaction

    connection = transaction.get_connection()
    key = (task.name, args)
    if connection.in_atomic_block and any(
        getattr(callback, "furusato_key", None) == key and not callback.furusato_sent
        for _sids, callback, _robust in connection.run_on_commit
    ):
        return  # already queued by this transaction (one fan-out, one relay kick)

    def send() -> None:
        # A test's captured callbacks run inside its transaction and stay in the list: one
        # that has run no longer stands for a later change of the same transaction.
        send.furusato_sent = True
        if app.conf.task_always_eager:
            task.apply(args=args, throw=app.conf.task_eager_propagates)
            return
        try:
            task.apply_async(args=args, retry=False)
        except Exception as exc:  # kombu's OperationalError, redis errors, OSError
            logger.warning("Broker unavailable; %s left to beat's sweep: %r", task.name, exc)

    send.furusato_key = key
    send.furusato_sent = False
    transaction.on_commit(send)
