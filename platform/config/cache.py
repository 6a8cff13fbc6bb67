"""Redis as Django's cache, failing open.

The cache holds nothing that cannot be rebuilt: API throttle counters, allauth's rate
limits, the health answer. When Redis is down (the broker shares it) a read is a miss and
a write is dropped, so the site and the API go on working — sign-ups and changes succeed
and their notifications wait in the database — instead of every request failing.
"""

from __future__ import annotations

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DOWN = (RedisConnectionError, RedisTimeoutError)


def _failing_open(name: str, fallback):
    def method(self, *args, **kwargs):
        try:
            return getattr(super(ResilientRedisCache, self), name)(*args, **kwargs)
        except DOWN as exc:
            logger.warning("Cache unavailable (%s): %r", name, exc)
            return fallback(*args, **kwargs) if callable(fallback) else fallback

    method.__name__ = name
    return method


class ResilientRedisCache(RedisCache):
    get = _failing_open("get", lambda key, default=None, *a, **k: default)
    get_many = _failing_open("get_many", {})
    has_key = _failing_open("has_key", False)
    set = _failing_open("set", None)
    add = _failing_open("add", False)
    touch = _failing_open("touch", False)
    delete = _failing_open("delete", False)
    set_many = _failing_open("set_many", lambda data, *a, **k: list(data))
    delete_many = _failing_open("delete_many", None)
    incr = _failing_open("incr", lambda key, delta=1, *a, **k: delta)
    clear = _failing_open("clear", None)
