"""The embedded stand-in for Celery beat.

Without a broker (the embedded default), tasks run in-process and no beat process runs, so
``make run`` starts this beside the web server: it runs every job of
``CELERY_BEAT_SCHEDULE`` in this process at its interval or time of day — digests,
reminders, lapsing offers, understaffed sessions, the outbox relay, the sweeps and the
statistics. ``--once`` runs every job once, whatever its time. With a broker, run
``celery beat`` instead (this command then refuses, so that no job runs twice).
"""

from __future__ import annotations

import importlib
import logging
import time

from celery import current_app
from celery.schedules import maybe_schedule
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs in this process (the embedded default's beat)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and stop")

    def handle(self, *args, once: bool = False, **options):
        app = current_app

        if not app.conf.task_always_eager:
            raise CommandError("A broker is configured: run `celery -A config beat` instead.")
        for config in apps.get_app_configs():
            try:
                importlib.import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tasks":
                    raise
        schedule = settings.CELERY_BEAT_SCHEDULE
        # An interval's job runs at once, then every interval; a time of day's, at that time.
        due = {
            name: 0.0 if once or _interval(entry) else time.monotonic() + _wait(entry, app)
            for name, entry in schedule.items()
        }
        self.stdout.write(f"Periodic jobs in-process: {', '.join(sorted(schedule))}")
        while True:
            for name, entry in schedule.items():
                if time.monotonic() < due[name]:
                    continue
                try:
                    app.tasks[entry["task"]].apply(throw=True)
                except Exception:  # one failing job must not stop the others
                    logger.exception("Periodic job %s failed; tried again next time", name)
                due[name] = time.monotonic() + _wait(entry, app)
            if once:
                return
            time.sleep(5)


def _interval(entry: dict) -> bool:
    return isinstance(entry["schedule"], int | float)


def _wait(entry: dict, app) -> float:
    """Seconds until the job is due again: its interval, or until its next time of day
    (a ``crontab``)."""
    if _interval(entry):
        return float(entry["schedule"])
    every = maybe_schedule(entry["schedule"], app=app)
    return max(every.remaining_estimate(every.now()).total_seconds(), 1.0)
