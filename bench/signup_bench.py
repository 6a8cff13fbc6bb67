"""Sign-ups next to pgbench (issue 18, "Done when" 2): ``services.signup_create`` from
several processes, and ``POST /api/sessions/{id}/signups/`` over HTTP, each beside pgbench's
TPC-B run in the same rounds.

    createdb -h 127.0.0.1 -U postgres -T furusato_gen_1m furusato_signups_bench1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_signups_bench1m \\
    REDIS_URL=redis://127.0.0.1:6382/3 \\
        .venv/bin/python bench/signup_bench.py --rounds 3 --seconds 20

The database is a clone of a generated one (its name must contain ``_bench``); pgbench gets
a scratch database of its own (``<database>_pgbench``, ``pgbench -i``, scale 1). The bench
migrates, then adds its own published tasks (``--tasks``, ``--sessions`` each, far in the
future, one after the other so that no two overlap, capacity enough for every sign-up),
each run by a host (a generated person with the host's role in the task's town): every
sign-up is confirmed, stores the roster's details, and tells the person and the host (an
inbox row and an e-mail row each). Each sign-up is by a person who has none of these
sessions yet.

Rounds alternate: pgbench (``-c --processes -j 2 -T --seconds``), then the same number of
processes (multiprocessing, spawn: one Django and one connection each) calling
``signup_create`` as fast as they can for the same time; statements per sign-up are counted
by an execute wrapper (BEGIN and COMMIT are the driver's, not counted). Then gunicorn
(``config.wsgi``, 3 sync workers, ``config.settings.base``, ``DATABASE_CONN_MAX_AGE=60`` as
production) and wrk (``--clients`` connections, a Lua script giving each request its own
person's token and session) alternate with pgbench the same way. What the bench wrote
(tasks, sign-ups, notifications, e-mails, tokens) is removed at the end.
"""

# ruff: noqa: S603, S607, S608  (our own commands and tables, run by hand)

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

TITLE = "signup_bench: sign-ups next to pgbench"
DETAILS = {"agree": True, "full_name": "山田 花子", "furigana": "ヤマダ ハナコ"}
PG = "postgres://postgres@127.0.0.1:5432"


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def uptime() -> str:
    """The load averages (1, 5, 15 minutes), as ``uptime`` prints them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- The board of the bench -----------------------------------------------------------------


def prepare(tasks: int, sessions: int, capacity: int) -> list[int]:
    """The bench's tasks (removed first if a run left them), their hosts and sessions;
    returns the session ids."""
    import datetime

    from django.utils import timezone

    from accounts.models import Membership, Role
    from core.search import document_key
    from demo.population import EMAIL_DOMAIN
    from matching.models import Session, Task, TaskStatus
    from places.models import Municipality

    cleanup()
    towns = list(Municipality.objects.order_by("code")[: tasks * 7 : 7])
    hosts = [
        pk
        for (pk,) in sql(
            "SELECT id FROM accounts_user WHERE email LIKE %s ORDER BY id LIMIT %s",
            [f"pop-%@{EMAIL_DOMAIN}", tasks],
        )
    ]
    now = timezone.now()
    first = now + datetime.timedelta(days=800)
    ids: list[int] = []
    for number, (town, host) in enumerate(zip(towns, hosts, strict=False)):
        Membership.objects.get_or_create(user_id=host, role=Role.HOST, municipality=town)
        task = Task.objects.create(
            municipality=town,
            prefecture_id=town.prefecture_id,
            host_id=host,
            host_name=town.name,
            title=TITLE,
            description="sign-up benchmark",
            category="farming",
            reward="-",
            status=TaskStatus.PUBLISHED,
            published_at=now,
            search_text=document_key([TITLE]),
        )
        rows = Session.objects.bulk_create(
            [
                Session(
                    task=task,
                    # One after the other over all tasks: no two bench sessions overlap.
                    starts_at=first + datetime.timedelta(hours=4 * (number * sessions + i)),
                    ends_at=first + datetime.timedelta(hours=4 * (number * sessions + i) + 3),
                    capacity=capacity,
                )
                for i in range(sessions)
            ]
        )
        Task.objects.filter(pk=task.pk).update(
            starts_at=rows[0].starts_at,
            ends_at=rows[-1].ends_at,
            signup_closes_at=rows[-1].starts_at,
        )
        ids += [row.pk for row in rows]
    return ids


def people(count: int, after: int) -> list[int]:
    """Generated people with id above ``after`` who host none of the bench's tasks."""
    from demo.population import EMAIL_DOMAIN

    return [
        pk
        for (pk,) in sql(
            """SELECT id FROM accounts_user WHERE email LIKE %s AND id > %s
               AND NOT EXISTS (SELECT 1 FROM matching_task t WHERE t.host_id = accounts_user.id)
               ORDER BY id LIMIT %s""",
            [f"pop-%@{EMAIL_DOMAIN}", after, count],
        )
    ]


