"""Benchmark of the population generator against the database's own load rate, in one run:
a raw COPY of 2,000,000 registration-like rows into a fresh table with two B-tree indexes
(the baseline), then ``manage.py generate_population`` into a fresh database, in alternating
rounds, and the ratio of their rows per second (issue 18, "Done when" line 6: at least 0.6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/furusato_generator_bench \\
    FURUSATO_DEMO_CONTENT_ALLOWED=1 DJANGO_SETTINGS_MODULE=config.settings.base \\
        .venv/bin/python bench/generate_bench.py --people 400000 --rounds 3

The database named by DATABASE_URL (its name must end in ``_bench``) holds the baseline's
table; ``<name>_tpl`` (migrated, municipalities loaded) is made once and cloned into
``<name>_round`` for each round of the generator, so that each round loads into empty tables
as a new database does. The baseline's rows are rendered as COPY text before the clock
starts: its time is the COPY and the commit alone (what PostgreSQL takes), with the two
indexes (the primary key and one on ``(municipality_id, registered_at)``) kept up as rows
arrive. The generator's figure is the command's own (rows written / seconds from its first
draw to its commit, indexes and foreign keys included; the ``ANALYZE`` after it is not
counted). Figures go to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

BASELINE_TABLE = "bench_copy_baseline"
BASELINE_DDL = f"""
    DROP TABLE IF EXISTS {BASELINE_TABLE};
    CREATE TABLE {BASELINE_TABLE} (
        id bigint PRIMARY KEY,
        person_id bigint NOT NULL,
        municipality_id varchar(6) NOT NULL,
        home_municipality_id varchar(6) NOT NULL,
        types smallint NOT NULL,
        origin varchar(16) NOT NULL,
        status varchar(10) NOT NULL,
        registered_at timestamptz NOT NULL,
        tier varchar(8) NOT NULL,
        share_name boolean NOT NULL,
        share_contact boolean NOT NULL,
        allow_announcements boolean NOT NULL,
        card_serial integer NOT NULL,
        last_activity_on date
    );
    CREATE INDEX {BASELINE_TABLE}_muni ON {BASELINE_TABLE} (municipality_id, registered_at);
"""
SUMMARY = re.compile(r"\(([\d,]+) rows with profiles and events\) in ([\d.]+) s")


def connect(name: str, **kwargs):
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=name,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        **kwargs,
    )


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def recreate(maintenance, name: str, template: str | None = None) -> None:
    maintenance.execute(f"DROP DATABASE IF EXISTS {quoted(name)}")
    clause = f" TEMPLATE {quoted(template)}" if template else ""
    maintenance.execute(f"CREATE DATABASE {quoted(name)}{clause}")


def prepare(name: str) -> tuple[str, str]:
    """The baseline's database (made if missing) and the template of the rounds (made once)."""
    template, rounds = f"{name}_tpl", f"{name}_round"
    with connect("postgres", autocommit=True) as maintenance:
        exists = "SELECT 1 FROM pg_database WHERE datname = %s"
        if not maintenance.execute(exists, [name]).fetchone():
            maintenance.execute(f"CREATE DATABASE {quoted(name)}")
        if not maintenance.execute(exists, [template]).fetchone():
            recreate(maintenance, template)
            env = {**os.environ, "DATABASE_URL": database_url(template)}
            for command in (["migrate", "-v0"], ["load_municipalities", "-v0"]):
                subprocess.run(  # noqa: S603  (our own manage.py)
                    [sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True
                )
            print(f"made the template {template}")
    return template, rounds


def database_url(name: str) -> str:
    url = os.environ["DATABASE_URL"]
    return url[: url.rindex("/") + 1] + name


def baseline_text(rows: int, seed: int) -> list[str]:
    """``rows`` registration-like rows as COPY text, in chunks of about 8 MB."""
    rng = random.Random(seed)
    rand = rng.random
    codes = [f"{10000 + int(rand() * 470000):06d}" for _ in range(1741)]
    origins = ["birthplace", "lived", "family", "visits", "furusato_nozei", "other"]
    start = 1_670_000_000
    chunks, lines, size = [], [], 0
    for i in range(1, rows + 1):
        t = start + int(rand() * 94_000_000)
        second = t % 86400
        stamp = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(t))
        line = (
            f"{i}\t{1 + i * 2 // 5}\t{codes[int(rand() * 1741)]}\t{codes[int(rand() * 1741)]}"
            f"\t{1 + int(rand() * 63)}\t{origins[int(rand() * 6)]}\tactive\t{stamp}\tbasic"
            f"\t{'t' if rand() < 0.6 else 'f'}\t{'t' if rand() < 0.3 else 'f'}"
            f"\t{'t' if rand() < 0.5 else 'f'}\t1"
            f"\t{time.strftime('%Y-%m-%d', time.gmtime(t)) if second % 3 else chr(92) + 'N'}\n"
        )
        lines.append(line)
        size += len(line)
        if size > 8_000_000:
            chunks.append("".join(lines))
            lines, size = [], 0
    chunks.append("".join(lines))
    return chunks


