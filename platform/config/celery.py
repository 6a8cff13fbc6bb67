"""The Celery application.

Workers: ``celery -A config worker -Q <queues>``; beat: ``celery -A config beat``.

Settings come from Django's settings under the ``CELERY_`` prefix (see ``config.settings.base``).
"""

import os

from celery import Celery

from . import paths  # noqa: F401  (the repository root on sys.path for registry/, matching/)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("furusato")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