def cleanup() -> None:
    """Remove what the bench wrote: its tasks (their sessions, sign-ups and details go with
    them), the notifications and e-mails of those sign-ups, its tokens and hosts' roles."""
    from matching.models import Task

    bench = list(Task.objects.filter(title=TITLE).values_list("pk", flat=True))
    if bench:
        sql(
            """CREATE TEMP TABLE bench_keys AS
               SELECT 'signup:' || s.id || ':' AS prefix FROM matching_signup s
               JOIN matching_session se ON se.id = s.session_id WHERE se.task_id = ANY(%s)""",
            [bench],
        )
        for table in ("notifications_email", "notifications_notification"):
            sql(
                f"""DELETE FROM {table} WHERE key LIKE 'signup:%%'
                    AND split_part(key, ':', 1) || ':' || split_part(key, ':', 2) || ':'
                        IN (SELECT prefix FROM bench_keys)"""
            )
        sql("DROP TABLE bench_keys")
        sql(
            "DELETE FROM accounts_membership WHERE role = 'host' AND user_id IN "
            "(SELECT host_id FROM matching_task WHERE id = ANY(%s))",
            [bench],
        )
        Task.objects.filter(pk__in=bench).delete()
    sql("DELETE FROM authtoken_token WHERE key LIKE 'bench%%'")


# --- pgbench ---------------------------------------------------------------------------------


def pgbench_init(database: str) -> None:
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-i", "-q", database],
        check=True,
        capture_output=True,
    )


