"""Shared fixtures: the reference data loaded once per test database, people with roles."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

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


@pytest.fixture(autouse=True)
def _source_language_after():
    """A request leaves its language active in the thread; the next test, in whatever
    order it runs, starts in the site's own language (Japanese)."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


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


# The instant the ``clock`` fixture stops at: a Wednesday morning in Japan, mid-month and
# mid-year, far from a month's, a year's or a day's edge in either UTC or JST.
FROZEN_AT = datetime.datetime(2026, 6, 10, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A module whose tests run on the frozen clock is imported on it too, so that the dates
    of its ``parametrize`` lists and constants (``in_days(-1)``: "yesterday") are counted
    from the same instant as the tests that use them."""
    if isinstance(collector, pytest.Module) and 'usefixtures("clock' in collector.path.read_text():
        with time_machine.travel(FROZEN_AT, tick=False):
            return (yield)
    return (yield)


@pytest.fixture
def clock(request):
    """Time stands still at ``FROZEN_AT`` for the test (``timezone.now()``, ``localdate()``,
    ``time.time()``) and moves only when told: ``clock.move_to(instant)``,
    ``clock.shift(timedelta)``. Tests about deadlines, terms and days then mean the same on
    every day they run. A real worker or subprocess keeps the real time, so a test marked
    ``worker`` cannot use it."""
    assert not request.node.get_closest_marker("worker"), (
        "a real worker does not share the frozen clock: use the real time"
    )
    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clock_unless_worker(request):
    """For a module of frozen-clock tests with a real-worker test among them (the module's
    ``pytestmark`` uses this instead of ``clock``): the clock for all but that one."""
    if request.node.get_closest_marker("worker"):
        yield None
    else:
        yield request.getfixturevalue("clock")
