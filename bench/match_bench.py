"""Benchmark of the matcher at scale: the two-step ranking (``matching.matcher.task_rank``)
next to its baseline in the same run, the same tasks scored in one step as before
(``task_rank_exhaustive``), in alternating rounds; and ``services.task_match`` (the
worker's job: ranking, then telling the best people) once per task.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_matcher_bench1m \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/match_bench.py --rounds 3 --explain

The tasks are those of ``bench/notify_bench.py``'s matching part, so the figures compare
with bench/RESULTS.md "Matching and notifications (issue 5)": in the most populous
municipality (by residents) of each of the 7 most populous prefectures ("dense"), in
飛騨市 and 6 towns or villages drawn with the seed ("rural"), and 6 online tasks in
municipalities drawn with the seed; the categories rotate; two sessions of 10 places, 10 and
16 days ahead. They are created and published through the services by an editor of the town.

The database must hold generated people and a generated board (a clone of
``furusato_gen_1m``, or ``manage.py generate_population`` and ``generate_board``); its name
must end in ``_bench`` or ``_bench<suffix>``: the benchmark migrates it and writes rows,
deleted at the end (tasks, matches, notifications, e-mails, staff accounts, audit rows).
Every round checks that both rankings store the same matches (people, scores, reasons,
distances). ``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of both statements for the
task the one-step ranking takes longest on (``--plans FILE`` keeps the whole plans).
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

MARK = "match_bench"
# The draw of notify_bench.py (its seed string), so that the towns are the same.
DRAW = "notify_bench"
STAFF_EMAIL = "match-bench-staff-{code}@bench.invalid"
HIDA = "212172"  # 飛騨市


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def check_database() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if not re.search(r"_bench_?[0-9a-z]*$", db["NAME"]) or db["NAME"].startswith("furusato_gen"):
        raise SystemExit(f"Refused for {db['NAME']!r}: not *_bench or *_bench<suffix>.")
    return db["NAME"]


def places(seed: int, dense: int, rural: int, online: int) -> list[tuple[str, str, bool]]:
    """(kind, municipality code, online?) of the tasks, as notify_bench.py draws them."""
    rng = random.Random(f"{DRAW}-{seed}")
    residents = sql(
        """SELECT m.prefecture_id, p.home_municipality_id, COUNT(*)
           FROM registry_profile p JOIN places_municipality m ON m.code = p.home_municipality_id
           GROUP BY 1, 2"""
    )
    per_prefecture: dict[str, int] = {}
    top: dict[str, tuple[int, str]] = {}
    for prefecture, code, count in residents:
        per_prefecture[prefecture] = per_prefecture.get(prefecture, 0) + count
        # The most populous municipality of the prefecture (ties: the smaller code).
        if prefecture not in top or (-count, code) < (-top[prefecture][0], top[prefecture][1]):
            top[prefecture] = (count, code)
    largest = sorted(per_prefecture, key=lambda prefecture: -per_prefecture[prefecture])
    plan = [("dense", top[prefecture][1], False) for prefecture in largest[:dense]]
    towns = [
        code
        for (code,) in sql(
            "SELECT code FROM places_municipality WHERE kind IN ('town', 'village') ORDER BY code"
        )
    ]
    if rural:
        plan += [("rural", code, False) for code in [HIDA, *rng.sample(towns, rural - 1)]]
    every = [code for (code,) in sql("SELECT code FROM places_municipality ORDER BY code")]
    plan += [("online", code, True) for code in rng.sample(every, online)]
    return plan


def editor_of(municipality, made: dict):
    """An editor of the town, made through the accounts services."""
    from accounts.models import Membership, Role, User
    from accounts.services import membership_grant

    email = STAFF_EMAIL.format(code=municipality.code)
    user = User.objects.filter(email=email).first()  # left by an interrupted run
    if user is None:
        user = User.objects.create_user(email, family_name="ベンチ", given_name="職員")
    if not Membership.objects.filter(
        user=user, role=Role.MUNICIPALITY_EDITOR, municipality=municipality
    ).exists():
        membership_grant(user=user, role=Role.MUNICIPALITY_EDITOR, municipality=municipality)
    made["staff"].add(user.pk)
    return user


def publish(plan: list[tuple[str, str, bool]], made: dict) -> list[dict]:
    """The tasks, created and published through the services; then the worker's job
    (``services.task_match``) for each, timed."""
    from django.utils import timezone

    from matching import services
    from places.models import Municipality
    from registry.models import Category

    municipalities = Municipality.objects.in_bulk([code for _kind, code, _online in plan])
    today = timezone.localdate()

    def at(days: int, hour: int) -> datetime.datetime:
        day = today + datetime.timedelta(days=days)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    tasks = []
    for number, (kind, code, online) in enumerate(plan):
        municipality = municipalities[code]
        staff = editor_of(municipality, made)
        category = Category.values[number % len(Category.values)]
        task = services.task_create(
            actor=staff,
            municipality=municipality,
            sessions=[
                {"starts_at": at(10, 9), "ends_at": at(10, 12), "capacity": 10},
                {"starts_at": at(16, 13), "ends_at": at(16, 16), "capacity": 10},
            ],
            title=f"{MARK}: {municipality.name}のお手伝い",
            description=f"{MARK}: マッチにかかる時間を測るお手伝いです。",
            category=category,
            reward="-",
            is_online=online,
        )
        made["tasks"].append(task.pk)
        services.task_publish(task=task, actor=staff)
        started = time.perf_counter()
        result = services.task_match(task_id=task.pk)
        tasks.append(
            {
                "kind": kind,
                "code": code,
                "name": municipality.name,
                "category": category,
                "task": task,
                "task_match": (time.perf_counter() - started) * 1000,
                "told": result["told"],
                "bounded": [],
                "exhaustive": [],
            }
        )
    return tasks


def stored(task) -> list[tuple]:
    from matching.models import Match

    return list(
        Match.objects.filter(task=task)
        .order_by("-score", "person_id")
        .values_list("person_id", "score", "reasons", "distance_km")
    )


class Capture:
    """An execute wrapper that keeps the matcher's statement (SQL and parameters)."""

    def __init__(self):
        self.statement: tuple[str, dict] | None = None

    def __call__(self, execute, sql_text, params, many, context):
        if "INSERT INTO matching_match" in sql_text:
            self.statement = (sql_text, dict(params))
        return execute(sql_text, params, many, context)


