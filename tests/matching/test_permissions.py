"""Who may do what in the board's API, the inbox and its preferences.

Every endpoint and method of ``matching.api`` and ``notifications.api`` is tried by every
role, and the expected status of each pair is written out in ``MATRIX``. Each role's try is
rolled back, so all start from the same world. A walk over the URL configuration fails the
suite when an endpoint is added without a row here, and every row must be in the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import Role, User
from core.errors import Code
from matching import services
from matching.errors import MatchingCode
from matching.models import (
    HostApplication,
    Session,
    Signup,
    SignupStatus,
    Task,
    TaskRevision,
    Thread,
)
from notifications.models import Notification
from places.models import Municipality
from tests.factories import person_with_role
from tests.matching.support import (
    AMA,
    CHIZU,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    move_to_past,
    resident,
    staff_of,
)
from tests.support import SIGNUP_DETAILS

ROLES = (
    "anonymous",
    "resident",  # signed in, nothing to do with the task
    "participant",  # signed up for the task's sessions: the sign-ups the URLs name are theirs
    "host",  # the task's host (ヌシ of 智頭町)
    "other_host",  # ヌシ of 海士町
    "editor",  # 智頭町's staff (editor)
    "other_staff",  # 海士町's staff (admin)
    "prefecture",  # 鳥取県's staff: statistics, not a town's tasks
    "national",  # the platform's administrator: not a town's tasks either
)


@dataclass
class World:
    people: dict[str, User | None]
    task: Task  # published, hosted by "host", two sessions to come
    session: Session  # its first session; the participant holds a place in it
    second: Session  # its second session: free, for signing up
    signup: Signup  # the participant's place in ``session``
    draft: Task  # the host's draft
    in_review: Task  # the host's task waiting for 智頭町's review
    past: Task  # published, its one session begun yesterday
    past_signup: Signup  # the participant's place in it, attendance not marked yet
    offered: Signup  # the participant's place offered from a waiting list, to confirm
    pending: Signup  # the participant's request on a host-approved task
    application: HostApplication  # someone's application to host for 智頭町
    notification: Notification  # one of the participant's
    revision: TaskRevision  # the host's change to ``task``, waiting for 智頭町's staff


def _session(days: int, capacity: int = 5) -> dict:
    return {"starts_at": in_days(days), "ends_at": in_days(days, 15), "capacity": capacity}


def _published(host: User, editor: User, **kwargs) -> Task:
    task = make_task(host, CHIZU, **kwargs)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=editor)


@pytest.fixture
def world(db) -> World:
    people: dict[str, User | None] = {
        "anonymous": None,
        "resident": resident(),
        "participant": resident(),
        "host": host_of(CHIZU),
        "other_host": host_of(AMA),
        "editor": staff_of(CHIZU),
        "other_staff": person_with_role(Role.MUNICIPALITY_ADMIN, AMA),
        "prefecture": person_with_role(Role.PREFECTURE_STAFF, "31"),
        "national": person_with_role(Role.NATIONAL_ADMIN),
    }
    host, editor, participant = people["host"], people["editor"], people["participant"]

    # Sessions on different days: the participant's places never overlap.
    task = make_task(host, CHIZU, sessions=[_session(7), _session(8)])
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=editor)
    session, second = task.sessions.order_by("starts_at")
    signup = services.signup_create(session=session, person=participant)

    past = _published(host, editor, sessions=[_session(3)], title="秋の稲刈り")
    past_signup = services.signup_create(session=past.sessions.get(), person=participant)
    move_to_past(past.sessions.get())

    offering = _published(host, editor, sessions=[_session(9, capacity=1)], confirm_window_hours=24)
    first = services.signup_create(session=offering.sessions.get(), person=resident())
    offered = services.signup_create(session=offering.sessions.get(), person=participant)
    services.signup_cancel(signup=first, actor=first.person)
    offered.refresh_from_db()
    assert offered.status == SignupStatus.OFFERED

    approval = _published(host, editor, sessions=[_session(10)], signup_mode="approval")
    pending = services.signup_create(session=approval.sessions.get(), person=participant)

    draft = make_task(host, CHIZU, title="下書きのお手伝い")
    in_review = services.task_submit(task=make_task(host, CHIZU, title="審査中"), actor=host)
    application = services.host_apply(
        person=resident(),
        municipality=Municipality.objects.get(code=CHIZU),
        message="空き家の片付けを手伝ってほしい",
    )
    notification = Notification.objects.filter(recipient=participant).latest("id")
    revision = services.task_revision_submit(task=task, actor=host, fields={"reward": "新米 3kg"})
    return World(
        people,
        task,
        session,
        second,
        signup,
        draft,
        in_review,
        past,
        past_signup,
        offered,
        pending,
        application,
        notification,
        revision,
    )


def _new_task() -> dict:
    return {
        "municipality": CHIZU,
        "title": "古民家の障子張り",
        "description": "障子を張り替えます。",
        "category": "community",
        "reward": "地元のお米",
        "sessions": [
            {
                "starts_at": in_days(20).isoformat(),
                "ends_at": in_days(20, 12).isoformat(),
                "capacity": 4,
            }
        ],
    }


def _thread(w: World) -> Thread:
    """The participant's question to the host of ``w.task`` (asked on first use)."""
    participant = w.people["participant"]
    thread = Thread.objects.filter(task=w.task, person=participant).first()
    if thread is None:
        thread = services.thread_post(task=w.task, actor=participant, body="駐車場は？").thread
    return thread


