"""Generate a board (tasks, sessions, sign-ups of generated people) for benchmarks, tests and
demos; refused where demo content is not allowed."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from demo.population import BoardRefused, board_generate
from matching.models import Session, Signup, Task


class Command(BaseCommand):
    help = (
        "Add N generated tasks over the municipalities, with their sessions and sign-ups of "
        "the generated people (generate_population first). Every description says it is "
        "generated; a seed is used once. Refused where FURUSATO_DEMO_CONTENT_ALLOWED is off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tasks", type=int, required=True, help="How many tasks.")
        parser.add_argument(
            "--sessions-per-task",
            type=float,
            default=3,
            help="Mean sessions per task (each has 1 … 2·mean − 1; default 3).",
        )
        parser.add_argument(
            "--signups",
            type=int,
            default=0,
            help="How many sign-ups, about (by the generated people; default none).",
        )
        parser.add_argument(
            "--seed", type=int, required=True, help="Random seed (0 or more; once per database)."
        )
        parser.add_argument(
            "--batch", type=int, default=10_000, help="Tasks per transaction (default 10000)."
        )
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=None,
            help="Reference day YYYY-MM-DD (default today): tasks fall from a year before "
            "it to six months after. The same seed and day give the same rows.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError(
                "Generated tasks are not allowed here (FURUSATO_DEMO_CONTENT_ALLOWED is off)."
            )
        verbose = options["verbosity"] >= 1

        def progress(phase: str, count: int) -> None:
            if verbose:
                self.stderr.write(f"{phase}: +{count:,}")

        try:
            result = board_generate(
                tasks=options["tasks"],
                sessions_per_task=options["sessions_per_task"],
                signups=options["signups"],
                seed=options["seed"],
                batch=options["batch"],
                as_of=options["as_of"],
                progress=progress,
            )
        except BoardRefused as exc:
            raise CommandError(str(exc)) from exc
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner after a bulk load (autovacuum would be late).
            with connection.cursor() as cursor:
                for model in (Task, Session, Signup):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.tasks:,} tasks, {result.sessions:,} sessions, "
                f"{result.signups:,} sign-ups in {result.seconds:.1f} s: "
                f"{result.rows / result.seconds:,.0f} rows/s."
            )
        )
