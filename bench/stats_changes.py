"""What ``bench/stats_bench.py`` changes before it times ``counts_update``: new registrations
(through the registry's service, or by COPY as the generator writes them) and new sign-ups
through ``matching.services.signup_create`` (the board's triggers fill the statistics' feed);
and the check that the incremental cells equal a full rebuild's. Imported by the bench only."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections import defaultdict

VIEWER_DOMAIN = "stats-bench.invalid"


def sql(query: str, params=()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def percentile95(times: list[float]) -> float:
    times = sorted(times)
    return times[max(0, int(len(times) * 0.95 + 0.5) - 1)]


def registrations_add(count: int, via: str, seed: int) -> None:
    """``count`` new registrations of generated adults with municipalities they have no
    registration with (nor live in)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from demo.population import EMAIL_DOMAIN
    from demo.population.people import PREFECTURE_REGISTRATION_COLUMNS, REGISTRATION_COLUMNS
    from places.models import Municipality
    from registry import services as registry
    from registry.models import (
        AGE_OF_MAJORITY,
        CONSENT_FIELDS,
        PrefectureRegistration,
        Registration,
        RegistrationEvent,
        RelationshipType,
        Status,
        TieOrigin,
    )

    salt = sql("SELECT COUNT(*) FROM registry_registration")[0][0]  # another draw each run
    rng = random.Random(seed * 1_000_003 + salt)
    adults_before = timezone.localdate().year - AGE_OF_MAJORITY - 1
    started = time.perf_counter()
    people = sql(
        """SELECT u.id, p.home_municipality_id FROM accounts_user u
           JOIN registry_profile p ON p.user_id = u.id
           WHERE u.email LIKE %s AND p.birth_year < %s
           ORDER BY md5(u.id::text || %s) LIMIT %s""",
        [f"%@{EMAIL_DOMAIN}", adults_before, str(salt), count],
    )
    if len(people) < count:
        raise SystemExit("Not enough generated adults.")
    taken: dict[int, set[str]] = defaultdict(set)
    ids = [person for person, _home in people]
    for start in range(0, len(ids), 5000):
        for person, code in Registration.objects.filter(
            person_id__in=ids[start : start + 5000], status=Status.ACTIVE
        ).values_list("person_id", "municipality_id"):
            taken[person].add(code)
    municipalities = {m.code: m for m in Municipality.objects.all()}
    codes = sorted(municipalities)
    visiting = [t for t in RelationshipType.values if t != RelationshipType.NON_VISITING]
    plan = []
    for person, home in people:
        code = rng.choice(codes)
        while code == home or code in taken[person]:
            code = rng.choice(codes)
        kinds = (
            rng.sample(visiting, rng.randint(1, 2))
            if rng.random() < 0.8
            else [RelationshipType.NON_VISITING]
        )
        types = sum(1 << RelationshipType.values.index(k) for k in kinds)
        consent = {name: rng.random() < 0.5 for name in CONSENT_FIELDS}
        plan.append((person, home, code, types, rng.choice(TieOrigin.values), consent))
    print(
        f"  drew {count:,} people and their new municipalities in "
        f"{time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    if via == "service":
        users = User.objects.in_bulk(ids)
        each = []
        for person, _home, code, types, origin, consent in plan:
            one = time.perf_counter()
            registry.registration_create(
                person=users[person],
                municipality=municipalities[code],
                types=types,
                origin=origin,
                consent=consent,
            )
            each.append((time.perf_counter() - one) * 1000)
        seconds = time.perf_counter() - started
        print(
            f"  registry.services.registration_create × {count:,}: {seconds:.1f} s "
            f"(median {statistics.median(each):.1f} ms, p95 {percentile95(each):.1f} ms each)"
        )
        return
    # One transaction, by COPY, as demo.population.people writes generated rows.
    now = timezone.now()
    prefecture_of = {code: m.prefecture_id for code, m in municipalities.items()}
    with transaction.atomic(), connection.cursor() as cursor:
        held = set(
            PrefectureRegistration.objects.filter(
                person_id__in=ids, status=Status.ACTIVE
            ).values_list("person_id", "prefecture_id")
        )

        def reserve(model, n: int) -> list[int]:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, n])
            return [row[0] for row in cursor.fetchall()]

        registration_ids = reserve(Registration, count)
        registrations, events, prefectures = [], [], []
        for pk, (person, home, code, types, origin, consent) in zip(
            registration_ids, plan, strict=True
        ):
            registrations.append(
                [
                    pk,
                    person,
                    code,
                    home,
                    types,
                    origin,
                    Status.ACTIVE.value,
                    now,
                    "basic",
                    None,
                    None,
                    *(consent[name] for name in CONSENT_FIELDS),
                    "",
                    None,
                    1,
                    None,
                ]
            )
            detail = json.dumps(
                {"consent": consent, "types": types, "origin": origin, "minor": False}
            )
            events.append([pk, "registered", now, person, detail])
            if (person, prefecture_of[code]) not in held:
                held.add((person, prefecture_of[code]))
                prefectures.append([person, prefecture_of[code], Status.ACTIVE.value, now])
        for i, pk in enumerate(reserve(PrefectureRegistration, len(prefectures))):
            prefectures[i].insert(0, pk)
        for i, pk in enumerate(reserve(RegistrationEvent, len(events))):
            events[i].insert(0, pk)
        for model, columns, rows in (
            (Registration, REGISTRATION_COLUMNS, registrations),
            (PrefectureRegistration, PREFECTURE_REGISTRATION_COLUMNS, prefectures),
            (
                RegistrationEvent,
                ("id", "registration_id", "kind", "at", "actor_id", "detail"),
                events,
            ),
        ):
            names = ", ".join(f'"{name}"' for name in columns)
            with (
                connection.connection.cursor() as raw,
                raw.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy,
            ):
                for row in rows:
                    copy.write_row(row)
    print(
        f"  {count:,} registrations, {len(prefectures):,} prefecture registrations and "
        f"{count:,} events "
        f"by COPY in one transaction: {time.perf_counter() - started:.1f} s"
    )


