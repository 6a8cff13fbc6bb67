"""A confirmed sign-up in at most 8 SQL statements (issue 18, "Done when" 2), counted on
PostgreSQL with ``CaptureQueriesContext`` (SAVEPOINTs count), with every guarantee kept: the
place taken once, no double booking, no overlap, a duplicate refused with 409
``already_signed_up``, the roster's details stored, the person and the host told (inbox and
e-mail rows)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import Conflict
from matching import services
from matching.models import Session, Signup, SignupDetails, Task
from notifications.models import Email, Notification
from tests.matching.support import CHIZU, host_of, in_days, make_task, refuses, resident, staff_of
from tests.support import SIGNUP_DETAILS

STATEMENTS = 8


def host_task(host, **kwargs) -> Task:
    task = make_task(host, **kwargs)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=staff_of(task.municipality_id))


def sign_up_counted(session: Session, person) -> tuple[Signup, list[str]]:
    """The sign-up, and the statements of its transaction: up to its COMMIT when it has its
    own (what the commit then starts, the relay run in-process by the test settings, is
    not the sign-up's)."""
    with CaptureQueriesContext(connection) as queries:
        signup = services.signup_create(session=session, person=person, details=SIGNUP_DETAILS)
    statements = [query["sql"].strip() for query in queries.captured_queries]
    if "COMMIT" in statements:
        statements = statements[: statements.index("COMMIT") + 1]
    return signup, statements


def assert_told(signup: Signup, host) -> None:
    key = f"signup:{signup.pk}:"
    (mine,) = Notification.objects.filter(recipient=signup.person, key__startswith=key)
    assert (mine.kind, mine.context["status"]) == ("signup_confirmed", "confirmed")
    (theirs,) = Notification.objects.filter(recipient=host, key__startswith=key)
    assert theirs.kind == "host_signup"
    assert theirs.context["person_name"] == SIGNUP_DETAILS["full_name"]
    emailed = set(Email.objects.filter(key__startswith=key).values_list("recipient_id", flat=True))
    assert emailed == {signup.person_id, host.pk}


def assert_confirmed_with_details(signup: Signup, session: Session, taken: int) -> None:
    assert signup.status == "confirmed"
    session.refresh_from_db()
    assert session.taken == taken
    details = SignupDetails.objects.get(signup=signup)
    assert (details.full_name, details.furigana) == ("山田 花子", "ヤマダ ハナコ")


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_sign_up_takes_at_most_8_statements_in_its_own_transaction(municipalities):
    host = host_of(CHIZU)
    task = host_task(host, capacity=3)
    session = task.sessions.get()
    signup, statements = sign_up_counted(session, resident())
    # BEGIN and COMMIT included, as pgbench's TPC-B counts them.
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert len(statements) <= STATEMENTS, "\n".join(statements)
    assert not any(sql.startswith(("SAVEPOINT", "RELEASE")) for sql in statements)
    print(f"{len(statements)} statements: " + " | ".join(sql[:40] for sql in statements))
    assert_confirmed_with_details(signup, session, taken=1)
    assert_told(signup, host)


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_savepoint_counts_and_it_stays_within_8(municipalities):
    host = host_of(CHIZU)
    task = host_task(host, capacity=3)
    session = task.sessions.get()
    signup, statements = sign_up_counted(session, resident())
    # The test's own transaction makes signup_create's atomic a SAVEPOINT (and its RELEASE):
    # the only savepoint, and still within the limit.
    assert len(statements) <= STATEMENTS, "\n".join(statements)
    print(f"{len(statements)} statements: " + " | ".join(sql[:40] for sql in statements))
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 1
    assert_confirmed_with_details(signup, session, taken=1)
    assert_told(signup, host)


@pytest.mark.django_db
def test_the_folded_checks_still_refuse_a_duplicate_and_an_overlap(municipalities):
    host = host_of(CHIZU)
    task = host_task(
        host,
        sessions=[
            {"starts_at": in_days(7), "ends_at": in_days(7, 15), "capacity": 5},
            {"starts_at": in_days(7, 12), "ends_at": in_days(7, 18), "capacity": 5},
        ],
    )
    first, overlapping = task.sessions.order_by("starts_at")
    person = resident()
    signup = services.signup_create(session=first, person=person, details=SIGNUP_DETAILS)
    with refuses("already_signed_up", Conflict):
        services.signup_create(session=first, person=person, details=SIGNUP_DETAILS)
    with refuses("overlapping_session", Conflict):
        services.signup_create(session=overlapping, person=person, details=SIGNUP_DETAILS)
    # Nothing of the refused ones was written: one sign-up, one place, one roster row, and
    # no notice beyond the first sign-up's two.
    assert list(Signup.objects.filter(person=person)) == [signup]
    first.refresh_from_db()
    overlapping.refresh_from_db()
    assert (first.taken, overlapping.taken) == (1, 0)
    assert SignupDetails.objects.filter(signup__person=person).count() == 1
    assert Notification.objects.filter(key__startswith="signup:").count() == 2
    # Once the first is cancelled, the same person may sign up again (a new live row).
    services.signup_cancel(signup=signup, actor=person)
    again = services.signup_create(session=first, person=person, details=SIGNUP_DETAILS)
    assert again.pk != signup.pk and again.status == "confirmed"


@pytest.mark.django_db
def test_a_full_session_puts_the_person_on_the_waiting_list_warning_of_an_overlap(
    municipalities,
):
    host = host_of(CHIZU)
    task = host_task(
        host,
        sessions=[
            {"starts_at": in_days(7), "ends_at": in_days(7, 15), "capacity": 1},
            {"starts_at": in_days(7, 12), "ends_at": in_days(7, 18), "capacity": 1},
        ],
    )
    first, overlapping = task.sessions.order_by("starts_at")
    services.signup_create(session=overlapping, person=resident(), details=SIGNUP_DETAILS)
    person = resident()
    services.signup_create(session=first, person=person, details=SIGNUP_DETAILS)
    # The overlapping session is full: a waiting place is offered, after a warning.
    with refuses("overlap_not_confirmed", Conflict):
        services.signup_create(session=overlapping, person=person, details=SIGNUP_DETAILS)
    waiting = services.signup_create(
        session=overlapping, person=person, details=SIGNUP_DETAILS, confirm_overlap=True
    )
    assert waiting.status == "waitlisted"
    overlapping.refresh_from_db()
    assert overlapping.taken == 1
    assert SignupDetails.objects.filter(signup=waiting).exists()


@pytest.mark.django_db
def test_a_staff_posted_task_tells_the_towns_staff_read_with_the_lock(municipalities):
    staff = staff_of(CHIZU)
    other = staff_of(CHIZU)
    task = make_task(staff, capacity=2)
    task = services.task_publish(task=task, actor=staff)
    session = task.sessions.get()
    signup, statements = sign_up_counted(session, resident())
    assert len(statements) <= STATEMENTS, "\n".join(statements)
    told = set(
        Notification.objects.filter(key=f"signup:{signup.pk}:host:signed_up").values_list(
            "recipient_id", flat=True
        )
    )
    assert told == {staff.pk, other.pk}
