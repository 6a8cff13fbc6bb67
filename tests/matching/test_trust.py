"""Issue 14 (trust) on the board: nobody turns their own attendance into a designated
activity, a host's change to a published task waits for the town's staff, the name a host's
tasks show is the one the town approved, and staff and host reads of personal data are
audited. Through the API, the pages and the services, on the real database."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import AuditEvent, Role, User
from accounts.services import membership_grant
from matching import services
from matching.models import HostApplication, RevisionStatus, Session, Signup, Task, TaskRevision
from notifications.models import Notification
from places.models import Municipality
from registry import services as registry_services
from registry.models import Activity, ReviewStatus
from tests.factories import client_for

from .support import (
    CHIZU,
    SETAGAYA,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    register,
    resident,
    staff_of,
)

pytestmark = pytest.mark.django_db


def with_profile(user):
    """Give a host or staff member the profile a registration needs."""
    registry_services.profile_update(
        user=user, home_municipality=Municipality.objects.get(code=SETAGAYA), birth_year=1980
    )
    return user


def hosts_published_task(host, staff, **fields):
    task = make_task(host, **fields)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=staff)


def png(size: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def attended_row(signup) -> Activity | None:
    return Activity.objects.filter(reference=f"signup:{signup.pk}").first()


def approved_designated(person) -> int:
    return Activity.objects.filter(
        registration__person=person, designated=True, status=ReviewStatus.APPROVED
    ).count()


# --- No self-dealing ---------------------------------------------------------------------


def test_a_host_cannot_mark_their_own_attendance_and_it_counts_only_after_review():
    host, staff, colleague = with_profile(host_of(CHIZU)), staff_of(CHIZU), staff_of(CHIZU)
    register(host, CHIZU)
    task = hosts_published_task(host, staff, designated=True)
    session = task.sessions.get()
    mine = services.signup_create(session=session, person=host)
    other = resident()
    register(other, CHIZU)
    theirs = services.signup_create(session=session, person=other)
    move_to_past(session)

    # The API refuses, with the one error shape and a code, in both languages.
    for language, words in (("ja", "自分の出欠"), ("en", "your own attendance")):
        response = api_as(host, language).post(
            f"/api/signups/{mine.pk}/attendance/", {"attendance": "attended"}, format="json"
        )
        assert words in error_of(response, 403, "own_item")["message"]
    # The page does not offer it for the host's own row, and refuses the request anyway.
    browser = client_for(host)
    html = browser.get(f"/tasks/{task.pk}/participants/").content.decode()
    assert f"/signups/{mine.pk}/attendance/" not in html
    assert f"/signups/{theirs.pk}/attendance/" in html
    assert "ご自身の出欠はつけられません" in html
    response = browser.post(f"/signups/{mine.pk}/attendance/", {"attendance": "attended"})
    assert response.status_code == 403
    assert Signup.objects.get(pk=mine.pk).attendance == ""
    assert attended_row(mine) is None

    # The host marks a participant: that counts at once, as before.
    response = api_as(host).post(
        f"/api/signups/{theirs.pk}/attendance/", {"attendance": "attended"}, format="json"
    )
    assert response.status_code == 200
    assert approved_designated(other) == 1

    # Staff mark the host attended: a designated activity only once another staff
    # member accepts it in the activity review.
    response = api_as(staff).post(
        f"/api/signups/{mine.pk}/attendance/", {"attendance": "attended"}, format="json"
    )
    assert response.status_code == 200
    activity = attended_row(mine)
    assert (activity.status, activity.designated, activity.source) == ("pending", True, "board")
    assert approved_designated(host) == 0
    assert activity in registry_services.activity_queue_read(
        viewer=staff, municipality=task.municipality
    )
    html = client_for(colleague).get(f"/staff/{CHIZU}/activities/").content.decode()
    assert "ほかの職員の確認を経て担い手活動に数えます" in html
    # The host is not staff: they cannot review it (their own evidence) at all.
    response = api_as(host).post(
        f"/api/activities/{activity.pk}/review/", {"approve": True}, format="json"
    )
    assert response.status_code in (403, 404)
    response = api_as(colleague).post(
        f"/api/activities/{activity.pk}/review/", {"approve": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert approved_designated(host) == 1


def test_town_staff_on_their_own_towns_task_need_another_staff_members_review():
    me, colleague = with_profile(staff_of(CHIZU)), staff_of(CHIZU)
    register(me, CHIZU)
    task = published_task(CHIZU, staff=colleague, designated=True)
    session = task.sessions.get()
    signup = services.signup_create(session=session, person=me)
    move_to_past(session)

    response = api_as(me).post(
        f"/api/signups/{signup.pk}/attendance/", {"attendance": "attended"}, format="json"
    )
    error_of(response, 403, "own_item")
    response = client_for(me).post(f"/signups/{signup.pk}/attendance/", {"attendance": "no_show"})
    assert response.status_code == 403
    html = client_for(me).get(f"/tasks/{task.pk}/participants/").content.decode()
    assert f"/signups/{signup.pk}/attendance/" not in html
    assert attended_row(signup) is None

    # The colleague marks it on the page: pending, not approved.
    response = client_for(colleague).post(
        f"/signups/{signup.pk}/attendance/", {"attendance": "attended"}
    )
    assert response.status_code == 302
    activity = attended_row(signup)
    assert activity.status == ReviewStatus.PENDING and approved_designated(me) == 0
    # Nobody reviews evidence about themselves: refused with a clear message.
    response = api_as(me, "en").post(
        f"/api/activities/{activity.pk}/review/", {"approve": True}, format="json"
    )
    assert "your own" in error_of(response, 403, "own_item")["message"]
    response = client_for(me).post(
        f"/staff/activities/{activity.pk}/review/",
        {f"activity-{activity.pk}-decision": "approve"},
    )
    assert Activity.objects.get(pk=activity.pk).status == ReviewStatus.PENDING
    with pytest.raises(PermissionDenied):
        registry_services.activity_decide(activity=activity, actor=me, approve=True)
    # Nor the colleague who marked the attendance: a third pair of eyes accepts it.
    response = api_as(colleague, "en").post(
        f"/api/activities/{activity.pk}/review/", {"approve": True}, format="json"
    )
    assert "you recorded" in error_of(response, 403, "own_item")["message"]
    assert approved_designated(me) == 0
    registry_services.activity_decide(activity=activity, actor=staff_of(CHIZU), approve=True)
    assert approved_designated(me) == 1


def test_a_task_that_is_no_designated_activity_still_counts_as_engagement():
    me, colleague = with_profile(staff_of(CHIZU)), staff_of(CHIZU)
    registration = register(me, CHIZU)
    task = published_task(CHIZU, staff=colleague)
    session = task.sessions.get()
    signup = services.signup_create(session=session, person=me)
    move_to_past(session)
    services.attendance_mark(signup=signup, actor=colleague, attendance="attended")
    activity = attended_row(signup)
    assert (activity.status, activity.designated) == ("approved", False)
    registration.refresh_from_db()
    assert registration.last_activity_on is not None


# --- Review holds after publishing -------------------------------------------------------


def board_sees(title: str, task: Task) -> dict[str, bool]:
    """Whether each public door shows ``title`` for the task."""
    visitor, api = client_for(None), api_as(None)
    return {
        "/tasks/": title in visitor.get("/tasks/").content.decode(),
        "/tasks/<id>/": title in visitor.get(f"/tasks/{task.pk}/").content.decode(),
        "/api/tasks/": title in [t["title"] for t in api.get("/api/tasks/").json()["results"]],
        "/api/tasks/<id>/": api.get(f"/api/tasks/{task.pk}/").json()["title"] == title,
    }


def test_a_hosts_edit_of_a_published_task_waits_for_staff_and_staff_edits_show_at_once():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff, title="棚田の草刈り")
    session = task.sessions.get()
    person = resident()
    services.signup_create(session=session, person=person)
    api = api_as(host)

    response = api.patch(
        f"/api/tasks/{task.pk}/",
        {"title": "棚田の草刈りと稲刈り", "reward": "新米 5kg"},
        format="json",
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert {f["name"]: f["after"] for f in body["changes"]} == {
        "title": "棚田の草刈りと稲刈り",
        "reward": "新米 5kg",
    }
    photo = SimpleUploadedFile("p.png", png(), content_type="image/png")
    assert (
        api.patch(f"/api/tasks/{task.pk}/", {"photo": photo}, format="multipart").status_code == 202
    )
    response = api.post(
        f"/api/tasks/{task.pk}/sessions/",
        {
            "starts_at": in_days(20).isoformat(),
            "ends_at": in_days(20, 12).isoformat(),
            "capacity": 5,
        },
        format="json",
    )
    assert response.status_code == 202
    response = api.patch(f"/api/sessions/{session.pk}/", {"capacity": 30}, format="json")
    assert response.status_code == 202
    # One pending revision holds all four; the earlier ones were replaced by it.
    pending = TaskRevision.objects.get(status=RevisionStatus.PENDING)
    assert set(pending.changes) == {"title", "reward"} and pending.photo
    assert len(pending.sessions) == 2
    assert TaskRevision.objects.filter(status=RevisionStatus.REPLACED).count() == 3

    # Nothing shows on the public board, the pages or the API.
    assert board_sees("棚田の草刈りと稲刈り", task) == dict.fromkeys(board_sees("x", task), False)
    assert all(board_sees("棚田の草刈り", task).values())
    task.refresh_from_db()
    assert (task.reward, task.photo.name) == ("新米 2kg", "")
    assert list(Session.objects.filter(task=task).values_list("capacity", flat=True)) == [10]
    public = api_as(None).get(f"/api/tasks/{task.pk}/").json()
    assert public["photo"] is None and len(public["sessions"]) == 1
    assert pending.photo.url not in client_for(None).get(f"/tasks/{task.pk}/").content.decode()
    assert not Notification.objects.filter(kind="task_changed").exists()

    # Staff are told (in their inbox, in their language); the host sees it on the task's
    # page; staff see it in their queue, with the diff.
    assert "変更の確認: 棚田の草刈り" in client_for(staff).get("/notifications/").content.decode()
    inbox = client_for(staff, language="en").get("/notifications/").content.decode()
    assert "Change to review: 棚田の草刈り" in inbox
    # The host sees it on the task's page; staff see it in their queue, with the diff.
    assert (
        f"/revisions/{pending.pk}/" in client_for(host).get(f"/tasks/{task.pk}/").content.decode()
    )
    html = client_for(staff).get(f"/staff/{CHIZU}/tasks/").content.decode()
    assert "棚田の草刈りと稲刈り" in html and "新米 5kg" in html and "定員 30 人" in html
    queue = api_as(staff).get("/api/tasks/revisions/", {"municipality": CHIZU}).json()["results"]
    assert [r["id"] for r in queue] == [pending.pk]
    by_name = {f["name"]: (f["before"], f["after"]) for f in queue[0]["changes"]}
    assert by_name["title"] == ("棚田の草刈り", "棚田の草刈りと稲刈り")
    assert queue[0]["photo"]["before"] is None and queue[0]["photo"]["after"]
    moves = {s["session"]: s for s in queue[0]["sessions"]}
    assert moves[session.pk]["before"]["capacity"] == 10
    assert moves[session.pk]["after"]["capacity"] == 30
    assert moves[None]["before"] is None

    # A staff member approves: applied as a staff edit, participants told.
    response = api_as(staff).post(
        f"/api/tasks/{task.pk}/revisions/{pending.pk}/decide/", {"approve": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert all(board_sees("棚田の草刈りと稲刈り", task).values())
    task.refresh_from_db()
    assert task.reward == "新米 5kg" and task.photo.name == pending.photo.name
    assert task.photo.url in client_for(None).get(f"/tasks/{task.pk}/").content.decode()
    assert api_as(None).get(f"/api/tasks/{task.pk}/").json()["photo"] == task.photo.url
    assert sorted(Session.objects.filter(task=task).values_list("capacity", flat=True)) == [5, 30]
    assert Notification.objects.filter(kind="task_changed", recipient=person).exists()
    assert Notification.objects.filter(kind="task_revision_approved", recipient=host).exists()
    html = client_for(host, language="en").get("/notifications/").content.decode()
    assert "Change applied: 棚田の草刈りと稲刈り" in html
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"task.revision.submit", "task.revision.approve", "task.update"} <= actions

    # Staff's own edit shows at once.
    response = api_as(staff).patch(
        f"/api/tasks/{task.pk}/", {"title": "棚田の秋仕事"}, format="json"
    )
    assert response.status_code == 200 and response.json()["title"] == "棚田の秋仕事"
    assert all(board_sees("棚田の秋仕事", task).values())


def test_a_hosts_change_to_a_task_in_review_takes_it_out_of_review():
    """Staff never publish a version they did not read: a host's change while the task is
    in review makes it a draft again, to submit once more."""
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = make_task(host)
    services.task_submit(task=task, actor=host)
    response = api_as(host).patch(
        f"/api/tasks/{task.pk}/", {"title": "審査中に書き換えた題"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "draft"
    response = api_as(staff).post(f"/api/tasks/{task.pk}/publish/", {}, format="json")
    error_of(response, 409, "host_draft_not_submitted")  # back to a draft meanwhile
    assert Task.objects.get(pk=task.pk).status == "draft"
    assert AuditEvent.objects.filter(action="task.review_withdrawn", actor=host).exists()
    # A new session does the same; the host submits again and staff publish what they read.
    services.task_submit(task=task, actor=host)
    services.session_add(
        task=Task.objects.get(pk=task.pk),
        actor=host,
        starts_at=in_days(10),
        ends_at=in_days(10) + datetime.timedelta(hours=2),
        capacity=3,
    )
    assert Task.objects.get(pk=task.pk).status == "draft"
    # Staff's own edit of a task in review keeps it there.
    services.task_submit(task=task, actor=host)
    services.task_update(task=Task.objects.get(pk=task.pk), actor=staff, title="職員が直した題")
    assert Task.objects.get(pk=task.pk).status == "in_review"


def test_fields_sent_back_untouched_are_no_change_and_staff_hear_once():
    """A host's form sends every field back as it is stored (free text is kept as typed):
    the fields the host did not touch are not changes, and a busy host's edits tell the
    town's staff once, not at every save. Half-width brackets typed over full-width ones are
    a change of the writer's own, kept as typed."""
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(
        host, staff, description="棚田のあぜの草刈り（デモ）です！", reward="お米（新米）"
    )
    revision = services.task_revision_submit(
        task=task,
        actor=host,
        fields={"title": "棚田の草刈りと水路", "description": "棚田のあぜの草刈り（デモ）です！"},
    )
    assert revision.changes == {"title": "棚田の草刈りと水路"}
    told = Notification.objects.filter(recipient=staff, kind="task_revision_submitted")
    assert told.count() == 1
    services.task_revision_submit(task=task, actor=host, fields={"reward": "お米(新米)と野菜"})
    assert told.count() == 1
    services.task_update(task=Task.objects.get(pk=task.pk), actor=staff, reward="お米(新米)")
    assert Task.objects.get(pk=task.pk).reward == "お米(新米)"  # as the staff typed it