def rank(task, how: str) -> tuple[float, tuple[str, dict]]:
    """One ranking, timed (ms), with the statement it ran."""
    from django.db import connection

    from matching import matcher

    function = matcher.task_rank if how == "bounded" else matcher.task_rank_exhaustive
    capture = Capture()
    with connection.execute_wrapper(capture):
        started = time.perf_counter()
        function(task, wave=task.match_wave)
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed, capture.statement


def counts(statement: tuple[str, dict]) -> tuple[int, int]:
    """(candidates, people probed in step 2) of a two-step ranking's statement, read by
    running its CTEs with a count in place of the upsert."""
    text, params = statement
    head = text[: text.index("\nINSERT INTO matching_match")]
    query = f"{head}\nSELECT (SELECT COUNT(*) FROM candidates), (SELECT COUNT(*) FROM facts)"  # noqa: S608
    return tuple(sql(query, params)[0])


def rounds(tasks: list[dict], number: int, baseline: bool) -> int:
    """``number`` rounds over the tasks, the two rankings in alternating order (without
    ``baseline``, the two-step one only); returns how many rankings differed."""
    differ = 0
    for round_number in range(number):
        for index, row in enumerate(tasks):
            order = ["bounded", "exhaustive"] if baseline else ["bounded"]
            if (round_number + index) % 2:
                order.reverse()
            results = {}
            for how in order:
                elapsed, statement = rank(row["task"], how)
                row[how].append(elapsed)
                row[f"{how}_statement"] = statement
                results[how] = stored(row["task"])
            if baseline and results["bounded"] != results["exhaustive"]:
                differ += 1
                print(f"  DIFFERENT: {row['code']} {row['name']} in round {round_number + 1}")
    return differ


def figures(values: list[float]) -> str:
    if not values:
        return f"{'-':>8} {'':<15}"
    return f"{statistics.median(values):>8.0f} {min(values):>7.0f}–{max(values):<7.0f}"


def report(tasks: list[dict], rounds_run: int) -> None:
    print(
        f"\nms per task_rank, median and range over {rounds_run} rounds; candidates, and "
        "the people the two-step ranking probed"
    )
    print(
        f"{'place':<7} {'municipality':<14} {'candidates':>10} {'probed':>7} "
        f"{'two-step':>8} {'range':<15} {'one-step':>8} {'range':<15} {'ratio':>6} "
        f"{'task_match':>10} {'told':>4}"
    )
    for row in tasks:
        candidates, probed = counts(row["bounded_statement"])
        row["candidates"], row["probed"] = candidates, probed
        ratio = (
            f"{statistics.median(row['exhaustive']) / statistics.median(row['bounded']):>5.1f}×"
            if row["exhaustive"]
            else f"{'-':>6}"
        )
        print(
            f"{row['kind']:<7} {row['code']} {row['name']:<8} {candidates:>10,} {probed:>7,} "
            f"{figures(row['bounded'])} {figures(row['exhaustive'])} {ratio} "
            f"{row['task_match']:>10.0f} {row['told']:>4}"
        )
    print(f"\n{'tasks':<8} {'':<22} {'median':>8} {'worst':>8}")
    for kind in ("dense", "rural", "online", "all"):
        mine = [row for row in tasks if kind in (row["kind"], "all")]
        if not mine:
            continue
        for how, label in (("bounded", "two-step task_rank"), ("exhaustive", "one-step (before)")):
            medians = [statistics.median(row[how]) for row in mine if row[how]]
            if medians:
                print(
                    f"{kind:<8} {label:<22} {statistics.median(medians):>8.0f} {max(medians):>8.0f}"
                )
        match_ms = [row["task_match"] for row in mine]
        print(
            f"{kind:<8} {'task_match (once)':<22} {statistics.median(match_ms):>8.0f} "
            f"{max(match_ms):>8.0f}"
        )


