"""The broker and worker checks of ``/health/``, off the request's path.

Pinging the workers waits a full second for their replies: inside a request that made the
health check slow and let a flood of probes tie up the web processes. A thread of each web
process checks instead, every ``HEALTH_CHECK_SECONDS``, and ``/health/`` reads its last
result. The thread starts with the first health request of a process (after a fork too) and
ends when no request has asked for ``HEALTH_IDLE_SECONDS``. Until its first check is done,
and when its last one is older than three intervals, the answer is ``unknown``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import current_app as celery_app
from django.conf import settings

logger = logging.getLogger(__name__)

HEALTH_IDLE_SECONDS = 5 * 60


def check_broker() -> dict:
    if not settings.CELERY_BROKER_URL:
        return {"status": "in-process"}
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"status": "ok"}
    except Exception as exc:
        logger.warning("Health: broker unreachable: %s", exc)
        return {"status": "error", "error": exc.__class__.__name__}


def check_workers(broker: dict) -> dict:
    if broker["status"] == "in-process":
        return {"status": "in-process", "workers": []}
    if broker["status"] != "ok":
        return {"status": "unknown", "workers": []}
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception as exc:
        logger.warning("Health: worker ping failed: %s", exc)
        return {"status": "unknown", "workers": []}
    names = sorted(name for reply in replies for name in reply)
    return {"status": "ok" if names else "none", "workers": names}


IN_PROCESS = {
    "broker": {"status": "in-process"},
    "workers": {"status": "in-process", "workers": []},
}
UNKNOWN = {"broker": {"status": "unknown"}, "workers": {"status": "unknown", "workers": []}}


class Monitor:
    """One per process: the thread and its last result."""

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._generation = 0
        self._result: dict | None = None
        self._checked_at = 0.0
        self._asked_at = 0.0

    def latest(self) -> dict:
        """``{"broker": …, "workers": …}`` as last checked; never waits on a check."""
        if not settings.CELERY_BROKER_URL:  # embedded: tasks run in the web process
            return IN_PROCESS
        self._asked_at = time.monotonic()
        self._ensure_running()
        result, checked_at = self._result, self._checked_at
        interval = settings.HEALTH_CHECK_SECONDS
        if result is None or time.monotonic() - checked_at > 3 * interval + 5:
            return UNKNOWN
        return result

    def reset(self) -> None:
        """Forget the last result (a test's fresh start): the next check fills it."""
        with self._lock:
            self._generation += 1
            self._result = None

    def stop(self) -> None:
        """End the thread after its current check (it starts again when asked)."""
        self._asked_at = float("-inf")
        self.reset()

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            if self._pid != os.getpid():  # forked: the parent's result is not ours
                self._result = None
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="furusato-health", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while time.monotonic() - self._asked_at < HEALTH_IDLE_SECONDS:
            generation = self._generation
            try:
                broker = check_broker()
                result = {"broker": broker, "workers": check_workers(broker)}
            except Exception:  # never let the thread die of one bad check
                logger.exception("Health: check failed")
                result = UNKNOWN
            with self._lock:
                if generation == self._generation:
                    self._result, self._checked_at = result, time.monotonic()
            time.sleep(settings.HEALTH_CHECK_SECONDS)


monitor = Monitor()
