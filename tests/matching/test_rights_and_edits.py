"""What the review of the board found: deleting the account of someone who took part, host
names that are never e-mail addresses, edits that would strand or mislead participants, and
ids that are not numbers."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import User
from accounts.services import account_delete
from matching import services
from matching.models import Session, Signup, SignupStatus, Task
from tests.matching.support import (
    CHIZU,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    resident,
    staff_of,
)

pytestmark = pytest.mark.django_db


def test_deleting_the_account_of_a_participant_keeps_the_past_and_frees_the_future():
    staff = staff_of()
    past = published_task(staff=staff)
    future = published_task(staff=staff, capacity=1)
    person, waiting = resident(), resident()
    attended = services.signup_create(session=past.sessions.get(), person=person)
    move_to_past(attended.session)
    services.attendance_mark(signup=attended, actor=staff, attendance="attended")
    upcoming = services.signup_create(session=future.sessions.get(), person=person)
    queued = services.signup_create(session=future.sessions.get(), person=waiting)
    assert queued.status == SignupStatus.WAITLISTED

    account_delete(user=person)

    attended.refresh_from_db()
    upcoming.refresh_from_db()
    queued.refresh_from_db()
    assert (attended.status, attended.attendance) == ("confirmed", "attended")
    assert upcoming.status == SignupStatus.CANCELLED
    assert queued.status == SignupStatus.CONFIRMED  # the freed place went on
    assert Session.objects.get(task=future).taken == 1


def test_a_host_without_a_name_is_asked_for_one_never_shown_by_e_mail():
    host = host_of(CHIZU, family_name="", given_name="")
    with pytest.raises(ValidationError) as refused:
        make_task(host)
    assert "host_name" in refused.value.message_dict
    # A host does not type the name shown: the town approves it (their application).
    with pytest.raises(ValidationError) as refused:
        make_task(host, host_name="智頭の森の会")
    assert "host_name" in refused.value.message_dict
    assert not Task.objects.exists()
    host.given_name = "森"
    host.save(update_fields=["given_name"])
    task = make_task(host)
    assert task.host_name == host.public_name
    assert host.email not in Task.objects.get().host_name


def test_a_published_task_keeps_its_way_of_choosing_while_people_are_signed_up():
    task = published_task(capacity=1)
    services.signup_create(session=task.sessions.get(), person=resident())
    with pytest.raises(ValidationError) as refused:
        services.task_update(task=task, actor=staff_of(), signup_mode="approval")
    assert "signup_mode" in refused.value.message_dict
    assert Task.objects.get().signup_mode == "first_come"


def test_only_staff_change_a_published_designated_activity():
    host = host_of(CHIZU)
    task = make_task(host)
    services.task_submit(task=task, actor=host)
    staff = staff_of()
    services.task_publish(task=task, actor=staff)
    with pytest.raises(PermissionDenied):  # a host's change to a published task is held
        services.task_update(task=Task.objects.get(), actor=host, designated=True)
    with pytest.raises(ValidationError):  # and even held, this one is the staff's alone
        services.task_revision_submit(
            task=Task.objects.get(), actor=host, fields={"designated": True}
        )
    assert not Task.objects.get().designated
    services.task_update(task=Task.objects.get(), actor=staff, designated=True)
    assert Task.objects.get().designated


def test_a_session_is_not_moved_onto_a_participants_other_session():
    staff = staff_of()
    first = published_task(staff=staff)
    second = published_task(
        staff=staff,
        sessions=[{"starts_at": in_days(9), "ends_at": in_days(9, 15), "capacity": 5}],
    )
    person = resident()
    services.signup_create(session=first.sessions.get(), person=person)
    services.signup_create(session=second.sessions.get(), person=person)
    with pytest.raises(ValidationError) as refused:
        services.session_update(
            session=second.sessions.get(),
            actor=staff,
            starts_at=in_days(7, 10),
            ends_at=in_days(7, 12),
        )
    assert "starts_at" in refused.value.message_dict
    assert Signup.objects.get(session__task=second).starts_at == in_days(9)


def test_far_future_sessions_are_refused():
    with pytest.raises(ValidationError) as refused:
        make_task(
            staff_of(),
            sessions=[{"starts_at": in_days(4000), "ends_at": in_days(4000, 15), "capacity": 3}],
        )
    assert "sessions" in refused.value.message_dict
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/tasks/abc/"),
        ("get", "/api/sessions/abc/"),
        ("post", "/api/tasks/abc/publish/"),
        ("post", "/api/signups/abc/cancel/"),
        ("post", "/api/notifications/abc/read/"),
        ("post", "/api/host-applications/abc/decide/"),
    ],
)
def test_ids_that_are_not_numbers_are_not_found(method, path):
    response = getattr(api_as(staff_of()), method)(path, {}, format="json")
    error_of(response, 404, "not_found")


def test_a_managed_list_refuses_a_municipality_code_that_is_not_one():
    staff = User.objects.get(pk=staff_of().pk)
    error_of(
        api_as(staff).get("/api/tasks/?managed=true&municipality=%00"),
        400,
        "municipality_code_invalid",
    )


def test_the_towns_staff_hear_of_a_host_application_once():
    from notifications.models import Notification
    from places.models import Municipality

    staff, other_town = staff_of(CHIZU), staff_of("325252")
    application = services.host_apply(
        person=resident(),
        municipality=Municipality.objects.get(code=CHIZU),
        organisation="智頭の森の会",
        message="間伐材の搬出を手伝ってほしい",
    )
    inbox = Notification.objects.filter(kind="host_applied")
    assert list(inbox.values_list("recipient_id", flat=True)) == [staff.pk]
    assert "智頭の森の会" in inbox.get().body
    assert inbox.get().url.endswith(f"/staff/{CHIZU}/hosts/")
    assert not Notification.objects.filter(recipient=other_town).exists()
    assert application.status == "pending"


def test_the_sign_up_list_gives_waiting_positions_in_a_fixed_number_of_queries():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    person = resident()

    def wait_in_a_full_session():
        task = published_task(capacity=1)
        services.signup_create(session=task.sessions.get(), person=resident())
        services.signup_create(session=task.sessions.get(), person=person)

    def listed():
        with CaptureQueriesContext(connection) as queries:
            response = api_as(User.objects.get(pk=person.pk)).get("/api/signups/")
        assert response.status_code == 200
        return len(queries), [row["waitlist_position"] for row in response.json()["results"]]

    wait_in_a_full_session()
    one_count, positions = listed()
    assert positions == [1]
    for _ in range(3):
        wait_in_a_full_session()
    four_count, positions = listed()
    assert positions == [1, 1, 1, 1]
    assert four_count == one_count
