"""Benchmark of free-text search on the board: the trigram index and a substring test (main
before migration 0009) against the 1- and 2-gram column and its GIN index (after), on the
same database in alternating rounds.

    createdb -h 127.0.0.1 -U postgres -T furusato_gen_1m furusato_search_bench1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_search_bench1m \\
    DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/search_bench.py --rounds 6 --runs 30 --explain

The database must hold a generated board (``bench/board_bench.py`` or the generator's
``furusato_gen_1m``) and have a name with ``_bench`` in it. It is migrated (0009 adds the
column and its index and drops the trigram index); the trigram index is then built again
(once), so that both ways stand side by side. Each round measures one way, then the other,
each in a transaction that drops the other way's index and is rolled back: "before" is the
plain substring filter that main applies (``search_text LIKE '%…%'``, the trigram index
serving 3+ characters), "after" is ``selectors.search.text_holds``. For each query: the
selector's ``count()`` and first page of 20 (what the paginator asks), and ``GET
/api/tasks/?search=…`` through Django's test client (anonymous, no network, rate limit off).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

QUERIES = ["草", "草刈", "祭り", "草刈り", "雪かき"]
EXPLAINED = ["草刈", "祭り", "草刈り"]
GRAMS_INDEX = "matching_task_search_grams"
TRIGRAM_INDEX = "matching_task_search_trgm"
TRIGRAM_SQL = (
    f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON matching_task "
    "USING gin (search_text gin_trgm_ops)"
)
WAYS = ("before", "after")


def sql(query: str, params=None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)  # without parameters, "%" is a plain character
        return cursor.fetchall() if cursor.description else []


def percentile(times: list[float], share: float) -> float:
    times = sorted(times)
    return times[max(0, int(len(times) * share + 0.5) - 1)]


def timed(function: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    times = []
    for number in range(warmup + runs):
        started = time.perf_counter()
        function()
        if number >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return times


def prepare() -> None:
    """Migrate, put the trigram index back beside the gram index, analyse."""
    from django.conf import settings
    from django.core.management import call_command

    name = settings.DATABASES["default"]["NAME"]
    if "_bench" not in name:
        sys.exit(f"{name}: not a bench database (its name must contain _bench)")
    call_command("migrate", verbosity=0)
    if not sql("SELECT 1 FROM pg_indexes WHERE indexname = %s", [TRIGRAM_INDEX]):
        started = time.perf_counter()
        sql(TRIGRAM_SQL)
        print(f"trigram index built again for 'before': {time.perf_counter() - started:.1f} s")
    sql("VACUUM ANALYZE matching_task")


def sizes() -> None:
    rows = sql(
        "SELECT count(*), count(*) FILTER (WHERE status = 'published'),"
        " pg_relation_size('matching_task'), pg_total_relation_size('matching_task'),"
        " pg_relation_size(%s), pg_relation_size(%s),"
        " avg(pg_column_size(search_grams)), avg(char_length(search_text))"
        " FROM matching_task",
        [GRAMS_INDEX, TRIGRAM_INDEX],
    )[0]
    tasks, live, heap, total, grams_index, trigram_index, grams_bytes, text_chars = rows
    mb = 1024 * 1024
    print(
        f"tasks {tasks:,} (live {live:,}); matching_task heap {heap / mb:,.0f} MB, total "
        f"{total / mb:,.0f} MB; {GRAMS_INDEX} {grams_index / mb:,.0f} MB, {TRIGRAM_INDEX} "
        f"{trigram_index / mb:,.0f} MB; search_text {text_chars:,.0f} characters and "
        f"search_grams {grams_bytes:,.0f} bytes a task on average"
    )


class Way:
    """One way of searching, in a transaction that is rolled back: the other way's index
    dropped, and (before) main's substring filter in place of ``text_holds``."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        from django.db import transaction
        from django.db.models import Q

        from matching.selectors import board

        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.original = board.text_holds
        if self.name == "before":
            sql(f"DROP INDEX {GRAMS_INDEX}")
            board.text_holds = lambda key: Q(search_text__contains=key)
        else:
            sql(f"DROP INDEX {TRIGRAM_INDEX}")
        return self

    def __exit__(self, *exc):
        from django.db import transaction

        from matching.selectors import board

        board.text_holds = self.original
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        return False


