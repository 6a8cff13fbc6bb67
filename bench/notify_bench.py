"""Benchmark of the matcher at scale: publishing tasks until their matches are stored and
the people told, and a person's recommendations. (The fan-out of announcements and
notifications and the e-mail relay are measured by ``bench/fanout_bench.py``.)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/notify_bench.py --seed 1 --explain

The database must hold generated people (``bench/registry_bench.py``); the benchmark
refuses one whose name does not end in ``_bench`` or ``_bench_<suffix>`` (for instance
``furusato_bench_100k``). It migrates, and if the seed's generated board is missing it runs
``manage.py generate_board`` (a tenth as many tasks as people, as many sign-ups as people:
the live tasks are what recommendations are drawn from); the board stays, like the people.
Everything else it makes (staff accounts and their roles, its tasks, matches, announcements,
registrations, notifications, outbox e-mails, audit rows) is deleted at the end, unless
``--keep``. ``--explain`` prints the plan of the matcher's statement for a dense task, with
PostgreSQL's JIT on and off; ``--inlined`` adds the statement as it was before its scoring
CTE was materialized (minutes at a million people).

What it calls is what the workers run: ``matching.services.task_match`` (the job
``task_publish`` queues) and ``person_recommendations_refresh``. The jobs the services
queue go to Celery's in-memory transport, where nothing takes them: the benchmark runs the
work itself, so queueing delay is not in the figures. Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
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
STAFF_EMAIL = "notify-bench-staff-{code}@bench.invalid"  # one per town: staff serve one
HIDA = "212172"  # 飛騨市: one of the rural towns, as in the other benchmarks


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


def staff_of(municipality, created: dict):
    """An editor of ``municipality`` (made through the accounts services, kept in
    ``created["staff"]``)."""
    from accounts.models import Membership, Role, User
    from accounts.services import membership_grant

    if municipality.code in created["staff"]:
        return created["staff"][municipality.code]
    email = STAFF_EMAIL.format(code=municipality.code)
    user = User.objects.filter(email=email).first()  # left by an interrupted run
    if user is None:
        user = User.objects.create_user(email, family_name="ベンチ", given_name="職員")
    if not Membership.objects.filter(
        user=user, role=Role.MUNICIPALITY_EDITOR, municipality=municipality
    ).exists():
        membership_grant(user=user, role=Role.MUNICIPALITY_EDITOR, municipality=municipality)
    created["staff"][municipality.code] = user
    return user


def towns_to_publish_in(seed: int, dense: int, rural: int, online: int) -> list[tuple]:
    """(kind of place, municipality code, online?): the most populous municipality (by
    residents) of each of the ``dense`` most populous prefectures; ``rural`` towns and
    villages (飛騨市 first); ``online`` tasks in towns drawn at random."""
    rng = random.Random(f"{MARK}-{seed}")
    by_prefecture = sql(
        """WITH homes AS (SELECT p.home_municipality_id AS code, m.prefecture_id AS pref,
                              COUNT(*) AS n
                         FROM registry_profile p
                         JOIN places_municipality m ON m.code = p.home_municipality_id
                         GROUP BY 1, 2),
                prefs AS (SELECT pref, SUM(n) AS n FROM homes GROUP BY 1)
           SELECT DISTINCT ON (h.pref) h.code, prefs.n
           FROM homes h JOIN prefs ON prefs.pref = h.pref
           ORDER BY h.pref, h.n DESC"""
    )
    dense_codes = [code for code, _n in sorted(by_prefecture, key=lambda r: -r[1])[:dense]]
    small = [
        code
        for (code,) in sql(
            "SELECT code FROM places_municipality WHERE kind IN ('town', 'village') ORDER BY code"
        )
    ]
    rural_codes = [HIDA, *rng.sample(small, rural - 1)] if rural else []
    everywhere = [code for (code,) in sql("SELECT code FROM places_municipality ORDER BY code")]
    online_codes = rng.sample(everywhere, online)
    return (
        [("dense", code, False) for code in dense_codes]
        + [("rural", code, False) for code in rural_codes]
        + [("online", code, True) for code in online_codes]
    )


# --- 1. Publishing: until the matches are stored --------------------------------------------


def _capture_matcher(store: list):
    """An execute wrapper that keeps the matcher's statement (SQL and parameters)."""

    def wrapper(execute, sql_text, params, many, context):
        if sql_text.startswith("WITH pairs(task_id, person_id)"):
            store.append((sql_text, dict(params)))
        return execute(sql_text, params, many, context)

    return wrapper


def _candidates(statement: tuple[str, dict]) -> int:
    text, params = statement
    head = "WITH pairs(task_id, person_id) AS ("
    pairs = text[len(head) : text.index("),\nneighbours(a, b)")]
    return sql(f"SELECT COUNT(*) FROM ({pairs}) candidates", params)[0][0]  # noqa: S608


def _explain(text: str, params: dict, jit: bool) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the matcher's upsert, rolled back."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL jit = {'on' if jit else 'off'}")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
            plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    return plan


def _plan_summary(plan: list[str]) -> str:
    subplans = sum(1 for line in plan if line.strip().startswith("SubPlan"))
    keep = ("Execution Time", "Timing:")
    return f"{subplans} subplans; " + "; ".join(
        line.strip() for line in plan if line.strip().startswith(keep)
    )


