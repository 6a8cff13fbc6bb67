"""A synthetic population of furusato residents whose shares follow the MLIT 2023 survey.

``population_generate`` makes people (accounts, profiles) with their registrations, the
prefecture registrations these bring and the "registered" event of each, as
``services.registration_create`` would have written them, for tests (thousands) and
benchmarks (millions). It is deterministic: with the same municipalities, the same seed,
mean and reference day give the same people in the same order, whatever the size of the
batches or of the run (ids apart, which come from the tables' sequences). On PostgreSQL it
writes with COPY, a transaction per batch; elsewhere (the embedded SQLite) with
``bulk_create``, for small sizes.

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
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from core.bulk import BulkWriter
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
    # Rows without their ids yet: a person is their index in ``users``.
    users: list[list] = field(default_factory=list)
    profiles: list[list] = field(default_factory=list)
    registrations: list[list] = field(default_factory=list)
    prefecture_registrations: list[list] = field(default_factory=list)
    events: list[list] = field(default_factory=list)


def _one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


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
        self.origins = {visiting: Choice(w) for visiting, w in ORIGIN_WEIGHTS.items()}
        self.consent_rates = tuple(CONSENT_RATES[name] for name in CONSENT_FIELDS)
        self.activity_rates = [ACTIVITY_RATES[kind] for kind in SURVEY_PEOPLE_BY_CLASS]
        self.ages = Choice(((low, high), weight) for low, high, weight in AGE_BANDS)
        self.genders = Choice(GENDER_WEIGHTS)
        self.days = Choice(AVAILABLE_DAYS_WEIGHTS)
        self.premium_limit = settings.REGISTRY_PREMIUM_LIMIT
        self.details: dict[tuple, str] = {}

    def _detail(self, consent: tuple[bool, ...], types: int, origin: str, minor: bool) -> str:
        """The event's detail as ``registration_create`` writes it (memoised: few kinds)."""
        key = (consent, types, origin, minor)
        detail = self.details.get(key)
        if detail is None:
            detail = self.details[key] = json.dumps(
                {
                    "consent": dict(zip(CONSENT_FIELDS, consent, strict=True)),
                    "types": types,
                    "origin": origin,
                    "minor": minor,
                }
            )
        return detail

    def batch(self, first: int, count: int) -> _Batch:
        """People number ``first`` … ``first + count - 1`` (1-based) and all their rows.

        Rows reference people by their index in the batch; ``_write_batch`` adds the ids.
        """
        rng = self.rng
        rand, getrandbits = rng.random, rng.getrandbits
        codes, prefectures = self.codes, self.prefectures
        fromtimestamp, utc = datetime.datetime.fromtimestamp, datetime.UTC
        fromordinal = datetime.date.fromordinal
        epoch = datetime.date(1970, 1, 1).toordinal()
        anchor, offset, spread = self.anchor, self.offset, SPREAD_DAYS * 86400
        as_of_ordinal = self.as_of.toordinal()
        premium_floor = as_of_ordinal - 364  # a term that started since is still running
        this_year = self.as_of.year
        classes, flows, ages, genders, days_choice = (
            self.classes,
            self.flows,
            self.ages,
            self.genders,
            self.days,
        )
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
        active, basic, premium = Status.ACTIVE, Tier.BASIC, Tier.PREMIUM
        registered = EventKind.REGISTERED.value
        out = _Batch()
        users, profiles = out.users, out.profiles
        registrations, events = out.registrations, out.events
        prefecture_rows = out.prefecture_registrations

        for local in range(count):
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
            first_year = fromordinal((start + offset) // 86400 + epoch).year
            if first_year - birth_year <= AGE_OF_MAJORITY:  # a guardian consented then
                guardian = f"{family} {parents[int(rand() * len(parents))][0]}"
            joined = fromtimestamp(start - 600 - int(rand() * 3 * 86400), utc)
            interests = getrandbits(n_categories) & getrandbits(n_categories)
            if not interests:
                interests = 1 << int(rand() * n_categories)
            languages = japanese
            if rand() < ENGLISH_SHARE:
                languages |= english
            if rand() < OTHER_LANGUAGE_SHARE:
                languages |= 1 << (2 + int(rand() * n_other_languages))
            users.append(
                [
                    None,  # id
                    "!",  # unusable: generated people cannot sign in
                    False,
                    f"{self.prefix}{first + local}@{EMAIL_DOMAIN}",
                    family,
                    given,
                    family_kana,
                    given_kana,
                    True,
                    False,
                    joined,
                ]
            )
            profiles.append(
                [
                    local,  # user: replaced by the id
                    home_code,
                    birth_year,
                    gender,
                    interests,
                    getrandbits(n_skills) & getrandbits(n_skills) & getrandbits(n_skills),
                    days_choice.values[
                        bisect_right(days_choice.cumulative, rand(), 0, days_choice.last)
                    ],
                    getrandbits(n_months) | getrandbits(n_months),
                    languages,
                    joined,
                ]
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
            first_in_prefecture: dict[str, int] = {}
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
                at = fromtimestamp(seconds, utc)
                day = (seconds + offset) // 86400 + epoch
                # As registration_create decides it, on the day of the registration.
                minor = fromordinal(day).year - birth_year <= AGE_OF_MAJORITY
                last_activity = None
                if rand() < activity_rate:
                    last_activity = fromordinal(day + int(rand() * (as_of_ordinal - day)))
                tier, since, until = basic, None, None
                if j in premium_at:
                    low_day = max(day, premium_floor)
                    since = fromordinal(low_day + int(rand() * (as_of_ordinal - low_day + 1)))
                    until = _one_year_after(since)
                    tier = premium
                place = places[j]
                first_in_prefecture.setdefault(prefectures[place], seconds)
                registrations.append(
                    [
                        None,  # id
                        local,  # person: replaced by the id
                        codes[place],
                        home_code,
                        types,
                        origin,
                        active,
                        at,
                        tier,
                        since,
                        until,
                        *consent,
                        guardian if minor else "",
                        at if minor else None,
                        1,  # card_serial
                        last_activity,
                    ]
                )
                events.append(
                    [
                        None,  # id
                        None,  # registration: replaced by the id
                        registered,
                        at,
                        local,  # actor, the person: replaced by the id
                        detail_of(consent, types, origin, minor),
                    ]
                )
            for prefecture, seconds in first_in_prefecture.items():
                prefecture_rows.append(
                    [None, local, prefecture, active, fromtimestamp(seconds, utc)]
                )
        return out


# --- Writing -----------------------------------------------------------------------------


def _write_batch(writer: BulkWriter, batch: _Batch) -> None:
    first_user, first_email, first_registration, first_prefecture, first_event = writer.reserve(
        [
            (User, len(batch.users)),
            (EmailAddress, len(batch.users)),
            (Registration, len(batch.registrations)),
            (PrefectureRegistration, len(batch.prefecture_registrations)),
            (RegistrationEvent, len(batch.events)),
        ]
    )
    for i, row in enumerate(batch.users):
        row[0] = first_user + i
    # Each person's address, verified and primary (USER_COLUMNS: the id, then the e-mail 4th).
    emails = [[first_email + i, row[0], row[3], True, True] for i, row in enumerate(batch.users)]
    for row in batch.profiles:
        row[0] += first_user
    for i, row in enumerate(batch.registrations):
        row[0] = first_registration + i
        row[1] += first_user
    for i, row in enumerate(batch.prefecture_registrations):
        row[0] = first_prefecture + i
        row[1] += first_user
    for i, row in enumerate(batch.events):
        row[0] = first_event + i
        row[1] = first_registration + i  # one event per registration, in the same order
        row[4] += first_user
    with transaction.atomic():
        writer.write(User, USER_COLUMNS, batch.users)
        writer.write(EmailAddress, EMAIL_COLUMNS, emails)
        writer.write(Profile, PROFILE_COLUMNS, batch.profiles)
        writer.write(Registration, REGISTRATION_COLUMNS, batch.registrations)
        writer.write(
            PrefectureRegistration, PREFECTURE_REGISTRATION_COLUMNS, batch.prefecture_registrations
        )
        writer.write(RegistrationEvent, EVENT_COLUMNS, batch.events)


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
    ``progress`` is called with the number of people of each batch once it is committed.

    Each batch is one transaction. Outside a transaction, on PostgreSQL, ``writers``
    threads with a connection each write batches while this thread draws the next: on two
    cores, one backend checks the foreign keys of a batch at its commit while the other
    receives the next one by COPY. Batches may commit out of order; should one fail, the
    ones committed stay (and the seed is taken). Inside a transaction (tests) everything is
    written in it, in order.
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
    result = PopulationResult()
    counting = threading.Lock()

    def write(rows: _Batch, count: int) -> None:
        _write_batch(writer, rows)
        with counting:
            result.people += count
            result.registrations += len(rows.registrations)
            result.prefecture_registrations += len(rows.prefecture_registrations)
            if progress is not None:
                progress(count)

    def batches() -> Iterator[tuple[_Batch, int]]:
        for first in range(1, people + 1, batch):
            count = min(batch, people + 1 - first)
            yield generator.batch(first, count), count

    # The rows hold no reference cycles: without the collector's passes over millions of
    # young objects, generating is twice as fast. Each batch is freed by reference counting.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if writer.use_copy and not connection.in_atomic_block:
            _write_in_threads(batches(), write, writers)
        else:
            for rows, count in batches():
                write(rows, count)
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - started
    return result


def _write_in_threads(
    batches: Iterator[tuple[_Batch, int]], write: Callable[[_Batch, int], None], writers: int
) -> None:
    """Hand batches to ``writers`` threads; at most ``writers + 2`` batches are in memory."""
    pending: queue.Queue = queue.Queue(maxsize=1)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while (item := pending.get()) is not None:
                if not errors:  # after a failure, only drain the queue
                    try:
                        write(*item)
                    except BaseException as exc:
                        errors.append(exc)
                del item
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
    finally:
        for _ in threads:
            pending.put(None)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