def explain(row: dict, plans_file: str | None) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of both statements of ``row``'s task, rolled back."""
    from django.db import connection, transaction

    keep = ("Execution Time", "Planning Time", "Buffers: shared", "CTE ", "->", "SubPlan")
    out = []
    for how in ("exhaustive", "bounded"):
        if f"{how}_statement" not in row:
            continue
        text, params = row[f"{how}_statement"]
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
                plan = [line for (line,) in cursor.fetchall()]
            transaction.set_rollback(True)
        label = "one step (before)" if how == "exhaustive" else "two steps"
        out.append(f"\n=== {label}: {row['code']} {row['name']}\n" + "\n".join(plan))
        summary = [line.strip() for line in plan if line.strip().startswith(keep[:2])]
        top = plan[0].strip() if plan else ""
        buffers = next((line.strip() for line in plan if "Buffers: shared" in line), "")
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {label}, {row['code']} {row['name']}:")
        print(f"  {top}\n  {buffers}\n  " + "\n  ".join(summary))
        for line in plan:
            stripped = line.strip()
            top_level = stripped.startswith("->") and line.index("->") <= 12
            if stripped.startswith("CTE ") or ("actual time" in stripped and top_level):
                print(f"  {stripped[:150]}")
    if plans_file:
        Path(plans_file).write_text("\n".join(out) + "\n")
        print(f"\nwhole plans in {plans_file}")


def clean(made: dict, before: dict) -> None:
    from django.db import transaction

    from accounts.models import AuditEvent, Membership
    from matching.models import Match, Task
    from notifications.models import Email, Notification

    started = time.perf_counter()
    staff = sorted(made["staff"])
    with transaction.atomic():
        emails = Email.objects.filter(pk__gt=before["email"]).delete()[0]
        notifications = Notification.objects.filter(pk__gt=before["notification"]).delete()[0]
        matches = Match.objects.filter(task_id__in=made["tasks"]).delete()[0]
        Task.objects.filter(pk__in=made["tasks"]).delete()
        AuditEvent.objects.filter(pk__gt=before["audit"], actor_id__in=staff).delete()
        AuditEvent.objects.filter(
            pk__gt=before["audit"], action="membership.grant", detail__user__in=staff
        ).delete()
        Membership.objects.filter(user_id__in=staff).delete()
        sql("DELETE FROM accounts_user WHERE id = ANY(%s)", [staff])
    print(
        f"\ncleaned up in {time.perf_counter() - started:.1f} s: {len(made['tasks'])} tasks, "
        f"{matches:,} matches, {notifications:,} notifications, {emails:,} e-mails, "
        f"{len(staff)} staff accounts with their roles and audit rows"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="the draw of the towns")
    parser.add_argument("--dense", type=int, default=7)
    parser.add_argument("--rural", type=int, default=7)
    parser.add_argument("--online", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-baseline", action="store_true", help="time the two-step ranking alone"
    )
    parser.add_argument("--explain", action="store_true", help="plans of the slowest task")
    parser.add_argument("--plans", help="with --explain: write the whole plans to this file")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's rows")
    args = parser.parse_args()
    # Jobs the services queue stay in this process, where nothing takes them.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"

    import django

    django.setup()
    name = check_database()
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    settings_shown = ", ".join(
        f"{key} {sql(f'SHOW {key}')[0][0]}"
        for key in ("shared_buffers", "work_mem", "effective_cache_size", "jit")
    )
    people = sql("SELECT COUNT(*) FROM registry_profile")[0][0]
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; PostgreSQL "
        f"{sql('SHOW server_version')[0][0]} ({settings_shown}), {name}: {people:,} people; "
        f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    before = {
        key: sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0]  # noqa: S608  (ours)
        for key, table in (
            ("email", "notifications_email"),
            ("notification", "notifications_notification"),
            ("audit", "accounts_auditevent"),
        )
    }
    made: dict = {"tasks": [], "staff": set()}
    try:
        tasks = publish(places(args.seed, args.dense, args.rural, args.online), made)
        differ = rounds(tasks, args.rounds, baseline=not args.no_baseline)
        report(tasks, args.rounds)
        print(
            f"\nthe two rankings stored the same matches in {len(tasks) * args.rounds - differ}"
            f" of {len(tasks) * args.rounds} comparisons"
        )
        if args.explain:
            how = "bounded" if args.no_baseline else "exhaustive"
            worst = max(tasks, key=lambda row: statistics.median(row[how]))
            explain(worst, args.plans)
    finally:
        if args.keep:
            print("--keep: the benchmark's rows are left in place")
        else:
            clean(made, before)
    print(
        f"whole run {time.perf_counter() - began:.0f} s; load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
