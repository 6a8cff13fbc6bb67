"""Benchmark of telling many people at once (issue 18, Done-when 3): an announcement's
fan-out and ``notification_send``, each beside a raw ``INSERT … SELECT`` of the same rows
into the same indexed tables in the same run, and the e-mail relay into a local SMTP server
with one and two relays.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_fanout_bench_1m \\
    DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/fanout_bench.py --sizes 10000,all --rounds 3

The database must hold generated people (a clone of ``furusato_gen_1m``, say); the bench
refuses one whose name does not end in ``_bench`` or ``_bench_<suffix>``. For each size it
takes a town and gives it that many consenting registrants (raw rows for generated people
not registered there, deleted at the end): the audience of the announcement, and the
recipients of ``notification_send`` and of the raw statements. Each measurement starts from
the same state: the notification tables as they were (emptied by TRUNCATE when they were
empty at the start, else the bench's rows deleted and the tables vacuumed), then a
CHECKPOINT. The three ways alternate their order from round to round.

1. **raw**: in one transaction, ``INSERT INTO notifications_notification … SELECT FROM
   unnest(ids)`` and ``INSERT INTO notifications_email … SELECT`` of the same ids: the rows
   the app writes for people who chose nothing (inbox, an e-mail now), no preferences read,
   no key or cap checked;
2. **send**: ``notifications.services.notification_send`` to the same people, one call;
3. **announce**: ``registry.services.announcement_fan_out`` of an announcement to the
   town's registrants (batches of ``REGISTRY_ANNOUNCEMENT_BATCH``, or ``--batch``).

Then the relay: ``--emails`` outbox e-mails (written by ``notification_send``) drained by
``notifications.services.email_relay`` in 1 and 2 processes of their own, into an aiosmtpd
server in its own process that counts the messages and any Message-ID it saw twice; the
same e-mails are made due again before each run. Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
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

MARK = "fanout_bench"
CONTEXT = {
    "municipality": "ベンチ町",
    "title": f"{MARK}: 冬のお手伝いのお知らせ",
    "body": "雪かきのお手伝いを募集しています。詳しくは町のページをご覧ください。",
}


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


# --- The SMTP server and the relays (processes of their own) -----------------------------


def smtp_serve(port: int, received, twice, ready, stop) -> None:
    """An aiosmtpd server on ``port`` that keeps only the Message-IDs: it counts the
    messages and those whose Message-ID came before."""
    from aiosmtpd.controller import Controller

    seen: set[bytes] = set()

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
            found = re.search(rb"\nMessage-ID: *(\S+)", head, re.IGNORECASE)
            message_id = found.group(1) if found else b""
            with received.get_lock():
                if not received.value:
                    seen.clear()  # a new run: the same e-mails are sent again
                received.value += 1
                if message_id in seen:
                    twice.value += 1
                seen.add(message_id)
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
    totals = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "uncertain": 0}
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


# --- Setting up ----------------------------------------------------------------------------


def check_database() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if not re.search(r"_bench(_[0-9a-z]+)?$", db["NAME"]):
        raise SystemExit(
            f"The benchmark writes and deletes rows: refused for {db['NAME']!r} "
            "(not *_bench or *_bench_<suffix>)."
        )


def audience_of(size: int, used: set[str], created: list[int]) -> tuple[str, list[int]]:
    """A town (a village not used yet, fewest consenting registrants first) given exactly
    ``size`` consenting active registrants: its own, then generated people added by one
    raw INSERT (their ids kept in ``created``). Returns the town and the people."""
    code, have = sql(
        """SELECT m.code, COUNT(r.id) FROM places_municipality m
           LEFT JOIN registry_registration r ON r.municipality_id = m.code
               AND r.status = 'active' AND r.allow_announcements
           WHERE m.kind = 'village' AND NOT m.code = ANY(%s)
           GROUP BY 1 ORDER BY 2, 1 LIMIT 1""",
        [sorted(used)],
    )[0]
    used.add(code)
    if have > size:
        raise SystemExit(f"{code} has {have:,} registrants already, more than {size:,}")
    rows = sql(
        """INSERT INTO registry_registration (types, origin, status, registered_at, tier,
               share_name, share_contact, share_age_band, share_skills,
               allow_announcements, guardian_name, card_serial, home_municipality_id,
               municipality_id, person_id)
           SELECT 16, 'visits', 'active', now(), 'basic', false, false, false, false,
               true, '', 1, p.home_municipality_id, %(town)s, p.user_id
           FROM registry_profile p JOIN accounts_user u ON u.id = p.user_id
           WHERE u.is_active AND p.home_municipality_id IS NOT NULL
             AND p.home_municipality_id <> %(town)s
             AND NOT EXISTS (SELECT 1 FROM registry_registration r
                 WHERE r.person_id = p.user_id AND r.municipality_id = %(town)s
                 AND r.status = 'active')
           ORDER BY md5(p.user_id::text || %(town)s)
           LIMIT %(n)s
           RETURNING id""",
        {"town": code, "n": size - have},
    )
    created.extend(pk for (pk,) in rows)
    return code, audience_of_town(code)


def audience_of_town(code: str) -> list[int]:
    return [
        pk
        for (pk,) in sql(
            """SELECT person_id FROM registry_registration WHERE municipality_id = %s
               AND status = 'active' AND allow_announcements ORDER BY person_id""",
            [code],
        )
    ]


class Tables:
    """The notification tables back as they were before each measurement."""

    def __init__(self):
        self.empty = not sql("SELECT EXISTS (SELECT 1 FROM notifications_notification)")[0][0]
        self.email = sql("SELECT COALESCE(MAX(id), 0) FROM notifications_email")[0][0]
        self.notification = sql("SELECT COALESCE(MAX(id), 0) FROM notifications_notification")[0][0]

    def reset(self) -> None:
        if self.empty:
            sql("TRUNCATE notifications_email, notifications_notification")
        else:
            sql("DELETE FROM notifications_email WHERE id > %s", [self.email])
            sql("DELETE FROM notifications_notification WHERE id > %s", [self.notification])
            sql("VACUUM (ANALYZE) notifications_email")
            sql("VACUUM (ANALYZE) notifications_notification")
        sql("CHECKPOINT")


# --- 1. The three ways ---------------------------------------------------------------------

RAW_NOTIFICATIONS = """
INSERT INTO notifications_notification (recipient_id, kind, topic, key, context, url,
    created_at, read_at, in_inbox, digest, digest_key, author_id, author_keys, author_deleted)