# (url name, method) → how to call it: path, body.
ENDPOINTS = {
    ("task-list", "get"): lambda w: ("/api/tasks/", None),
    ("task-list", "get managed"): lambda w: ("/api/tasks/?managed=1", None),
    ("task-list", "post"): lambda w: ("/api/tasks/", _new_task()),
    ("task-detail", "get"): lambda w: (f"/api/tasks/{w.task.pk}/", None),
    ("task-detail", "get draft"): lambda w: (f"/api/tasks/{w.draft.pk}/", None),
    ("task-detail", "patch"): lambda w: (f"/api/tasks/{w.task.pk}/", {"what_to_bring": "軍手"}),
    ("task-submit", "post"): lambda w: (f"/api/tasks/{w.draft.pk}/submit/", None),
    ("task-publish", "post"): lambda w: (f"/api/tasks/{w.in_review.pk}/publish/", None),
    ("task-send-back", "post"): lambda w: (
        f"/api/tasks/{w.in_review.pk}/return/",
        {"note": "集合場所を書いてください"},
    ),
    ("task-close", "post"): lambda w: (f"/api/tasks/{w.task.pk}/close/", None),
    ("task-complete", "post"): lambda w: (f"/api/tasks/{w.past.pk}/complete/", None),
    ("task-cancel", "post"): lambda w: (f"/api/tasks/{w.task.pk}/cancel/", {"reason": "大雨"}),
    ("task-report", "post"): lambda w: (
        f"/api/tasks/{w.past.pk}/report/",
        {"report": "10人で稲を刈りました。"},
    ),
    ("task-sessions", "post"): lambda w: (
        f"/api/tasks/{w.task.pk}/sessions/",
        {
            "starts_at": in_days(21).isoformat(),
            "ends_at": in_days(21, 12).isoformat(),
            "capacity": 3,
        },
    ),
    ("task-participants", "get"): lambda w: (f"/api/tasks/{w.task.pk}/participants/", None),
    ("task-revisions", "get"): lambda w: (f"/api/tasks/{w.task.pk}/revisions/", None),
    ("task-revision-queue", "get"): lambda w: (f"/api/tasks/revisions/?municipality={CHIZU}", None),
    ("task-revision-decide", "post"): lambda w: (
        f"/api/tasks/{w.task.pk}/revisions/{w.revision.pk}/decide/",
        {"approve": True},
    ),
    ("task-revision-withdraw", "post"): lambda w: (
        f"/api/tasks/{w.task.pk}/revisions/{w.revision.pk}/withdraw/",
        None,
    ),
    ("session-detail", "get"): lambda w: (f"/api/sessions/{w.session.pk}/", None),
    ("session-detail", "patch"): lambda w: (f"/api/sessions/{w.session.pk}/", {"capacity": 6}),
    ("session-cancel", "post"): lambda w: (
        f"/api/sessions/{w.session.pk}/cancel/",
        {"reason": "講師の都合"},
    ),
    ("session-signups", "get"): lambda w: (f"/api/sessions/{w.session.pk}/signups/", None),
    ("api-roster", "get"): lambda w: (f"/api/sessions/{w.session.pk}/roster/", None),
    ("session-signups", "post"): lambda w: (
        f"/api/sessions/{w.second.pk}/signups/",
        SIGNUP_DETAILS,
    ),
    ("signup-list", "get"): lambda w: ("/api/signups/", None),
    ("signup-detail", "get"): lambda w: (f"/api/signups/{w.signup.pk}/", None),
    ("signup-cancel", "post"): lambda w: (f"/api/signups/{w.signup.pk}/cancel/", None),
    ("signup-confirm", "post"): lambda w: (f"/api/signups/{w.offered.pk}/confirm/", None),
    ("signup-thanks", "post"): lambda w: (
        f"/api/signups/{w.past_signup.pk}/thanks/",
        {"message": "ありがとうございました"},
    ),
    ("signup-ical", "get"): lambda w: (f"/api/signups/{w.signup.pk}/ical/", None),
    ("signup-decide", "post"): lambda w: (f"/api/signups/{w.pending.pk}/decide/", {"accept": True}),
    ("signup-attendance", "post"): lambda w: (
        f"/api/signups/{w.past_signup.pk}/attendance/",
        {"attendance": "attended"},
    ),
    ("api-session-attendance", "post"): lambda w: (
        f"/api/sessions/{w.past_signup.session_id}/attendance/",
        {},
    ),
    ("host-application-list", "get"): lambda w: ("/api/host-applications/", None),
    ("host-application-list", "post"): lambda w: (
        "/api/host-applications/",
        {"municipality": CHIZU, "message": "棚田の草刈りを募集したい"},
    ),
    ("host-application-decide", "post"): lambda w: (
        f"/api/host-applications/{w.application.pk}/decide/",
        {"approve": True},
    ),
    ("api-host-application-queue", "get"): lambda w: (
        f"/api/municipalities/{CHIZU}/host-applications/",
        None,
    ),
    ("notification-list", "get"): lambda w: ("/api/notifications/", None),
    ("notification-unread-count", "get"): lambda w: ("/api/notifications/unread-count/", None),
    ("notification-read", "post"): lambda w: (
        f"/api/notifications/{w.notification.pk}/read/",
        None,
    ),
    ("notification-read-all", "post"): lambda w: ("/api/notifications/read-all/", None),
    ("api-notification-preferences", "get"): lambda w: ("/api/notification-preferences/", None),
    ("api-notification-preferences", "patch"): lambda w: (
        "/api/notification-preferences/",
        {"preferences": [{"topic": "matches", "email": "daily"}]},
    ),
    ("api-notification-preferences", "put"): lambda w: (
        "/api/notification-preferences/",
        {"language": "en", "preferences": [{"topic": "reminders", "inbox": "never"}]},
    ),
    ("api-recommendations", "get"): lambda w: ("/api/recommendations/", None),
    ("task-watch", "post"): lambda w: (f"/api/tasks/{w.task.pk}/watch/", None),
    ("task-watch", "post draft"): lambda w: (f"/api/tasks/{w.draft.pk}/watch/", None),
    ("task-watch", "delete"): lambda w: (f"/api/tasks/{w.task.pk}/watch/", None),
    ("task-messages", "get"): lambda w: (f"/api/tasks/{w.task.pk}/messages/", None),
    ("task-messages", "post"): lambda w: (
        f"/api/tasks/{w.task.pk}/messages/",
        {"audience": "all", "subject": "集合場所", "body": "駅前に集合してください。"},
    ),
    ("task-threads", "get"): lambda w: (f"/api/tasks/{w.task.pk}/threads/", None),
    ("task-question", "get"): lambda w: (
        f"/api/tasks/{_thread(w).task_id}/question/",
        None,
    ),
    ("task-question", "post"): lambda w: (
        f"/api/tasks/{w.task.pk}/question/",
        {"body": "雨天の場合は？"},
    ),
    ("thread-detail", "get"): lambda w: (f"/api/threads/{_thread(w).pk}/", None),
    ("thread-posts", "post"): lambda w: (
        f"/api/threads/{_thread(w).pk}/posts/",
        {"body": "小雨なら決行します。"},
    ),
    # issue 17: the briefing for participants, and the calendar feed
    ("api-task-briefing", "get"): lambda w: (f"/api/tasks/{w.task.pk}/briefing/", None),
    ("api-task-briefing", "put"): lambda w: (
        f"/api/tasks/{w.task.pk}/briefing/",
        {"meeting_point": "智頭駅の改札前", "contact": "090-0000-0000"},
    ),
    ("api-task-briefing", "patch"): lambda w: (
        f"/api/tasks/{w.task.pk}/briefing/",
        {"instructions": "9時に集合"},
    ),
    ("api-calendar-feed", "get"): lambda w: ("/api/me/calendar-feed/", None),
    ("api-calendar-feed", "post"): lambda w: ("/api/me/calendar-feed/", None),
    ("api-calendar-feed-revoke", "post"): lambda w: ("/api/me/calendar-feed/revoke/", None),
}

