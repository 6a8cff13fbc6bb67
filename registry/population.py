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

``population_shares`` measures the shares back from the raw rows, in SQL, for the tests
and ``bench/registry_bench.py``.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from places.models import Municipality, MunicipalityKind

from . import flags
from .models import (
    AGE_OF_MAJORITY,
    CONSENT_FIELDS,
    VISITING_MASK,
    AvailableDays,
    Category,
    EventKind,
    Gender,
    Language,
    Month,
    PrefectureRegistration,
    Profile,
    Registration,
    RegistrationEvent,
    RelationshipType,
    Skill,
    Status,
    TieOrigin,
    Tier,
)

# =========================================================================================
# The survey, and every assumption made where it is silent: ALL target figures live here.
# =========================================================================================
#
# Source: 国土交通省「関係人口の実態把握」令和5年度（2023年度）調査, as issue 3 quotes it.
# People (実人数) in 万人, each counted once, by the deepest type of tie they have
# (the survey's categories are ordered deepest first, as RelationshipType is).
#
#   visiting (訪問系)      1,884 万
#   non-visiting (非訪問系)  379 万
#   total                 2,263 万
#
# Visiting people by their deepest tie (given): 直接寄与型 437, テレワーク 145,
# 参加・交流型 485, 趣味・消費型 711. 就労型（現地） is NOT given: it is derived here as the
# residual of the visiting total, 1,884 − 437 − 145 − 485 − 711 = 106 万.
SURVEY_VISITING = 1884
SURVEY_NON_VISITING = 379
SURVEY_TOTAL = SURVEY_VISITING + SURVEY_NON_VISITING  # 2,263 万
SURVEY_PEOPLE_BY_CLASS: dict[str, int] = {
    RelationshipType.DIRECT: 437,
    RelationshipType.WORK_ON_SITE: SURVEY_VISITING - 437 - 145 - 485 - 711,  # 106, derived
    RelationshipType.TELEWORK: 145,
    RelationshipType.PARTICIPATION: 485,
    RelationshipType.HOBBY: 711,
    RelationshipType.NON_VISITING: SURVEY_NON_VISITING,
}

# 首都圏 as the survey uses it: 埼玉県, 千葉県, 東京都, 神奈川県.
CAPITAL_PREFECTURES = frozenset({"11", "12", "13", "14"})
CAPITAL, OTHER = "capital", "other"

# Flows of visiting people, home area → area of the tie, in 万人. Given: 首都圏 → other areas
# 293, other → other 763. The survey does not give the other two cells; ASSUMPTION: visiting
# people live in 首都圏 as often as everybody does. 2020 census: 36,914,000 of 126,146,000
# people live in the four prefectures (29.26 %), so 29.26 % of 1,884 = 551 万 visiting people
# live there: 首都圏 → 首都圏 = 551 − 293 = 258, other → 首都圏 = 1,884 − 551 − 763 = 570.
CAPITAL_POPULATION_SHARE = 36_914_000 / 126_146_000
_VISITING_FROM_CAPITAL = round(SURVEY_VISITING * CAPITAL_POPULATION_SHARE)  # 551
SURVEY_FLOWS: dict[tuple[str, str], int] = {
    (CAPITAL, CAPITAL): _VISITING_FROM_CAPITAL - 293,  # 258, derived
    (CAPITAL, OTHER): 293,
    (OTHER, CAPITAL): SURVEY_VISITING - _VISITING_FROM_CAPITAL - 763,  # 570, derived
    (OTHER, OTHER): 763,
}
# Non-visiting people: home in 首都圏 with the same 29.26 % (assumed); ties anywhere.
# Every registration of a visiting person goes to the tie area of their flow cell, so the
# flow shares hold per person and per registration alike.

# STAND-IN: we have no population per municipality, so places are weighted by kind, both as
# homes and as ties (a 特別区 or 市 is six times as likely as a 村).
KIND_WEIGHTS: dict[str, int] = {
    MunicipalityKind.SPECIAL_WARD: 6,
    MunicipalityKind.CITY: 6,
    MunicipalityKind.TOWN: 2,
    MunicipalityKind.VILLAGE: 1,
}

# Registrations per person: 1 + Poisson(mean − 1), at most REGISTRATIONS_CAP. The survey
# does not say how many places a person is tied to; the national target (1,000万 people,
# 1億 registrations) means 10 延べ per 実人数 — the mean is an option for that reason.
DEFAULT_REGISTRATIONS_PER_PERSON = 2.5
REGISTRATIONS_CAP = 12

# --- Assumed (plausible, not from the survey) --------------------------------------------