def pgbench(database: str, clients: int, seconds: float) -> float:
    done = subprocess.run(
        [
            *("pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n"),
            *("-c", str(clients), "-j", "2", "-T", str(round(seconds)), database),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(re.search(r"tps = ([0-9.]+)", done.stdout).group(1))


# --- signup_create from processes ------------------------------------------------------------


def _service_worker(environ, pairs, barrier, seconds, answers) -> None:
    os.environ.update(environ)
    import django

    django.setup()
    from django.db import connection

    from accounts.models import User
    from matching import services
    from matching.models import Session, SignupStatus

    everyone = User.objects.in_bulk([person for _session, person in pairs])
    statements = [0]

    def count(execute, sql_, params, many, context):
        statements[0] += 1
        return execute(sql_, params, many, context)

    # Warm up (the URLconf, the catalogues, the first plans) on the first pair.
    (session, person), pairs = pairs[0], pairs[1:]
    services.signup_create(session=Session(pk=session), person=everyone[person], details=DETAILS)
    confirmed = done = 0
    barrier.wait()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for session, person in pairs:
            if time.perf_counter() - started >= seconds:
                break
            signup = services.signup_create(
                session=Session(pk=session), person=everyone[person], details=DETAILS
            )
            done += 1
            confirmed += signup.status == SignupStatus.CONFIRMED
    answers.put((confirmed, done, statements[0], time.perf_counter() - started))
    connection.close()


def service_round(processes: int, seconds: float, plan: list[list[tuple]]) -> tuple[float, float]:
    """Confirmed sign-ups per second from ``processes`` processes, and statements each."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes + 1)
    answers = context.Queue()
    environ = {
        key: os.environ[key] for key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    workers = [
        context.Process(target=_service_worker, args=(environ, plan[i], barrier, seconds, answers))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    results = [answers.get(timeout=seconds * 4 + 120) for _worker in workers]
    for worker in workers:
        worker.join()
    confirmed = sum(r[0] for r in results)
    done = sum(r[1] for r in results)
    if done == sum(len(pairs) for pairs in plan):
        print("  (every planned sign-up was made before the time was up: plan more)")
    wall = max(r[3] for r in results)
    return confirmed / wall, sum(r[2] for r in results) / max(done, 1)


def plan_pairs(sessions: list[int], persons: list[int], groups: int) -> list[list[tuple]]:
    """Each person once, on sessions in turn; in ``groups`` lists."""
    pairs = [(sessions[i % len(sessions)], person) for i, person in enumerate(persons)]
    size = len(pairs) // groups
    return [pairs[g * size : (g + 1) * size] for g in range(groups)]


# --- HTTP --------------------------------------------------------------------------------------

LUA = """
local entries = {%(entries)s}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
  thread:set("created", 0)
end
function init(args)
  nxt = id
  created = 0
end
function request()
  local entry = entries[nxt]
  nxt = nxt + %(threads)d
  if entry == nil then
    return wrk.format("GET", "/health/")
  end
  return wrk.format("POST", "/api/sessions/" .. entry[1] .. "/signups/",
    {["Authorization"] = "Token " .. entry[2], ["Content-Type"] = "application/json"},
    '%(body)s')
end
function response(status, headers, body)
  if status == 201 then created = created + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("created") end
  io.write(string.format("created %%d\\n", total))
end
"""


def tokens_for(persons: list[int]) -> list[str]:
    """A DRF token for each person (written in one statement)."""
    keys = ["bench" + secrets.token_hex(17) for _ in persons]
    sql(
        "INSERT INTO authtoken_token (key, user_id, created) "
        "SELECT k, u, now() FROM unnest(%s::text[], %s::bigint[]) AS t(k, u)",
        [keys, persons],
    )
    return keys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(port: int, seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer")


def post_once(port: int, session: int, token: str) -> int:
    import json
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/sessions/{session}/signups/",
        data=json.dumps(DETAILS).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our server)
        return response.status


def http_round(
    port: int, clients: int, seconds: float, entries: list[tuple], folder: str
) -> tuple[float, float]:
    import json

    threads = 2
    body = json.dumps(DETAILS, ensure_ascii=False)
    script = Path(folder) / "signup.lua"
    script.write_text(
        LUA
        % {
            "entries": ",".join(f'{{{session},"{token}"}}' for session, token in entries),
            "threads": threads,
            "body": body,
        }
    )
    done = subprocess.run(
        [
            *("wrk", "-t", str(threads), "-c", str(clients), "-d", f"{round(seconds)}s"),
            *("-s", str(script), "--latency", f"http://127.0.0.1:{port}"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    created = int(re.search(r"created (\d+)", done.stdout).group(1))
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout).group(1))
    p50 = re.search(r"50%\s+(\S+)", done.stdout).group(1)
    if "Non-2xx" in done.stdout or created == 0:
        print("  " + done.stdout.replace("\n", "\n  "))
    return created / seconds, rps, p50


# --- Main --------------------------------------------------------------------------------------


def ratio_line(label: str, figures: list[float], baselines: list[float], unit: str) -> str:
    ratios = [f / b for f, b in zip(figures, baselines, strict=True)]
    return (
        f"{label}: median {statistics.median(figures):,.0f} {unit} "
        f"(range {min(figures):,.0f}–{max(figures):,.0f}); pgbench median "
        f"{statistics.median(baselines):,.0f} tps; ratio median {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}–{max(ratios):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=5, help="sessions per task")
    parser.add_argument("--skip", default="", help="comma-separated: service,http")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    database = settings.DATABASES["default"]["NAME"]
    if "_bench" not in database:
        raise SystemExit(f"{database}: the bench writes; give it a database named *_bench*")
    scratch = f"{database}_pgbench"
    call_command("migrate", verbosity=0)
    print(
        f"database {database}: {sql('SELECT COUNT(*) FROM accounts_user')[0][0]:,} people, "
        f"{sql('SELECT COUNT(*) FROM matching_signup')[0][0]:,} sign-ups; "
        f"{sql('SHOW server_version')[0][0]}, shared_buffers "
        f"{sql('SHOW shared_buffers')[0][0]}, synchronous_commit "
        f"{sql('SHOW synchronous_commit')[0][0]}; nproc {os.cpu_count()}"
    )
    # Enough for the fastest round we can imagine (1,500/s) in every round (10,000 places
    # per session: the 1,000 sessions hold them all).
    wanted = int(args.seconds * 1500)
    sessions = prepare(args.tasks, args.sessions, capacity=10_000)
    pgbench_init(scratch)
    last = 0
    baselines: list[float] = []
    figures: list[float] = []
    print(f"\n{args.tasks} tasks × {args.sessions} sessions, each task with a host; details given")
    try:
        if "service" not in skip:
            print(f"signup_create from {args.processes} processes, {args.seconds:.0f} s rounds")
            for number in range(args.rounds):
                tps = pgbench(scratch, args.processes, args.seconds)
                persons = people(wanted, last)
                last = persons[-1]
                connection.close()
                rate, statements = service_round(
                    args.processes, args.seconds, plan_pairs(sessions, persons, args.processes)
                )
                baselines.append(tps)
                figures.append(rate)
                print(
                    f"  round {number + 1}: pgbench {tps:,.0f} tps; signup_create "
                    f"{rate:,.0f} confirmed/s, {statements:.2f} statements each; ratio "
                    f"{rate / tps:.3f}; load {uptime()}"
                )
            print(ratio_line("signup_create", figures, baselines, "sign-ups/s"))
        if "http" not in skip:
            http(args, scratch, sessions, last)
    finally:
        connection.close()
        cleanup()
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", scratch], check=False
        )


def http(args, scratch: str, sessions: list[int], last: int) -> None:
    from django.db import connection

    port = free_port()
    folder = tempfile.mkdtemp(prefix="signup-bench-")
    env = {
        **os.environ,
        "PYTHONPATH": "platform:.",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            *("config.wsgi", "--workers", "3", "--bind", f"127.0.0.1:{port}"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(folder) / "gunicorn.log", "a"),  # noqa: SIM115
        start_new_session=True,
    )
    baselines: list[float] = []
    figures: list[float] = []
    try:
        wait_for_http(port, 60)
        print(
            f"HTTP: POST /api/sessions/{{id}}/signups/ with a token, gunicorn 3 sync workers, "
            f"wrk {args.clients} connections, {args.seconds:.0f} s rounds"
        )
        wanted = int(args.seconds * 800)
        # Warm up each worker (imports, the URLconf, first plans) with real sign-ups.
        persons = people(30, last)
        last = persons[-1]
        for i, key in enumerate(tokens_for(persons)):
            post_once(port, sessions[i % len(sessions)], key)
        for number in range(args.rounds):
            persons = people(wanted, last)
            last = persons[-1]
            keys = tokens_for(persons)
            connection.close()
            entries = [(sessions[i % len(sessions)], key) for i, key in enumerate(keys)]
            tps = pgbench(scratch, args.processes, args.seconds)
            created, rps, p50 = http_round(port, args.clients, args.seconds, entries, folder)
            baselines.append(tps)
            figures.append(created)
            print(
                f"  round {number + 1}: pgbench {tps:,.0f} tps; HTTP {created:,.0f} sign-ups/s "
                f"({rps:,.0f} requests/s, p50 {p50}); ratio {created / tps:.3f}; load {uptime()}"
            )
        print(ratio_line("HTTP sign-ups", figures, baselines, "sign-ups/s"))
    finally:
        os.killpg(gunicorn.pid, 15)
        gunicorn.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
