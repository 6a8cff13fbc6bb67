"""Benchmark of the statistics at national scale: the full rebuild of the counts, the
dashboards and their API as each kind of viewer sees them, and bringing the counts up to date
after 10,000 new registrations, on a database of about 10,000,000 registrations.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_stats_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/stats_bench.py --new-registrations 10000 --requests 30

The database must hold a generated population (``manage.py generate_population --people
4000000 --seed 6``, about 10,000,000 registrations) and may hold a board (``manage.py
generate_board``); it must be migrated. The benchmark writes to it (viewers with their roles,
the new registrations, the counts), so it refuses a database whose name does not end in
``_bench``. It never runs in CI (nothing under ``tests/`` imports it).

What it does, in this order:

1. ``insights.services.counts_rebuild()`` as the nightly job runs it; its parts (the ledger,
   the registration cells, the board, the publication and, inside that, the disclosure
   check) timed by wrapping the module's inner functions (``services.py`` is unchanged), and
   every SQL statement timed by a connection wrapper (``--statements`` prints the slowest);
   the peak memory of this process and of its database backend. Before and after it,
   ``VACUUM (ANALYZE)`` of the statistics' tables, as autovacuum would leave them
   (``--no-vacuum`` skips it; a test server may run with autovacuum off).
2. ``counts_update()`` when nothing changed (a no-op), ``--noop-runs`` times.
3. The dashboards through Django's test client (all middleware, the views, DRF; no
   network), as a national administrator (live counts), staff of 岐阜県 and of 飛騨市, a
   resident and an anonymous visitor (published figures): the pages ``/stats/…`` (when they
   exist), the API ``/api/stats/…`` and one CSV table each; ``--warmup`` requests, then
   ``--requests`` timed ones; median and p95 in ms.
4. ``--new-registrations`` registrations of existing generated adults with municipalities
   they are not registered with, through ``registry.services.registration_create``
   (``--via service``, the default) or written in one transaction by COPY as
   ``demo.population.people`` writes generated rows (``--via sql``), and ``--new-signups``
   sign-ups through ``matching.services.signup_create`` (``stats_changes.py``); then
   ``counts_update()`` until it returns, with its parts; checks that the nation's
   registrations rose by exactly that many; then ``counts_update()`` again right away.
   What production leaves to the workers (the matcher's refresh of the person) is queued to
   an in-memory broker, not run.
5. With ``--check-rebuild``: every cell the updates left compared with a full rebuild's.

``--only rebuild,noop,dashboards,update`` picks the parts. Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stats_changes import rebuild_equals, registrations_add, signups_add, viewer  # noqa: E402

sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
# Every update that changed something publishes (the worst case; production publishes at
# most once a day, INSIGHTS_PUBLISH_SECONDS).
os.environ.setdefault("INSIGHTS_PUBLISH_SECONDS", "0")

PREFECTURE = "21"  # 岐阜県
MUNICIPALITY = "212172"  # 飛騨市, in 岐阜県


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def percentile95(times: list[float]) -> float:
    times = sorted(times)
    return times[max(0, int(len(times) * 0.95 + 0.5) - 1)]


def check_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if "_bench" not in db["NAME"]:
        raise SystemExit(f"The benchmark writes to the database: refused for {db['NAME']!r}.")


# --- The machine and the data ------------------------------------------------------------


def machine() -> None:
    import django
    import psycopg
    import rest_framework

    model = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(
            ["/usr/bin/lscpu"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    memory = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    settings = {
        name: sql(f"SHOW {name}")[0][0]
        for name in (
            "server_version",
            "shared_buffers",
            "work_mem",
            "max_parallel_workers_per_gather",
            "jit",
            "autovacuum",
        )
    }
    print(
        f"machine: nproc {os.cpu_count()}, {model}, RAM {memory}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
        f"PostgreSQL {settings.pop('server_version')} "
        f"({', '.join(f'{k} {v}' for k, v in settings.items())}); "
        f"Python {sys.version.split()[0]}, Django {django.__version__}, "
        f"DRF {rest_framework.__version__}, "
        f"psycopg {psycopg.__version__}; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    )


def dataset() -> dict:
    from demo.population import EMAIL_DOMAIN

    found = {
        "generated people": sql(
            "SELECT COUNT(*) FROM accounts_user WHERE email LIKE %s", [f"%@{EMAIL_DOMAIN}"]
        )[0][0],
        "registrations": sql("SELECT COUNT(*) FROM registry_registration")[0][0],
        "active registrations": sql(
            "SELECT COUNT(*) FROM registry_registration WHERE status = 'active'"
        )[0][0],
        "registration events": sql("SELECT COUNT(*) FROM registry_registrationevent")[0][0],
        "prefecture registrations": sql("SELECT COUNT(*) FROM registry_prefectureregistration")[0][
            0
        ],
        "municipalities": sql("SELECT COUNT(*) FROM places_municipality")[0][0],
        "tasks": sql("SELECT COUNT(*) FROM matching_task")[0][0],
        "sessions": sql("SELECT COUNT(*) FROM matching_session")[0][0],
        "sign-ups": sql("SELECT COUNT(*) FROM matching_signup")[0][0],
    }
    print("data: " + ", ".join(f"{k} {v:,}" for k, v in found.items()))
    return found


def sizes() -> None:
    for table in ("insights_tally", "insights_count", "insights_published"):
        rows, size, indexes = sql(
            f"SELECT (SELECT COUNT(*) FROM {table}), "  # noqa: S608
            "pg_total_relation_size(%s), pg_indexes_size(%s)",
            [table, table],
        )[0]
        print(
            f"  {table:<20} {rows:>12,} rows {size / 2**20:>8,.0f} MB "
            f"(indexes {indexes / 2**20:,.0f} MB)"
        )


# --- Measuring parts and memory ------------------------------------------------------------


class Parts:
    """Seconds and calls of named functions of a module while ``with`` is open: the module's
    attribute is replaced by a timing wrapper (callers look it up at call time), then put
    back. Nested parts are counted in their callers too."""

    def __init__(self, targets: list[tuple[object, str]]) -> None:
        self.targets = targets
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._saved: list[tuple[object, str, Callable]] = []

    def __enter__(self) -> Parts:
        for module, name in self.targets:
            original = getattr(module, name, None)
            if original is None:  # not in this version of the code
                continue
            self._saved.append((module, name, original))
            setattr(module, name, self._wrap(name, original))
        return self

    def _wrap(self, name: str, function: Callable) -> Callable:
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        return timed

    def __exit__(self, *exc) -> None:
        for module, name, original in self._saved:
            setattr(module, name, original)


class Statements:
    """Every SQL statement's time on the default connection (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str]] = []
        self._context = None

    def __call__(self, execute, sql_text, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql_text, params, many, context)
        finally:
            self.rows.append((time.perf_counter() - started, " ".join(str(sql_text).split())))

    def __enter__(self) -> Statements:
        from django.db import connection

        self._context = connection.execute_wrapper(self)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def top(self, n: int = 12, width: int = 150) -> None:
        total = sum(s for s, _q in self.rows)
        print(f"  {len(self.rows):,} SQL statements, {total:.1f} s in the database; the slowest:")
        for seconds, text in sorted(self.rows, reverse=True)[:n]:
            print(f"    {seconds:>8.2f} s  {text[:width]}")