def explain(code: str, name: str, statement: tuple[str, dict], inlined: bool) -> None:
    """The plan of the matcher's statement for a dense task, with PostgreSQL's JIT
    compilation on (the default) and off; with ``inlined``, also the statement as it was
    before ``facts`` was MATERIALIZED (PostgreSQL then inlines the CTE and copies the
    reasons' subqueries into each weight: about twenty times as many subplans)."""
    text, params = statement
    print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the matcher's upsert for the task in {code} {name}:")
    plan = _explain(text, params, jit=False)
    print("\n".join(plan))
    print(f"\nthe same with jit off (above): {_plan_summary(plan)}")
    print(f"the same with jit on: {_plan_summary(_explain(text, params, jit=True))}")
    if inlined:
        before = text.replace("\nfacts AS MATERIALIZED (", "\nfacts AS (")
        for jit in (False, True):
            summary = _plan_summary(_explain(before, params, jit=jit))
            print(f"facts inlined (before), jit {'on' if jit else 'off'}: {summary}")


def publish(args, created: dict) -> None:
    from django.db import connection
    from django.utils import timezone

    from matching import matcher, services
    from matching.models import Match
    from places.models import Municipality
    from registry.models import Category

    plan = towns_to_publish_in(args.seed, args.dense, args.rural, args.online)
    municipalities = Municipality.objects.in_bulk([code for _k, code, _o in plan])
    categories = list(Category.values)
    today = timezone.localdate()

    def at(days: int, hour: int) -> datetime.datetime:
        day = today + datetime.timedelta(days=days)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    # The matcher's own time, apart from telling people (task_match does both).
    rank_times: list[float] = []
    original_rank = matcher.task_rank

    def timed_rank(task, **kwargs):
        started = time.perf_counter()
        try:
            return original_rank(task, **kwargs)
        finally:
            rank_times.append(time.perf_counter() - started)

    matcher.task_rank = timed_rank
    print(
        f"\n1. publishing {len(plan)} tasks through services.task_publish, then "
        "services.task_match (the worker's job) for each; ms"
    )
    print(
        f"{'place':<7} {'municipality':<14} {'category':<12} {'publish':>8} {'rank':>8} "
        f"{'tell':>7} {'→stored':>8} {'→told':>8} {'candidates':>10} {'matches':>7} {'told':>5}"
    )
    rows = []
    explained = False
    try:
        for number, (kind, code, online) in enumerate(plan):
            municipality = municipalities[code]
            staff = staff_of(municipality, created)
            category = categories[number % len(categories)]
            task = services.task_create(
                actor=staff,
                municipality=municipality,
                sessions=[
                    {"starts_at": at(10, 9), "ends_at": at(10, 12), "capacity": 10},
                    {"starts_at": at(16, 13), "ends_at": at(16, 16), "capacity": 10},
                ],
                title=f"{MARK}: {municipality.name}のお手伝い",
                description=f"{MARK}: 公開からマッチまでの時間を測るお手伝いです。",
                category=category,
                reward="-",
                is_online=online,
            )
            created["tasks"].append(task.pk)
            started = time.perf_counter()
            services.task_publish(task=task, actor=staff)
            published = time.perf_counter()
            statements: list = []
            with connection.execute_wrapper(_capture_matcher(statements)):
                result = services.task_match(task_id=task.pk)
            done = time.perf_counter()
            rank = rank_times[-1]
            row = {
                "kind": kind,
                "publish": (published - started) * 1000,
                "rank": rank * 1000,
                "tell": (done - published - rank) * 1000,
                "stored": (published - started + rank) * 1000,
                "told_ms": (done - started) * 1000,
                "candidates": _candidates(statements[0]),
                "matches": result["matches"],
                "told": result["told"],
            }
            rows.append(row)
            print(
                f"{kind:<7} {code} {municipality.name:<8} {category:<12} {row['publish']:>8.1f} "
                f"{row['rank']:>8.1f} {row['tell']:>7.1f} {row['stored']:>8.1f} "
                f"{row['told_ms']:>8.1f} {row['candidates']:>10,} {row['matches']:>7,} "
                f"{row['told']:>5}"
            )
            if args.explain and kind == "dense" and not explained:
                explained = True
                explain_of = (code, municipality.name, statements[0])
    finally:
        matcher.task_rank = original_rank
    print(f"\n{'tasks':<8} {'':<24} {'median':>9} {'p95':>9} {'max':>9}")
    for kind in ("dense", "rural", "online", "all"):
        mine = [r for r in rows if kind in (r["kind"], "all")]
        if not mine:
            continue
        for label, key in (
            ("publish→matches stored", "stored"),
            ("publish→people told", "told_ms"),
        ):
            print(f"{kind:<8} {label:<24} {summary([r[key] for r in mine])}")
        print(
            f"{kind:<8} {'candidates / matches / told (median)':<24} "
            f"{statistics.median(r['candidates'] for r in mine):,.0f} / "
            f"{statistics.median(r['matches'] for r in mine):,.0f} / "
            f"{statistics.median(r['told'] for r in mine):,.0f}"
        )
    print(f"matches stored in all: {Match.objects.filter(task_id__in=created['tasks']).count():,}")
    if args.explain and explained:
        explain(*explain_of, inlined=args.inlined)


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
    parser.add_argument("--dense", type=int, default=7, help="tasks in dense cities")
    parser.add_argument("--rural", type=int, default=7, help="tasks in rural towns")
    parser.add_argument("--online", type=int, default=6, help="online tasks")
    parser.add_argument("--persons", type=int, default=200, help="person_rank runs")
    parser.add_argument("--explain", action="store_true", help="the plan of a dense task")
    parser.add_argument(
        "--inlined", action="store_true", help="with --explain: also the plan before the fix"
    )
    parser.add_argument("--skip", default="", help="comma-separated: publish,persons")
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
        if "publish" not in skip:
            publish(args, created)
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
