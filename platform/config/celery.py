"""The Celery application.

Workers: ``celery -A config worker -Q <queues>``; beat: ``celery -A config beat``.

Settings come from Django's settings under the ``CELERY_`` prefix (see ``config.settings.base``).
"""

import logging
import os
import time

from celery import Celery
from celery.signals import beat_init, celeryd_init

from . import paths  # noqa: F401  (the repository root on sys.path for registry/, matching/)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

logger = logging.getLogger(__name__)

app = Celery("furusato")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
@beat_init.connect
def _longer_broker_timeouts(sender=None, conf=None, **kwargs) -> None:
    """Workers and beat wait longer on Redis than a web request does
    (``FURUSATO_WORKER_BROKER_TIMEOUT`` against ``FURUSATO_BROKER_TIMEOUT``): a read timeout
    there costs a reconnection, and a busy machine must not cause one; still bounded, so a
    connection Redis silently dropped is noticed."""
    from django.conf import settings

    conf = conf or app.conf
    seconds = settings.WORKER_BROKER_SOCKET_TIMEOUT
    conf.broker_transport_options = {
        **conf.broker_transport_options,
        "socket_connect_timeout": seconds,
        "socket_timeout": seconds,
    }
    conf.broker_connection_timeout = seconds
    conf.redis_socket_connect_timeout = seconds
    conf.redis_socket_timeout = seconds


# After the broker failed a request (down, or hung past the socket timeouts), this process
# leaves its enqueues to beat's sweeps for this long instead of waiting on it again.
BROKER_DOWN_SECONDS = 5.0
_broker_down_until: dict[str, float] = {}  # by broker URL


def broker_is_down() -> bool:
    return _broker_down_until.get(app.conf.broker_url, 0.0) > time.monotonic()


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
        if broker_is_down():
            logger.info("Broker down; %s left to beat's sweep", task.name)
            return
        try:
            task.apply_async(args=args, retry=False)
        except Exception as exc:  # kombu's OperationalError, redis errors, OSError
            _broker_down_until[app.conf.broker_url] = time.monotonic() + BROKER_DOWN_SECONDS
            logger.warning("Broker unavailable; %s left to beat's sweep: %r", task.name, exc)

    send.furusato_key = key
    send.furusato_sent = False
    transaction.on_commit(send)
