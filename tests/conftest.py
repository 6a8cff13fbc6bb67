"""Shared fixtures: the reference data loaded once per test database, people with roles."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from places.models import Municipality
from places.services import municipalities_load

# What ``make test`` leaves to ``make test-slow`` (marker ``slow``): tests that start a real
# Celery worker (marker ``worker``) or drive Chromium (the ``browser`` fixture of
# tests/browser.py). Marked here by what they use, so that a new one cannot slip into the
# fast set; the other slow ones (subprocesses, the API contract, single long tests) carry
# the marker in their own module.
SLOW_FIXTURES = {"browser", "celery_worker_process"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("worker") or SLOW_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load all prefectures and municipalities once, after the test database is created."""
    with django_db_blocker.unblock():
        municipalities_load()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached pages never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def municipalities(django_db_blocker):
    """For transactional tests: the flush between them empties the reference tables."""
    with django_db_blocker.unblock():
        if Municipality.objects.count() != 1741:
            municipalities_load()


@pytest.fixture
def celery_worker_process(transactional_db, municipalities):
    """A worker process started with docker-compose.yml's worker command, consuming every
    queue, on this test's database and this xdist worker's Redis database."""
    from tests.workers import celery_worker_process_running

    with celery_worker_process_running() as name:
        yield name
