"""Generate people and registrations whose shares follow the MLIT 2023 survey (benchmarks,
tests, demos; refused where demo content is not allowed)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import connection
from tqdm import tqdm

from accounts.models import User
from demo.population import (
    DEFAULT_REGISTRATIONS_PER_PERSON,
    PopulationRefused,
    population_generate,
    population_present,
)
from registry.models import PrefectureRegistration, Profile, Registration, RegistrationEvent


class _BarOutput:
    """The command's stderr for tqdm, which redraws its line with "\r" (OutputWrapper would
    end every write with a newline)."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()


class Command(BaseCommand):
    help = (
        "Add N generated people (pop-{seed}-{n}@population.invalid) with their registrations, "
        "following the MLIT 2023 survey's shares. Appends; a seed is used once. Refused where "
        "FURUSATO_DEMO_CONTENT_ALLOWED is off. Needs the municipalities (load_municipalities)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, required=True, help="How many people.")
        parser.add_argument(
            "--seed", type=int, required=True, help="Random seed (0 or more; once per database)."
        )
        parser.add_argument(
            "--registrations-per-person",
            type=float,
            default=DEFAULT_REGISTRATIONS_PER_PERSON,
            help="Mean registrations per person (1 + Poisson, at most 12; "
            f"default {DEFAULT_REGISTRATIONS_PER_PERSON}).",
        )
        parser.add_argument(
            "--batch", type=int, default=50_000, help="People per transaction (default 50000)."
        )
        parser.add_argument(
            "--unless-present",
            action="store_true",
            help="Do nothing if this seed's people exist already (for repeated set-ups).",
        )
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=None,
            help="Reference day YYYY-MM-DD (default today): registrations fall in the 3 "
            "years before it. The same seed and day give the same rows.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError(
                "Generated people are not allowed here (FURUSATO_DEMO_CONTENT_ALLOWED is off)."
            )
        people = options["people"]
        if options["unless_present"] and population_present(seed=options["seed"]):
            self.stdout.write(f"The people of seed {options['seed']} are there already.")
            return
        with tqdm(
            total=people,
            unit=" people",
            unit_scale=True,
            file=_BarOutput(self.stderr),
            disable=options["verbosity"] < 1,
            dynamic_ncols=True,
            delay=0.5,  # a refusal shows no bar
        ) as bar:
            try:
                result = population_generate(
                    people=people,
                    seed=options["seed"],
                    registrations_per_person=options["registrations_per_person"],
                    batch=options["batch"],
                    as_of=options["as_of"],
                    progress=bar.update,
                )
            except PopulationRefused as exc:
                raise CommandError(str(exc)) from exc
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner after a bulk load (autovacuum would be late).
            with connection.cursor() as cursor:
                for model in (
                    User,
                    Profile,
                    Registration,
                    PrefectureRegistration,
                    RegistrationEvent,
                ):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        seconds = result.seconds
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.people:,} people, {result.registrations:,} registrations, "
                f"{result.prefecture_registrations:,} prefecture registrations "
                f"({result.rows:,} rows with profiles and events) in {seconds:.1f} s: "
                f"{result.rows / seconds:,.0f} rows/s"
                + (
                    f" ({result.index_seconds:.1f} s of it building indexes and foreign keys)."
                    if result.index_seconds
                    else "."
                )
            )
        )
