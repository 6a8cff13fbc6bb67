"""A synthetic population of furusato residents whose shares follow the MLIT 2023 survey.

``population_generate`` makes people (accounts, profiles) with their registrations, the
prefecture registrations these bring and the "registered" event of each, as
``services.registration_create`` would have written them, for tests (thousands) and
benchmarks (millions). It is deterministic: with the same municipalities, the same seed,
mean and reference day give the same people in the same order, whatever the size of the
batches or of the run (ids apart, which come from the tables' sequences). Rows are drawn
straight into COPY text. On PostgreSQL it writes them with COPY: into a new database in one
transaction, the indexes and foreign keys built after the load (``core.bulk``), else a
transaction per batch; elsewhere (the embedded SQLite) with ``bulk_create``, for small sizes.

Generated people have e-mail addresses ``pop-{seed}-{n}@population.invalid`` (a reserved
domain: no mail can ever reach anyone) and an unusable password; a seed is used once.
Their addresses are written as verified (allauth's ``EmailAddress``), as if confirmed: the
published statistics count only people with a verified address (``insights``), and the
demo's and the benchmarks' published figures are of these people.

The target figures and the assumptions are in ``survey``; ``shares.population_shares``
measures the shares back from the raw rows, in SQL, for the tests and
``bench/registry_bench.py``.
"""

from __future__ import annotations

import datetime
import gc
import json
import math
import queue
import random
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core.bulk import BulkWriter, DeferredIndexes, table_empty
from places.models import Municipality
from registry import flags
from registry.models import (
    AGE_OF_MAJORITY,
    CONSENT_FIELDS,
    VISITING_MASK,
    Category,
    EventKind,
    Language,
    Month,
    PrefectureRegistration,
    Profile,
    Registration,
    RegistrationEvent,
    RelationshipType,
    Skill,
    Status,
    Tier,
)

from .choice import Choice
from .survey import (
    ACTIVITY_RATES,
    AGE_BANDS,
    AVAILABLE_DAYS_WEIGHTS,
    CAPITAL,
    CAPITAL_POPULATION_SHARE,
    CAPITAL_PREFECTURES,
    CONSENT_RATES,
    DEFAULT_REGISTRATIONS_PER_PERSON,
    EMAIL_DOMAIN,
    ENGLISH_SHARE,
    FAMILY_NAMES,
    GENDER_WEIGHTS,
    GIVEN_NAMES,
    KIND_WEIGHTS,
    NON_VISITING_TOO,
    ORIGIN_WEIGHTS,
    OTHER,
    OTHER_LANGUAGE_SHARE,
    PREMIUM_SHARE,
    REGISTRATIONS_CAP,
    SPREAD_DAYS,
    SURVEY_FLOWS,
    SURVEY_PEOPLE_BY_CLASS,
    email_prefix,
)

# =========================================================================================
# Generation
# =========================================================================================


class PopulationRefused(Exception):
    """Nothing was written: the reason is in the message."""


@dataclass
class PopulationResult:
    people: int = 0
    registrations: int = 0
    prefecture_registrations: int = 0
    seconds: float = 0.0
    # Of ``seconds``, building the indexes and foreign keys again after a load into empty
    # tables (0 when there was none).
    index_seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Every row written: users, their addresses and profiles, registrations, their
        events, prefectures."""
        return 3 * self.people + 2 * self.registrations + self.prefecture_registrations


USER_COLUMNS = (
    "id",
    "password",
    "is_superuser",
    "email",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "is_active",
    "is_staff",
    "date_joined",
)
PROFILE_COLUMNS = (
    "user_id",
    "home_municipality_id",
    "birth_year",
    "gender",
    "interests",
    "skills",
    "available_days",
    "available_months",
    "languages",
    "updated_at",
)
REGISTRATION_COLUMNS = (
    "id",
    "person_id",
    "municipality_id",
    "home_municipality_id",
    "types",
    "origin",
    "status",
    "registered_at",
    "tier",
    "premium_since",
    "premium_until",
    *CONSENT_FIELDS,
    "guardian_name",
    "guardian_consented_at",
    "card_serial",
    "last_activity_on",
)
PREFECTURE_REGISTRATION_COLUMNS = ("id", "person_id", "prefecture_id", "status", "registered_at")
EVENT_COLUMNS = ("id", "registration_id", "kind", "at", "actor_id", "detail")
EMAIL_COLUMNS = ("id", "user_id", "email", "verified", "primary")


@dataclass
class _Batch:
    """A batch's rows as COPY text (``BulkWriter.write_text``), their ids in place."""

    people: int
    users: str
    emails: str
    profiles: str
    registrations: str
    prefecture_registrations: str
    events: str
    registration_count: int
    prefecture_registration_count: int