def client():
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings
    from rest_framework.views import APIView

    # Measure views, not the rate limit (the views' classes read the setting at import).
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    APIView.throttle_classes = []
    override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]).enable()
    return Client()


def measure(way: str, runs: int, http, results: dict) -> None:
    from matching.selectors import TaskQuery, task_search

    with Way(way):
        for query in QUERIES:
            q = TaskQuery(search=query)
            results[way, query, "rows"] = [task_search(q).count()]
            results[way, query, "count"] += timed(lambda q=q: task_search(q).count(), runs)
            results[way, query, "page"] += timed(lambda q=q: list(task_search(q)[:20]), runs)
            url = "/api/tasks/?" + urlencode({"search": query})
            assert http.get(url).status_code == 200
            results[way, query, "api"] += timed(lambda u=url: http.get(u), runs)


def explain(way: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from matching.selectors import TaskQuery, task_search

    with Way(way):
        for query in EXPLAINED:
            q = TaskQuery(search=query)
            with CaptureQueriesContext(connection) as captured:
                task_search(q).count()
                list(task_search(q)[:20])
            for label, captured_query in zip(
                ("count", "page"), captured.captured_queries, strict=True
            ):
                plan = sql("EXPLAIN (ANALYZE, BUFFERS) " + captured_query["sql"])
                print(f"\n--- {way}, {query}: {label}")
                for (line,) in plan:
                    if "places_" not in line and "(code)::text" not in line:
                        print(line)


def report(results: dict, rounds: int, runs: int) -> None:
    print(
        f"\n{rounds} rounds, each way in turn, {runs} runs a measurement (ms: median, p95; "
        "after/before of the medians)"
    )
    print(
        f"{'query':<8} {'what':<6} {'tasks':>6} | {'before med':>10} {'p95':>7} | "
        f"{'after med':>9} {'p95':>7} | {'ratio':>6} | per-round medians before / after"
    )
    for query in QUERIES:
        for what in ("count", "page", "api"):
            before, after = results["before", query, what], results["after", query, what]
            b, a = statistics.median(before), statistics.median(after)
            ranges = []
            for way in WAYS:
                medians = [
                    statistics.median(results[way, query, what][r * runs : (r + 1) * runs])
                    for r in range(rounds)
                ]
                ranges.append(f"{min(medians):.1f}–{max(medians):.1f}")
            rows = results["after", query, "rows"][0]
            assert rows == results["before", query, "rows"][0], query  # the same answer
            print(
                f"{query:<8} {what:<6} {rows:>6,} | {b:>10.1f} {percentile(before, 0.95):>7.1f} | "
                f"{a:>9.1f} {percentile(after, 0.95):>7.1f} | {a / b:>6.2f} | "
                f"{ranges[0]} / {ranges[1]}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=30, help="runs a measurement a round")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args()

    import django

    django.setup()
    prepare()
    version = sql("SHOW server_version")[0][0]
    settings_shown = {
        name: sql(f"SHOW {name}")[0][0]
        for name in ("shared_buffers", "work_mem", "jit", "max_parallel_workers_per_gather")
    }
    print(f"PostgreSQL {version} {settings_shown}; {os.cpu_count()} CPUs")
    print(f"load average at the start: {os.getloadavg()}")
    sizes()
    http = client()
    results: dict = defaultdict(list)
    for number in range(args.rounds):
        for way in WAYS if number % 2 == 0 else WAYS[::-1]:
            measure(way, args.runs, http, results)
        print(f"round {number + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.rounds:
        report(results, args.rounds, args.runs)
    if args.explain:
        for way in WAYS:
            explain(way)
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
