"""The counts brought up to date by a real worker process, from the ``stats`` queue."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from insights.models import Count, Published
from tests.support import AMA, HIDA, api_as, register, resident
from tests.workers import WorkerProcess


def summary() -> dict:
    body = api_as(None).get("/api/stats/national/").json()
    return {row["key"]: row["values"]["value"] for row in body["tables"][0]["rows"]}


def counts() -> dict:
    return {
        (a, m, k): v for a, m, k, v in Count.objects.values_list("area", "measure", "key", "value")
    }


def update() -> dict:
    """insights.counts_update sent through the broker, as beat sends it; its result."""
    return celery_app.send_task("insights.counts_update", ignore_result=False).get(timeout=120)


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_the_stats_queue_counts_what_the_registry_wrote(municipalities):
    # A worker that consumes the stats queue only: the task gets there or nowhere.
    # Its published figures count today's registrations (tests/insights/conftest.py).
    worker = WorkerProcess(env={"INSIGHTS_SETTLE_DAYS": "0"})
    worker.command = [
        "--queues=stats" if arg.startswith("--queues=") else arg for arg in worker.command
    ]
    try:
        worker.start()
        for _n in range(12):
            register(resident(), HIDA)
        assert update()["registrations"] == 12  # never counted before: a full count
        assert summary() == {"registrations": 12, "people": 12}

        # More people register; the update is sent twice at once, then once more.
        for _n in range(11):
            register(resident(), AMA)
        first, second = (
            celery_app.send_task("insights.counts_update", ignore_result=False),
            celery_app.send_task("insights.counts_update", ignore_result=False),
        )
        results = [first.get(timeout=120), second.get(timeout=120)]
        assert sum(r["registrations"] for r in results) == 11  # one of them found them
        assert summary() == {"registrations": 23, "people": 23}
        found = counts()
        assert found[(f"M{AMA}", "reg", "")] == 11 and found[("JP", "reg", "")] == 23
        published = set(Published.objects.values_list("area", "measure", "key", "value"))

        assert update()["registrations"] == 0
        assert counts() == found
        assert set(Published.objects.values_list("area", "measure", "key", "value")) == published
        log = worker.output
        assert ".> stats " in log and ".> default " not in log  # it consumed nothing else
        assert log.count("Task insights.counts_update[") >= 2 * 4  # 4 received, 4 succeeded
    finally:
        worker.close()