def test_a_rejected_change_leaves_the_task_and_tells_the_host_why():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    revision = services.task_revision_submit(task=task, actor=host, fields={"reward": "なし"})
    api = api_as(staff, "en")
    response = api.post(
        f"/api/tasks/{task.pk}/revisions/{revision.pk}/decide/", {"approve": False}, format="json"
    )
    assert "note" in error_of(response, 400, "note_required")["fields"]
    response = api.post(
        f"/api/tasks/{task.pk}/revisions/{revision.pk}/decide/",
        {"approve": False, "note": "オカエシなしは募集できません"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert Task.objects.get().reward == "新米 2kg"
    told = Notification.objects.get(kind="task_revision_rejected", recipient=host)
    assert told.context["note"] == "オカエシなしは募集できません"
    assert AuditEvent.objects.filter(
        action="task.revision.reject", actor=staff, target_id=str(revision.pk)
    ).exists()
    # Decided once: a second decision is a conflict.
    response = api.post(
        f"/api/tasks/{task.pk}/revisions/{revision.pk}/decide/", {"approve": True}, format="json"
    )
    error_of(response, 409, "already_decided")


def test_nobody_approves_their_own_change():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    revision = services.task_revision_submit(task=task, actor=host, fields={"title": "自作自演"})
    url = f"/api/tasks/{task.pk}/revisions/{revision.pk}/decide/"
    error_of(api_as(host).post(url, {"approve": True}, format="json"), 403, "not_staff_here")
    assert client_for(host).post(
        f"/revisions/{revision.pk}/decide/", {"decision": "approve"}
    ).status_code in (400, 403)
    # Made staff of the town later, the host still cannot decide on their own change.
    membership_grant(user=host, role=Role.MUNICIPALITY_EDITOR, municipality=task.municipality)
    response = api_as(host, "en").post(url, {"approve": True}, format="json")
    assert "your own" in error_of(response, 403, "own_item")["message"]
    html = client_for(host).get(f"/revisions/{revision.pk}/").content.decode()
    assert f"/revisions/{revision.pk}/decide/" not in html
    assert TaskRevision.objects.get().status == RevisionStatus.PENDING
    assert Task.objects.get().title == "棚田の草刈り"
    # Staff of another town do not even see it.
    response = api_as(staff_of("325252")).post(url, {"approve": True}, format="json")
    assert response.status_code == 404


def test_the_host_withdraws_or_replaces_a_pending_change_on_the_pages():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    browser = client_for(host)
    from .test_pages import TASK_FIELDS

    response = browser.post(f"/tasks/{task.pk}/edit/", {**TASK_FIELDS, "title": "新しい題"})
    assert response.status_code == 302
    revision = TaskRevision.objects.get()
    assert response.url == f"/revisions/{revision.pk}/"
    assert Task.objects.get().title == "棚田の草刈り"
    assert "新しい題" not in client_for(None).get(f"/tasks/{task.pk}/").content.decode()
    # The edit form shows the pending change; sending it again replaces the revision.
    html = browser.get(f"/tasks/{task.pk}/edit/").content.decode()
    assert 'value="新しい題"' in html and 'name="host_name"' not in html
    response = browser.post(f"/tasks/{task.pk}/edit/", {**TASK_FIELDS, "title": "もっと新しい題"})
    assert response.status_code == 302
    latest = TaskRevision.objects.get(status=RevisionStatus.PENDING)
    assert latest.changes["title"] == "もっと新しい題"
    # A session moved on the page is held too.
    session = task.sessions.get()
    day = in_days(9).date().isoformat()
    response = browser.post(
        f"/sessions/{session.pk}/edit/",
        {"date": day, "start_time": "08:00", "end_time": "11:00", "capacity": "10"},
    )
    assert response.status_code == 302
    assert Session.objects.get(pk=session.pk).starts_at == session.starts_at
    latest = TaskRevision.objects.get(status=RevisionStatus.PENDING)
    assert latest.changes["title"] == "もっと新しい題" and len(latest.sessions) == 1

    response = browser.post(f"/revisions/{latest.pk}/withdraw/")
    assert response.status_code == 302
    assert TaskRevision.objects.get(pk=latest.pk).status == RevisionStatus.WITHDRAWN
    assert AuditEvent.objects.filter(action="task.revision.withdraw").exists()
    # Withdrawn: staff can no longer approve it.
    response = api_as(staff).post(
        f"/api/tasks/{task.pk}/revisions/{latest.pk}/decide/", {"approve": True}, format="json"
    )
    error_of(response, 409, "already_decided")
    assert Task.objects.get().title == "棚田の草刈り"


def test_staff_approve_a_change_on_the_pages():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    revision = services.task_revision_submit(task=task, actor=host, fields={"title": "新しい題"})
    office = client_for(staff)
    html = office.get(f"/revisions/{revision.pk}/").content.decode()
    assert "新しい題" in html and f"/revisions/{revision.pk}/decide/" in html
    response = office.post(f"/revisions/{revision.pk}/decide/", {"decision": "refuse"})
    assert response.status_code == 400  # a rejection needs its reason
    response = office.post(f"/revisions/{revision.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert "新しい題" in client_for(None).get(f"/tasks/{task.pk}/").content.decode()


def test_the_host_services_refuse_a_direct_change_to_a_published_task():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    with pytest.raises(PermissionDenied):
        services.task_update(task=task, actor=host, title="直接")
    with pytest.raises(PermissionDenied):
        services.session_add(
            task=task, actor=host, starts_at=in_days(9), ends_at=in_days(9, 12), capacity=3
        )
    with pytest.raises(PermissionDenied):
        services.session_update(session=task.sessions.get(), actor=host, capacity=3)
    assert Task.objects.get().title == "棚田の草刈り"


def test_bad_revision_input_is_a_400_never_a_500():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    other = hosts_published_task(host, staff)
    api = api_as(host)
    error_of(api.patch(f"/api/tasks/{task.pk}/", {}, format="json"), 400, "no_changes")
    error_of(api.patch(f"/api/tasks/{task.pk}/", {"title": ""}, format="json"), 400)
    error_of(
        api.patch(f"/api/tasks/{task.pk}/", {"designated": True}, format="json"),
        400,
        "designated_staff_only",
    )
    error_of(api.patch(f"/api/tasks/{task.pk}/", {"minimum_age": "x"}, format="json"), 400)
    error_of(
        api.patch(f"/api/sessions/{task.sessions.get().pk}/", {"capacity": 0}, format="json"), 400
    )
    past = {"starts_at": "2001-01-01T09:00:00+09:00", "ends_at": "2001-01-01T12:00:00+09:00"}
    error_of(
        api.post(f"/api/tasks/{task.pk}/sessions/", {**past, "capacity": 3}, format="json"), 400
    )
    photo = SimpleUploadedFile("p.png", b"not an image", content_type="image/png")
    error_of(api.patch(f"/api/tasks/{task.pk}/", {"photo": photo}, format="multipart"), 400)
    with pytest.raises(ValidationError):  # a session of another task
        services.task_revision_submit(
            task=task, actor=host, sessions=[{"session": other.sessions.get().pk, "capacity": 3}]
        )
    assert not TaskRevision.objects.exists()
    revision = services.task_revision_submit(task=task, actor=host, fields={"title": "題"})
    office = api_as(staff)
    for body in ({"approve": "maybe"}, {}, {"approve": False, "note": "x" * 1001}):
        error_of(
            office.post(
                f"/api/tasks/{task.pk}/revisions/{revision.pk}/decide/", body, format="json"
            ),
            400,
        )
    # The revision of one task under another's address, or no such revision: 404.
    assert (
        office.post(
            f"/api/tasks/{other.pk}/revisions/{revision.pk}/decide/",
            {"approve": True},
            format="json",
        ).status_code
        == 404
    )
    assert client_for(staff).get(f"/revisions/{revision.pk + 99}/").status_code == 404
    error_of(
        office.get("/api/tasks/revisions/", {"municipality": "abc"}),
        400,
        "municipality_code_invalid",
    )
    response = client_for(staff).post(f"/revisions/{revision.pk}/decide/", {"decision": "perhaps"})
    assert response.status_code == 400
    assert TaskRevision.objects.get().status == RevisionStatus.PENDING


# --- The name a host's tasks show --------------------------------------------------------


def test_a_hosts_tasks_show_the_organisation_the_town_approved():
    person, staff = resident(), staff_of(CHIZU)
    application = services.host_apply(
        person=person,
        municipality=Municipality.objects.get(code=CHIZU),
        organisation="智頭の森の会",
        message="森の手入れを手伝ってほしい",
    )
    services.host_application_decide(application=application, actor=staff, approve=True)
    api = api_as(User.objects.get(pk=person.pk))
    from .test_api import task_body

    response = api.post("/api/tasks/", task_body(host_name="智頭町役場"), format="json")
    assert "host_name" in error_of(response, 400, "host_name_fixed")["fields"]
    response = api.post("/api/tasks/", task_body(), format="json")
    assert response.status_code == 201 and response.json()["host_name"] == "智頭の森の会"
    task_id = response.json()["id"]
    response = api.patch(f"/api/tasks/{task_id}/", {"host_name": "智頭町"}, format="json")
    assert "host_name" in error_of(response, 400, "host_name_fixed")["fields"]
    assert Task.objects.get(pk=task_id).host_name == "智頭の森の会"
    # Staff name a partner on a task of their own.
    response = api_as(staff).post(
        "/api/tasks/", task_body(host_name="智頭町観光協会"), format="json"
    )
    assert response.json()["host_name"] == "智頭町観光協会"


# --- Reads of personal data are audited --------------------------------------------------


def test_reads_of_participants_and_host_applications_are_audited():
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    task = hosts_published_task(host, staff)
    session = task.sessions.get()
    services.signup_create(session=session, person=resident())
    services.host_apply(
        person=resident(), municipality=Municipality.objects.get(code=CHIZU), message="手伝って"
    )

    def reads(action: str, actor) -> int:
        return AuditEvent.objects.filter(action=action, actor=actor).count()

    assert api_as(host).get(f"/api/tasks/{task.pk}/participants/").status_code == 200
    assert reads("task.participants.read", host) == 1
    assert api_as(staff).get(f"/api/sessions/{session.pk}/signups/").status_code == 200
    event = AuditEvent.objects.get(action="task.participants.read", actor=staff)
    assert event.detail == {"session": session.pk} and event.target_id == str(task.pk)
    assert client_for(staff).get(f"/tasks/{task.pk}/participants/").status_code == 200
    assert reads("task.participants.read", staff) == 2
    # Someone who may not read them leaves no row (and sees nothing).
    outsider = resident()
    assert api_as(outsider).get(f"/api/tasks/{task.pk}/participants/").status_code == 403
    assert reads("task.participants.read", outsider) == 0

    assert api_as(staff).get(f"/api/municipalities/{CHIZU}/host-applications/").status_code == 200
    assert client_for(staff).get(f"/staff/{CHIZU}/hosts/").status_code == 200
    assert reads("host.queue.read", staff) == 2
    assert api_as(host).get(f"/api/municipalities/{CHIZU}/host-applications/").status_code in (
        403,
        404,
    )
    assert reads("host.queue.read", host) == 0
    assert HostApplication.objects.count() == 1
