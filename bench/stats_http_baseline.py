"""``/stats/`` (anonymous, the published figures) under gunicorn against a bare Django view,
driven by wrk in alternation (issue 18, "Done when" 1 for ``/stats/``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_stats_bench1m \\
    REDIS_URL=redis://127.0.0.1:6385/0 .venv/bin/python bench/stats_http_baseline.py \\
        [--rounds 3] [--seconds 30] [--connections 16]

Two gunicorns with 3 sync workers each, as docker-compose.yml runs the site, on the same
database and Redis: the project (``config.wsgi``, ``config.settings.base``, database
connections kept for 60 s as production's ``DATABASE_CONN_MAX_AGE``) and the baseline, this
module as settings, URLconf and WSGI application: the project's settings with no app, no middleware
and one view that runs one indexed 20-row query (the first 20 published tasks by id) and
answers them as JSON. wrk (2 threads, ``--connections``) runs against each in turn,
``--rounds`` times, the project first; each run's requests/s and the ratio of the medians are
printed. The database must be migrated and published (``counts_rebuild``); nothing is
written to it but the cache entries. Only the gunicorns it started are stopped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("DJANGO_SETTINGS_MODULE") == "stats_http_baseline":  # as the baseline
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    from config.settings.base import *  # noqa: F403

    ROOT_URLCONF = "stats_http_baseline"
    MIDDLEWARE: list[str] = []
    INSTALLED_APPS: list[str] = []  # a bare view: no app, no middleware
    DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405

    from django.db import connection
    from django.http import JsonResponse
    from django.urls import path

    def bare(request):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, title FROM matching_task WHERE status = 'published' "
                "ORDER BY id LIMIT 20"
            )
            rows = cursor.fetchall()
        return JsonResponse({"results": [{"id": i, "title": t} for i, t in rows]})

    urlpatterns = [path("bare/", bare)]

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()


def main() -> None:
    import argparse
    import re
    import signal
    import statistics
    import subprocess
    import time
    import urllib.request

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--path", default="/stats/")
    args = parser.parse_args()

    venv = REPO / ".venv" / "bin"
    base_env = {
        **os.environ,
        "DATABASE_CONN_MAX_AGE": "60",
        "PYTHONPATH": f"{REPO / 'platform'}:{REPO}:{REPO / 'bench'}",
    }
    servers = {
        "project": (
            "config.wsgi",
            {**base_env, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
            8631,
            args.path,
        ),
        "baseline": (
            "stats_http_baseline:application",
            {**base_env, "DJANGO_SETTINGS_MODULE": "stats_http_baseline"},
            8632,
            "/bare/",
        ),
    }
    started = []
    try:
        for name, (app, env, port, url) in servers.items():
            process = subprocess.Popen(  # noqa: S603 (our own commands)
                [str(venv / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "3"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(process)
            for _ in range(120):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}") as answer:
                        size = len(answer.read())
                        status = answer.status
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                raise SystemExit(f"{name} did not answer on {port}")
            print(f"{name}: {app} on :{port}, GET {url} → {status}, {size / 1024:.1f} KB")
        found: dict[str, list[float]] = {name: [] for name in servers}
        for round_ in range(args.rounds):
            for name, (_app, _env, port, url) in servers.items():
                out = subprocess.run(  # noqa: S603 (our own commands)
                    [
                        "/usr/bin/wrk",
                        "-t2",
                        f"-c{args.connections}",
                        f"-d{args.seconds}s",
                        "--latency",
                        f"http://127.0.0.1:{port}{url}",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
                p50 = re.search(r"50%\s+(\S+)", out).group(1)
                p99 = re.search(r"99%\s+(\S+)", out).group(1)
                errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
                found[name].append(rps)
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(
                    f"round {round_ + 1} {name:<8} {rps:>9.1f} req/s  p50 {p50:>8}  p99 {p99:>8}"
                    f"  non-2xx {errors.group(1) if errors else 0}  (load {load})"
                )
        project, baseline = (statistics.median(found[n]) for n in ("project", "baseline"))
        print(
            f"median: project {project:.1f} req/s (range {min(found['project']):.1f}–"
            f"{max(found['project']):.1f}), baseline {baseline:.1f} req/s (range "
            f"{min(found['baseline']):.1f}–{max(found['baseline']):.1f}); "
            f"ratio {project / baseline:.2f}"
        )
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
