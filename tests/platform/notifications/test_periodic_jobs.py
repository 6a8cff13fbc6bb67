"""The embedded default's stand-in for beat: ``manage.py run_periodic_jobs``."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from matching.models import Signup, SignupStatus
from notifications.models import Notification
from tests.matching.support import published_task, resident

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_every_scheduled_job_runs_in_process_and_does_its_work():
    soon = timezone.now() + datetime.timedelta(hours=12)
    task = published_task(
        sessions=[
            {"starts_at": soon, "ends_at": soon + datetime.timedelta(hours=3), "capacity": 5}
        ],
        signup_close_hours=1,
        cancel_close_hours=1,
    )
    session = task.sessions.get()
    person = resident()
    Signup.objects.create(
        session=session,
        person=person,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        status=SignupStatus.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    call_command("run_periodic_jobs", "--once")
    # matching.reminders_send was among them: the session is 12 hours away.
    assert Notification.objects.filter(recipient=person, kind="session_reminder").count() == 1
    call_command("run_periodic_jobs", "--once")
    assert Notification.objects.filter(recipient=person, kind="session_reminder").count() == 1


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_with_a_broker_it_leaves_the_jobs_to_beat():
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with pytest.raises(CommandError, match="celery -A config beat"):
            call_command("run_periodic_jobs", "--once")
    finally:
        app.conf.task_always_eager = True
