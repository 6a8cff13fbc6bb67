"""/health/ and a real Celery worker process against Redis, started with the same command
docker-compose.yml runs in production."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts.tasks import clear_expired_sessions
from config.celery import app as celery_app

REPO = Path(__file__).resolve().parents[3]
ALL_QUEUES = "--queues=default,matching,notifications,stats"


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_worker_process(transactional_db, municipalities):
    """A worker process from docker-compose.yml's worker command, consuming every queue,
    on this test's database and this xdist worker's Redis database."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = list(compose["services"]["worker-default"]["command"])
    hostname = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}-{os.getpid()}@%h"
    command = [
        ALL_QUEUES
        if arg.startswith("--queues=")
        else f"--hostname={hostname}"
        if arg.startswith("--hostname=")
        else arg
        for arg in command
    ]
    command[0] = str(Path(sys.executable).with_name("celery"))
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "PYTHONPATH": "platform:.",  # as the image sets it
    }
    celery_app.control.purge()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    celery_app.conf.task_always_eager = False
    name = hostname.replace("%h", os.uname().nodename)
    try:
        _wait_for(
            lambda: (
                process.poll() is None
                and bool(celery_app.control.ping(destination=[name], timeout=0.5))
            ),
            60,
            "the worker to answer",
        )
        yield name
    finally:
        celery_app.conf.task_always_eager = True
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        output = process.stdout.read() if process.stdout else ""
        print(output[-4000:])


@pytest.mark.worker
def test_worker_process_runs_a_task_and_health_shows_it(celery_worker_process, client):
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="v" * 32, session_data="", expire_date=now + timedelta(1))

    clear_expired_sessions.delay()

    _wait_for(
        lambda: not Session.objects.filter(session_key="e" * 32).exists(),
        30,
        "the worker to delete the expired session",
    )
    assert Session.objects.filter(session_key="v" * 32).exists()

    health = client.get("/health/").json()
    assert health["database"]["status"] == "ok"
    assert health["broker"]["status"] == "ok"
    assert health["workers"]["status"] == "ok"
    assert celery_worker_process in health["workers"]["workers"]
    assert health["status"] == "ok"


@pytest.mark.django_db
def test_health_reports_postgres_and_redis_and_a_missing_worker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == {"status": "ok", "vendor": "postgresql"}
    assert body["broker"] == {"status": "ok"}
    assert body["workers"] == {"status": "none", "workers": []}
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_health_reports_an_unreachable_broker(client):
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        body = client.get("/health/").json()
    finally:
        celery_app.conf.broker_url = previous
    assert body["broker"]["status"] == "error"
    assert body["workers"]["status"] == "unknown"
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_the_task_is_idempotent_in_process():
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(1)
    )
    assert clear_expired_sessions.delay().get() == 1
    assert clear_expired_sessions.delay().get() == 0
