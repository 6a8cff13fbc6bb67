"""Benchmark of a person's recommendations at scale (``person_rank``, through
``matching.services.person_recommendations_refresh``). Publishing tasks until their matches
are stored is measured by ``bench/match_bench.py``; the fan-out of announcements and
notifications and the e-mail relay by ``bench/fanout_bench.py``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/notify_bench.py --seed 1

The database must hold generated people (``bench/registry_bench.py``); the benchmark
refuses one whose name does not end in ``_bench`` or ``_bench_<suffix>`` (for instance
``furusato_bench_100k``). It migrates, and if the seed's generated board is missing it runs
``manage.py generate_board`` (a tenth as many tasks as people, as many sign-ups as people:
the live tasks are what recommendations are drawn from); the board stays, like the people.
What it writes (recommendations, notifications) is deleted at the end, unless ``--keep``.
Jobs the services queue go to Celery's in-memory transport, where nothing takes them.
Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

MARK = "notify_bench"


# --- Small helpers ------------------------------------------------------------------------


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * share + 0.5) - 1)]


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):>9.1f} {percentile(values, 0.95):>9.1f} {max(values):>9.1f}"


def max_id(table: str) -> int:
    return sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')[0][0]  # noqa: S608  (ours)


# --- Setting up --------------------------------------------------------------------------


def check_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if not re.search(r"_bench(_[0-9a-z]+)?$", db["NAME"]):  # furusato_bench, furusato_bench_100k
        raise SystemExit(
            f"The benchmark writes and deletes rows: refused for {db['NAME']!r} "
            "(not *_bench or *_bench_<suffix>)."
        )


def board_ensure(args, people: int) -> None:
    """The seed's generated board, made if it is missing (and left in place)."""
    from django.core.management import call_command

    from demo.population import generated_mark
    from matching.models import Task

    if Task.objects.filter(description__startswith=generated_mark(args.seed)).exists():
        print(f"generated board of seed {args.seed} present")
    else:
        tasks = args.board_tasks or max(1, people // 10)
        signups = people if args.board_signups is None else args.board_signups
        out = io.StringIO()
        started = time.perf_counter()
        call_command(
            "generate_board",
            tasks=tasks,
            sessions_per_task=3,
            signups=signups,
            seed=args.seed,
            batch=10_000,
            stdout=out,
            verbosity=0,
        )
        print(out.getvalue().strip())
        print(
            f"generate_board --tasks {tasks:,} --sessions-per-task 3 --signups {signups:,} "
            f"--seed {args.seed}: {time.perf_counter() - started:.1f} s (the board is kept)"
        )
        for table in ("matching_task", "matching_session", "matching_signup"):
            sql(f"VACUUM (ANALYZE) {table}")
    live = sql(
        "SELECT COUNT(*) FROM matching_task WHERE status = 'published' AND signup_closes_at > now()"
    )[0][0]
    without = sql(
        "SELECT COUNT(*) FROM matching_task WHERE status = 'published' AND session_days = 0"
    )[0][0]
    print(
        f"live tasks (published, taking sign-ups): {live:,}; published without session bits: "
        f"{without:,}"
    )


def recommendations(args) -> None:
    from matching.services import person_recommendations_refresh

    people = [
        pk
        for (pk,) in sql(
            """SELECT user_id FROM registry_profile WHERE home_municipality_id IS NOT NULL
               ORDER BY md5(user_id::text || %s) LIMIT %s""",
            [f"{MARK}-{args.seed}", args.persons + 10],
        )
    ]
    times, counts = [], []
    for number, pk in enumerate(people):
        started = time.perf_counter()
        count = person_recommendations_refresh(person_id=pk)
        elapsed = (time.perf_counter() - started) * 1000
        if number >= 10:  # warm-up
            times.append(elapsed)
            counts.append(count)
    print(
        f"\nperson_recommendations_refresh (person_rank) of {len(times)} people drawn at random "
        f"(10 warm-up runs not counted); ms"
    )
    print(
        f"{'median':>9} {'p95':>9} {'max':>9}   recommendations per person: median "
        f"{statistics.median(counts):.0f}, mean {statistics.mean(counts):.1f}, "
        f"none {sum(1 for c in counts if not c)}"
    )
    print(summary(times))


# --- Cleaning up --------------------------------------------------------------------------


def clean(created: dict, before: dict) -> None:
    from django.db import transaction

    from accounts.models import AuditEvent, Membership, User
    from matching.models import Match, Task
    from notifications.models import Email, Notification
    from registry.models import Announcement

    started = time.perf_counter()
    with transaction.atomic():
        emails = Email.objects.filter(pk__gt=before["email"]).delete()[0]
        notifications = Notification.objects.filter(pk__gt=before["notification"]).delete()[0]
        matches = Match.objects.filter(pk__gt=before["match"]).delete()[0]
        Task.objects.filter(pk__in=created["tasks"]).delete()
        Announcement.objects.filter(pk__in=created["announcements"]).delete()
        if created["registrations"]:
            sql(
                "DELETE FROM registry_registration WHERE id = ANY(%s)",
                [created["registrations"]],
            )
        staff = list(
            User.objects.filter(email__startswith="notify-bench-staff-").values_list(
                "pk", flat=True
            )
        )
        AuditEvent.objects.filter(pk__gt=before["audit"], actor_id__in=staff).delete()
        AuditEvent.objects.filter(
            pk__gt=before["audit"], action="membership.grant", detail__user__in=staff
        ).delete()
        Membership.objects.filter(user_id__in=staff).delete()
        sql("DELETE FROM accounts_user WHERE id = ANY(%s)", [staff])
    print(
        f"\ncleaned up in {time.perf_counter() - started:.1f} s: {len(created['tasks'])} tasks, "
        f"{matches:,} matches, {len(created['announcements'])} announcements, "
        f"{len(created['registrations']):,} registrations, {notifications:,} notifications, "
        f"{emails:,} e-mails, {len(staff)} staff accounts with their roles and audit rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--board-tasks", type=int, default=0, help="default: people / 10")
    parser.add_argument("--board-signups", type=int, default=None, help="default: people")
    parser.add_argument("--persons", type=int, default=200, help="person_rank runs")
    parser.add_argument("--skip", default="", help="comma-separated: persons")
    parser.add_argument("--keep", action="store_true", help="leave what the benchmark made")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    began = time.perf_counter()

    # Jobs the services queue stay in this process (nothing takes them); read from the
    # environment by the settings.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"

    import django

    django.setup()
    check_database()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    version = sql("SHOW server_version")[0][0]
    people = sql("SELECT COUNT(*) FROM registry_profile")[0][0]
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"database: PostgreSQL {version}, {connection.settings_dict['NAME']}; {people:,} people; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}"
    )
    board_ensure(args, people)
    before = {
        "email": max_id("notifications_email"),
        "notification": max_id("notifications_notification"),
        "match": max_id("matching_match"),
        "audit": max_id("accounts_auditevent"),
    }
    created: dict = {"tasks": [], "announcements": [], "registrations": [], "staff": {}}
    measured = time.perf_counter()
    try:
        if "persons" not in skip:
            recommendations(args)
    finally:
        print(f"\nmeasurements took {time.perf_counter() - measured:.0f} s")
        if args.keep:
            print("--keep: the benchmark's rows are left in place")
        else:
            clean(created, before)
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory: this process {mine:.0f} MB; whole run {time.perf_counter() - began:.0f} s; "
        f"load average at the end {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
