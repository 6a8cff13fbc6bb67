"""With Redis down the cache is the process's memory: the site and the API go on."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.workers import free_port

DOWN = {
    "default": {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:{port}/0",
        "KEY_PREFIX": "furusato",
    }
}


@pytest.fixture
def redis_down():
    """The cache pointed at a port nobody listens on (override_settings resets the caches)."""
    settings = {"default": {**DOWN["default"]}}
    settings["default"]["LOCATION"] = settings["default"]["LOCATION"].format(port=free_port())
    with override_settings(CACHES=settings):
        yield caches["default"]


def test_with_redis_down_the_cache_is_this_process_memory(redis_down):
    assert redis_down.get("key", "fallback") == "fallback"
    assert redis_down.add("key", 1) is True  # allauth's lock: taken, not refused
    assert redis_down.add("key", 2) is False
    assert redis_down.get("key") == 1
    assert redis_down.get_many(["key", "other"]) == {"key": 1}
    assert redis_down.incr("counter") == 1
    assert redis_down.incr("counter") == 2
    redis_down.delete("key")
    assert redis_down.get("key") is None


@pytest.mark.django_db
def test_the_site_and_api_answer_with_redis_down(redis_down, client):
    assert client.get("/health/").status_code == 200
    response = client.get("/api/prefectures/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["count"] == 47
