"""A real Celery worker process for the tests that are about workers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import redis
import yaml
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

REPO = Path(__file__).resolve().parents[1]
ALL_QUEUES = "--queues=default,matching,notifications,stats"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def tasks_queued() -> Iterator[None]:
    """Tasks go to the broker for a worker (started now or later) instead of running in
    the test process."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


class RedisServer:
    """A Redis of the test's own on ``port``, without persistence: stopped, it forgets every
    queued task, as a crashed one may. Nothing else (another suite running on this machine
    at the same time) shares its queues."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="furusato-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def broker_url(self) -> str:
        """The broker URL of this Redis with the database number the test settings give
        this xdist worker (a worker process started with ``env`` computes the same)."""
        return f"redis://127.0.0.1:{self.port}/{settings.CELERY_BROKER_URL.rsplit('/', 1)[1]}"

    @property
    def env(self) -> dict[str, str]:
        """For a worker process's environment: the run's base database number, from which
        the test settings compute the same database as ``broker_url``'s."""
        base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[1]
        return {"REDIS_URL": f"redis://127.0.0.1:{self.port}/{base or 0}"}

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return self.process.poll() is not None  # it died: stop waiting

        wait_for(up, 20, f"redis-server on port {self.port}")
        client.close()
        assert self.process.poll() is None, f"redis-server on port {self.port} did not start"
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Redis hung for the block (SIGSTOP): connections are accepted by the kernel and
        nothing answers; SIGCONT after it, whatever happened."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """The test process's Celery app sends to (and pings through) ``url`` for a while."""
    conf = celery_app.conf
    previous = (conf.broker_url, conf.result_backend)

    def use(broker: str, backend: str | None) -> None:
        conf.broker_url, conf.result_backend = broker, backend
        celery_app._after_fork()  # forget the pooled connections to the other broker
        celery_app._backend_cache = None
        celery_app._local.backend = None

    use(url, url)
    try:
        yield
    finally:
        use(*previous)


@contextlib.contextmanager
def private_broker() -> Iterator[RedisServer]:
    """A Redis of the test's own as the broker of the test process's Celery app; start the
    workers of the block with ``env=server.env``."""
    server = RedisServer().start()
    try:
        with celery_broker(server.broker_url):
            yield server
    finally:
        server.close()


class WorkerProcess:
    """A worker started with docker-compose.yml's command of ``service``, consuming every
    queue, on this test's database and this xdist worker's Redis database; with ``beat``,
    beat runs embedded in it (the periodic sweeps). ``env`` adds to its environment
    (EMAIL_URL, FURUSATO_SWEEP_SECONDS, …). It runs in its own process group, so ``kill``
    takes the pool's processes (and beat) down with it, as a machine losing power would."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        beat: bool = False,
        service: str = "worker-default",
    ):
        compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
        command = list(compose["services"][service]["command"])
        self.hostname = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}-{os.getpid()}"
        self.hostname += f"-{time.monotonic_ns()}@%h"
        command = [
            ALL_QUEUES
            if arg.startswith("--queues=")
            else f"--hostname={self.hostname}"
            if arg.startswith("--hostname=")
            else arg
            for arg in command
        ]
        command[0] = str(Path(sys.executable).with_name("celery"))
        self.concurrency = next(
            (int(arg.split("=", 1)[1]) for arg in command if arg.startswith("--concurrency=")),
            os.cpu_count() or 1,
        )
        self._files = tempfile.TemporaryDirectory(prefix="furusato-worker-")
        if beat:
            command += ["--beat", f"--schedule={self._files.name}/celerybeat-schedule"]
        self.command = command
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}"
                f"/{db['NAME']}"
            ),
            "PYTHONPATH": "platform:.",  # as the image sets it
            # What its tasks queue goes to the broker, as in production (not run inline).
            "CELERY_TASK_ALWAYS_EAGER": "false",
            **(env or {}),
        }
        self.name = self.hostname.replace("%h", os.uname().nodename)
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, *, purge: bool = True) -> WorkerProcess:
        """Start it and wait until it answers a ping. ``purge`` empties the queues first
        (what earlier tests left there)."""
        if purge:
            celery_app.control.purge()
        # A file, not a pipe: a busy worker never blocks on a full pipe nobody reads yet.
        self._log = open(f"{self._files.name}/worker.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        celery_app.conf.task_always_eager = False
        wait_for(
            lambda: (
                self.process.poll() is None
                and bool(celery_app.control.ping(destination=[self.name], timeout=0.5))
            ),
            60,
            "the worker to answer",
        )
        return self

    def kill(self) -> None:
        """SIGKILL to the worker, its pool and beat at once: nothing gets to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), as on a deploy; SIGKILL if it hangs."""
        celery_app.conf.task_always_eager = True
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a pool process left behind

    @property
    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def close(self) -> None:
        self.stop()
        print(self.output[-4000:])
        if self._log is not None:
            self._log.close()
        self._files.cleanup()


@contextlib.contextmanager
def worker_process(
    *,
    env: Mapping[str, str] | None = None,
    beat: bool = False,
    purge: bool = True,
    service: str = "worker-default",
) -> Iterator[WorkerProcess]:
    """A ``WorkerProcess`` running for the length of the block, stopped after it."""
    worker = WorkerProcess(env=env, beat=beat, service=service)
    try:
        yield worker.start(purge=purge)
    finally:
        worker.close()


@contextlib.contextmanager
def celery_worker_process_running():
    """A worker process from docker-compose.yml's worker command, consuming every queue,
    on this test's database and this xdist worker's Redis database."""
    with worker_process() as worker:
        yield worker.name
