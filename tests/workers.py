"""A real Celery worker process for the tests that are about workers."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from django.db import connection

from config.celery import app as celery_app

REPO = Path(__file__).resolve().parents[1]
ALL_QUEUES = "--queues=default,matching,notifications,stats"


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def celery_worker_process_running():
    """A worker process from docker-compose.yml's worker command, consuming every queue,
    on this test's database and this xdist worker's Redis database."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = list(compose["services"]["worker-default"]["command"])
    hostname = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'gw0')}-{os.getpid()}@%h"
    command = [
        ALL_QUEUES
        if arg.startswith("--queues=")
        else f"--hostname={hostname}"
        if arg.startswith("--hostname=")
        else arg
        for arg in command
    ]
    command[0] = str(Path(sys.executable).with_name("celery"))
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "PYTHONPATH": "platform:.",  # as the image sets it
    }
    celery_app.control.purge()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    celery_app.conf.task_always_eager = False
    name = hostname.replace("%h", os.uname().nodename)
    try:
        wait_for(
            lambda: (
                process.poll() is None
                and bool(celery_app.control.ping(destination=[name], timeout=0.5))
            ),
            60,
            "the worker to answer",
        )
        yield name
    finally:
        celery_app.conf.task_always_eager = True
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        output = process.stdout.read() if process.stdout else ""
        print(output[-4000:])