# How a tie began, by whether the person visits (非訪問系 lean on ふるさと納税).
ORIGIN_WEIGHTS: dict[bool, dict[str, float]] = {
    True: {  # visiting
        TieOrigin.BIRTHPLACE: 0.20,
        TieOrigin.LIVED: 0.12,
        TieOrigin.STUDIED_WORKED: 0.08,
        TieOrigin.FAMILY: 0.15,
        TieOrigin.FURUSATO_NOZEI: 0.10,
        TieOrigin.VISITS: 0.30,
        TieOrigin.OTHER: 0.05,
    },
    False: {  # non-visiting
        TieOrigin.BIRTHPLACE: 0.15,
        TieOrigin.LIVED: 0.08,
        TieOrigin.STUDIED_WORKED: 0.04,
        TieOrigin.FAMILY: 0.10,
        TieOrigin.FURUSATO_NOZEI: 0.45,
        TieOrigin.VISITS: 0.10,
        TieOrigin.OTHER: 0.08,
    },
}
# Chance that each consent is given, per registration.
CONSENT_RATES: dict[str, float] = {
    "share_name": 0.55,
    "share_contact": 0.45,
    "share_age_band": 0.70,
    "share_skills": 0.50,
    "allow_announcements": 0.60,
}
# A visiting person's registration types ("multiple types allowed"): one registration
# carries the person's class; each carries one type drawn evenly from the class and the
# shallower visiting types, each visiting type shallower than that one with a chance of
# 1/8 (three random bits ANDed), and 非訪問系 as well with NON_VISITING_TOO. So the deepest
# type over a person's registrations is their class. A non-visiting person's carry 非訪問系
# only.
NON_VISITING_TOO = 0.10
# Registrations spread over this many days before the reference day.
SPREAD_DAYS = 3 * 365
# Chance that a registration has a last activity, by the person's class.
ACTIVITY_RATES: dict[str, float] = {
    RelationshipType.DIRECT: 0.60,
    RelationshipType.WORK_ON_SITE: 0.50,
    RelationshipType.TELEWORK: 0.40,
    RelationshipType.PARTICIPATION: 0.45,
    RelationshipType.HOBBY: 0.25,
    RelationshipType.NON_VISITING: 0.05,
}
# Premium: this share of adult people, on 1 to REGISTRY_PREMIUM_LIMIT (3) of their
# registrations, with a term that is running on the reference day.
PREMIUM_SHARE = 0.02
# Age (years reached this year): (lowest, highest, weight). Ages up to AGE_OF_MAJORITY may
# be minors (only the year of birth is known) and register with a guardian's consent.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (15, AGE_OF_MAJORITY, 0.03),
    (AGE_OF_MAJORITY + 1, 29, 0.16),
    (30, 39, 0.20),
    (40, 49, 0.20),
    (50, 59, 0.18),
    (60, 69, 0.15),
    (70, 85, 0.08),
)
GENDER_WEIGHTS: dict[str, float] = {
    Gender.FEMALE: 0.48,
    Gender.MALE: 0.47,
    Gender.OTHER: 0.01,
    "": 0.04,  # not given
}
AVAILABLE_DAYS_WEIGHTS: dict[int, float] = {
    flags.mask_of(AvailableDays, ["weekdays"]): 0.15,
    flags.mask_of(AvailableDays, ["weekends"]): 0.50,
    flags.full_mask(AvailableDays): 0.35,
}
ENGLISH_SHARE = 0.25
OTHER_LANGUAGE_SHARE = 0.03

# Common names (with kana), for display only.
FAMILY_NAMES = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
)
GIVEN_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    Gender.FEMALE: (
        ("陽葵", "ヒマリ"),
        ("結衣", "ユイ"),
        ("葵", "アオイ"),
        ("美咲", "ミサキ"),
        ("陽菜", "ヒナ"),
        ("さくら", "サクラ"),
        ("花子", "ハナコ"),
        ("恵子", "ケイコ"),
        ("裕子", "ユウコ"),
        ("真由美", "マユミ"),
    ),
    Gender.MALE: (
        ("陽翔", "ハルト"),
        ("蓮", "レン"),
        ("大翔", "ヒロト"),
        ("湊", "ミナト"),
        ("悠真", "ユウマ"),
        ("健太", "ケンタ"),
        ("翔太", "ショウタ"),
        ("誠", "マコト"),
        ("浩", "ヒロシ"),
        ("隆", "タカシ"),
    ),
}
GIVEN_NAMES[Gender.OTHER] = GIVEN_NAMES[""] = GIVEN_NAMES[Gender.FEMALE] + GIVEN_NAMES[Gender.MALE]

EMAIL_DOMAIN = "population.invalid"


def email_prefix(seed: int) -> str:
    return f"pop-{seed}-"


def target_class_shares() -> dict[str, float]:
    """Share of people by their deepest type of tie."""
    return {kind: people / SURVEY_TOTAL for kind, people in SURVEY_PEOPLE_BY_CLASS.items()}


