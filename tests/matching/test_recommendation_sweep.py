"""Recommendation refreshes lost with the broker are redone (issue 15, Done-when 4): a
change to a person's profile or registrations writes a request row in its own transaction;
the queued ``matching.person_refresh`` does it and removes the row, and beat's
``matching.person_refresh_sweep`` queues again what no worker took."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.conf import settings

from matching import services
from matching.models import Match, RecommendationRequest
from tests.matching.support import CHIZU, SETAGAYA, api_as, published_task, register, resident
from tests.workers import RedisServer, private_broker, wait_for, worker_process


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    with private_broker() as server:
        yield server


def recommended(person) -> list[int]:
    body = api_as(person).get("/api/recommendations/").json()
    return [row["task"]["id"] for row in body["results"]]


@pytest.mark.django_db
def test_a_lost_refresh_stays_requested_until_the_sweep_does_it(
    django_capture_on_commit_callbacks,
):
    task = published_task(CHIZU, category="farming")
    person = resident(home=SETAGAYA)
    RecommendationRequest.objects.filter(person=person).delete()

    # The queued job is lost (its on-commit callback never runs): the request stays.
    with django_capture_on_commit_callbacks(execute=False):
        register(person, CHIZU)
    request = RecommendationRequest.objects.get(person=person)
    assert recommended(person) == []
    # Too fresh for the sweep (its job may still be on its way) …
    assert services.person_refresh_sweep(now=request.requested_at) == 0
    # … and then the sweep queues it (run inline here) and the refresh clears it.
    later = request.requested_at + datetime.timedelta(seconds=settings.SWEEP_SECONDS)
    assert services.person_refresh_sweep(now=later) == 1
    assert not RecommendationRequest.objects.filter(person=person).exists()
    assert recommended(person) == [task.pk]
    assert services.person_refresh_sweep(now=later) == 0


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_a_registration_made_while_redis_is_down_is_recommended_after_one_sweep(
    municipalities, broker
):
    task = published_task(CHIZU, category="farming", title="棚田の草刈り")
    person = resident(home="011002")  # 札幌市: nothing near, nothing recommended yet
    with worker_process(env={**broker.env, "FURUSATO_SWEEP_SECONDS": "1"}, beat=True):
        wait_for(
            lambda: not RecommendationRequest.objects.filter(person=person).exists(),
            60,
            "the profile's refresh",
        )
        assert recommended(person) == []

        broker.stop()
        response = api_as(person).post(
            "/api/registrations/",
            {"municipality": CHIZU, "types": ["hobby"], "origin": "visits"},
            format="json",
        )
        assert response.status_code == 201, response.content
        # The job went nowhere; the request waits in the database.
        assert RecommendationRequest.objects.filter(person=person).exists()
        assert not Match.objects.filter(person=person, task=task).exists()

        broker.start()  # the same port, empty: whatever was queued is gone
        wait_for(
            lambda: not RecommendationRequest.objects.filter(person=person).exists(),
            60,
            "the sweep to refresh the recommendations",
        )
    assert recommended(person) == [task.pk]