_Reserve = Callable[[list[tuple[type, int]]], list[int]]


def _one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class _Memo(dict):
    """A dict that computes a missing value once."""

    def __init__(self, compute: Callable) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self[key] = self.compute(key)
        return value


class _Generator:
    """Draws people one after another from one ``random.Random(seed)``: the stream, and so
    the rows, do not depend on the batch size. Written for speed (a million people)."""

    def __init__(self, *, seed: int, registrations_per_person: float, as_of: datetime.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (synthetic data, not secrets)
        self.prefix = email_prefix(seed)
        # 1 + Poisson(mean − 1) by Knuth's product of uniforms.
        self.poisson_limit = math.exp(-(registrations_per_person - 1))
        self.as_of = as_of
        # Midnight at the start of the reference day, local time: every registration is
        # before it. Asia/Tokyo has no daylight saving, so one offset turns instants into
        # local dates.
        anchor = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time()))
        self.anchor = int(anchor.timestamp())
        self.offset = int(anchor.utcoffset().total_seconds())

        places = list(
            Municipality.objects.order_by("code").values_list("code", "prefecture_id", "kind")
        )
        if not places:
            raise PopulationRefused(
                "No municipalities: load them first (manage.py load_municipalities)."
            )
        self.codes = [code for code, _, _ in places]
        self.prefectures = [prefecture for _, prefecture, _ in places]
        self.places: dict[str | None, Choice] = {
            area: Choice(
                (i, KIND_WEIGHTS[kind])
                for i, (_, prefecture, kind) in enumerate(places)
                if area is None or (prefecture in CAPITAL_PREFECTURES) == (area == CAPITAL)
            )
            for area in (CAPITAL, OTHER, None)  # None: anywhere
        }
        # A class's index is its bit position: the survey's order is RelationshipType's.
        if list(SURVEY_PEOPLE_BY_CLASS) != RelationshipType.values:
            raise RuntimeError("SURVEY_PEOPLE_BY_CLASS must list RelationshipType in order.")
        self.classes = Choice((i, n) for i, n in enumerate(SURVEY_PEOPLE_BY_CLASS.values()))
        self.non_visiting = RelationshipType.values.index(RelationshipType.NON_VISITING)
        self.flows = Choice(SURVEY_FLOWS)
        # Plain strings (not the choices' enums), to be written into the rows' text as they are.
        self.origins = {
            visiting: Choice((str(origin.value), p) for origin, p in weights.items())
            for visiting, weights in ORIGIN_WEIGHTS.items()
        }
        self.consent_rates = tuple(CONSENT_RATES[name] for name in CONSENT_FIELDS)
        self.activity_rates = [ACTIVITY_RATES[kind] for kind in SURVEY_PEOPLE_BY_CLASS]
        self.ages = Choice(((low, high), weight) for low, high, weight in AGE_BANDS)
        self.genders = Choice((str(getattr(g, "value", g)), p) for g, p in GENDER_WEIGHTS.items())
        self.days = Choice(AVAILABLE_DAYS_WEIGHTS)
        self.premium_limit = settings.REGISTRY_PREMIUM_LIMIT
        self.details: dict[tuple, tuple[str, str]] = {}
        # Text of days and times, made once: a UTC day (days since 1970) as "YYYY-MM-DD ",
        # a second of the day as "HH:MM:SS+00"; a local day (ordinal) as its year and as
        # "YYYY-MM-DD".
        epoch = datetime.date(1970, 1, 1).toordinal()
        self.utc_days = _Memo(lambda day: f"{datetime.date.fromordinal(day + epoch)} ")
        self.clock = [
            f"{h:02d}:{m:02d}:{s:02d}+00" for h in range(24) for m in range(60) for s in range(60)
        ]
        self.local_years = _Memo(lambda day: datetime.date.fromordinal(day).year)
        self.local_days = _Memo(lambda day: datetime.date.fromordinal(day).isoformat())

    def _detail(
        self, consent: tuple[bool, ...], types: int, origin: str, minor: bool
    ) -> tuple[str, str]:
        """The consent columns' text, and the event's detail as ``registration_create``
        writes it (memoised: few kinds)."""
        key = (consent, types, origin, minor)
        texts = self.details.get(key)
        if texts is None:
            texts = self.details[key] = (
                "\t".join("t" if given else "f" for given in consent),
                json.dumps(
                    {
                        "consent": dict(zip(CONSENT_FIELDS, consent, strict=True)),
                        "types": types,
                        "origin": origin,
                        "minor": minor,
                    }
                ),
            )
        return texts

    def batch(self, first: int, count: int, reserve: _Reserve) -> _Batch:
        """People number ``first`` … ``first + count - 1`` (1-based) and all their rows, as
        COPY text with their ids, taken from ``reserve`` (``BulkWriter.reserve``).

        Values go straight into the text of their row: no row objects, no ``datetime``
        (timestamps are whole seconds, written in UTC from cached day and clock strings).
        """
        rng = self.rng
        rand, getrandbits = rng.random, rng.getrandbits
        codes, prefectures = self.codes, self.prefectures
        utc_days, clock = self.utc_days, self.clock
        local_years, local_days = self.local_years, self.local_days
        fromordinal = datetime.date.fromordinal
        epoch = datetime.date(1970, 1, 1).toordinal()
        anchor, offset, spread = self.anchor, self.offset, SPREAD_DAYS * 86400
        as_of_ordinal = self.as_of.toordinal()
        premium_floor = as_of_ordinal - 364  # a term that started since is still running
        this_year = self.as_of.year
        classes, flows, ages = self.classes, self.flows, self.ages
        genders, days_choice = self.genders, self.days
        non_visiting = self.non_visiting
        non_visiting_bit = 1 << non_visiting
        r_name, r_contact, r_age, r_skills, r_announce = self.consent_rates
        poisson_limit = self.poisson_limit
        detail_of = self._detail
        n_categories, n_skills, n_months = len(Category), len(Skill), len(Month)
        n_other_languages = len(Language) - 2
        japanese, english = flags.bit(Language, Language.JA), flags.bit(Language, Language.EN)
        family_names, n_family = FAMILY_NAMES, len(FAMILY_NAMES)
        parents = GIVEN_NAMES[""]
        active, basic, premium = Status.ACTIVE.value, Tier.BASIC.value, Tier.PREMIUM.value
        registered = EventKind.REGISTERED.value
        null = r"\N"
        prefix, domain = self.prefix, EMAIL_DOMAIN
        first_user, first_email = reserve([(User, count), (EmailAddress, count)])
        users: list[str] = []
        emails: list[str] = []
        profiles: list[str] = []
        # Registrations, their events and prefectures get their ids once they are counted:
        # these are their lines without the leading id(s).
        registrations: list[str] = []
        events: list[str] = []
        prefecture_rows: list[str] = []

        for local in range(count):
            person = first_user + local
            # The class (deepest type), where the person lives, where their ties are.
            c = classes.values[bisect_right(classes.cumulative, rand(), 0, classes.last)]
            visiting = c != non_visiting
            if visiting:
                home_area, tie_area = flows.values[
                    bisect_right(flows.cumulative, rand(), 0, flows.last)
                ]
            else:
                home_area = CAPITAL if rand() < CAPITAL_POPULATION_SHARE else OTHER
                tie_area = None
            pool = self.places[home_area]
            home = pool.values[bisect_right(pool.cumulative, rand(), 0, pool.last)]
            home_code = codes[home]

            # How many places (1 + Poisson), and which: distinct, never home.
            k, product = 1, rand()
            while product > poisson_limit and k < REGISTRATIONS_CAP:
                k += 1
                product *= rand()
            pool = self.places[tie_area]
            values, cumulative, last = pool.values, pool.cumulative, pool.last
            places: list[int] = []
            while len(places) < k:
                place = values[bisect_right(cumulative, rand(), 0, last)]
                if place != home and place not in places:
                    places.append(place)

            # When: the first registration, then the others, all before the anchor.
            start = anchor - 1 - int(rand() * spread)
            times = sorted([start + int(rand() * (anchor - start)) for _ in range(k - 1)])
            times.insert(0, start)

            # The person.
            gender = genders.values[bisect_right(genders.cumulative, rand(), 0, genders.last)]
            family, family_kana = family_names[int(rand() * n_family)]
            given_names = GIVEN_NAMES[gender]
            given, given_kana = given_names[int(rand() * len(given_names))]
            low, high = ages.values[bisect_right(ages.cumulative, rand(), 0, ages.last)]
            age = low + int(rand() * (high - low + 1))
            birth_year = this_year - age
            guardian = ""
            first_year = local_years[(start + offset) // 86400 + epoch]
            if first_year - birth_year <= AGE_OF_MAJORITY:  # a guardian consented then
                guardian = f"{family} {parents[int(rand() * len(parents))][0]}"
            day, second = divmod(start - 600 - int(rand() * 3 * 86400), 86400)
            joined = utc_days[day] + clock[second]
            interests = getrandbits(n_categories) & getrandbits(n_categories)
            if not interests:
                interests = 1 << int(rand() * n_categories)
            languages = japanese
            if rand() < ENGLISH_SHARE:
                languages |= english
            if rand() < OTHER_LANGUAGE_SHARE:
                languages |= 1 << (2 + int(rand() * n_other_languages))
            email = f"{prefix}{first + local}@{domain}"
            # USER_COLUMNS; the password "!" is unusable: generated people cannot sign in.
            users.append(
                f"{person}\t!\tf\t{email}\t{family}\t{given}\t{family_kana}\t{given_kana}"
                f"\tt\tf\t{joined}\n"
            )
            emails.append(f"{first_email + local}\t{person}\t{email}\tt\tt\n")  # EMAIL_COLUMNS
            skills = getrandbits(n_skills) & getrandbits(n_skills) & getrandbits(n_skills)
            available_days = days_choice.values[
                bisect_right(days_choice.cumulative, rand(), 0, days_choice.last)
            ]
            months = getrandbits(n_months) | getrandbits(n_months)
            profiles.append(  # PROFILE_COLUMNS
                f"{person}\t{home_code}\t{birth_year}\t{gender}\t{interests}\t{skills}"
                f"\t{available_days}\t{months}\t{languages}\t{joined}\n"
            )

            # The registrations, each with its "registered" event; then the prefectures.
            origins = self.origins[visiting]
            deepest_at = int(rand() * k)
            activity_rate = self.activity_rates[c]
            premium_at: tuple[int, ...] = ()
            if age > AGE_OF_MAJORITY and rand() < PREMIUM_SHARE:
                premium_at = tuple(
                    rng.sample(range(k), min(k, 1 + int(rand() * self.premium_limit)))
                )
            first_in_prefecture: dict[str, str] = {}
            for j in range(k):
                if visiting:
                    d = c if j == deepest_at else c + int(rand() * (non_visiting - c))
                    types = 1 << d
                    shallower = VISITING_MASK & -(types << 1)  # the bits after d
                    types |= shallower & getrandbits(5) & getrandbits(5) & getrandbits(5)
                    if rand() < NON_VISITING_TOO:
                        types |= non_visiting_bit
                else:
                    types = non_visiting_bit
                origin = origins.values[bisect_right(origins.cumulative, rand(), 0, origins.last)]
                consent = (
                    rand() < r_name,
                    rand() < r_contact,
                    rand() < r_age,
                    rand() < r_skills,
                    rand() < r_announce,
                )
                seconds = times[j]
                utc_day, second = divmod(seconds, 86400)
                at = utc_days[utc_day] + clock[second]
                day = (seconds + offset) // 86400 + epoch
                # As registration_create decides it, on the day of the registration.
                minor = local_years[day] - birth_year <= AGE_OF_MAJORITY
                last_activity = null
                if rand() < activity_rate:
                    last_activity = local_days[day + int(rand() * (as_of_ordinal - day))]
                tier, since, until = basic, null, null
                if j in premium_at:
                    low_day = max(day, premium_floor)
                    since_day = low_day + int(rand() * (as_of_ordinal - low_day + 1))
                    since = local_days[since_day]
                    until = _one_year_after(fromordinal(since_day)).isoformat()
                    tier = premium
                place = places[j]
                first_in_prefecture.setdefault(prefectures[place], at)
                consent_text, detail = detail_of(consent, types, origin, minor)
                registrations.append(  # REGISTRATION_COLUMNS, after the id
                    f"{person}\t{codes[place]}\t{home_code}\t{types}\t{origin}\t{active}\t{at}"
                    f"\t{tier}\t{since}\t{until}\t{consent_text}"
                    f"\t{guardian if minor else ''}\t{at if minor else null}\t1"
                    f"\t{last_activity}\n"
                )
                events.append(f"\t{registered}\t{at}\t{person}\t{detail}\n")  # EVENT_COLUMNS
            for prefecture, at in first_in_prefecture.items():
                prefecture_rows.append(f"\t{person}\t{prefecture}\t{active}\t{at}\n")

        first_registration, first_prefecture, first_event = reserve(
            [
                (Registration, len(registrations)),
                (PrefectureRegistration, len(prefecture_rows)),
                (RegistrationEvent, len(events)),
            ]
        )
        return _Batch(
            people=count,
            users="".join(users),
            emails="".join(emails),
            profiles="".join(profiles),
            registrations="".join(
                [f"{first_registration + i}\t{line}" for i, line in enumerate(registrations)]
            ),
            # One event per registration, in the same order.
            events="".join(
                [
                    f"{first_event + i}\t{first_registration + i}{line}"
                    for i, line in enumerate(events)
                ]
            ),
            prefecture_registrations="".join(
                [f"{first_prefecture + i}{line}" for i, line in enumerate(prefecture_rows)]
            ),
            registration_count=len(registrations),
            prefecture_registration_count=len(prefecture_rows),
        )


# --- Writing -----------------------------------------------------------------------------

# The tables a population is written into, in the order of their rows' references.
TABLES = (User, EmailAddress, Profile, Registration, PrefectureRegistration, RegistrationEvent)


def _write_batch(writer: BulkWriter, batch: _Batch) -> None:
    """One COPY per table, in the caller's transaction."""
    writer.write_text(User, USER_COLUMNS, batch.users)
    writer.write_text(EmailAddress, EMAIL_COLUMNS, batch.emails)
    writer.write_text(Profile, PROFILE_COLUMNS, batch.profiles)
    writer.write_text(Registration, REGISTRATION_COLUMNS, batch.registrations)
    writer.write_text(
        PrefectureRegistration, PREFECTURE_REGISTRATION_COLUMNS, batch.prefecture_registrations
    )
    writer.write_text(RegistrationEvent, EVENT_COLUMNS, batch.events)


def population_present(*, seed: int) -> bool:
    """Whether the people of this seed were generated in this database already."""
    prefix = email_prefix(seed)
    return User.objects.filter(
        email__startswith=prefix, email__endswith=f"@{EMAIL_DOMAIN}"
    ).exists()


def population_generate(
    *,
    people: int,
    seed: int,
    registrations_per_person: float = DEFAULT_REGISTRATIONS_PER_PERSON,
    batch: int = 50_000,
    as_of: datetime.date | None = None,
    use_copy: bool = True,
    writers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> PopulationResult:
    """Write ``people`` generated people with their registrations; see the module docstring.

    ``as_of`` is the reference day (today by default): registrations fall in the
    ``SPREAD_DAYS`` before it. ``use_copy=False`` forces ``bulk_create`` on PostgreSQL too.
    ``progress`` is called with the number of people of each batch once it is written.

    This thread draws the rows of a batch as COPY text while a writer thread sends the
    previous one. Outside a transaction, on PostgreSQL:

    - if one of the tables is empty (a new database), everything is ONE transaction: the
      empty tables' secondary indexes and foreign keys are dropped first and built again
      over the loaded rows at the end (``core.bulk.DeferredIndexes``), so the load costs no
      index insertion and no per-row foreign-key check; a failure rolls all of it back;
    - otherwise each batch is a transaction of its own, written by ``writers`` threads with
      a connection each (one backend checks a batch's foreign keys at its commit while
      another receives the next); batches may commit out of order and, should one fail,
      the ones committed stay (and the seed is taken).

    Inside a transaction (tests), or on SQLite, everything is written in order, in it.
    """
    if people < 1:
        raise PopulationRefused("The number of people must be at least 1.")
    if seed < 0:
        raise PopulationRefused("The seed must be 0 or more.")
    if not 1 <= registrations_per_person <= REGISTRATIONS_CAP:
        raise PopulationRefused(
            f"Registrations per person must be between 1 and {REGISTRATIONS_CAP}."
        )
    if batch < 1 or writers < 1:
        raise PopulationRefused("The batch size and the number of writers must be at least 1.")
    prefix = email_prefix(seed)
    if population_present(seed=seed):
        raise PopulationRefused(
            f"People of seed {seed} exist already ({prefix}…@{EMAIL_DOMAIN}): choose another seed."
        )
    started = time.perf_counter()
    generator = _Generator(
        seed=seed,
        registrations_per_person=registrations_per_person,
        as_of=as_of or timezone.localdate(),
    )
    writer = BulkWriter(use_copy=use_copy)
    # The sequences' names, looked up before any table is locked (a profile's id is its user's).
    writer.prepare([model for model in TABLES if model is not Profile])
    result = PopulationResult()
    counting = threading.Lock()

    def counted(rows: _Batch) -> None:
        with counting:
            result.people += rows.people
            result.registrations += rows.registration_count
            result.prefecture_registrations += rows.prefecture_registration_count
            if progress is not None:
                progress(rows.people)

    def batches() -> Iterator[_Batch]:
        for first in range(1, people + 1, batch):
            yield generator.batch(first, min(batch, people + 1 - first), writer.reserve)

    def write(rows: _Batch) -> None:
        with transaction.atomic():
            _write_batch(writer, rows)
        counted(rows)

    # The rows hold no reference cycles: without the collector's passes over millions of
    # young objects, generating is twice as fast. Each batch is freed by reference counting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not writer.use_copy or connection.in_atomic_block:
            for rows in batches():
                write(rows)
        elif any(table_empty(model) for model in TABLES):
            one = _OneTransaction(writer, counted)
            _write_in_threads(batches(), one, 1)
            result.index_seconds = one.index_seconds
        else:
            _write_in_threads(batches(), write, writers)
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - started
    return result


class _OneTransaction:
    """The writer of a load in one transaction (one thread): opened at the first batch,
    with the empty tables' indexes and foreign keys dropped; built again and committed at
    ``finish``, rolled back by ``abort``."""

    def __init__(self, writer: BulkWriter, counted: Callable[[_Batch], None]) -> None:
        self.writer, self.counted = writer, counted
        self.atomic: transaction.Atomic | None = None
        self.deferred: DeferredIndexes | None = None
        self.index_seconds = 0.0

    def __call__(self, rows: _Batch) -> None:
        if self.atomic is None:
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.deferred = DeferredIndexes(TABLES)
        _write_batch(self.writer, rows)
        self.counted(rows)

    def finish(self) -> None:
        if self.atomic is not None:
            started = time.perf_counter()
            try:
                self.deferred.restore()
            except BaseException as exc:
                self.abort(exc)
                raise
            atomic, self.atomic = self.atomic, None
            atomic.__exit__(None, None, None)  # the commit (rolls back if it fails)
            self.index_seconds = time.perf_counter() - started

    def abort(self, exc: BaseException) -> None:
        atomic, self.atomic = self.atomic, None
        if atomic is not None:
            atomic.__exit__(type(exc), exc, exc.__traceback__)


def _write_in_threads(
    batches: Iterator[_Batch], write: Callable[[_Batch], None], writers: int
) -> None:
    """Hand batches to ``writers`` threads; at most ``writers + 2`` batches are in memory.
    A ``write`` with ``finish`` and ``abort`` (``_OneTransaction``) has it called by its
    thread once every batch is written, or on a failure anywhere."""
    pending: queue.Queue = queue.Queue(maxsize=1)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while (item := pending.get()) is not None:
                if not errors:  # after a failure, only drain the queue
                    try:
                        write(item)
                    except BaseException as exc:
                        errors.append(exc)
                del item
            if hasattr(write, "finish"):
                if errors:
                    write.abort(errors[0])
                else:
                    try:
                        write.finish()  # rolls back itself on a failure
                    except BaseException as exc:
                        errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"population-writer-{i}") for i in range(writers)]
    for thread in threads:
        thread.start()
    try:
        for item in batches:
            if errors:
                break
            pending.put(item)
            del item
    except BaseException as exc:
        errors.append(exc)  # the writers roll back what they hold
        raise
    finally:
        for _ in threads:
            pending.put(None)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