def target_flow_shares() -> dict[tuple[str, str], float]:
    """Share of visiting people by (home area, tie area)."""
    return {cell: people / SURVEY_VISITING for cell, people in SURVEY_FLOWS.items()}


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


class _Choice:
    """Weighted choice from one uniform draw (``random.choices`` without its overhead)."""

    __slots__ = ("cumulative", "last", "values")

    def __init__(self, weights: dict | Iterable[tuple[object, float]]) -> None:
        pairs = list(weights.items() if isinstance(weights, dict) else weights)
        total = sum(weight for _, weight in pairs)
        self.values = [value for value, _ in pairs]
        self.cumulative, running = [], 0.0
        for _, weight in pairs:
            running += weight
            self.cumulative.append(running / total)
        self.last = len(pairs) - 1


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
        self.places: dict[str | None, _Choice] = {
            area: _Choice(
                (i, KIND_WEIGHTS[kind])
                for i, (_, prefecture, kind) in enumerate(places)
                if area is None or (prefecture in CAPITAL_PREFECTURES) == (area == CAPITAL)
            )
            for area in (CAPITAL, OTHER, None)  # None: anywhere
        }
        # A class's index is its bit position: the survey's order is RelationshipType's.
        if list(SURVEY_PEOPLE_BY_CLASS) != RelationshipType.values:
            raise RuntimeError("SURVEY_PEOPLE_BY_CLASS must list RelationshipType in order.")
        self.classes = _Choice((i, n) for i, n in enumerate(SURVEY_PEOPLE_BY_CLASS.values()))
        self.non_visiting = RelationshipType.values.index(RelationshipType.NON_VISITING)
        self.flows = _Choice(SURVEY_FLOWS)
        self.origins = {visiting: _Choice(w) for visiting, w in ORIGIN_WEIGHTS.items()}
        self.consent_rates = tuple(CONSENT_RATES[name] for name in CONSENT_FIELDS)
        self.activity_rates = [ACTIVITY_RATES[kind] for kind in SURVEY_PEOPLE_BY_CLASS]
        self.ages = _Choice(((low, high), weight) for low, high, weight in AGE_BANDS)
        self.genders = _Choice(GENDER_WEIGHTS)
        self.days = _Choice(AVAILABLE_DAYS_WEIGHTS)
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


class _Writer:
    """Ids from the tables' own sequences (so later inserts never collide), rows by COPY on
    PostgreSQL or ``bulk_create`` elsewhere."""

    def __init__(self, *, use_copy: bool) -> None:
        self.postgresql = connection.vendor == "postgresql"
        self.use_copy = use_copy and self.postgresql

    def reserve(self, counts: Sequence[tuple[type, int]]) -> list[int]:
        """The first of ``count`` consecutive new ids for each model, from its sequence,
        in a short transaction of its own."""
        firsts = []
        with transaction.atomic(), connection.cursor() as cursor:
            for model, count in counts:
                table = model._meta.db_table
                if not count:
                    firsts.append(0)
                elif self.postgresql:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                    sequence = cursor.fetchone()[0]
                    # ALTER SEQUENCE holds every other nextval() on it off until this
                    # transaction ends (it changes nothing here: Django's increment is 1),
                    # so the block between nextval() and setval() is ours alone. Unlike a
                    # table lock, it does not wait for the other writer's open transaction.
                    cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
                    cursor.execute("SELECT nextval(%s)", [sequence])
                    first = cursor.fetchone()[0]
                    if count > 1:
                        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
                    firsts.append(first)
                else:
                    cursor.execute(f'SELECT MAX(id) FROM "{table}"')  # noqa: S608
                    firsts.append((cursor.fetchone()[0] or 0) + 1)
        return firsts

    def write(self, model: type, columns: Sequence[str], rows: list) -> None:
        if not rows:
            return
        if self.use_copy:
            names = ", ".join(f'"{name}"' for name in columns)
            sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
            with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        # The event's detail is a JSON string for COPY, a value for the ORM.
        json_columns = {i for i, name in enumerate(columns) if name == "detail"}
        objects = []
        for row in rows:
            values = {
                name: json.loads(value) if i in json_columns else value
                for i, (name, value) in enumerate(zip(columns, row, strict=True))
            }
            objects.append(model(**values))
        model.objects.bulk_create(objects, batch_size=1000)


def _write_batch(writer: _Writer, batch: _Batch) -> None:
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
    writer = _Writer(use_copy=use_copy)
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


# =========================================================================================
# Measuring the shares back from the raw rows
# =========================================================================================


@dataclass(frozen=True)
class Share:
    label: str
    target: float
    generated: float
    count: int

    @property
    def difference_pp(self) -> float:
        return (self.generated - self.target) * 100


