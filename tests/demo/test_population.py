"""The population generator: shares that follow the survey, the registry's rules kept by
every generated row, the same rows for the same seed, and the command's refusals.

The shares are checked on 30,000 people, generated once for the module through the command
(committed, as on a real database, and removed afterwards). Sampling noise decides the size:
a share p measured over n people has a standard error of sqrt(p(1 − p)/n). The issue asks
for 1 percentage point; each share is held to three standard errors, and the test shows that
three standard errors stay within 1 point for every survey share at this size (for the
largest, 趣味・消費 at 31 %, 3 SE = 0.8 pp; for the flows, over ~25,000 visiting people,
3 SE ≤ 0.9 pp). The generator is deterministic, so a seed that passes always passes.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import math
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from accounts.models import User
from demo.population import EMAIL_DOMAIN, email_prefix, population_generate, population_shares
from demo.population.survey import AGE_BANDS, PREMIUM_SHARE, REGISTRATIONS_CAP
from registry import flags
from registry.models import (
    AGE_OF_MAJORITY,
    CONSENT_FIELDS,
    PrefectureRegistration,
    Profile,
    Registration,
    RegistrationEvent,
    RelationshipType,
)
from tests.support import sql_rows

# Thousands of generated people, made and removed: `make test-slow`.
pytestmark = [pytest.mark.xdist_group("population"), pytest.mark.slow]

SEED = 2027
PEOPLE = 30_000
AS_OF = datetime.date(2026, 11, 23)
NON_VISITING_BIT = flags.bit(RelationshipType, RelationshipType.NON_VISITING)


def _pattern(seed: int) -> str:
    return f"{email_prefix(seed)}%@{EMAIL_DOMAIN}"


_DELETES = [
    """DELETE FROM registry_registrationevent WHERE registration_id IN (
           SELECT r.id FROM registry_registration r JOIN accounts_user u ON u.id = r.person_id
           WHERE u.email LIKE %s)""",
    """DELETE FROM registry_registration WHERE person_id IN (
           SELECT id FROM accounts_user WHERE email LIKE %s)""",
    """DELETE FROM registry_prefectureregistration WHERE person_id IN (
           SELECT id FROM accounts_user WHERE email LIKE %s)""",
    """DELETE FROM registry_profile WHERE user_id IN (
           SELECT id FROM accounts_user WHERE email LIKE %s)""",
    """DELETE FROM account_emailaddress WHERE user_id IN (
           SELECT id FROM accounts_user WHERE email LIKE %s)""",
    "DELETE FROM accounts_user WHERE email LIKE %s",
]


def _delete(seed: int, *, vacuum: bool = False) -> None:
    """Remove a seed's people and everything generated for them.

    Deleting a person makes PostgreSQL look for events they are the actor of, and
    ``actor_id`` has no index: with ``vacuum`` (outside a transaction) the emptied event
    table is vacuumed first, so those look-ups do not wade through dead rows.
    """
    with connection.cursor() as cursor:
        for statement in _DELETES:
            if vacuum and statement.startswith("DELETE FROM accounts_user"):
                cursor.execute("VACUUM registry_registrationevent")
            cursor.execute(statement, [_pattern(seed)])


def _digest(seed: int) -> str:
    """A digest of every generated column that does not depend on ids or on the clock of
    the run (the profile's ``updated_at`` is set by ``bulk_create`` itself)."""
    pattern = _pattern(seed)
    queries = [
        """SELECT u.email, u.password, u.family_name, u.given_name, u.family_name_kana,
                  u.given_name_kana, u.is_active, u.date_joined, p.home_municipality_id,
                  p.birth_year, p.gender, p.interests, p.skills, p.available_days,
                  p.available_months, p.languages
           FROM accounts_user u JOIN registry_profile p ON p.user_id = u.id
           WHERE u.email LIKE %s ORDER BY u.email""",
        """SELECT u.email, r.municipality_id, r.home_municipality_id, r.types, r.origin,
                  r.status, r.registered_at, r.tier, r.premium_since, r.premium_until,
                  r.share_name, r.share_contact, r.share_age_band, r.share_skills,
                  r.allow_announcements, r.guardian_name, r.guardian_consented_at,
                  r.card_serial, r.last_activity_on, e.kind, e.at, e.detail,
                  e.actor_id = u.id
           FROM registry_registration r
           JOIN accounts_user u ON u.id = r.person_id
           JOIN registry_registrationevent e ON e.registration_id = r.id
           WHERE u.email LIKE %s ORDER BY u.email, r.municipality_id""",
        """SELECT u.email, pr.prefecture_id, pr.status, pr.registered_at
           FROM registry_prefectureregistration pr JOIN accounts_user u ON u.id = pr.person_id
           WHERE u.email LIKE %s ORDER BY u.email, pr.prefecture_id""",
    ]
    digest = hashlib.sha256()
    for query in queries:
        rows = sql_rows(query, pattern)
        assert rows
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def population(django_db_setup, django_db_blocker) -> Iterator[str]:
    """30,000 people of SEED, through the command; the command's summary line."""
    out = io.StringIO()
    with django_db_blocker.unblock(), override_settings(DEMO_CONTENT_ALLOWED=True):
        call_command(
            "generate_population",
            people=PEOPLE,
            seed=SEED,
            batch=7_000,  # several batches, the last one short
            as_of=AS_OF,
            verbosity=0,
            stdout=out,
        )
    yield out.getvalue()
    with django_db_blocker.unblock():
        _delete(SEED, vacuum=True)


def _standard_error(share: float, n: int) -> float:
    return math.sqrt(share * (1 - share) / n)


@pytest.mark.django_db
def test_the_command_reports_what_it_wrote(population):
    counts = sql_rows(
        """SELECT COUNT(DISTINCT u.id), COUNT(r.id)
           FROM accounts_user u JOIN registry_registration r ON r.person_id = u.id
           WHERE u.email LIKE %s""",
        _pattern(SEED),
    )[0]
    prefectures = PrefectureRegistration.objects.filter(
        person__email__startswith=email_prefix(SEED)
    ).count()
    assert counts[0] == PEOPLE
    assert f"{PEOPLE:,} people, {counts[1]:,} registrations, {prefectures:,} prefecture" in (
        population
    )
    assert "rows/s" in population


@pytest.mark.django_db
def test_shares_follow_the_survey_within_one_point(population):
    shares = population_shares(seed=SEED)
    assert shares.people == PEOPLE
    assert shares.mixed_area_people == 0  # a visiting person's ties are all in one area

    # Registrations of one person share their flow cell: the variance of a share of
    # registrations grows by E[k²]/E[k]² (k: registrations of a person).
    sizes = sql_rows(
        """SELECT COUNT(*), SUM(k), SUM(k * k) FROM (
               SELECT COUNT(*) AS k FROM registry_registration r
               JOIN accounts_user u ON u.id = r.person_id
               WHERE u.email LIKE %s GROUP BY r.person_id) per_person""",
        _pattern(SEED),
    )[0]
    n, total_k, total_k2 = (int(value) for value in sizes)
    clustering = (total_k2 / n) / (total_k / n) ** 2

    # The survey's shares (of people): three standard errors fit within 1 point here.
    checks = [(share, shares.people) for share in shares.classes]
    checks += [(share, shares.visiting_people) for share in shares.flows_by_person]
    assert shares.classes and shares.flows_by_person and shares.flows_by_registration
    for share, n in checks:
        tolerance = 3 * _standard_error(share.target, n)
        assert tolerance <= 0.01, f"{share.label}: {PEOPLE:,} people are too few to tell 1 pp"
        assert abs(share.generated - share.target) <= tolerance, share
    # The same flows counted in registrations (what the raw rows show a municipality).
    for share in shares.flows_by_registration:
        tolerance = 3 * _standard_error(share.target, shares.visiting_people / clustering)
        assert abs(share.generated - share.target) <= tolerance, share

    # Not a survey share but an assumption: non-visiting people live in 首都圏 as everyone.
    home = shares.non_visiting_home_in_capital
    non_visiting = shares.people - shares.visiting_people
    assert abs(home.generated - home.target) <= 3 * _standard_error(home.target, non_visiting)


@pytest.mark.django_db
def test_types_give_each_person_their_class(population):
    # Every type mask is a non-empty set of known types.
    bad_masks = sql_rows(
        """SELECT COUNT(*) FROM registry_registration r JOIN accounts_user u
           ON u.id = r.person_id WHERE u.email LIKE %s AND NOT (r.types BETWEEN 1 AND 63)""",
        _pattern(SEED),
    )[0][0]
    assert bad_masks == 0
    per_person = sql_rows(
        """SELECT BIT_OR(r.types), BOOL_AND(r.types = %s), BOOL_OR(r.types & %s <> 0),
                  COUNT(*)
           FROM registry_registration r JOIN accounts_user u ON u.id = r.person_id
           WHERE u.email LIKE %s GROUP BY r.person_id""",
        NON_VISITING_BIT,
        NON_VISITING_BIT,
        _pattern(SEED),
    )
    non_visiting = [row for row in per_person if row[0] & -row[0] == NON_VISITING_BIT]
    visiting = [row for row in per_person if row[0] & -row[0] != NON_VISITING_BIT]
    # A non-visiting person's registrations carry 非訪問系 alone.
    assert non_visiting and all(only_non_visiting for _, only_non_visiting, _, _ in non_visiting)
    # Visiting people may add 非訪問系 ("multiple types allowed"), and some do.
    assert any(with_non_visiting for _, _, with_non_visiting, _ in visiting)
    # Several types on one registration occur.
    several = sql_rows(
        """SELECT COUNT(*) FROM registry_registration r JOIN accounts_user u
           ON u.id = r.person_id WHERE u.email LIKE %s AND (r.types & (r.types - 1)) <> 0""",
        _pattern(SEED),
    )[0][0]
    assert several > 0
    counts = [k for _, _, _, k in per_person]
    assert max(counts) <= REGISTRATIONS_CAP
    mean = sum(counts) / len(counts)
    # 1 + Poisson(1.5): mean 2.5, variance 1.5.
    assert abs(mean - 2.5) <= 3 * math.sqrt(1.5 / len(counts))


@pytest.mark.django_db
def test_registrations_keep_the_registry_rules(population):
    pattern = _pattern(SEED)
    # Never the home municipality, which is the profile's; one registration per place.
    wrong_home = sql_rows(
        """SELECT COUNT(*) FROM registry_registration r
           JOIN accounts_user u ON u.id = r.person_id
           JOIN registry_profile p ON p.user_id = r.person_id
           WHERE u.email LIKE %s AND (r.municipality_id = p.home_municipality_id
                                       OR r.home_municipality_id <> p.home_municipality_id)""",
        pattern,
    )[0][0]
    assert wrong_home == 0
    duplicates = sql_rows(
        """SELECT COUNT(*) FROM (
               SELECT 1 FROM registry_registration r JOIN accounts_user u ON u.id = r.person_id
               WHERE u.email LIKE %s GROUP BY r.person_id, r.municipality_id
               HAVING COUNT(*) > 1) d""",
        pattern,
    )[0][0]
    assert duplicates == 0
    # All active, with a first card; none registered on or after the reference day.
    assert (
        not Registration.objects.filter(person__email__startswith=email_prefix(SEED))
        .exclude(status="active", card_serial=1, withdrawn_at=None)
        .exists()
    )
    latest = sql_rows(
        """SELECT MAX(r.registered_at), MIN(r.registered_at) FROM registry_registration r
           JOIN accounts_user u ON u.id = r.person_id WHERE u.email LIKE %s""",
        pattern,
    )[0]
    assert latest[0].date() < AS_OF
    assert latest[1].date() >= AS_OF - datetime.timedelta(days=3 * 365 + 1)


@pytest.mark.django_db
def test_prefecture_registrations_are_the_prefectures_of_the_registrations(population):
    pattern = _pattern(SEED)
    expected = """SELECT r.person_id, m.prefecture_id, MIN(r.registered_at)
                  FROM registry_registration r
                  JOIN places_municipality m ON m.code = r.municipality_id
                  JOIN accounts_user u ON u.id = r.person_id
                  WHERE u.email LIKE %s GROUP BY r.person_id, m.prefecture_id"""
    actual = """SELECT pr.person_id, pr.prefecture_id, pr.registered_at
                FROM registry_prefectureregistration pr
                JOIN accounts_user u ON u.id = pr.person_id
                WHERE u.email LIKE %s AND pr.status = 'active'"""
    difference = "SELECT COUNT(*) FROM ({} EXCEPT {}) x"
    missing = sql_rows(difference.format(expected, actual), pattern, pattern)
    extra = sql_rows(difference.format(actual, expected), pattern, pattern)
    assert missing[0][0] == 0
    assert extra[0][0] == 0
    assert (
        PrefectureRegistration.objects.filter(person__email__startswith=email_prefix(SEED)).count()
        > PEOPLE
    )  # people with ties in several prefectures have several


@pytest.mark.django_db
def test_each_registration_has_its_registered_event_with_the_consent(population):
    rows = sql_rows(
        """SELECT r.id, r.person_id, r.registered_at, r.types, r.origin,
                  r.share_name, r.share_contact, r.share_age_band, r.share_skills,
                  r.allow_announcements, r.guardian_consented_at IS NOT NULL,
                  e.kind, e.at, e.actor_id, e.detail
           FROM registry_registration r
           JOIN accounts_user u ON u.id = r.person_id
           LEFT JOIN registry_registrationevent e ON e.registration_id = r.id
           WHERE u.email LIKE %s""",
        _pattern(SEED),
    )
    assert rows
    assert len({row[0] for row in rows}) == len(rows)  # exactly one event each
    consent_rates = dict.fromkeys(CONSENT_FIELDS, 0)
    for row in rows:
        _id, person, at, types, origin, *consent, minor, kind, event_at, actor, detail = row
        assert (kind, event_at, actor) == ("registered", at, person)
        assert json.loads(detail) == {
            "consent": dict(zip(CONSENT_FIELDS, consent, strict=True)),
            "types": types,
            "origin": origin,
            "minor": minor,
        }
        for name, given in zip(CONSENT_FIELDS, consent, strict=True):
            consent_rates[name] += given
    # Each consent is given by some and refused by others.
    assert all(0 < given < len(rows) for given in consent_rates.values())


@pytest.mark.django_db
def test_people_minors_and_premium(population):
    people = User.objects.filter(email__startswith=email_prefix(SEED))
    person = people.order_by("id").first()
    assert not person.has_usable_password()
    assert person.is_active and not person.is_staff
    assert person.family_name and person.given_name
    assert Profile.objects.filter(user__in=people).count() == PEOPLE
    assert not Profile.objects.filter(user__in=people, home_municipality=None).exists()
    assert not Profile.objects.filter(user__in=people, birth_year=None).exists()
    genders = set(Profile.objects.filter(user__in=people).values_list("gender", flat=True))
    assert genders == {"female", "male", "other", ""}

    # A guardian consented exactly where the person may have been a minor on the day.
    guardian = sql_rows(
        """SELECT (EXTRACT(YEAR FROM r.registered_at AT TIME ZONE 'Asia/Tokyo') - p.birth_year
                   <= %s) AS minor,
                  r.guardian_name <> '' AND r.guardian_consented_at = r.registered_at,
                  r.guardian_name = '' AND r.guardian_consented_at IS NULL,
                  COUNT(*)
           FROM registry_registration r
           JOIN registry_profile p ON p.user_id = r.person_id
           JOIN accounts_user u ON u.id = r.person_id
           WHERE u.email LIKE %s GROUP BY 1, 2, 3""",
        AGE_OF_MAJORITY,
        _pattern(SEED),
    )
    assert {(minor, with_guardian, without) for minor, with_guardian, without, _ in guardian} == {
        (True, True, False),
        (False, False, True),
    }

    # Premium: about 2 % of people, at most 3 registrations each, a running term.
    premium = sql_rows(
        """SELECT r.person_id, COUNT(*), MIN(r.premium_until), BOOL_AND(
                   r.premium_since >= (r.registered_at AT TIME ZONE 'Asia/Tokyo')::date
                   AND r.premium_since <= %s)
           FROM registry_registration r JOIN accounts_user u ON u.id = r.person_id
           WHERE u.email LIKE %s AND r.tier = 'premium' GROUP BY r.person_id""",
        AS_OF,
        _pattern(SEED),
    )
    adults = 1 - AGE_BANDS[0][2] / sum(weight for _, _, weight in AGE_BANDS)
    expected = PREMIUM_SHARE * adults
    assert abs(len(premium) / PEOPLE - expected) <= 3 * _standard_error(expected, PEOPLE)
    limit = settings.REGISTRY_PREMIUM_LIMIT
    assert all(count <= limit and until > AS_OF and ok for _, count, until, ok in premium)
    assert (
        not Registration.objects.filter(person__email__startswith=email_prefix(SEED), tier="basic")
        .exclude(premium_since=None, premium_until=None)
        .exists()
    )


def _set_aside(seed: int, run: int) -> None:
    """Rename a seed's people so that the seed can be generated again in this test.

    (Deleting them would make the constraint check at the end of the test look, for each
    person, for events they are the actor of, through an unindexed column.)"""
    with connection.cursor() as cursor:
        for table in ("accounts_user", "account_emailaddress"):  # (verified addresses are unique)
            cursor.execute(
                f"UPDATE {table} SET email = %s || email WHERE email LIKE %s",  # noqa: S608
                [f"set-aside-{run}-", _pattern(seed)],
            )


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_rows_by_copy_and_by_bulk_create():
    first = population_generate(people=3_000, seed=11, batch=1_000, as_of=AS_OF)
    assert first.people == 3_000
    digest = _digest(11)
    _set_aside(11, 1)
    again = population_generate(people=3_000, seed=11, batch=700, as_of=AS_OF)
    assert (again.registrations, _digest(11)) == (first.registrations, digest)
    _set_aside(11, 2)
    population_generate(people=3_000, seed=11, batch=1_000, as_of=AS_OF, use_copy=False)
    assert _digest(11) == digest
    population_generate(people=3_000, seed=12, batch=1_000, as_of=AS_OF)
    assert _digest(12) != digest


@pytest.mark.django_db
def test_the_command_refuses_a_used_seed_and_where_demo_content_is_off(population):
    users = User.objects.count()
    with override_settings(DEMO_CONTENT_ALLOWED=True), pytest.raises(CommandError) as used:
        call_command("generate_population", people=10, seed=SEED, verbosity=0)
    assert f"seed {SEED} exist already" in str(used.value)
    with override_settings(DEMO_CONTENT_ALLOWED=False), pytest.raises(CommandError) as off:
        call_command("generate_population", people=10, seed=SEED + 1, verbosity=0)
    assert "not allowed" in str(off.value)
    with override_settings(DEMO_CONTENT_ALLOWED=True), pytest.raises(CommandError):
        call_command("generate_population", people=0, seed=SEED + 1, verbosity=0)
    assert User.objects.count() == users
    assert not RegistrationEvent.objects.filter(
        registration__person__email__startswith=email_prefix(SEED + 1)
    ).exists()
