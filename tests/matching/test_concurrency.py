"""Capacity, the waiting list and single sign-up under simultaneous requests on PostgreSQL
(SPEC 4 and 8; the issue's Done-when 2). Threads are released together behind a barrier,
each with its own database connection, which it closes at the end; every race is run for
several rounds on fresh sessions, since one lucky interleaving proves nothing."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError, connection
from django.db.models import Count

from core.errors import Conflict
from matching import services
from matching.models import LIVE_STATUSES, Session, Signup
from notifications.models import Notification
from tests.matching.support import CHIZU, in_days, published_task, resident, staff_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("matching-concurrency"),
]


def connect() -> None:
    """Open this thread's connection. PostgreSQL's connection slots are shared with whatever
    else runs on the machine: while they are all taken, wait for one rather than fail."""
    deadline = time.monotonic() + 60
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1 + random.random() / 2)


def in_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads released together; each thread has and closes
    its own database connection, opened before the release so that the calls start at once.
    An exception is returned as the thread's result."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            connect()
            barrier.wait(timeout=90)
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions on the results
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    return results


def unexpected(results: list, allowed: tuple[type[Exception], ...] = ()) -> list:
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, allowed)]


def slot(day: int, hour: int = 9, hours: int = 6, capacity: int = 10) -> dict:
    return {
        "starts_at": in_days(day, hour),
        "ends_at": in_days(day, hour + hours),
        "capacity": capacity,
    }


def promoted_ids(session: Session) -> list[int]:
    """The sign-ups of ``session`` given a place from the waiting list, by their
    notification (``signup:<id>:signup_promoted:<status>``), one per promotion."""
    keys = Notification.objects.filter(
        kind="signup_promoted", key__startswith="signup:"
    ).values_list("key", flat=True)
    ids = [int(key.split(":")[1]) for key in keys]
    mine = set(Signup.objects.filter(session=session, pk__in=ids).values_list("pk", flat=True))
    return sorted(pk for pk in ids if pk in mine)


def assert_consistent(session: Session) -> None:
    """What must hold for a session whatever happened to it, in whatever order."""
    session.refresh_from_db()
    statuses = Counter(Signup.objects.filter(session=session).values_list("status", flat=True))
    holding = statuses["confirmed"] + statuses["offered"]
    assert session.taken == holding, (session.taken, statuses)
    assert session.taken <= session.capacity
    # Never a free place while someone waits.
    assert session.taken == session.capacity or statuses["waitlisted"] == 0, statuses
    # One live sign-up per person.
    doubles = (
        Signup.objects.filter(session=session, status__in=LIVE_STATUSES)
        .values("person")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not doubles.exists()
    # Promotion follows the waiting list: everyone promoted came before everyone still waiting.
    promoted = promoted_ids(session)
    assert len(promoted) == len(set(promoted))  # nobody promoted twice
    waiting = list(
        Signup.objects.filter(session=session, status="waitlisted").values_list("pk", flat=True)
    )
    if promoted and waiting:
        assert max(promoted) < min(waiting), (promoted, waiting)


# --- Done-when 2: fifty people, ten places ---------------------------------------------------


@pytest.mark.slow  # fifty threads on fifty connections: over 20 s
def test_fifty_concurrent_sign_ups_for_ten_places_confirm_ten_and_wait_forty(municipalities):
    staff = staff_of(CHIZU)
    task = published_task(staff=staff, sessions=[slot(6)])
    residents = [resident() for _ in range(50)]

    for day in range(7, 27):  # twenty rounds, each on a fresh session of its own day
        session = services.session_add(
            task=task,
            actor=staff,
            starts_at=in_days(day, 9),
            ends_at=in_days(day, 15),
            capacity=10,
        )
        results = in_threads(
            50,
            lambda index, session=session: services.signup_create(
                session=session, person=residents[index]
            ),
        )

        assert unexpected(results) == [], f"round {day}"
        assert Counter(r.status for r in results) == {"confirmed": 10, "waitlisted": 40}
        session.refresh_from_db()
        assert session.taken == 10
        signups = Signup.objects.filter(session=session)
        assert signups.count() == 50
        assert signups.values("person").distinct().count() == 50
        assert Counter(signups.values_list("status", flat=True)) == {
            "confirmed": 10,
            "waitlisted": 40,
        }
        # Each claim was made under the session's lock, one after the other: the first ten
        # sign-ups written are the confirmed ones, the waiting list follows in order.
        by_id = list(signups.order_by("pk").values_list("status", flat=True))
        assert by_id == ["confirmed"] * 10 + ["waitlisted"] * 40
        assert_consistent(session)
        assert (
            Notification.objects.filter(
                kind="signup_confirmed",
                key__in=[f"signup:{r.pk}:signup_confirmed:confirmed" for r in results],
            ).count()
            == 10
        )


def test_one_person_signing_up_ten_times_at_once_gets_one_sign_up(municipalities):
    staff = staff_of(CHIZU)
    task = published_task(staff=staff, sessions=[slot(7, capacity=3), slot(8, capacity=1)])
    roomy, full = task.sessions.order_by("starts_at")
    services.signup_create(session=full, person=resident())

    for session, expected in [(roomy, "confirmed"), (full, "waitlisted")] * 3:
        person = resident()
        results = in_threads(
            10,
            lambda _index, session=session, person=person: services.signup_create(
                session=session, person=person
            ),
        )
        made = [r for r in results if isinstance(r, Signup)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert unexpected(results, allowed=(Conflict,)) == []
        assert (len(made), len(refused)) == (1, 9)
        assert made[0].status == expected
        assert all("すでに申し込んでいます" in str(r) for r in refused)
        assert Signup.objects.filter(session=session, person=person).count() == 1
        assert_consistent(session)
    assert Session.objects.get(pk=roomy.pk).taken == 3
    assert Session.objects.get(pk=full.pk).taken == 1


# --- Cancels and sign-ups racing on a full session -----------------------------------------------

ROUNDS = [
    # (places, waiting, cancelling, newcomers, confirm window in hours)
    (5, 10, 3, 5, None),
    (5, 2, 4, 4, None),
    (5, 10, 3, 5, 2),
    (5, 2, 4, 4, 2),
    (5, 10, 5, 5, None),
    (5, 0, 3, 6, 2),
    (3, 10, 3, 8, None),
    (5, 10, 3, 5, None),
]


@pytest.mark.slow  # rounds of racing threads: over 10 s
def test_cancels_racing_sign_ups_never_leave_a_place_free_while_someone_waits(municipalities):
    staff = staff_of(CHIZU)
    for number, (places, waiting, cancelling, newcomers, window) in enumerate(ROUNDS):
        task = published_task(
            staff=staff,
            sessions=[slot(7 + number, capacity=places)],
            confirm_window_hours=window,
        )
        session = task.sessions.get()
        holders = [
            services.signup_create(session=session, person=resident()) for _ in range(places)
        ]
        queued = [
            services.signup_create(session=session, person=resident()) for _ in range(waiting)
        ]
        assert {s.status for s in holders} == {"confirmed"}
        assert {s.status for s in queued} <= {"waitlisted"}
        comers = [resident() for _ in range(newcomers)]
        leaving = holders[:cancelling]
        jobs = [("cancel", s) for s in leaving] + [("sign_up", p) for p in comers]

        def work(index, jobs=jobs, session=session):
            kind, item = jobs[index]
            if kind == "cancel":
                return services.signup_cancel(signup=item, actor=item.person)
            return services.signup_create(session=session, person=item)

        results = in_threads(len(jobs), work)

        assert unexpected(results) == [], (number, results)
        assert_consistent(session)
        # The people waiting before the race are promoted first, in their order, and once.
        freed = min(cancelling, waiting)
        promoted = promoted_ids(session)
        assert promoted[:freed] == [s.pk for s in queued[:freed]]
        place = "offered" if window else "confirmed"
        for signup in queued[:freed]:
            assert Signup.objects.get(pk=signup.pk).status == place
        for signup in queued[freed:]:
            assert Signup.objects.get(pk=signup.pk).status == "waitlisted"
        assert {Signup.objects.get(pk=s.pk).status for s in leaving} == {"cancelled"}
        if cancelling <= waiting:
            # Always full: a place given back went to the list in the cancel's transaction,
            # so no newcomer ever found one free.
            assert {r.status for r in results if r.status != "cancelled"} == {"waitlisted"}
            assert len(promoted) == cancelling
        # Everyone who wanted a place and is not holding one is waiting, in a full session.
        wanted = places - cancelling + waiting + newcomers
        assert session.taken == min(places, wanted)
        assert Signup.objects.filter(session=session, status="waitlisted").count() == max(
            0, wanted - places
        )


def test_one_person_racing_into_two_overlapping_sessions_holds_at_most_one(municipalities):
    staff = staff_of(CHIZU)
    days = range(7, 17)
    morning = published_task(staff=staff, title="朝の草刈り", sessions=[slot(d, 9) for d in days])
    noon = published_task(
        staff=staff, title="昼のそば打ち", sessions=[slot(d, 11, 3) for d in days]
    )
    person = resident()

    pairs = zip(
        morning.sessions.order_by("starts_at"), noon.sessions.order_by("starts_at"), strict=True
    )
    for a, b in pairs:
        sessions = [a, b]
        results = in_threads(
            2,
            lambda index, sessions=sessions: services.signup_create(
                session=sessions[index], person=person
            ),
        )
        assert unexpected(results, allowed=(Conflict,)) == []
        made = [r for r in results if isinstance(r, Signup)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert (len(made), len(refused)) == (1, 1)
        assert made[0].status == "confirmed"
        assert "重なる回には申し込めません" in str(refused[0])
        holding = Signup.objects.filter(
            person=person, session__in=sessions, status__in=["confirmed", "offered"]
        )
        assert holding.count() == 1
        assert sum(Session.objects.get(pk=s.pk).taken for s in sessions) == 1
