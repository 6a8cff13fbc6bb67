"""The public pages over HTTP against a bare Django view, both under gunicorn (issue 18).

Starts the site (``config.wsgi``, 3 sync workers as docker-compose.yml runs it, the
production settings with DEBUG off and the real Redis cache: ``bench/http_settings.py``)
and the bare baseline (``bench/http_baseline.py``: Django without middleware, one view, one
indexed 20-row query on the same database, under the same gunicorn), then drives each URL
with wrk (16 connections, 30 s by default) in alternation: baseline, site, baseline, site …
for every URL and round. It prints each run's requests per second and the ratio to the
baseline run just before it, then the median and range per URL.

The database is used as it is (never written but for one session row of the signed-in
resident): a clone of ``furusato_gen_1m`` or a population of your own, e.g.
``createdb -T furusato_gen_1m furusato_cache_bench1m``. The cache is a Redis database of
its own (``--redis-url``), emptied at the start.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_cache_bench1m \\
      .venv/bin/python bench/http_bench.py --redis-url redis://127.0.0.1:6381/1
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

URLS = [
    ("anonymous", "/api/tasks/"),
    ("anonymous", "/tasks/"),
    ("anonymous", "/tasks/{task}/"),
    ("anonymous", "/api/municipalities/?search=ひだし"),
    ("anonymous", "/stats/"),
    ("resident", "/tasks/"),
    ("resident", "/api/tasks/"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(port: int, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def wait_for(port: int, path: str, headers: dict[str, str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status_of(port, path, headers) == 200:
            return
        time.sleep(0.5)
    raise SystemExit(f"nothing answers 200 on port {port} at {path}")


def wrk(port: int, path: str, headers: dict[str, str], args) -> tuple[float, int]:
    """Requests per second, and the answers that were not 2xx/3xx."""
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603 (our own command)
        [*command, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, int(bad.group(1)) if bad else 0


def uptime() -> str:
    return "load average " + ", ".join(f"{load:.2f}" for load in os.getloadavg())


def resident_cookie(env: dict[str, str]) -> tuple[str, int]:
    """A session of a resident who has sign-ups (the first one's person), made by Django's
    own test client login, and the id of a published task for the task page."""
    code = (
        "from django.test import Client\n"
        "from matching.models import Signup, Task\n"
        "person = Signup.objects.order_by('id').select_related('person').first().person\n"
        "client = Client()\n"
        "client.force_login(person)\n"
        "task = Task.objects.filter(status='published').order_by('-published_at').first()\n"
        "print(client.cookies['sessionid'].value, task.pk)\n"
    )
    out = subprocess.run(  # noqa: S603 (our own command)
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[-2], int(out[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6381/1")
    parser.add_argument("--only", default="", help="comma-separated indexes into the URLs")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="the site with its public cache off (FURUSATO_PUBLIC_CACHE=false): every answer "
        "built, as on a miss",
    )
    args = parser.parse_args()

    database_url = os.environ["DATABASE_URL"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "http_settings",
        "PYTHONPATH": "platform:.:bench",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_URL": "smtp://127.0.0.1:1",
        "DEFAULT_FROM_EMAIL": "Furusato <bench@furusato.invalid>",
        "SITE_URL": "https://127.0.0.1",
        "FURUSATO_PUBLIC_CACHE": "false" if args.no_cache else "true",
    }
    subprocess.run(["redis-cli", "-u", args.redis_url, "flushdb"], check=True)  # noqa: S603,S607
    # The production image collects the static files at build.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env
    )
    cookie, task = resident_cookie(env)
    print(f"public cache {'off' if args.no_cache else 'on'}; {uptime()}")
    # As the TLS proxy in front would say (production redirects plain HTTP).
    proxy = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    site_port, base_port = free_port(), free_port()
    logs = tempfile.mkdtemp(prefix="furusato-http-bench-")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    processes = [
        subprocess.Popen(  # noqa: S603 (our own commands)
            [gunicorn, "config.wsgi", "--workers", "3", "--bind", f"127.0.0.1:{site_port}"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{logs}/site.log", "w"),  # noqa: SIM115
            start_new_session=True,
        ),
        subprocess.Popen(  # noqa: S603
            [
                *(gunicorn, "http_baseline:application", "--chdir", "bench"),
                *("--workers", "3", "--bind", f"127.0.0.1:{base_port}"),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{logs}/baseline.log", "w"),  # noqa: SIM115
            start_new_session=True,
        ),
    ]
    urls = list(enumerate(URLS))
    if args.only:
        wanted = {int(i) for i in args.only.split(",")}
        urls = [(i, url) for i, url in urls if i in wanted]
    results: dict[int, list[tuple[float, float]]] = {i: [] for i, _ in urls}
    try:
        wait_for(base_port, "/", {})
        wait_for(site_port, "/health/", proxy)
        print(f"resident session ready; task {task}; logs in {logs}")
        for round_ in range(1, args.rounds + 1):
            for i, (who, path) in urls:
                path = urllib.request.quote(path.format(task=task), safe="/?=&")
                headers = dict(proxy)
                if who == "resident":
                    headers["Cookie"] = f"sessionid={cookie}"
                status = status_of(site_port, path, headers)
                base, base_bad = wrk(base_port, "/", {}, args)
                site, site_bad = wrk(site_port, path, headers, args)
                results[i].append((base, site))
                load = os.getloadavg()[0]
                print(
                    f"round {round_} {who:9} {path:40} HTTP {status}  baseline {base:8.1f}  "
                    f"site {site:8.1f}  ratio {site / base:.3f}  (non-2xx: {base_bad}/"
                    f"{site_bad}; load {load:.1f})",
                    flush=True,
                )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    print("\n| who | URL | baseline rps (median, range) | site rps | ratio (median, range) |")
    print("|---|---|---:|---:|---:|")
    for i, (who, path) in urls:
        runs = results[i]
        ratios = [site / base for base, site in runs]
        bases = [base for base, _ in runs]
        sites = [site for _, site in runs]
        print(
            f"| {who} | `{path.format(task=task)}` | {statistics.median(bases):,.0f} "
            f"({min(bases):,.0f}–{max(bases):,.0f}) | {statistics.median(sites):,.0f} "
            f"({min(sites):,.0f}–{max(sites):,.0f}) | {statistics.median(ratios):.2f} "
            f"({min(ratios):.2f}–{max(ratios):.2f}) |"
        )


if __name__ == "__main__":
    main()