def viewer(role, where: str, name: str):
    from accounts.models import Membership, User
    from accounts.services import membership_grant
    from places.models import Municipality, Prefecture

    user = User.objects.filter(email=f"{name}@{VIEWER_DOMAIN}").first()
    if user is None:
        user = User.objects.create_user(
            f"{name}@{VIEWER_DOMAIN}", None, family_name="統計", given_name=name
        )
    if not Membership.objects.filter(user=user, role=role).exists():
        membership_grant(
            user=user,
            role=role,
            prefecture=Prefecture.objects.get(code=where) if where and len(where) == 2 else None,
            municipality=Municipality.objects.get(code=where)
            if where and len(where) == 6
            else None,
        )
    return user


def signups_add(count: int, seed: int) -> None:
    """``count`` sign-ups of generated adults for open sessions (published tasks, sessions
    more than two days ahead with places left), one by one through
    ``matching.services.signup_create`` as the site makes them; a person the service refuses
    (an overlap, an age limit) is skipped and another drawn."""
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import timezone

    from accounts.models import User
    from demo.population import EMAIL_DOMAIN
    from matching import services as board
    from matching.models import Session

    rng = random.Random(seed * 7_919 + count)
    soon = timezone.now() + timezone.timedelta(days=2)
    sessions = list(
        Session.objects.filter(status="scheduled", task__status="published", starts_at__gt=soon)
        .select_related("task")
        .order_by("pk")
        .values_list("pk", "capacity", "taken")[:50_000]
    )
    open_ones = [pk for pk, capacity, taken in sessions if taken < capacity]
    rng.shuffle(open_ones)
    people = [
        pk
        for (pk,) in sql(
            """SELECT u.id FROM accounts_user u WHERE u.email LIKE %s
               ORDER BY md5(u.id::text || %s) LIMIT %s""",
            [f"%@{EMAIL_DOMAIN}", str(seed + count), count * 3],
        )
    ]
    users = User.objects.in_bulk(people)
    started = time.perf_counter()
    each, refused, made = [], 0, 0
    sessions_by_pk = Session.objects.select_related("task").in_bulk(open_ones[: count * 3])
    targets = iter(open_ones[: count * 3])
    for person in people:
        if made == count:
            break
        session = sessions_by_pk.get(next(targets, None))
        if session is None:
            break
        one = time.perf_counter()
        try:
            board.signup_create(session=session, person=users[person])
        except (ValidationError, PermissionDenied):
            refused += 1
            continue
        each.append((time.perf_counter() - one) * 1000)
        made += 1
    seconds = time.perf_counter() - started
    print(
        f"  matching.services.signup_create × {made:,} ({refused:,} refused and skipped): "
        f"{seconds:.1f} s (median {statistics.median(each):.1f} ms, "
        f"p95 {percentile95(each):.1f} ms each)"
    )
    if made < count:
        raise SystemExit(f"Only {made:,} sign-ups could be made.")


def rebuild_equals() -> None:
    """The cells as the updates left them against a full rebuild's (zeros left aside: the
    rebuild writes none): every cell, the registrations', the board's and the funnel's."""
    from insights import services
    from insights.models import Count

    def nonzero() -> dict:
        return {
            (a, m, k): v
            for a, m, k, v in Count.objects.values_list("area", "measure", "key", "value").iterator(
                chunk_size=20_000
            )
            if v
        }

    counted = nonzero()
    started = time.perf_counter()
    services.counts_rebuild()
    seconds = time.perf_counter() - started
    rebuilt = nonzero()
    differ = [c for c in counted.keys() | rebuilt.keys() if counted.get(c) != rebuilt.get(c)]
    board = [c for c in counted if c[1] in ("board", "funnel")]
    print(
        f"\n5. the incremental cells against counts_rebuild() ({seconds:.1f} s): "
        f"{len(counted):,} non-zero cells ({len(board):,} of the board and funnel), "
        f"{'all equal' if not differ else f'{len(differ):,} DIFFER, e.g. {sorted(differ)[:5]}'}"
    )
    for cell in sorted(differ)[:10]:
        print(f"    {cell}: incremental {counted.get(cell)}, rebuilt {rebuilt.get(cell)}")
