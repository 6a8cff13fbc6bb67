"""The Celery application.

Workers: ``celery -A config worker -Q <queues>``; beat: ``celery -A config beat``.

Settings come from Django's settings under the ``CELERY_`` prefix (see ``config.settings.base``).
"""

import logging
import os

from celery import Celery
from celery.signals import beat_init, celeryd_init
from django.conf import settings  # lazy: read when a worker starts, after setup

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
