"""Benchmark of the registry at national scale: generating a population of a million people
with their registrations, what it weighs, whether its shares follow the survey, and creating
a registration through the API with that population present.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/registry_bench.py --recreate --people 1000000 --seed 1

It creates the database if it is missing (``--recreate`` drops it first, for a clean
figure; only a database whose name ends in ``_bench``), migrates it, loads the
municipalities, runs ``manage.py generate_population`` (skipped if the seed's people are
there already), then prints the time, rows per second, the database size, the share check
(SQL over the raw rows) and the median and p95 of ``POST /api/registrations/``. Figures go
to RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

TABLES = [
    "accounts_user",
    "registry_profile",
    "registry_registration",
    "registry_prefectureregistration",
    "registry_registrationevent",
    "authtoken_token",
]


def database_prepare(*, recreate: bool) -> None:
    """Create the configured database if it is missing (drop it first with ``recreate``)."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    name = db["NAME"]
    if recreate and not name.endswith("_bench"):
        raise SystemExit(f"--recreate drops the database: refused for {name!r} (not *_bench).")
    with psycopg.connect(
        dbname="postgres",
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as maintenance:
        quoted = '"' + name.replace('"', '""') + '"'
        if recreate:
            maintenance.execute(f"DROP DATABASE IF EXISTS {quoted}")
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            maintenance.execute(f"CREATE DATABASE {quoted}")
            print(f"created database {name}")


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def count(table: str) -> int:
    return sql(f'SELECT COUNT(*) FROM "{table}"')[0][0]  # noqa: S608  (our table names)


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MB"


def generate(people: int, seed: int, batch: int) -> None:
    from django.core.management import call_command

    from accounts.models import User
    from demo.population import EMAIL_DOMAIN, email_prefix

    if User.objects.filter(email__startswith=email_prefix(seed)).exists():
        print(f"people of seed {seed} exist already: generation skipped")
        return
    rows_before = sum(count(table) for table in TABLES[:5])
    out = io.StringIO()
    started = time.perf_counter()
    call_command(
        "generate_population", people=people, seed=seed, batch=batch, stdout=out, verbosity=1
    )
    seconds = time.perf_counter() - started
    rows = sum(count(table) for table in TABLES[:5]) - rows_before
    print(out.getvalue().strip())
    print(
        f"generate_population --people {people:,} --seed {seed} --batch {batch:,}: "
        f"{seconds:.1f} s with ANALYZE, {rows:,} rows ({rows / seconds:,.0f} rows/s); "
        f"people end in @{EMAIL_DOMAIN}"
    )


def sizes() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    total = sql("SELECT pg_database_size(%s)", [name])[0][0]
    print(f"\ndatabase {name}: {megabytes(total)}")
    print(f"{'table':<34} {'rows':>12} {'table+indexes+toast':>20} {'of which indexes':>17}")
    for table in TABLES:
        rows = count(table)
        size, indexes = sql(
            "SELECT pg_total_relation_size(%s), pg_indexes_size(%s)", [table, table]
        )[0]
        print(f"{table:<34} {rows:>12,} {megabytes(size):>20} {megabytes(indexes):>17}")


def shares(seed: int) -> None:
    from demo.population import population_shares

    result = population_shares(seed=seed)
    print(
        f"\nshares of seed {seed}: {result.people:,} people, {result.visiting_people:,} "
        f"visiting, {result.visiting_registrations:,} registrations of visiting people, "
        f"{result.mixed_area_people} tied to both areas"
    )
    print(f"{'share':<48} {'target':>8} {'generated':>10} {'diff pp':>8}  within 1 pp")
    for share in result.all:
        ok = "yes" if abs(share.difference_pp) <= 1 else "NO"
        print(
            f"{share.label:<48} {share.target:>8.2%} {share.generated:>10.2%} "
            f"{share.difference_pp:>+8.2f}  {ok}"
        )


def api(seed: int, requests: int) -> None:
    """POST /api/registrations/ for ``requests`` distinct generated people (token auth)."""
    from django.conf import settings

    # Measure the view, not the per-client rate limit (set before any view is imported).
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = []
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from demo.population import EMAIL_DOMAIN, email_prefix
    from registry.models import AGE_OF_MAJORITY, Registration

    adult_born_before = timezone.localdate().year - AGE_OF_MAJORITY
    warmup = 20
    # Generated adults (the body carries no guardian consent), spread over the population.
    people = sql(
        """SELECT u.id, p.home_municipality_id FROM accounts_user u
           JOIN registry_profile p ON p.user_id = u.id
           WHERE u.email LIKE %s AND p.birth_year < %s
           ORDER BY md5(u.email) LIMIT %s""",
        [f"{email_prefix(seed)}%@{EMAIL_DOMAIN}", adult_born_before, requests + warmup],
    )
    if len(people) < requests + warmup:
        raise SystemExit("Not enough generated people: run the generation first.")
    codes = [code for (code,) in sql("SELECT code FROM places_municipality ORDER BY code")]
    rng = random.Random(seed)
    registered = set(
        Registration.objects.filter(
            person_id__in=[person for person, _ in people], status="active"
        ).values_list("person_id", "municipality_id")
    )
    plan = []
    for person, home in people:
        code = rng.choice(codes)
        while code == home or (person, code) in registered:
            code = rng.choice(codes)
        key = Token.objects.get_or_create(user_id=person)[0].key
        plan.append((key, code))

    client = Client()
    times = []
    queries = None
    for number, (key, code) in enumerate(plan):
        body = {
            "municipality": code,
            "types": ["hobby"],
            "origin": "visits",
            "consent": {"share_name": True},
        }
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/registrations/",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {key}",
            )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, (response.status_code, response.content[:500])
        if number >= warmup:
            times.append(elapsed)
            queries = len(captured.captured_queries)
    times.sort()
    registrations = sql("SELECT COUNT(*) FROM registry_registration")[0][0]
    print(
        f"\nPOST /api/registrations/ ({len(times)} requests, distinct people, token auth, "
        f"{registrations:,} registrations present, {warmup} warm-up requests not counted; "
        f"{queries} SQL queries per request)"
    )
    print(f"{'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    print(
        f"{statistics.median(times):>10.1f} {times[int(len(times) * 0.95) - 1]:>8.1f} "
        f"{times[-1]:>8.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--recreate", action="store_true", help="drop the *_bench database first")
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    database_prepare(recreate=args.recreate)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("load_municipalities", verbosity=0)
    version = sql("SHOW server_version")[0][0]
    print(
        f"database: PostgreSQL {version}, {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs"
    )
    generate(args.people, args.seed, args.batch)
    sizes()
    shares(args.seed)
    if not args.skip_api:
        api(args.seed, args.requests)


if __name__ == "__main__":
    main()
