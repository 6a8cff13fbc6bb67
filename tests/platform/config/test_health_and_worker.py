"""/health/ and a real Celery worker process against Redis, started with the same command
docker-compose.yml runs in production."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import clear_expired_sessions
from config.celery import app as celery_app
from core.health import monitor
from tests.workers import wait_for

HEALTH_TOKEN = "health-token-for-the-tests-3f9a1c"


@pytest.fixture(autouse=True)
def fresh_checks(settings):
    """The background checks run often, and start from nothing in every test."""
    settings.HEALTH_CHECK_SECONDS = 0.2
    monitor.reset()
    yield
    monitor.stop()


@pytest.fixture
def health(settings, client):
    """GET /health/ as the monitoring does: with the token of FURUSATO_HEALTH_TOKEN."""
    settings.HEALTH_TOKEN = HEALTH_TOKEN
    return lambda: client.get("/health/", headers={"Authorization": f"Bearer {HEALTH_TOKEN}"})


def checked(health, until):
    """The details once the background check has seen what ``until`` expects."""
    seen = []

    def done():
        seen.append(health().json())
        return until(seen[-1])

    wait_for(done, 20, "the background health check")
    return seen[-1]


@pytest.mark.worker
def test_worker_process_runs_a_task_and_health_shows_it(celery_worker_process, health):
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

    # A check may have run while the worker was starting: the next one sees it.
    body = checked(health, lambda body: body["workers"]["status"] == "ok")
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "ok"
    assert body["workers"]["status"] == "ok"
    assert celery_worker_process in body["workers"]["workers"]
    assert body["status"] == "ok"


@pytest.mark.slow  # waits out the ping of a worker that is not there
@pytest.mark.django_db
def test_health_reports_postgres_and_redis_and_a_missing_worker(health):
    first = health()
    assert first.status_code == 200
    assert first.json()["status"] == "degraded"  # unknown until the first check, then none
    body = checked(health, lambda body: body["workers"]["status"] != "unknown")
    assert body["database"] == {"status": "ok", "vendor": "postgresql"}
    assert body["broker"] == {"status": "ok"}
    assert body["workers"] == {"status": "none", "workers": []}
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_health_reports_an_unreachable_broker(health):
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        body = checked(health, lambda body: body["broker"]["status"] == "error")
    finally:
        celery_app.conf.broker_url = previous
    assert body["broker"]["status"] == "error"
    assert body["workers"]["status"] == "unknown"
    assert body["status"] == "degraded"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {HEALTH_TOKEN}x",
        f"Token {HEALTH_TOKEN}",
        f"Bearer{HEALTH_TOKEN}",
        "Bearer ",
    ],
)
def test_health_tells_others_only_its_status(settings, client, authorization):
    settings.HEALTH_TOKEN = HEALTH_TOKEN
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/health/", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}  # no worker runs in this test
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_without_a_configured_token_shows_details_to_no_one(settings, client):
    settings.HEALTH_TOKEN = ""
    for authorization in ("Bearer ", "Bearer None", "Bearer"):
        response = client.get("/health/", headers={"Authorization": authorization})
        assert response.json() == {"status": "degraded"}, authorization


@pytest.mark.django_db
def test_the_token_shows_the_details_right_after_an_anonymous_probe(health, client):
    assert client.get("/health/").json() == {"status": "degraded"}  # details hidden
    body = health().json()
    assert body["database"]["vendor"] == "postgresql" and "workers" in body


@pytest.mark.django_db
def test_the_task_is_idempotent_in_process():
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(1)
    )
    assert clear_expired_sessions.delay().get() == 1
    assert clear_expired_sessions.delay().get() == 0


@pytest.mark.django_db
def test_embedded_health_is_ok_at_once_with_tasks_in_process(settings, health):
    settings.CELERY_BROKER_URL = ""
    body = health().json()
    assert body["broker"] == {"status": "in-process"}
    assert body["workers"] == {"status": "in-process", "workers": []}
    assert body["status"] == "ok"