@dataclass(frozen=True)
class PopulationShares:
    people: int
    visiting_people: int
    visiting_registrations: int
    mixed_area_people: int  # visiting people tied to both areas (0 by construction)
    classes: list[Share]
    flows_by_person: list[Share]
    flows_by_registration: list[Share]
    non_visiting_home_in_capital: Share

    @property
    def all(self) -> list[Share]:
        return [
            *self.classes,
            *self.flows_by_person,
            *self.flows_by_registration,
            self.non_visiting_home_in_capital,
        ]


_CAPITAL_CODES = "(" + ", ".join(f"'{code}'" for code in sorted(CAPITAL_PREFECTURES)) + ")"
# Portable SQL (PostgreSQL and SQLite): the lowest bit of an OR is the least lowest bit.
_SHARES_SQL = f"""
SELECT deepest, home_capital, tie_capital, tie_other,
       COUNT(*) AS people, SUM(tie_capital) AS reg_capital, SUM(tie_other) AS reg_other
FROM (
    SELECT r.person_id,
           MIN(r.types & -r.types) AS deepest,
           MAX(CASE WHEN home.prefecture_id IN {_CAPITAL_CODES} THEN 1 ELSE 0 END)
               AS home_capital,
           SUM(CASE WHEN place.prefecture_id IN {_CAPITAL_CODES} THEN 1 ELSE 0 END)
               AS tie_capital,
           SUM(CASE WHEN place.prefecture_id IN {_CAPITAL_CODES} THEN 0 ELSE 1 END)
               AS tie_other
    FROM registry_registration r
    JOIN places_municipality place ON place.code = r.municipality_id
    JOIN places_municipality home ON home.code = r.home_municipality_id
    JOIN accounts_user u ON u.id = r.person_id
    WHERE r.status = 'active' AND u.email LIKE %s
    GROUP BY r.person_id
) per_person
GROUP BY deepest, home_capital, tie_capital, tie_other
"""  # noqa: S608  (only the constant codes of 首都圏 are put in)


def population_shares(*, seed: int | None = None) -> PopulationShares:
    """The shares of generated people (of ``seed``, or all), from the registrations alone:
    a person's class is the lowest bit over their registrations' types, their home area is
    the registrations' home municipality, their tie area the registrations' places."""
    pattern = f"{email_prefix(seed) if seed is not None else 'pop-'}%@{EMAIL_DOMAIN}"
    with connection.cursor() as cursor:
        cursor.execute(_SHARES_SQL, [pattern])
        rows = cursor.fetchall()
    by_class: dict[int, int] = {}
    flows = dict.fromkeys(SURVEY_FLOWS, 0)
    reg_flows = dict.fromkeys(SURVEY_FLOWS, 0)
    non_visiting_bit = flags.bit(RelationshipType, RelationshipType.NON_VISITING)
    mixed = nv_people = nv_capital = 0
    for row in rows:
        deepest, home_capital, tie_capital, tie_other, people, reg_capital, reg_other = map(
            int, row
        )
        by_class[deepest] = by_class.get(deepest, 0) + people
        home = CAPITAL if home_capital else OTHER
        if deepest == non_visiting_bit:
            nv_people += people
            nv_capital += people if home_capital else 0
            continue
        if tie_capital and tie_other:
            mixed += people
        else:
            flows[(home, CAPITAL if tie_capital else OTHER)] += people
        reg_flows[(home, CAPITAL)] += reg_capital
        reg_flows[(home, OTHER)] += reg_other
    total = sum(by_class.values())
    visiting = total - nv_people
    visiting_registrations = sum(reg_flows.values())

    def share(label: str, target: float, count: int, of: int) -> Share:
        return Share(label, target, count / of if of else 0.0, count)

    targets = target_class_shares()
    classes = [
        share(
            f"{RelationshipType(kind).label} ({kind})",
            targets[kind],
            by_class.get(flags.bit(RelationshipType, kind), 0),
            total,
        )
        for kind in SURVEY_PEOPLE_BY_CLASS
    ]
    flow_targets = target_flow_shares()
    names = {CAPITAL: "首都圏", OTHER: "other"}
    flow_label = {cell: f"{names[cell[0]]} → {names[cell[1]]}" for cell in SURVEY_FLOWS}
    return PopulationShares(
        people=total,
        visiting_people=visiting,
        visiting_registrations=visiting_registrations,
        mixed_area_people=mixed,
        classes=classes,
        flows_by_person=[
            share(f"{flow_label[cell]} (people)", flow_targets[cell], flows[cell], visiting)
            for cell in SURVEY_FLOWS
        ],
        flows_by_registration=[
            share(
                f"{flow_label[cell]} (registrations)",
                flow_targets[cell],
                reg_flows[cell],
                visiting_registrations,
            )
            for cell in SURVEY_FLOWS
        ],
        non_visiting_home_in_capital=share(
            "非訪問系 living in 首都圏", CAPITAL_POPULATION_SHARE, nv_capital, nv_people
        ),
    )
