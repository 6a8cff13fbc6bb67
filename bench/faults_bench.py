"""Benchmark of the API's anonymous limit and of /health/ under gunicorn (issue 15, "Done
when" 7 and 8).

    .venv/bin/python bench/faults_bench.py [--seconds 30] [--connections 16]

It creates (and at the end drops) the database ``furusato_bench_faults`` on the local
PostgreSQL and migrates it, starts a redis-server of its own on a free port, and gunicorn
×3 (``config.wsgi``, the settings of ``config.settings.base`` as production has them:
``REDIS_URL`` for the cache and the broker). Then:

1. **Limit:** ``--connections`` threads, each opening a new connection per request (gunicorn's
   sync workers close it), send ``GET /api/prefectures/`` as one anonymous client for
   ``--seconds``; it counts the answers by status. The configured limit is
   ``DEFAULT_THROTTLE_RATES["anon"]`` (120/min): a run shorter than a minute may get no more
   than 120 answers of 200.
2. **Health:** ``--health-connections`` threads (2: fewer than gunicorn's 3 workers, so
   that the figures are the answer's time, not a queue's) send ``GET /health/`` for
   ``--seconds``, once with none and once with a Celery worker up (docker-compose.yml's
   worker command); it prints p50/p95/p99/max.

Database connections are kept (``DATABASE_CONN_MAX_AGE=60``), as production keeps them.

Figures go to RESULTS.md by hand, with the machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATABASE = "furusato_bench_faults"
PG = "postgres://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def database(statement: str) -> None:
    """``statement`` (CREATE/DROP DATABASE …) on the benchmark's database."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f"{statement} {DATABASE}")


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def hammer(port: int, path: str, threads: int, seconds: float):
    """(status counts, latencies in ms) of ``threads`` sending ``path`` for ``seconds``."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run():
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status = get(port, path)
            except OSError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] += 1
                latencies.append(elapsed)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses, latencies


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    cuts = statistics.quantiles(ordered, n=100)
    return (
        f"n={len(ordered)} p50={cuts[49]:.1f} ms p95={cuts[94]:.1f} ms "
        f"p99={cuts[98]:.1f} ms max={ordered[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--health-connections", type=int, default=2)
    args = parser.parse_args()

    redis_port, web_port = free_port(), free_port()
    files = tempfile.TemporaryDirectory(prefix="furusato-faults-bench-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "PYTHONPATH": "platform:.",
        "DATABASE_URL": f"{PG}/{DATABASE}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "FURUSATO_HEALTH_CHECK_SECONDS": "2",
        "DATABASE_CONN_MAX_AGE": "60",  # as config.settings.production
        "LOG_LEVEL": "WARNING",
    }
    bin_ = Path(sys.executable).parent
    processes: list[subprocess.Popen] = []

    def start(command, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603 (our own commands)
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{files.name}/{Path(command[0]).name}.log", "a"),  # noqa: SIM115
            start_new_session=True,
            **kwargs,
        )
        processes.append(process)
        return process

    database("DROP DATABASE IF EXISTS")
    database("CREATE DATABASE")
    try:
        start(
            [
                *("redis-server", "--port", str(redis_port)),
                *("--save", "", "--appendonly", "no", "--dir", files.name),
            ]
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True
        )
        subprocess.run(
            [sys.executable, "manage.py", "load_municipalities"],
            cwd=REPO,
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        start(
            [
                *(str(bin_ / "gunicorn"), "config.wsgi", "--workers", "3"),
                *("--bind", f"127.0.0.1:{web_port}"),
            ]
        )
        wait_for(lambda: get(web_port, "/health/") == 200, 60, "gunicorn")
        time.sleep(3)  # the health threads' first checks

        statuses, latencies = hammer(web_port, "/api/prefectures/", args.connections, args.seconds)
        print(
            f"limit: {args.connections} connections, {args.seconds:.0f} s, one anonymous "
            f"client: {dict(statuses)}; {percentiles(latencies)}"
        )

        _statuses, latencies = hammer(web_port, "/health/", args.health_connections, args.seconds)
        print(f"health, no worker: {dict(_statuses)}; {percentiles(latencies)}")

        worker = start(
            [
                *(str(bin_ / "celery"), "-A", "config", "worker", "--queues=default,stats"),
                *("--concurrency=2", "--hostname=bench@%h", "--loglevel=WARNING"),
            ]
        )
        time.sleep(10)  # the worker up and the health threads' next checks
        _statuses, latencies = hammer(web_port, "/health/", args.health_connections, args.seconds)
        print(f"health, worker up: {dict(_statuses)}; {percentiles(latencies)}")
        os.killpg(worker.pid, signal.SIGTERM)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        database("DROP DATABASE IF EXISTS")
        files.cleanup()


if __name__ == "__main__":
    main()