SELECT id, 'announcement', 'announcements', %(key)s, %(context)s::jsonb, %(url)s, %(now)s,
    NULL, true, '', '', NULL, '[]'::jsonb, false
FROM unnest(%(ids)s::bigint[]) AS r(id)
"""
RAW_EMAILS = """
INSERT INTO notifications_email (recipient_id, key, digest, topic, message_id, state,
    attempts, resends, next_attempt_at, claimed_until, sending_since, sent_at, last_error,
    created_at)
SELECT id, %(key)s, '', 'announcements',
    '<' || replace(gen_random_uuid()::text, '-', '') || '@bench.invalid>', 'pending', 0, 0,
    %(now)s, NULL, NULL, NULL, '', %(now)s
FROM unnest(%(ids)s::bigint[]) AS r(id)
"""


def raw(people: list[int], code: str, number: int) -> str:
    import json

    from django.db import transaction
    from django.utils import timezone

    key = f"{MARK}:raw:{number}"
    params = {
        "key": key,
        "context": json.dumps(CONTEXT),
        "url": f"/places/{code}/",
        "now": timezone.now(),
        "ids": people,
    }
    with transaction.atomic():
        sql(RAW_NOTIFICATIONS, params)
        sql(RAW_EMAILS, params)
    return key


def send(people: list[int], code: str, number: int) -> str:
    from notifications.models import Topic
    from notifications.services import notification_send

    key = f"{MARK}:send:{number}"
    told = notification_send(
        recipients=people,
        kind="announcement",
        topic=Topic.ANNOUNCEMENTS,
        key=key,
        context=CONTEXT,
        url=f"/places/{code}/",
    )
    assert len(told) == len(people), (len(told), len(people))
    return key


def announce(people: list[int], code: str, number: int, batch: int | None, made: list) -> str:
    from registry.models import Announcement
    from registry.services import announcement_fan_out

    announcement = Announcement.objects.create(
        municipality_id=code, title=CONTEXT["title"], body=CONTEXT["body"]
    )
    made.append(announcement.pk)
    started = time.perf_counter()
    reached = announcement_fan_out(announcement_id=announcement.pk, batch_size=batch)
    announce.seconds = time.perf_counter() - started
    assert reached == len(people), (reached, len(people))
    return f"announcement:{announcement.pk}"


def statements_of(call) -> int:
    from django.db import connection

    count = [0]

    def counting(execute, sql_text, params, many, context):
        count[0] += 1
        return execute(sql_text, params, many, context)

    with connection.execute_wrapper(counting):
        call()
    return count[0]


def fan_out(args, tables: Tables, created: list[int], made: list[int]) -> None:
    from django.conf import settings

    generated = sql("SELECT COUNT(*) FROM accounts_user WHERE is_active")[0][0]
    sizes = [generated if s == "all" else int(s) for s in args.sizes.split(",")]
    batch = args.batch or settings.REGISTRY_ANNOUNCEMENT_BATCH
    used: set[str] = set()
    towns = []
    given = [code for code in args.towns.split(",") if code]
    for number, size in enumerate(sizes):
        started = time.perf_counter()
        if given:  # towns a run before gave their audiences (its registrations are kept)
            code = given[number]
            people = audience_of_town(code)
        else:
            code, people = audience_of(size, used, created)
        towns.append((size, code, people))
        print(
            f"audience of {code}: {len(people):,} consenting registrants "
            f"({time.perf_counter() - started:.0f} s to make)"
        )
    sql("ANALYZE registry_registration")
    # What a worker has done once before its first job: the URLconf loaded (the fan-out's
    # link), the broker connected (the relay's job queued after each commit).
    from django.urls import reverse

    from core.queue import send_now

    reverse("places:municipality_detail", args=[towns[0][1]])
    send_now("notifications.relay")
    ways = ["raw", "send", "announce"]
    results: dict[tuple[int, str], list[float]] = {}
    print(
        f"\n1. people/s writing one notification and its e-mail for each person; "
        f"announcement batches of {batch:,}; {args.rounds} rounds, the order alternating"
    )
    print(f"{'round':>5} {'people':>9} {'way':<9} {'seconds':>8} {'people/s':>9} {'load':>5}")
    number = 0
    for round_ in range(args.rounds):
        for size, code, people in towns:
            order = ways if round_ % 2 == 0 else ways[::-1]
            for way in order:
                number += 1
                tables.reset()
                started = time.perf_counter()
                if way == "raw":
                    key = raw(people, code, number)
                elif way == "send":
                    key = send(people, code, number)
                else:
                    key = announce(people, code, number, args.batch, made)
                seconds = time.perf_counter() - started
                if way == "announce":
                    seconds = announce.seconds
                written = sql(
                    """SELECT (SELECT COUNT(*) FROM notifications_notification WHERE key = %s),
                              (SELECT COUNT(*) FROM notifications_email WHERE key = %s)""",
                    [key, key],
                )[0]
                assert written == (len(people), len(people)), (way, written)
                results.setdefault((size, way), []).append(len(people) / seconds)
                print(
                    f"{round_ + 1:>5} {len(people):>9,} {way:<9} {seconds:>8.2f} "
                    f"{len(people) / seconds:>9,.0f} {load():>5}"
                )
    tables.reset()
    print(f"\n{'people':>9} {'way':<9} {'median people/s':>16} {'range':>19} {'× raw':>6}")
    for size, _code, people in towns:
        base = statistics.median(results[(size, "raw")])
        for way in ways:
            values = results[(size, way)]
            print(
                f"{len(people):>9,} {way:<9} {statistics.median(values):>16,.0f} "
                f"{min(values):>9,.0f}–{max(values):<9,.0f} "
                f"{statistics.median(values) / base:>6.2f}"
            )
    # What one call costs in statements (a small audience: the count, not the time).
    size, code, people = towns[0]
    few = people[:500]
    sends = statements_of(lambda: send(few, code, 0))
    tables.reset()
    print(f"\nstatements: notification_send to {len(few)} people: {sends}")


# --- 2. The relay ----------------------------------------------------------------------------


def relay(args, tables: Tables, smtp) -> None:
    import multiprocessing

    from django.db.models import Count

    from notifications.models import Email

    received, twice = smtp
    people = [
        pk
        for (pk,) in sql(
            """SELECT id FROM accounts_user WHERE is_active AND email <> ''
               ORDER BY md5(id::text || %s) LIMIT %s""",
            [MARK, args.emails],
        )
    ]
    tables.reset()
    key = send(people, "212172", 0)
    rows = Email.objects.filter(key=key)
    print(
        f"\n2. email_relay to a local aiosmtpd server (its own process), relays in processes of "
        f"their own; {rows.count():,} e-mails of one announcement-like notification"
    )
    print(
        f"{'round':>5} {'relays':>6} {'e-mails':>8} {'seconds':>8} {'e-mails/s':>9} "
        f"{'received':>9} {'twice':>6} {'skipped':>7} {'peak RSS':>9} {'load':>5}"
    )
    context = multiprocessing.get_context("spawn")
    figures: dict[int, list[float]] = {}
    relay_counts = [int(n) for n in args.relays.split(",")]
    for round_ in range(args.relay_rounds):
        for relays in relay_counts if round_ % 2 == 0 else relay_counts[::-1]:
            rows.update(
                state="pending",
                attempts=0,
                sent_at=None,
                claimed_until=None,
                sending_since=None,
                last_error="",
                next_attempt_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1),
            )
            sql("VACUUM (ANALYZE) notifications_email")
            sql("CHECKPOINT")
            received.value = 0
            twice.value = 0
            barrier = context.Barrier(relays + 1)
            results = context.Queue()
            processes = [
                context.Process(target=relay_process, args=(barrier, results))
                for _ in range(relays)
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
            states = dict(rows.values_list("state").annotate(n=Count("id")))
            assert states == {"sent": len(people)}, states
            figures.setdefault(relays, []).append(sent / wall)
            print(
                f"{round_ + 1:>5} {relays:>6} {sent:>8,} {wall:>8.2f} {sent / wall:>9,.0f} "
                f"{received.value:>9,} {twice.value:>6} {sum(t['skipped'] for t in totals):>7} "
                f"{max(t['maxrss_kb'] for t in totals) / 1024:>6.0f} MB {load():>5}"
            )
    print(f"\n{'relays':>6} {'median e-mails/s':>17} {'range':>15}")
    for relays, values in figures.items():
        print(
            f"{relays:>6} {statistics.median(values):>17,.0f} "
            f"{min(values):>7,.0f}–{max(values):<7,.0f}"
        )
    tables.reset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,all", help="audiences; 'all': every person")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0, help="announcement batch size")
    parser.add_argument(
        "--towns", default="", help="one town per size whose audience is taken as it is"
    )
    parser.add_argument("--emails", type=int, default=20_000, help="e-mails relayed per run")
    parser.add_argument("--relays", default="1,2", help="parallel relays to measure")
    parser.add_argument("--relay-rounds", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated: fanout,email")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    began = time.perf_counter()

    import multiprocessing
    import socket

    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    context = multiprocessing.get_context("spawn")
    received, twice = context.Value("l", 0), context.Value("l", 0)
    ready, stop = context.Event(), context.Event()
    server = None
    if "email" not in skip:
        server = context.Process(
            target=smtp_serve, args=(port, received, twice, ready, stop), daemon=True
        )
        server.start()
        if not ready.wait(30):
            raise SystemExit("The SMTP server did not start.")

    import django

    django.setup()
    check_database()
    from django.core.management import call_command
    from django.db import connection

    from registry.models import Announcement

    call_command("migrate", verbosity=0)
    settings_shown = ", ".join(
        f"{name}={sql(f'SHOW {name}')[0][0]}"
        for name in ("shared_buffers", "synchronous_commit", "max_wal_size", "work_mem")
    )
    people = sql("SELECT COUNT(*) FROM accounts_user")[0][0]
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; PostgreSQL "
        f"{sql('SHOW server_version')[0][0]} ({settings_shown}), "
        f"{connection.settings_dict['NAME']}; "
        f"{people:,} people; {os.cpu_count()} CPUs; "
        f"load average {load()}"
    )
    tables = Tables()
    created: list[int] = []
    made: list[int] = []
    try:
        if "fanout" not in skip:
            fan_out(args, tables, created, made)
        if "email" not in skip:
            relay(args, tables, (received, twice))
    finally:
        tables.reset()
        Announcement.objects.filter(pk__in=made).delete()
        if created:
            sql("DELETE FROM registry_registration WHERE id = ANY(%s)", [created])
        if server is not None:
            stop.set()
            server.join(10)
    print(
        f"\nwhole run {time.perf_counter() - began:.0f} s; load average at the end {load()}; "
        f"peak memory of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