def _status_kb(pid: int | str, field: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


class Peak:
    """Peak resident memory of this process (``VmHWM``, reset through ``/proc/self/clear_refs``;
    else ``ru_maxrss``, the peak since the process started) and the peak private memory
    (``RssAnon``, sampled every 50 ms) of the PostgreSQL backend serving it: its sorts and
    hashes, without the shared buffers it reads."""

    def __init__(self) -> None:
        from django.db import connection

        connection.ensure_connection()
        self.backend = sql("SELECT pg_backend_pid()")[0][0]
        self.process_mb = self.backend_mb = 0.0
        self.how = "VmHWM"
        self._stop = threading.Event()

    def __enter__(self) -> Peak:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.how = "ru_maxrss (since start)"
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            anon = _status_kb(self.backend, "RssAnon")
            if anon is not None:
                self.backend_mb = max(self.backend_mb, anon / 1024)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        hwm = _status_kb("self", "VmHWM") if self.how == "VmHWM" else None
        if hwm is None:
            self.how = "ru_maxrss (since start)"
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.process_mb = hwm / 1024

    def __str__(self) -> str:
        backend = f"{self.backend_mb:,.0f} MB" if self.backend_mb else "not sampled"
        return (
            f"peak memory: this process {self.process_mb:,.0f} MB ({self.how}), "
            f"database backend private {backend}"
        )


# --- 1. The full rebuild -------------------------------------------------------------------


def rebuild(statements: bool) -> None:
    from insights import disclosure, services
    from insights.services import publication
    from insights.services import rebuild as module

    targets = [
        (module, "_rebuild_tally"),
        (module, "_registration_cells"),
        (module, "board_recount"),
        (module, "publication_refresh"),
        (publication, "_figures_for_publication"),
        (disclosure, "problem_from"),
        (disclosure, "suppress"),
    ]
    print("\n1. counts_rebuild()")
    with Peak() as peak, Parts(targets) as parts, Statements() as timed:
        started = time.perf_counter()
        result = services.counts_rebuild()
        total = time.perf_counter() - started
    s = parts.seconds
    publication_rest = (
        s["publication_refresh"] - s["_figures_for_publication"] - s["problem_from"] - s["suppress"]
    )
    rows = [
        ("the ledger (_rebuild_tally: DELETE, INSERT … SELECT)", s["_rebuild_tally"]),
        (
            "the registration cells, live and published basis (_registration_cells)",
            s["_registration_cells"],
        ),
        (
            "the rest of the transaction (deleting the old cells, commit)",
            total
            - s["_rebuild_tally"]
            - (s["_registration_cells"] - s["_figures_for_publication"])
            - s["board_recount"]
            - s["publication_refresh"],
        ),
        ("the board (board_recount)", s["board_recount"]),
        ("the publication (publication_refresh)", s["publication_refresh"]),
        (
            "    counting the published basis (_figures_for_publication)",
            s["_figures_for_publication"],
        ),
        ("    building the relations (disclosure.problem_from)", s["problem_from"]),
        ("    suppressing (disclosure.suppress)", s["suppress"]),
        ("    writing the published cells", publication_rest),
        ("total", total),
    ]
    for label, seconds in rows:
        print(f"  {label:<66} {seconds:>8.1f} s")
    print(f"  {result}; {peak}")
    sizes()
    if statements:
        timed.top()


def vacuum() -> None:
    """The statistics' tables as autovacuum leaves them (it may be off on a test server)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) insights_tally, insights_count, insights_published")
    print(
        f"\nVACUUM (ANALYZE) of the statistics tables: {time.perf_counter() - started:.1f} s "
        f"(autovacuum {sql('SHOW autovacuum')[0][0]})"
    )
    sizes()


# --- 2. and 4. Updates ----------------------------------------------------------------------


def national_registrations() -> tuple[int | None, int | None]:
    from insights.models import Count, Published

    live = (
        Count.objects.filter(area="JP", measure="reg", key="")
        .values_list("value", flat=True)
        .first()
    )
    published = (
        Published.objects.filter(area="JP", measure="reg", key="")
        .values_list("value", flat=True)
        .first()
    )
    return live, published


def update(label: str, statements: bool = False) -> float:
    from insights import disclosure
    from insights import services as package
    from insights.services import participation, publication
    from insights.services import update as services

    targets = [
        (services, "_next_events"),
        (services, "_recount"),
        (services, "board_recount"),
        (services, "board_fingerprint"),
        (services, "board_update"),
        (participation, "_places_delta"),
        (participation, "_people_delta"),
        (services, "publication_refresh"),
        (publication, "_figures_for_publication"),
        (disclosure, "problem_from"),
        (disclosure, "suppress"),
        (publication, "pages_write"),
    ]
    assert package.counts_update is services.counts_update
    with Peak() as peak, Parts(targets) as parts, Statements() as timed:
        started = time.perf_counter()
        result = services.counts_update()
        total = time.perf_counter() - started
    s, c = parts.seconds, parts.calls
    feed = total - s["_next_events"] - s["_recount"] - s["board_recount"] - s["publication_refresh"]
    feed -= s["board_update"]
    # board_fingerprint runs before deciding on a recount, and inside board_recount.
    fingerprint = s["board_fingerprint"] * (c["board_fingerprint"] - c["board_recount"])
    fingerprint = fingerprint / c["board_fingerprint"] if c["board_fingerprint"] else 0.0
    feed -= fingerprint
    writing = s["publication_refresh"] - s["_figures_for_publication"] - s["problem_from"]
    writing -= s["suppress"] + s["pages_write"]
    print(
        f"  {label}: {total:.2f} s → {result}\n"
        f"    reading the event feed {s['_next_events']:.2f} s ({c['_next_events']} reads), "
        f"recounting {s['_recount']:.2f} s ({c['_recount']} calls), "
        f"board_fingerprint {fingerprint:.2f} s, board_recount {s['board_recount']:.2f} s, "
        f"board_update {s['board_update']:.2f} s (places {s['_places_delta']:.2f}, "
        f"people {s['_people_delta']:.2f} in {c['_people_delta']} calls), "
        f"publication_refresh {s['publication_refresh']:.2f} s ({c['publication_refresh']} call: "
        f"the basis {s['_figures_for_publication']:.2f}, relations {s['problem_from']:.2f}, "
        f"suppressing {s['suppress']:.2f}, the pages {s['pages_write']:.2f}, "
        f"writing the cells {writing:.2f}), "
        f"the rest (profile feed, state) {feed:.2f} s\n    {peak}"
    )
    if statements:
        timed.top(8)
    return total


def noop_updates(runs: int) -> None:
    print(f"\n2. counts_update() with nothing changed ({runs} runs)")
    times = [update(f"no-op {n + 1}") for n in range(runs)]
    print(f"  no-op median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def after_new_registrations(
    count: int, signups: int, via: str, seed: int, statements: bool, check: bool
) -> None:
    print(f"\n4. {count:,} new registrations and {signups:,} new sign-ups, then counts_update()")
    live_before, published_before = national_registrations()
    signups_before = board_signups()
    registrations_add(count, via, seed)
    if signups:
        signups_add(signups, seed)
    update(
        f"counts_update() after {count:,} new registrations and {signups:,} sign-ups",
        statements=statements,
    )
    live_after, published_after = national_registrations()
    active = sql("SELECT COUNT(*) FROM registry_registration WHERE status = 'active'")[0][0]
    ok = "yes" if live_after - live_before == count else "NO"
    print(
        f"  the nation's registrations: live {live_before:,} → {live_after:,} "
        f"(+{live_after - live_before:,}; "
        f"exactly {count:,}: {ok}; active rows now {active:,}: "
        f"{'equal' if active == live_after else 'DIFFERENT'}), "
        f"published {published_before} → {published_after}; the nation's sign-ups "
        f"{signups_before} → {board_signups()}"
    )
    update("counts_update() again right away (the young events are read again)")
    if check:
        rebuild_equals()


def board_signups() -> int | None:
    from insights.models import Count

    return (
        Count.objects.filter(area="JP", measure="board", key="signups")
        .values_list("value", flat=True)
        .first()
    )


# --- 3. The dashboards ------------------------------------------------------------------------


def dashboards(requests: int, warmup: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve

    from accounts.models import Role

    resident = sql(
        "SELECT person_id FROM registry_registration WHERE status = 'active' ORDER BY id LIMIT 1"
    )[0][0]
    from accounts.models import User

    users = {
        "national admin": viewer(Role.NATIONAL_ADMIN, "", "national"),
        "staff of 21": viewer(Role.PREFECTURE_STAFF, PREFECTURE, "gifu"),
        "staff of 212172": viewer(Role.MUNICIPALITY_ADMIN, MUNICIPALITY, "hida"),
        "resident": User.objects.get(pk=resident),
        "anonymous": None,
    }
    national, prefecture, municipality = (
        "/api/stats/national/",
        f"/api/stats/prefectures/{PREFECTURE}/",
        f"/api/stats/municipalities/{MUNICIPALITY}/",
    )
    pages = (
        "/stats/",
        f"/stats/prefectures/{PREFECTURE}/",
        f"/stats/municipalities/{MUNICIPALITY}/",
    )
    cases = {
        "national admin": [
            pages[0],
            national + "?period=month",
            national + "?period=day",
            national + "prefectures/?format=csv",
            pages[1],
            prefecture,
            prefecture + "municipalities/?format=csv",
            pages[2],
            municipality,
            municipality + "series/?format=csv",
        ],
        "staff of 21": [
            pages[1],
            prefecture,
            prefecture + "municipalities/?format=csv",
            pages[2],
            municipality,
            national,
        ],
        "staff of 212172": [pages[2], municipality, municipality + "series/?format=csv"],
        "resident": [pages[0], national],
        "anonymous": [
            pages[0],
            national + "?period=month",
            national + "?period=day",
            national + "prefectures/?format=csv",
        ],
    }
    # The pages come with another part of the work: measured where they render.
    missing = []
    probe = Client(HTTP_ACCEPT_LANGUAGE="ja")
    probe.force_login(users["national admin"])
    for page in pages:
        try:
            resolve(page)
            status = probe.get(page).status_code
            reason = "" if status == 200 else f"status {status}"
        except Resolver404:
            reason = "no URL"
        except Exception as error:
            reason = type(error).__name__
        if reason:
            missing.append(page)
            print(f"\n(the page {page} cannot be measured in this checkout: {reason})")
    print(
        f"\n3. dashboards through the test client ({warmup} warm-up requests, then {requests}; ms; "
        "SQL queries and response size of one more request)"
    )
    print(
        f"  {'viewer':<16} {'request':<52} {'median':>8} {'p95':>8} {'max':>8} {'SQL':>4} {'KB':>6}"
    )
    for who, urls in cases.items():
        client = Client(HTTP_ACCEPT_LANGUAGE="ja")
        if users[who] is not None:
            client.force_login(users[who])
        for url in urls:
            if url.split("?")[0] in missing:
                continue
            for _ in range(warmup):
                response = client.get(url)
                assert response.status_code == 200, (
                    who,
                    url,
                    response.status_code,
                    response.content[:300],
                )
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (who, url, response.status_code)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            print(
                f"  {who:<16} {url:<52} {statistics.median(times):>8.1f} "
                f"{percentile95(times):>8.1f} "
                f"{max(times):>8.1f} {len(queries):>4} {len(response.content) / 1024:>6.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-registrations", type=int, default=10_000)
    parser.add_argument("--new-signups", type=int, default=1_000)
    parser.add_argument(
        "--check-rebuild",
        action="store_true",
        help="after the update, compare every cell with a full rebuild's",
    )
    parser.add_argument("--via", choices=("service", "sql"), default="service")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--noop-runs", type=int, default=3)
    parser.add_argument(
        "--statements", action="store_true", help="print the slowest SQL statements"
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) of the statistics tables"
    )
    parser.add_argument(
        "--only",
        default="rebuild,noop,dashboards,update",
        help="comma-separated: rebuild, noop, dashboards, update",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    # Measure the views, not the per-client rate limits (set before any view is imported);
    # static files by name, without a collectstatic run (the manifest is production's).
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    from config.celery import app as celery_app

    # What production leaves to the workers (the matcher's refresh of a person whose
    # registrations changed) goes to an in-memory broker and is not run here: measured is
    # what the request itself does.
    celery_app.conf.update(
        task_always_eager=False, broker_url="memory://localhost/", result_backend=None
    )
    check_database()
    machine()
    dataset()
    if not args.no_vacuum:
        vacuum()
    if "rebuild" in only:
        rebuild(args.statements)
        if not args.no_vacuum:
            vacuum()
    if "noop" in only:
        noop_updates(args.noop_runs)
    if "dashboards" in only:
        dashboards(args.requests, args.warmup)
    if "update" in only:
        after_new_registrations(
            args.new_registrations,
            args.new_signups,
            args.via,
            args.seed,
            args.statements,
            args.check_rebuild,
        )


if __name__ == "__main__":
    main()
