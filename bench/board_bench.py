"""Benchmark of the board at scale: 100,000 generated tasks with 300,000 sessions and a
million past sign-ups beside a million generated people, then finding tasks (selectors,
the page ``/tasks/`` and ``GET /api/tasks/``), the query plans, and signing up on
PostgreSQL from many threads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/board_bench.py --tasks 100000 --sessions-per-task 3 \\
        --signups 1000000 --seed 1 --explain

The database must hold generated people (``bench/registry_bench.py`` makes a million; this
benchmark never drops them). It migrates, runs ``manage.py generate_board`` (skipped if the
seed's tasks are there; ``--regenerate`` empties the board's tables first, only on a
database whose name ends in ``_bench``), vacuums and analyses the board's tables, prints
their sizes, then the median and p95 of each search, the plans (``--explain``) and the
sign-up throughput. Requests go through Django's test client (all middleware and DRF, no
network). Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

TABLES = ["matching_task", "matching_session", "matching_signup"]
HIDA = "212172"  # 飛騨市: "near" is measured from it


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return f"{statistics.median(times):>9.1f} {p95:>8.1f} {times[-1]:>8.1f}"


def check_database(regenerate: bool) -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if regenerate and not db["NAME"].endswith("_bench"):
        raise SystemExit(f"--regenerate empties the board: refused for {db['NAME']!r}.")


def generate(args) -> None:
    from django.core.management import call_command

    from demo.population import EMAIL_DOMAIN, generated_mark
    from matching.models import Task

    people = sql(
        "SELECT COUNT(*) FROM accounts_user WHERE email LIKE %s", [f"pop-%@{EMAIL_DOMAIN}"]
    )
    print(f"generated people present: {people[0][0]:,}")
    if args.regenerate:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE matching_signup, matching_session, matching_task")
        print("board emptied (TRUNCATE)")
    if Task.objects.filter(description__startswith=generated_mark(args.seed)).exists():
        print(f"tasks of seed {args.seed} exist already: generation skipped")
    else:
        out = io.StringIO()
        started = time.perf_counter()
        call_command(
            "generate_board",
            tasks=args.tasks,
            sessions_per_task=args.sessions_per_task,
            signups=args.signups,
            seed=args.seed,
            batch=args.batch,
            stdout=out,
            verbosity=0,
        )
        seconds = time.perf_counter() - started
        print(out.getvalue().strip())
        print(
            f"generate_board --tasks {args.tasks:,} --sessions-per-task "
            f"{args.sessions_per_task:g} --signups {args.signups:,} --seed {args.seed} "
            f"--batch {args.batch:,}: {seconds:.1f} s with ANALYZE"
        )
    # After a bulk load: the visibility map, so that counts can read indexes alone (what
    # autovacuum would do a little later).
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    print("VACUUM (ANALYZE) of the board's tables done")


def sizes() -> None:
    print(f"\n{'table':<20} {'rows':>12} {'table+indexes+toast':>20} {'of which indexes':>17}")
    for table in TABLES:
        rows = sql(f'SELECT COUNT(*) FROM "{table}"')[0][0]  # noqa: S608  (our table names)
        size, indexes = sql(
            "SELECT pg_total_relation_size(%s), pg_indexes_size(%s)", [table, table]
        )[0]
        print(f"{table:<20} {rows:>12,} {megabytes(size):>20} {megabytes(indexes):>17}")
    live = sql("SELECT COUNT(*) FROM matching_task WHERE status = 'published'")[0][0]
    by_status = sql("SELECT status, COUNT(*) FROM matching_signup GROUP BY 1 ORDER BY 2 DESC")
    print(f"published tasks: {live:,}; sign-ups: " + ", ".join(f"{s} {n:,}" for s, n in by_status))


def queries() -> dict[str, tuple[str, object]]:
    """name: (query string, TaskQuery)."""
    from django.utils import timezone

    from matching.selectors import Sort, TaskQuery

    today = timezone.localdate()
    week, month = today + datetime.timedelta(days=7), today + datetime.timedelta(days=21)
    later = today + datetime.timedelta(days=60)
    return {
        "no filter": ("", TaskQuery()),
        "search 草刈": ("search=草刈", TaskQuery(search="草刈")),
        "search 雪かき": ("search=雪かき", TaskQuery(search="雪かき")),
        "prefecture 21 + farming": (
            "prefecture=21&category=farming",
            TaskQuery(prefecture="21", category="farming"),
        ),
        "dates +7…+21 days": (
            f"date_from={week}&date_to={month}",
            TaskQuery(date_from=week, date_to=month),
        ),
        "open only": ("open=on", TaskQuery(open_only=True)),
        "near 飛騨市 50 km, by distance": (
            f"near={HIDA}&within_km=50&sort=distance",
            TaskQuery(near=HIDA, within_km=50, sort=Sort.DISTANCE),
        ),
        "newest first": ("sort=new", TaskQuery(sort=Sort.NEW)),
        "combined (草刈, 21, open, 60 days)": (
            f"search=草刈&prefecture=21&open=on&date_from={today}&date_to={later}",
            TaskQuery(
                search="草刈", prefecture="21", open_only=True, date_from=today, date_to=later
            ),
        ),
    }


def timed(function: Callable[[], object], runs: int, warmup: int) -> list[float]:
    times = []
    for number in range(warmup + runs):
        started = time.perf_counter()
        function()
        elapsed = (time.perf_counter() - started) * 1000
        if number >= warmup:
            times.append(elapsed)
    return times


def selectors(runs: int) -> None:
    """What a page of results costs the selector: its count and its first 20 rows."""
    from matching.selectors import task_search

    print(
        f"\nselectors.task_search: count() and the first page (20 rows), {runs} runs each "
        "after 10 warm-up runs (ms)"
    )
    print(
        f"{'query':<36} {'rows':>7} | {'count median':>12} {'p95':>6} | "
        f"{'page median':>11} {'p95':>6}"
    )
    for name, (_params, query) in queries().items():
        total = task_search(query).count()
        counts = sorted(timed(lambda q=query: task_search(q).count(), runs, 10))
        pages = sorted(timed(lambda q=query: list(task_search(q)[:20]), runs, 10))
        p = int(runs * 0.95) - 1
        print(
            f"{name:<36} {total:>7,} | {statistics.median(counts):>12.1f} {counts[p]:>6.1f} | "
            f"{statistics.median(pages):>11.1f} {pages[p]:>6.1f}"
        )


def explain() -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the count and the first page of each search."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from matching.selectors import task_search

    for name, (_params, query) in queries().items():
        with CaptureQueriesContext(connection) as captured:
            task_search(query).count()
            list(task_search(query)[:20])
        for label, captured_query in zip(("count", "page"), captured.captured_queries, strict=True):
            with connection.cursor() as cursor:  # no parameters: the SQL holds its values
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + captured_query["sql"])
                plan = cursor.fetchall()
            print(f"\n--- {name}: {label}\n{captured_query['sql']}\n")
            print("\n".join(row[0] for row in plan))


def http(requests: int) -> None:
    """The page and the API, anonymous, for each search."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []  # measure views, not the limit
    # Static files by name, without a collectstatic run (the manifest is production's).
    override_settings(
        ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()

    client = Client()
    print(
        f"\nHTTP through Django's test client, anonymous, {requests} requests each after "
        "10 warm-up requests (ms; queries per request)"
    )
    print(f"{'request':<60} {'median':>9} {'p95':>8} {'max':>8} {'SQL':>4}")
    for path in ("/tasks/", "/api/tasks/"):
        for _name, (params, _query) in queries().items():
            url = f"{path}?{params}" if params else path
            response = client.get(url)
            if response.status_code != 200:
                print(f"{url:<60} answered {response.status_code}: skipped")
                continue
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            queries_per_request = len(captured)  # now: the next request empties the log
            times = timed(lambda u=url: client.get(u), requests, 10)
            print(f"{url:<60} {summary(times)} {queries_per_request:>4}")


# --- Signing up ---------------------------------------------------------------------------

BENCH_TITLE = "board_bench: sign-up throughput"


def _bench_task(code: str, sessions: int, capacity: int):
    """A published task of the benchmark's own with ``sessions`` future sessions on
    distinct days; removed afterwards."""
    from django.utils import timezone

    from core.search import document_key
    from matching.models import Session, Task, TaskStatus
    from places.models import Municipality

    town = Municipality.objects.get(code=code)
    now = timezone.now()
    first = now + datetime.timedelta(days=30)
    task = Task.objects.create(
        municipality=town,
        prefecture_id=town.prefecture_id,
        host_name=town.name,
        title=BENCH_TITLE,
        description="sign-up benchmark",
        category="farming",
        reward="-",
        status=TaskStatus.PUBLISHED,
        published_at=now,
        search_text=document_key([BENCH_TITLE]),
    )
    rows = Session.objects.bulk_create(
        [
            Session(
                task=task,
                starts_at=first + datetime.timedelta(days=i),
                ends_at=first + datetime.timedelta(days=i, hours=3),
                capacity=capacity,
            )
            for i in range(sessions)
        ]
    )
    Task.objects.filter(pk=task.pk).update(
        starts_at=rows[0].starts_at, ends_at=rows[-1].ends_at, signup_closes_at=rows[-1].starts_at
    )
    return task, rows


def _sign_up_in_threads(plan: list[list[tuple]], label: str) -> list[float]:
    """Each thread signs its (session, person) pairs up through the service, all starting
    at a barrier; the per-call times (ms) and the wall time are printed."""
    from django.db import connection

    from accounts.models import User
    from matching import services

    barrier = threading.Barrier(len(plan) + 1)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(pairs: list[tuple]) -> None:
        mine = []
        try:
            people = User.objects.in_bulk([person for _, person in pairs])
            barrier.wait()
            for session, person in pairs:
                started = time.perf_counter()
                services.signup_create(session=session, person=people[person])
                mine.append((time.perf_counter() - started) * 1000)
        except BaseException as exc:
            errors.append(exc)
        finally:
            with lock:
                latencies.extend(mine)
            connection.close()

    threads = [threading.Thread(target=work, args=(pairs,)) for pairs in plan]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    total = sum(len(pairs) for pairs in plan)
    print(
        f"{label:<44} {len(plan):>3} {total:>7,} {wall:>7.2f} {total / wall:>9,.0f} "
        f"{summary(latencies)}"
    )
    return latencies


def signups(thread_counts: list[int], per_thread: int) -> None:
    from django.db.models import Count, Q

    from demo.population import EMAIL_DOMAIN
    from matching.models import Session, Signup, SignupStatus, Task
    from notifications.models import Notification

    largest = max(thread_counts) * per_thread
    # Generated people without any sign-up (so none holds an overlapping session).
    people = [
        pk
        for (pk,) in sql(
            """SELECT u.id FROM accounts_user u WHERE u.email LIKE %s
               AND NOT EXISTS (SELECT 1 FROM matching_signup s WHERE s.person_id = u.id)
               ORDER BY u.id DESC LIMIT %s""",
            [f"pop-%@{EMAIL_DOMAIN}", largest * 2],
        )
    ]
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    print(
        f"\nsignups through services.signup_create on PostgreSQL, threads with a connection "
        f"each behind a barrier, {per_thread} sign-ups per thread, distinct people"
    )
    print(
        f"{'case':<44} {'thr':>3} {'signups':>7} {'wall s':>7} {'signups/s':>9} "
        f"{'median ms':>9} {'p95':>8} {'max':>8}"
    )

    def clean(created: list[int]) -> None:
        Notification.objects.filter(pk__gt=before, context__task_id__in=created).delete()
        Task.objects.filter(pk__in=created).delete()

    for threads in thread_counts:
        created: list[int] = []
        try:
            total = threads * per_thread
            # Distinct sessions: every sign-up its own session (no lock shared).
            task, sessions = _bench_task(HIDA, total, capacity=10)
            created.append(task.pk)
            plan = [
                [
                    (sessions[t * per_thread + i], people[t * per_thread + i])
                    for i in range(per_thread)
                ]
                for t in range(threads)
            ]
            _sign_up_in_threads(plan, "distinct sessions")
            # One hot session, a quarter of the sign-ups get a place: the rest wait.
            task, (hot,) = _bench_task(HIDA, 1, capacity=max(1, total // 4))
            created.append(task.pk)
            offset = largest
            plan = [
                [(hot, people[offset + t * per_thread + i]) for i in range(per_thread)]
                for t in range(threads)
            ]
            _sign_up_in_threads(plan, f"one hot session (capacity {hot.capacity})")
            hot.refresh_from_db()
            counts = Signup.objects.filter(session=hot).aggregate(
                confirmed=Count("pk", filter=Q(status=SignupStatus.CONFIRMED)),
                waiting=Count("pk", filter=Q(status=SignupStatus.WAITLISTED)),
            )
            assert hot.taken == hot.capacity == counts["confirmed"], (hot.taken, counts)
            assert counts["waiting"] == total - hot.capacity, counts
        finally:
            clean(created)  # the same people sign up again in the next round
    remaining = Session.objects.filter(task__title=BENCH_TITLE).count()
    print(f"(benchmark tasks removed; {remaining} of their sessions left)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--sessions-per-task", type=float, default=3)
    parser.add_argument("--signups", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200, help="selector runs per query")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per URL")
    parser.add_argument("--threads", default="1,2,4,8", help="thread counts for sign-ups")
    parser.add_argument("--per-thread", type=int, default=200, help="sign-ups per thread")
    parser.add_argument("--regenerate", action="store_true", help="empty the board first")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--skip", default="", help="comma-separated: selectors,http,signups")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    import django

    django.setup()
    check_database(args.regenerate)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    version = sql("SHOW server_version")[0][0]
    print(
        f"database: PostgreSQL {version}, {connection.settings_dict['NAME']}; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}"
    )
    generate(args)
    sizes()
    if "selectors" not in skip:
        selectors(args.runs)
    if args.explain:
        explain()
    if "http" not in skip:
        http(args.requests)
    if "signups" not in skip:
        signups([int(n) for n in args.threads.split(",")], args.per_thread)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
