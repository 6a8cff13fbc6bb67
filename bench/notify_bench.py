"""Benchmark of the matcher and the notifications at scale: publishing tasks until their
matches are stored, a person's recommendations, an announcement fanned out to a town's
registrants, one notification to 10,000 people, and the e-mail relay draining the outbox
into a local SMTP server.

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
``task_publish`` queues), ``person_recommendations_refresh``, ``registry.services.
announcement_fan_out`` and ``notifications.services.email_relay``. The jobs the services
queue go to Celery's in-memory transport, where nothing takes them: the benchmark runs the
work itself, so queueing delay is not in the figures. E-mail goes over SMTP to an aiosmtpd
server in a process of its own (``EMAIL_URL=smtp://127.0.0.1:<port>``), which counts the
messages and their unsubscribe headers; relays run in processes of their own. Figures go
to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import re
import resource
import socket
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The SMTP server and the relays (processes of their own) -----------------------------


def smtp_serve(port: int, received, with_headers, ready, stop) -> None:
    """An aiosmtpd server on ``port`` that keeps nothing: it counts the messages and those
    carrying both RFC 8058 headers."""
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
            with received.get_lock():
                received.value += 1
            if b"\nList-Unsubscribe:" in head and b"\nList-Unsubscribe-Post:" in head:
                with with_headers.get_lock():
                    with_headers.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def relay_process(barrier, results) -> None:
    """One relay, as the worker runs it: ``email_relay`` again while it finds work."""
    import django

    django.setup()
    from django.db import connection

    from notifications.services import email_relay

    connection.ensure_connection()
    totals = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    barrier.wait()
    started = time.perf_counter()
    while True:
        counts = email_relay()
        for key, value in counts.items():
            totals[key] += value
        if not sum(counts.values()):
            break
    totals["seconds"] = time.perf_counter() - started
    totals["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results.put(totals)
    connection.close()


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


# --- 2. Fan-out in the app --------------------------------------------------------------


def fan_out(args, created: dict) -> None:
    from notifications.models import Email, Notification
    from places.models import Municipality
    from registry.models import Announcement
    from registry.services import announcement_create, announcement_fan_out

    code, audience = sql(
        """SELECT municipality_id, COUNT(*) FROM registry_registration
           WHERE status = 'active' AND allow_announcements
           GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"""
    )[0]
    town = Municipality.objects.get(code=code)
    staff = staff_of(town, created)
    print(
        f"\n2. announcement_fan_out (batches of the default size) to the consenting "
        f"registrants of {code} {town.name}"
    )
    print(
        f"{'audience':<40} {'people':>8} {'seconds':>8} {'people/s':>9} "
        f"{'inbox rows':>10} {'e-mails':>8}"
    )

    def announce(label: str) -> None:
        announcement = announcement_create(
            municipality=town,
            actor=staff,
            title=f"{MARK}: 冬のお手伝いのお知らせ",
            body="雪かきのお手伝いを募集しています。詳しくは町のページをご覧ください。",
        )
        created["announcements"].append(announcement.pk)
        started = time.perf_counter()
        reached = announcement_fan_out(announcement_id=announcement.pk)
        seconds = time.perf_counter() - started
        key = f"announcement:{announcement.pk}"
        inbox = Notification.objects.filter(key=key).count()
        emails = Email.objects.filter(key=key).count()
        state = Announcement.objects.get(pk=announcement.pk).state
        assert reached == inbox and state == "sent", (reached, inbox, state)
        print(
            f"{label:<40} {reached:>8,} {seconds:>8.2f} {reached / seconds:>9,.0f} "
            f"{inbox:>10,} {emails:>8,}"
        )

    announce(f"as generated ({audience:,} consenting)")
    if args.audience > audience:
        # More registrants for the town, by one INSERT (raw rows, no signals): generated
        # people who live elsewhere and are not registered with it. Deleted afterwards.
        rows = sql(
            """INSERT INTO registry_registration (types, origin, status, registered_at, tier,
                   share_name, share_contact, share_age_band, share_skills,
                   allow_announcements, guardian_name, card_serial, home_municipality_id,
                   municipality_id, person_id)
               SELECT 16, 'visits', 'active', now(), 'basic', false, false, false, false,
                   true, '', 1, p.home_municipality_id, %(town)s, p.user_id
               FROM registry_profile p
               WHERE p.home_municipality_id IS NOT NULL AND p.home_municipality_id <> %(town)s
                 AND NOT EXISTS (SELECT 1 FROM registry_registration r
                     WHERE r.person_id = p.user_id AND r.municipality_id = %(town)s
                     AND r.status = 'active')
               ORDER BY md5(p.user_id::text || %(seed)s)
               LIMIT %(n)s
               RETURNING id""",
            {"town": code, "seed": f"{MARK}-{args.seed}", "n": args.audience - audience},
        )
        created["registrations"].extend(pk for (pk,) in rows)
        sql("ANALYZE registry_registration")
        announce(f"with {len(rows):,} registrations added")


def send_many(args, created: dict) -> str:
    """notification_send of one kind to ``--send`` people in one call; returns its key."""
    from notifications.models import Email, Topic
    from notifications.services import notification_send

    people = [
        pk
        for (pk,) in sql(
            """SELECT id FROM accounts_user WHERE is_active AND email LIKE 'pop-%%'
               ORDER BY md5(id::text || %s) LIMIT %s""",
            [f"{MARK}-send-{args.seed}", args.send],
        )
    ]
    key = f"{MARK}:send:{time.time_ns()}"
    started = time.perf_counter()
    told = notification_send(
        recipients=people,
        kind="announcement",
        topic=Topic.ANNOUNCEMENTS,
        key=key,
        context={
            "municipality": "ベンチ町",
            "title": f"{MARK}: お知らせ",
            "body": "一度に一万人へのお知らせです。",
        },
        url="/",
    )
    seconds = time.perf_counter() - started
    emails = Email.objects.filter(key=key).count()
    print(
        f"\nnotification_send of one kind to {len(people):,} people in one call: "
        f"{seconds:.2f} s, {len(told) / seconds:,.0f} people/s ({len(told):,} inbox rows, "
        f"{emails:,} outbox e-mails)"
    )
    created["send_key"] = key
    return key


# --- 3. E-mail ----------------------------------------------------------------------------


def relay(args, key: str, smtp, first_email: int) -> None:
    """``email_relay`` draining ``--emails`` of the outbox e-mails ``send_many`` wrote, by
    1, 2… relays (``--relays``); the same e-mails each time, made due again."""
    import multiprocessing

    from django.db.models import Count

    from notifications.models import Email

    received, with_headers = smtp
    # Only --emails of the call's e-mails are due: the others the benchmark wrote wait
    # (they are deleted at the end).
    relayed = list(
        Email.objects.filter(key=key).order_by("pk").values_list("pk", flat=True)[: args.emails]
    )
    parked = (
        Email.objects.filter(pk__gt=first_email, state="pending")
        .exclude(pk__in=relayed)
        .update(next_attempt_at=datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC))
    )
    due = Email.objects.filter(
        state="pending", next_attempt_at__lte=datetime.datetime.now(datetime.UTC)
    ).count()
    print(
        f"\n3. notifications.services.email_relay to a local aiosmtpd server (its own process), "
        f"relays in processes of their own; {due:,} e-mails due ({parked:,} others of the "
        f"benchmark held back)"
    )
    print(
        f"{'relays':>6} {'e-mails':>8} {'seconds':>8} {'e-mails/s':>9} {'received':>9} "
        f"{'with both unsubscribe headers':>30} {'relay peak RSS':>15}"
    )
    context = multiprocessing.get_context("spawn")
    for relays in [int(n) for n in args.relays.split(",")]:
        Email.objects.filter(pk__in=relayed).update(
            state="pending",
            attempts=0,
            sent_at=None,
            claimed_until=None,
            sending_since=None,
            last_error="",
            next_attempt_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1),
        )
        received.value = 0
        with_headers.value = 0
        barrier = context.Barrier(relays + 1)
        results = context.Queue()
        processes = [
            context.Process(target=relay_process, args=(barrier, results)) for _ in range(relays)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.perf_counter()
        totals = [results.get() for _ in processes]
        wall = time.perf_counter() - started
        for process in processes:
            process.join()
        sent = sum(t["sent"] for t in totals)
        deadline = time.monotonic() + 10
        while received.value < sent and time.monotonic() < deadline:
            time.sleep(0.05)
        states = dict(
            Email.objects.filter(pk__in=relayed).values_list("state").annotate(n=Count("id"))
        )
        assert states == {"sent": sent}, states
        print(
            f"{relays:>6} {sent:>8,} {wall:>8.2f} {sent / wall:>9,.0f} {received.value:>9,} "
            f"{with_headers.value:>30,} "
            f"{max(t['maxrss_kb'] for t in totals) / 1024:>12.0f} MB"
        )


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
    parser.add_argument("--audience", type=int, default=20_000, help="fan-out audience")
    parser.add_argument("--send", type=int, default=10_000, help="notification_send size")
    parser.add_argument("--emails", type=int, default=2_000, help="e-mails relayed per run")
    parser.add_argument("--relays", default="1,2", help="parallel relays to measure")
    parser.add_argument("--explain", action="store_true", help="the plan of a dense task")
    parser.add_argument(
        "--inlined", action="store_true", help="with --explain: also the plan before the fix"
    )
    parser.add_argument("--skip", default="", help="comma-separated: publish,persons,fanout,email")
    parser.add_argument("--keep", action="store_true", help="leave what the benchmark made")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    began = time.perf_counter()

    # Jobs the services queue stay in this process (nothing takes them); e-mail goes to the
    # SMTP server started below. Both are read from the environment by the settings.
    import multiprocessing

    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    port = free_port()
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"

    context = multiprocessing.get_context("spawn")
    received, with_headers = context.Value("l", 0), context.Value("l", 0)
    ready, stop = context.Event(), context.Event()
    server = None
    if "email" not in skip:
        server = context.Process(
            target=smtp_serve, args=(port, received, with_headers, ready, stop), daemon=True
        )
        server.start()
        if not ready.wait(30):
            raise SystemExit("The SMTP server did not start.")

    import django

    django.setup()
    check_database()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    version = sql("SHOW server_version")[0][0]
    people = sql("SELECT COUNT(*) FROM registry_profile")[0][0]
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; "
        f"database: PostgreSQL {version}, {connection.settings_dict['NAME']}; {people:,} people; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; "
        f"e-mail {settings.EMAIL_BACKEND} {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
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
        if "fanout" not in skip:
            fan_out(args, created)
        if "email" not in skip:
            key = send_many(args, created)
            relay(args, key, (received, with_headers), before["email"])
    finally:
        print(f"\nmeasurements took {time.perf_counter() - measured:.0f} s")
        if args.keep:
            print("--keep: the benchmark's rows are left in place")
        else:
            clean(created, before)
        if server is not None:
            stop.set()
            server.join(10)
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"peak memory: this process {mine:.0f} MB, largest child (SMTP server, relay) "
        f"{children:.0f} MB; whole run {time.perf_counter() - began:.0f} s; "
        f"load average at the end {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