# The expected status for each role, in the order of ROLES: anonymous, resident, participant,
# host, other_host, editor, other_staff, prefecture, national.
MATRIX = {
    # The board is public to read; its lists of one's own work need an account.
    ("task-list", "get"): (200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("task-list", "get managed"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("task-detail", "get"): (200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("session-detail", "get"): (200, 200, 200, 200, 200, 200, 200, 200, 200),
    # A draft exists only for the people who manage it.
    ("task-detail", "get draft"): (404, 404, 404, 200, 404, 200, 404, 404, 404),
    # 智頭町's tasks are made by 智頭町's staff and its approved hosts; nobody else.
    ("task-list", "post"): (401, 403, 403, 201, 403, 201, 403, 403, 403),
    # A published task is seen by all: the others are refused (403), not told it is missing.
    # Its host's change to it waits for the town's staff (202, a revision); theirs is made.
    ("task-detail", "patch"): (401, 403, 403, 202, 403, 200, 403, 403, 403),
    ("task-close", "post"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-complete", "post"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-cancel", "post"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-report", "post"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-sessions", "post"): (401, 403, 403, 202, 403, 201, 403, 403, 403),
    ("task-participants", "get"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("session-detail", "patch"): (401, 403, 403, 202, 403, 200, 403, 403, 403),
    ("session-cancel", "post"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("session-signups", "get"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    # The roster (issue 17): a session one does not manage is unknown, not refused.
    ("api-roster", "get"): (401, 404, 404, 200, 404, 200, 404, 404, 404),
    # A host's held changes: the task's managers see them; the town's staff (never their
    # author) decide; the host withdraws. To anyone else a revision is unknown.
    ("task-revisions", "get"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-revision-queue", "get"): (401, 403, 403, 403, 403, 200, 403, 403, 403),
    ("task-revision-decide", "post"): (401, 404, 404, 403, 404, 200, 404, 404, 404),
    ("task-revision-withdraw", "post"): (401, 404, 404, 200, 404, 403, 404, 404, 404),
    # Drafts and tasks in review: only their managers see them; publishing is the town's.
    ("task-submit", "post"): (401, 404, 404, 200, 404, 200, 404, 404, 404),
    ("task-publish", "post"): (401, 404, 404, 403, 404, 200, 404, 404, 404),
    ("task-send-back", "post"): (401, 404, 404, 403, 404, 200, 404, 404, 404),
    # Anyone with an account may sign up (the participant too: another session).
    ("session-signups", "post"): (401, 201, 201, 201, 201, 201, 201, 201, 201),
    # A sign-up is its person's: anyone else's is as unknown as a missing one.
    ("signup-list", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("signup-detail", "get"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("signup-cancel", "post"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("signup-confirm", "post"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("signup-thanks", "post"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("signup-ical", "get"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    # Deciding and attendance are the task's managers'; to anyone else the sign-up is unknown.
    ("signup-decide", "post"): (401, 404, 404, 200, 404, 200, 404, 404, 404),
    ("signup-attendance", "post"): (401, 404, 404, 200, 404, 200, 404, 404, 404),
    ("api-session-attendance", "post"): (401, 404, 404, 200, 404, 200, 404, 404, 404),
    # Anyone may apply to host; 智頭町's host already is one (409).
    ("host-application-list", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("host-application-list", "post"): (401, 201, 201, 409, 201, 201, 201, 201, 201),
    # Applications are decided by the town's own staff only.
    ("host-application-decide", "post"): (401, 404, 404, 404, 404, 200, 404, 404, 404),
    ("api-host-application-queue", "get"): (401, 403, 403, 403, 403, 200, 403, 403, 403),
    # The inbox is the person's own.
    ("notification-list", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("notification-unread-count", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("notification-read", "post"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("notification-read-all", "post"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    # So are one's notification preferences and recommendations.
    ("api-notification-preferences", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-notification-preferences", "patch"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-notification-preferences", "put"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-recommendations", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    # Anyone with an account may watch a published task, but only once it is full: this one
    # has places (409 watch_places_left, issue 17); a draft is unknown to all but its
    # managers, who are told it cannot be watched (409: it is not published).
    ("task-watch", "post"): (401, 409, 409, 409, 409, 409, 409, 409, 409),
    ("task-watch", "post draft"): (401, 404, 404, 409, 404, 409, 404, 404, 404),
    ("task-watch", "delete"): (401, 204, 204, 204, 204, 204, 204, 204, 204),
    # Messages to the task's participants: written and read by its managers only.
    ("task-messages", "get"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("task-messages", "post"): (401, 403, 403, 201, 403, 201, 403, 403, 403),
    ("task-threads", "get"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    # Anyone with an account may ask about a published task, but not the people who run
    # it; one's own thread is one's own (the others have asked nothing: 404).
    ("task-question", "get"): (401, 404, 200, 404, 404, 404, 404, 404, 404),
    ("task-question", "post"): (401, 201, 201, 403, 201, 403, 201, 201, 201),
    # Someone's thread: its person and the task's managers; to anyone else it is unknown.
    ("thread-detail", "get"): (401, 404, 200, 200, 404, 200, 404, 404, 404),
    ("thread-posts", "post"): (401, 404, 201, 201, 404, 201, 404, 404, 404),
    # The briefing: read by the task's managers and the people holding a place (to anyone
    # else it is unknown), written by its managers only (not reviewed: it is not public).
    ("api-task-briefing", "get"): (401, 404, 200, 200, 404, 200, 404, 404, 404),
    ("api-task-briefing", "put"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    ("api-task-briefing", "patch"): (401, 403, 403, 200, 403, 200, 403, 403, 403),
    # One's calendar feed is one's own: none yet (404), made (201), remade.
    ("api-calendar-feed", "get"): (401, 404, 404, 404, 404, 404, 404, 404, 404),
    ("api-calendar-feed", "post"): (401, 201, 201, 201, 201, 201, 201, 201, 201),
    ("api-calendar-feed-revoke", "post"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
}

CODES = {
    400: {"invalid", *MatchingCode},
    401: {"not_authenticated"},
    # Who may not act: the generic code, or the board's reason for it.
    403: {
        Code.PERMISSION_DENIED,
        Code.NOT_STAFF_HERE,
        Code.OWN_ITEM,
        MatchingCode.NOT_TASK_MANAGER,
        MatchingCode.NOT_HOST_HERE,
        MatchingCode.NOT_OWN_SIGNUP,
        MatchingCode.NOT_OWN_REVISION,
        MatchingCode.CHANGE_NEEDS_REVIEW,
        MatchingCode.QUESTION_OWN_TASK,
    },
    404: {"not_found"},
    409: {"conflict", Code.ALREADY_DECIDED, *MatchingCode},
}


def test_the_matrix_names_every_endpoint_once():
    assert set(MATRIX) == set(ENDPOINTS)


def _call(world: World, endpoint, role: str):
    path, body = ENDPOINTS[endpoint](world)
    method = endpoint[1].split()[0]
    api = api_as(world.people[role])
    return getattr(api, method)(path, body, format="json")


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_for(world, role):
    column = ROLES.index(role)
    expected = {endpoint: statuses[column] for endpoint, statuses in MATRIX.items()}
    got = {}
    for endpoint, status in expected.items():
        with transaction.atomic():  # each call starts from the same world
            response = _call(world, endpoint, role)
            got[endpoint] = response.status_code
            if response.status_code == status and status >= 400:
                code = response.json()["error"]["code"]
                assert code in CODES[status], (endpoint, code)
                error_of(response, status, code)
            transaction.set_rollback(True)
    assert got == expected


def test_what_a_refused_role_tried_did_not_happen(world):
    """A spot check that a refusal is a refusal, not a change with an error."""
    for role in ("other_host", "other_staff", "prefecture", "national"):
        api = api_as(world.people[role])
        api.patch(f"/api/tasks/{world.task.pk}/", {"title": "乗っ取り"}, format="json")
        api.post(f"/api/tasks/{world.task.pk}/cancel/", {"reason": "x"}, format="json")
        api.post(f"/api/signups/{world.past_signup.pk}/attendance/", {"attendance": "no_show"})
        api.post(f"/api/host-applications/{world.application.pk}/decide/", {"approve": True})
    world.task.refresh_from_db()
    assert (world.task.title, world.task.status) == ("棚田の草刈り", "published")
    world.past_signup.refresh_from_db()
    assert world.past_signup.attendance == ""
    world.application.refresh_from_db()
    assert world.application.status == "pending"
    assert Signup.objects.get(pk=world.signup.pk).status == SignupStatus.CONFIRMED


# --- The walk: no endpoint without a row --------------------------------------------------

API_MODULES = {"matching.api", "notifications.api"}


def _board_routes() -> set[tuple[str, str]]:
    """(url name, method) of every URL whose view is in matching.api or notifications.api."""
    routes = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
                continue
            assert isinstance(pattern, URLPattern)
            callback = pattern.callback
            view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            module = (view or callback).__module__
            if not any(module == name or module.startswith(f"{name}.") for name in API_MODULES):
                continue  # matching.api is a package: its modules count
            if getattr(callback, "actions", None):  # a viewset route
                methods = set(callback.actions)
            else:
                methods = {name for name in view.http_method_names if hasattr(view, name)}
            # HEAD follows GET; OPTIONS is metadata.
            methods -= {"head", "options"}
            routes.update((pattern.name, method) for method in methods)

    walk(get_resolver().url_patterns)
    return routes


def test_every_board_endpoint_is_in_the_matrix():
    routes = _board_routes()
    assert len(routes) >= 30  # the walk found the API
    tested = {(name, method.split()[0]) for name, method in MATRIX}
    assert routes - tested == set(), "endpoints without a permission row"
    assert tested - routes == set(), "rows for endpoints that no longer exist"


def _schema_path(path: str) -> str:
    path = path.split("?")[0]
    path = re.sub(r"/municipalities/\d{6}/", "/municipalities/{code}/", path)
    path = re.sub(r"/revisions/\d+/", "/revisions/{revision}/", path)
    return re.sub(r"/\d+/", "/{id}/", path)


def test_every_endpoint_is_documented_in_the_schema(world, client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    missing = []
    for endpoint, call in ENDPOINTS.items():
        path = _schema_path(call(world)[0])
        method = endpoint[1].split()[0]
        if method not in schema["paths"].get(path, {}):
            missing.append(f"{method.upper()} {path}")
    assert missing == []
