"""Redis as Django's cache; this process's memory while Redis is down or hung.

The cache holds nothing that cannot be rebuilt: API throttle counters, allauth's rate
limits, pages' fragments. When Redis cannot be reached (the broker shares it), or does not
answer within ``socket_timeout``, every operation goes to a per-process in-memory cache
instead, and keeps going there for ``CACHE_DOWN_SECONDS`` before Redis is tried again: a
request waits on a hung Redis once per process and interval (well under a second), never
at every call.

So the rate limits go on counting, per process: allauth's login limits (which take a lock
with ``add()``, and would refuse everyone if ``add()`` failed) still stop repeated wrong
passwords, and a correct password still logs in. A limit then allows up to the number of web
processes times its rate. The README's "Rate limits" section says which limiter does what.
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

DOWN = (RedisConnectionError, RedisTimeoutError)

# A request's waits on Redis: connecting, then each answer. One retry would double them.
DEFAULT_OPTIONS = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "retry": Retry(NoBackoff(), 0),
}
# How long after a failure this process uses its own memory before it tries Redis again.
CACHE_DOWN_SECONDS = 5.0

# Per process, shared by the threads' cache objects (django.core.cache.caches is per thread).
_down_until: dict[str, float] = {}
_lock = threading.Lock()


def _resilient(name: str):
    def method(self, *args, **kwargs):
        if self.is_down():
            return getattr(self, f"_fallback_{name}", getattr(self.fallback, name))(*args, **kwargs)
        try:
            return getattr(super(ResilientRedisCache, self), name)(*args, **kwargs)
        except DOWN as exc:
            self.mark_down(name, exc)
            return getattr(self, f"_fallback_{name}", getattr(self.fallback, name))(*args, **kwargs)

    method.__name__ = name
    return method


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = {**params, "OPTIONS": {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}}
        self.down_seconds = float(params["OPTIONS"].pop("DOWN_SECONDS", CACHE_DOWN_SECONDS))
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        # LocMemCache keeps its data per name in the process: every thread shares it.
        self.fallback = LocMemCache(
            f"furusato-fallback:{self._location}",
            {"TIMEOUT": params.get("TIMEOUT", 300), "OPTIONS": {"MAX_ENTRIES": 10_000}},
        )

    def is_down(self) -> bool:
        return _down_until.get(self._location, 0.0) > time.monotonic()

    def mark_down(self, name: str, exc: Exception) -> None:
        with _lock:
            first = not self.is_down()
            _down_until[self._location] = time.monotonic() + self.down_seconds
        if first:
            logger.warning(
                "Cache unavailable (%s): %r; this process's memory for %ss",
                name,
                exc,
                self.down_seconds,
            )

    def raw_client(self):
        """The redis-py client (for the throttles' INCR), or None while Redis is down."""
        return None if self.is_down() else self._cache.get_client(write=True)

    def _fallback_incr(self, key, delta=1, version=None):
        try:
            return self.fallback.incr(key, delta, version)
        except ValueError:  # missing: counts from nothing, as a dropped counter would
            self.fallback.set(key, delta, version=version)
            return delta

    get = _resilient("get")
    get_many = _resilient("get_many")
    has_key = _resilient("has_key")
    set = _resilient("set")
    add = _resilient("add")
    touch = _resilient("touch")
    delete = _resilient("delete")
    set_many = _resilient("set_many")
    delete_many = _resilient("delete_many")
    incr = _resilient("incr")
    clear = _resilient("clear")