def baseline_round(name: str, chunks: list[str], rows: int) -> float:
    """Rows per second of the raw COPY into a fresh table with two B-tree indexes."""
    with connect(name) as conn:
        conn.execute(BASELINE_DDL)
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY {BASELINE_TABLE} FROM STDIN") as copy:
            for chunk in chunks:
                copy.write(chunk)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {BASELINE_TABLE}")
        conn.commit()
    return rows / seconds


def generator_round(
    template: str, rounds: str, people: int, seed: int, repo: Path = REPO
) -> tuple[float, str]:
    """Rows per second of ``generate_population`` into a fresh database (its own figure),
    by the code in ``repo`` (this checkout, or another one to compare with)."""
    with connect("postgres", autocommit=True) as maintenance:
        recreate(maintenance, rounds, template)
    env = {**os.environ, "DATABASE_URL": database_url(rounds), "FURUSATO_DEMO_CONTENT_ALLOWED": "1"}
    done = subprocess.run(  # noqa: S603  (our own manage.py)
        [sys.executable, "manage.py", "generate_population", "--people", str(people),
         "--seed", str(seed), "-v0"],
        cwd=repo, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    line = done.stdout.strip()
    match = SUMMARY.search(line)
    if not match:
        raise SystemExit(f"unexpected output: {line!r}")
    rows, seconds = int(match[1].replace(",", "")), float(match[2])
    return rows / seconds, line


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the last round's database")
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="another checkout (e.g. `git archive` of an older commit) whose generator runs "
        "in each round too, as a third figure",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    if not name.endswith("_bench"):
        raise SystemExit(f"This benchmark drops and creates databases: refused for {name!r}.")
    template, rounds = prepare(name)
    with connect(name) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings_ = {
            key: conn.execute(f"SHOW {key}").fetchone()[0]
            for key in ("shared_buffers", "max_wal_size", "synchronous_commit", "wal_level")
        }
    print(f"PostgreSQL {version} {settings_}; {os.cpu_count()} CPUs")
    chunks = baseline_text(args.baseline_rows, args.seed)
    print(f"baseline rows rendered: {args.baseline_rows:,} ({sum(map(len, chunks)) / 1e6:,.0f} MB)")

    baselines, generated, ratios, others = [], [], [], []
    for number in range(args.rounds):
        order = ["baseline", "generator"] + (["compared"] if args.compare_with else [])
        if number % 2:
            order.reverse()
        figures = {}
        for which in order:
            before = load()
            if which == "baseline":
                figures[which] = baseline_round(name, chunks, args.baseline_rows)
                detail = f"COPY {args.baseline_rows:,} rows"
            else:
                figures[which], detail = generator_round(
                    template,
                    rounds,
                    args.people,
                    args.seed,
                    args.compare_with if which == "compared" else REPO,
                )
            print(
                f"round {number + 1} {which:<9} {figures[which]:>10,.0f} rows/s  "
                f"(load {before} → {load()}) {detail}",
                flush=True,
            )
        baselines.append(figures["baseline"])
        generated.append(figures["generator"])
        ratios.append(figures["generator"] / figures["baseline"])
        print(f"round {number + 1} ratio {ratios[-1]:.2f}", flush=True)
        if args.compare_with:
            others.append(figures["compared"] / figures["baseline"])
            print(f"round {number + 1} ratio of {args.compare_with}: {others[-1]:.2f}", flush=True)

    def spread(values: list[float], fmt: str) -> str:
        return (
            f"median {format(statistics.median(values), fmt)} "
            f"(range {format(min(values), fmt)}–{format(max(values), fmt)})"
        )

    print(f"\nbaseline raw COPY, two B-tree indexes: {spread(baselines, ',.0f')} rows/s")
    print(f"generate_population --people {args.people:,}: {spread(generated, ',.0f')} rows/s")
    print(f"ratio per round: {spread(ratios, '.2f')}; target at least 0.6")
    if others:
        print(f"ratio per round of {args.compare_with}: {spread(others, '.2f')}")
    if not args.keep:
        with connect("postgres", autocommit=True) as maintenance:
            maintenance.execute(f"DROP DATABASE IF EXISTS {quoted(rounds)}")


if __name__ == "__main__":
    main()
