"""/health/ and a real Celery worker process against Redis, started with the same command
docker-compose.yml runs in production."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import clear_expired_sessions
from config.celery import app as celery_app
from tests.workers import wait_for


@pytest.mark.worker
def test_worker_process_runs_a_task_and_health_shows_it(celery_worker_process, client):
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="v" * 32, session_data="", expire_date=now + timedelta(1))

    clear_expired_sessions.delay()

    wait_for(
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
