"""The matcher and what it sets off (SPEC 5), through the services and the API: who a task
suits, in which order and why; the wide net for understaffed sessions; how many are told;
recommendations; watching a task; reminders before a session; understaffed alerts.

All on PostgreSQL with tasks run eagerly. A change's worker jobs run after its commit: in
these (non-transactional) tests only inside ``django_capture_on_commit_callbacks(execute=
True)``, so a test says which changes it lets go on to the matcher and which it keeps back.
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone, translation

from accounts.models import User
from matching import services
from matching.matcher import reason_codes, reason_texts, task_rank
from matching.models import Match, Reason, Session, Signup, SignupStatus, Task, TaskWatch
from notifications.models import Notification
from notifications.services import notification_send, preferences_set
from places import distances
from places.models import Municipality
from registry import flags
from registry import services as registry_services
from registry.models import AvailableDays, Category, Month, Profile, Skill
from tests.matching.support import (
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

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TOTTORI = "312011"  # 鳥取市, 鳥取県: 26 km from 智頭町
OKAYAMA = "331007"  # 岡山市, 岡山県 (next to 鳥取県): 73 km from 智頭町
OKUTAMA = "133086"  # 奥多摩町, 東京都: 53 km from 世田谷区

HIRAGANA = re.compile("[\u3041-\u309f]")


# --- Helpers ---------------------------------------------------------------------------------


def person(
    home: str = SETAGAYA,
    *,
    interests: tuple[str, ...] = (),
    skills: tuple[str, ...] = (),
    free_always: bool = False,
    birth_year: int = 1985,
    registered_with: tuple[str, ...] = (),
) -> User:
    """A resident with a profile as given, registered with the towns given."""
    user = resident(home, birth_year=birth_year)
    fields = {}
    if interests:
        fields["interests"] = flags.mask_of(Category, interests)
    if skills:
        fields["skills"] = flags.mask_of(Skill, skills)
    if free_always:
        fields["available_days"] = flags.full_mask(AvailableDays)
        fields["available_months"] = flags.full_mask(Month)
    if fields:
        registry_services.profile_update(user=user, **fields)
    for code in registered_with:
        register(user, code)
    return user


def ranked(task: Task) -> list[int]:
    """The people of the task's stored matches, best first."""
    return list(
        Match.objects.filter(task=task)
        .order_by("-score", "person_id")
        .values_list("person_id", flat=True)
    )


def match_of(task: Task, who: User) -> Match:
    return Match.objects.get(task=task, person=who)


def told(who: User, kind: str = "task_matched") -> int:
    return Notification.objects.filter(recipient=who, kind=kind).count()


def codes_of(task: Task, who: User) -> dict[str, object]:
    match = match_of(task, who)
    profile = Profile.objects.get(user=who)
    return dict(reason_codes(match, task, profile))


# --- Who a task suits, in which order -----------------------------------------------------------


def test_registered_ranks_above_near_and_interested_above_weak_and_the_far_get_nothing():
    registered = person(SETAGAYA, registered_with=(CHIZU,))
    near = person(TOTTORI, interests=("farming",))
    weak = person(TOTTORI, free_always=True)  # near, free, but not interested
    far = person(SETAGAYA, interests=("festivals",))  # nothing in common
    task = published_task(CHIZU, category="farming")

    assert task_rank(task) == 3
    assert ranked(task) == [registered.pk, near.pk, weak.pk]
    assert not Match.objects.filter(person=far).exists()
    scores = [match_of(task, who).score for who in (registered, near, weak)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3


def test_people_signed_up_too_young_the_host_and_inactive_people_get_no_match():
    host = host_of(CHIZU)
    registry_services.profile_update(
        user=host,
        home_municipality=Municipality.objects.get(code=CHIZU),
        birth_year=1980,
        interests=flags.mask_of(Category, ["farming"]),
    )
    staff = staff_of(CHIZU)
    task = make_task(host, CHIZU, category="farming", minimum_age=18)
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=staff)

    eligible = person(CHIZU, interests=("farming",))  # the same, minus what leaves out the others
    signed_up = person(CHIZU, interests=("farming",))
    services.signup_create(session=task.sessions.get(), person=signed_up)
    too_young = person(CHIZU, interests=("farming",), birth_year=timezone.localdate().year - 15)
    inactive = person(CHIZU, interests=("farming",))
    User.objects.filter(pk=inactive.pk).update(is_active=False)

    task_rank(task)
    assert ranked(task) == [eligible.pk]
    for left_out in (signed_up, too_young, host, inactive):
        assert not Match.objects.filter(person=left_out).exists()

    # A sign-up cancelled is no longer a reason to leave someone out.
    services.signup_cancel(signup=Signup.objects.get(person=signed_up), actor=signed_up)
    task_rank(task)
    assert set(ranked(task)) == {eligible.pk, signed_up.pk}


def test_the_reasons_say_why_in_codes_and_in_words():
    staff = staff_of(CHIZU)
    who = person(
        TOTTORI,
        interests=("farming",),
        skills=("farmwork", "cooking"),
        free_always=True,
        registered_with=(CHIZU,),
    )
    # They took part in 智頭町 before: attended a task there.
    before = published_task(CHIZU, staff=staff, title="秋の稲刈り")
    signup = services.signup_create(session=before.sessions.get(), person=who)
    move_to_past(before.sessions.get())
    services.attendance_mark(signup=signup, actor=staff, attendance="attended")

    task = published_task(
        CHIZU, staff=staff, category="farming", skills=flags.mask_of(Skill, ["farmwork", "web"])
    )
    task_rank(task)
    match = match_of(task, who)
    expected = (
        Reason.REGISTERED
        | Reason.RETURNING
        | Reason.NEAR
        | Reason.SAME_PREFECTURE
        | Reason.INTEREST
        | Reason.SKILL
        | Reason.DAYS
        | Reason.MONTH
    )
    assert Reason(match.reasons) == expected

    km = distances.km_between(TOTTORI, CHIZU)
    assert abs(match.distance_km - km) <= 1
    codes = reason_codes(match, task, Profile.objects.get(user=who))
    local = timezone.localtime(task.sessions.get().starts_at)
    day = "weekends" if local.weekday() >= 5 else "weekdays"
    assert [code for code, _detail in codes] == [
        "registered",
        "returning",
        "near",
        "same_prefecture",
        "interest",
        "skill",
        "days",
        "month",
    ]
    detail = dict(codes)
    assert detail["registered"] == "智頭町" and detail["returning"] == "智頭町"
    assert abs(detail["near"] - km) <= 1
    assert detail["same_prefecture"] == "鳥取県"
    assert detail["interest"] == "farming"
    assert detail["skill"] == ["farmwork"]  # what the task asks and the person can do
    assert detail["days"] == [day]
    assert detail["month"] == [str(local.month)]

    texts = reason_texts(codes)
    assert texts[0] == "智頭町にふるさと住民登録しています"
    assert "智頭町のお手伝いに参加したことがあります" in texts
    assert f"ご自宅から約{detail['near']} km" in texts
    assert "関心のある分野: 農林水産" in texts
    assert "できることが活かせます: 農作業" in texts


def test_living_next_door_and_being_registered_elsewhere_in_the_prefecture_are_reasons():
    neighbour = person(OKAYAMA, registered_with=(CHIZU,))
    elsewhere = person(SETAGAYA, interests=("farming",), registered_with=(TOTTORI,))
    task = published_task(CHIZU, category="farming")

    task_rank(task)
    assert codes_of(task, neighbour) == {"registered": "智頭町", "neighbour_prefecture": "鳥取県"}
    assert elsewhere.pk not in ranked(task)  # not in the first wave

    task_rank(task, wave=2)
    assert codes_of(task, elsewhere) == {"prefecture_registered": "鳥取県", "interest": "farming"}
    assert reason_texts([["neighbour_prefecture", "鳥取県"]]) == [
        "お住まいのとなりの鳥取県のお手伝いです"
    ]


def test_the_wide_net_reaches_people_the_first_wave_did_not():
    first = person(TOTTORI, interests=("farming",))
    next_door = person(OKAYAMA, interests=("farming",))  # 73 km, beyond the first radius
    registered_nearby = person(SETAGAYA, interests=("farming",), registered_with=(TOTTORI,))
    task = published_task(CHIZU, category="farming")

    task_rank(task, wave=1)
    assert ranked(task) == [first.pk]

    task_rank(task, wave=2)
    assert set(ranked(task)) == {first.pk, next_door.pk, registered_nearby.pk}
    far = match_of(task, next_door)
    assert Reason.NEAR in Reason(far.reasons)
    assert abs(far.distance_km - distances.km_between(OKAYAMA, CHIZU)) <= 1


def test_the_stored_matches_are_capped_to_the_best(settings):
    settings.MATCHING_MATCHES_PER_TASK = 2
    best = person(TOTTORI, interests=("farming",), registered_with=(CHIZU,))
    second = person(SETAGAYA, registered_with=(CHIZU,))
    third = person(TOTTORI, interests=("farming",))
    person(TOTTORI, free_always=True)
    task = published_task(CHIZU, category="farming")

    assert task_rank(task) == 2
    assert ranked(task) == [best.pk, second.pk]
    assert third.pk not in ranked(task)


# --- The matcher's job: rank, store, tell ---------------------------------------------------


def test_publishing_matches_and_tells_once_however_often_the_job_runs(
    django_capture_on_commit_callbacks,
):
    registered = person(SETAGAYA, registered_with=(CHIZU,))
    near = person(TOTTORI, interests=("farming",))
    staff = staff_of(CHIZU)
    task = make_task(staff, CHIZU, category="farming")
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_publish(task=task, actor=staff)

    task.refresh_from_db()
    assert task.match_requested_at is None  # the request was done
    assert set(ranked(task)) == {registered.pk, near.pk}
    assert told(registered) == told(near) == 1
    notification = Notification.objects.get(recipient=registered, kind="task_matched")
    assert notification.topic == "matches"
    assert notification.key == f"task:{task.pk}:matched"
    assert notification.context["reasons"] == [["registered", "智頭町"]]
    assert "智頭町にふるさと住民登録しています" in notification.body
    assert Match.objects.filter(task=task, notified_at__isnull=False).count() == 2

    rows = list(Match.objects.filter(task=task).values_list("pk", "person_id", "notified_at"))
    for _run in range(2):
        Task.objects.filter(pk=task.pk).update(match_requested_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            result = services.task_match(task_id=task.pk)
        assert result == {"matches": 2, "told": 0}
    assert list(Match.objects.filter(task=task).values_list("pk", "person_id", "notified_at")) == (
        rows
    )
    assert told(registered) == told(near) == 1


def test_a_change_of_task_ranks_again(clock, django_capture_on_commit_callbacks):
    told_farmer = person(TOTTORI, interests=("farming",))
    quiet_farmer = person(TOTTORI, interests=("farming",))
    preferences_set(
        user=quiet_farmer, changes=[("matches", "inbox", "never"), ("matches", "email", "never")]
    )
    dancer = person(TOTTORI, interests=("festivals",))
    staff = staff_of(CHIZU)
    task = make_task(staff, CHIZU, category="farming")
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_publish(task=task, actor=staff)
    assert set(ranked(task)) == {told_farmer.pk, quiet_farmer.pk}
    assert told(told_farmer) == 1 and told(quiet_farmer) == 0

    clock.shift(datetime.timedelta(minutes=1))  # the change comes after the first ranking
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, actor=staff, category="festivals")

    # The dancer suits it now; the farmer never told goes; the one told stays told.
    assert dancer.pk in ranked(task)
    assert quiet_farmer.pk not in ranked(task)
    assert match_of(task, told_farmer).notified_at is not None
    assert told(dancer) == 1 and told(told_farmer) == 1


def test_how_many_are_told_follows_the_open_places_and_the_weekly_cap(
    settings, django_capture_on_commit_callbacks
):
    settings.MATCHING_NOTIFY_PER_PLACE = 1
    best = person(TOTTORI, interests=("farming",), registered_with=(CHIZU,))
    capped = person(SETAGAYA, registered_with=(CHIZU,), free_always=True)
    third = person(TOTTORI, interests=("farming",))
    fourth = person(TOTTORI, free_always=True)
    for index in range(settings.NOTIFICATIONS_MATCH_WEEKLY_CAP):
        notification_send(
            recipients=[capped],
            kind="task_matched",
            topic="matches",
            key=f"earlier:{index}",
            context={},
        )
    staff = staff_of(CHIZU)
    task = make_task(staff, CHIZU, category="farming", capacity=2)  # budget: 1 × 2 places
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_publish(task=task, actor=staff)

    assert ranked(task)[:3] == [best.pk, capped.pk, third.pk]
    # The best two not over their weekly cap.
    assert told(best) == 1 and told(third) == 1
    assert told(capped) == settings.NOTIFICATIONS_MATCH_WEEKLY_CAP
    assert told(fourth) == 0
    assert Match.objects.filter(task=task, notified_at__isnull=False).count() == 2


# --- Recommendations -----------------------------------------------------------------------


@pytest.fixture
def recommended(django_capture_on_commit_callbacks):
    """A person in 鳥取市 registered with 智頭町 and interested in farming, with four live
    tasks ranked for them: two stay, one they signed up for, one closed, one past."""
    staff = staff_of(CHIZU)
    best = published_task(CHIZU, staff=staff, category="farming", title="棚田の草刈り")
    home = published_task(TOTTORI, category="festivals", title="しゃんしゃん祭")
    signed = published_task(CHIZU, staff=staff, category="tourism", title="観光案内")
    closed = published_task(CHIZU, staff=staff, category="tourism", title="締め切った案内")
    past = published_task(CHIZU, staff=staff, category="tourism", title="受付が終わった案内")
    with django_capture_on_commit_callbacks(execute=True):
        who = person(TOTTORI, interests=("farming",), registered_with=(CHIZU,))
    assert services.person_recommendations_refresh(person_id=who.pk) == 5
    services.signup_create(session=signed.sessions.get(), person=who)
    services.task_close(task=closed, actor=staff)
    Task.objects.filter(pk=past.pk).update(
        signup_closes_at=timezone.now() - datetime.timedelta(hours=1)
    )
    return who, best, home


def test_recommendations_best_first_with_reasons_in_the_readers_language(recommended):
    who, best, home = recommended
    body = api_as(who).get("/api/recommendations/").json()
    assert [row["task"]["id"] for row in body["results"]] == [best.pk, home.pk]
    assert body["count"] == 2
    first = body["results"][0]
    assert first["score"] > body["results"][1]["score"]
    assert first["reasons"][0] == "智頭町にふるさと住民登録しています"
    assert "関心のある分野: 農林水産" in first["reasons"]
    assert first["reason_codes"][0] == ["registered", "智頭町"]
    assert abs(first["distance_km"] - distances.km_between(TOTTORI, CHIZU)) <= 1

    english = api_as(who, "en").get("/api/recommendations/").json()["results"][0]
    assert english["reason_codes"] == first["reason_codes"]
    assert len(english["reasons"]) == len(first["reasons"]) > 0
    for text in english["reasons"]:
        assert not HIRAGANA.search(text), text
    assert any("智頭町" in text for text in english["reasons"])


def test_recommendations_follow_new_registrations_and_interests(
    django_capture_on_commit_callbacks,
):
    chizu = published_task(CHIZU, category="farming")
    okutama = published_task(OKUTAMA, category="festivals")
    with django_capture_on_commit_callbacks(execute=True):
        who = person(SETAGAYA)

    def tasks() -> list[int]:
        body = api_as(who).get("/api/recommendations/").json()
        return [row["task"]["id"] for row in body["results"]]

    assert tasks() == []
    with django_capture_on_commit_callbacks(execute=True):
        register(who, CHIZU)
    assert tasks() == [chizu.pk]
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.profile_update(user=who, interests=flags.mask_of(Category, ["festivals"]))
    assert tasks() == [chizu.pk, okutama.pk]


def test_recommendations_need_an_account():
    error_of(api_as(None).get("/api/recommendations/"), 401, "not_authenticated")


# --- Watching a task ----------------------------------------------------------------------


def test_watching_and_no_longer_watching_a_task():
    task = published_task(CHIZU, capacity=1)
    watcher = resident()
    api = api_as(watcher)
    # Only a full task is watched: it has places, so it is refused (issue 17).
    error_of(api.post(f"/api/tasks/{task.pk}/watch/"), 409, "watch_places_left")
    services.signup_create(session=task.sessions.get(), person=resident())
    for _twice in range(2):
        response = api.post(f"/api/tasks/{task.pk}/watch/")
        assert response.status_code == 200
        assert response.json() == {"task": task.pk, "watching": True}
    assert TaskWatch.objects.filter(task=task, person=watcher).count() == 1

    assert api.delete(f"/api/tasks/{task.pk}/watch/").status_code == 204
    assert not TaskWatch.objects.filter(task=task, person=watcher).exists()
    assert api.delete(f"/api/tasks/{task.pk}/watch/").status_code == 204


def test_watching_a_task_that_is_not_taking_sign_ups_is_refused_clearly():
    staff = staff_of(CHIZU)
    api = api_as(resident())
    draft = make_task(staff, CHIZU)
    error_of(api.post(f"/api/tasks/{draft.pk}/watch/"), 404, "not_found")
    error_of(api.post("/api/tasks/999999/watch/"), 404, "not_found")
    closed = services.task_close(task=published_task(CHIZU, staff=staff), actor=staff)
    error = error_of(api.post(f"/api/tasks/{closed.pk}/watch/"), 409, "task_not_published")
    assert error["message"] == "募集中のお手伝いだけを見守れます。"
    # Its manager sees the draft, and is told the same.
    error = error_of(api_as(staff).post(f"/api/tasks/{draft.pk}/watch/"), 409, "task_not_published")
    assert error["message"] == "募集中のお手伝いだけを見守れます。"
    assert not TaskWatch.objects.exists()


def test_a_watcher_hears_when_a_place_opens_and_nobody_is_waiting():
    task = published_task(CHIZU, capacity=1)
    session = task.sessions.get()
    participant, watcher = resident(), resident()
    signup = services.signup_create(session=session, person=participant)
    assert api_as(watcher).post(f"/api/tasks/{task.pk}/watch/").status_code == 200

    services.signup_cancel(signup=signup, actor=participant)

    notification = Notification.objects.get(recipient=watcher, kind="place_opened")
    assert notification.topic == "places"
    assert notification.context["places_left"] == 1
    assert "空きが出ました" in notification.subject
    assert told(participant, "place_opened") == 0


def test_a_watcher_is_not_told_when_the_place_goes_to_the_waiting_list():
    task = published_task(CHIZU, capacity=1)
    session = task.sessions.get()
    participant, waiting, watcher = resident(), resident(), resident()
    signup = services.signup_create(session=session, person=participant)
    queued = services.signup_create(session=session, person=waiting)
    assert queued.status == SignupStatus.WAITLISTED
    services.task_watch(task=task, person=watcher)

    services.signup_cancel(signup=signup, actor=participant)

    queued.refresh_from_db()
    assert queued.status in (SignupStatus.CONFIRMED, SignupStatus.OFFERED)
    assert told(watcher, "place_opened") == 0


# --- Reminders -------------------------------------------------------------------------------


def test_confirmed_participants_are_reminded_once_a_day_before_and_again_if_moved():
    staff = staff_of(CHIZU)
    task = published_task(CHIZU, staff=staff)
    session = task.sessions.get()
    going, cancelled = resident(), resident()
    services.signup_create(session=session, person=going)
    gone = services.signup_create(session=session, person=cancelled)
    services.signup_cancel(signup=gone, actor=cancelled)

    # Not yet: more than a day ahead.
    assert services.reminders_send(now=session.starts_at - datetime.timedelta(hours=30)) == 0
    day_before = session.starts_at - datetime.timedelta(hours=23)
    assert services.reminders_send(now=day_before) == 1
    assert services.reminders_send(now=day_before + datetime.timedelta(hours=1)) == 0
    assert told(going, "session_reminder") == 1
    assert told(cancelled, "session_reminder") == 0
    reminder = Notification.objects.get(recipient=going, kind="session_reminder")
    assert reminder.topic == "reminders"
    assert "まもなく開催" in reminder.subject

    # Moved a day later: reminded again, for the new time.
    services.session_update(
        session=session,
        actor=staff,
        starts_at=session.starts_at + datetime.timedelta(days=1),
        ends_at=session.ends_at + datetime.timedelta(days=1),
    )
    session.refresh_from_db()
    assert services.reminders_send(now=session.starts_at - datetime.timedelta(hours=23)) == 1
    assert told(going, "session_reminder") == 2
    assert told(cancelled, "session_reminder") == 0


# --- Understaffed sessions ------------------------------------------------------------------


def _soon(capacity: int) -> list[dict]:
    return [{"starts_at": in_days(2, 10), "ends_at": in_days(2, 15), "capacity": capacity}]


def test_an_understaffed_session_alerts_its_host_and_staff_once_and_widens_the_net(
    django_capture_on_commit_callbacks,
):
    host, staff = host_of(CHIZU), staff_of(CHIZU)
    other_staff = staff_of(CHIZU)
    next_door = person(OKAYAMA, interests=("farming",))
    task = make_task(host, CHIZU, category="farming", sessions=_soon(3))
    services.task_submit(task=task, actor=host)
    full = make_task(staff, CHIZU, title="満員の回", sessions=_soon(1))
    with django_capture_on_commit_callbacks(execute=True):  # the first wave runs
        task = services.task_publish(task=task, actor=staff)
        full = services.task_publish(task=full, actor=staff)
    assert next_door.pk not in ranked(task)
    services.signup_create(session=task.sessions.get(), person=resident())
    services.signup_create(session=full.sessions.get(), person=resident())
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.sessions_understaffed(now=now) == 1

    for who in (host, staff, other_staff):
        alert = Notification.objects.get(recipient=who, kind="session_understaffed")
        assert alert.context["places_left"] == 2
    task.refresh_from_db()
    assert task.match_wave == 2
    session = task.sessions.get()
    assert session.understaffed_alerted_at is not None
    # The wide net reached the person 73 km away, and told them.
    assert next_door.pk in ranked(task)
    assert told(next_door) == 1
    # The full session was not alerted.
    assert Session.objects.get(task=full).understaffed_alerted_at is None
    assert Notification.objects.filter(kind="session_understaffed").count() == 3

    assert services.sessions_understaffed(now=now + datetime.timedelta(hours=1)) == 0
    assert Notification.objects.filter(kind="session_understaffed").count() == 3


def test_the_understaffed_job_leaves_its_matcher_request_in_the_database():
    """The request is a column: beat's sweep finds it if no worker took the job."""
    task = published_task(CHIZU, sessions=_soon(3))
    Task.objects.filter(pk=task.pk).update(match_requested_at=None)
    assert services.sessions_understaffed() == 1
    task.refresh_from_db()
    assert task.match_requested_at is not None and task.match_wave == 2


def test_the_understaffed_alert_tells_offered_places_apart_from_confirmed_ones():
    host = host_of(CHIZU)
    task = published_task(CHIZU, sessions=_soon(4))
    session = task.sessions.get()
    services.signup_create(session=session, person=resident())
    offered = services.signup_create(session=session, person=resident())
    # A place offered from the waiting list, still to be confirmed.
    Signup.objects.filter(pk=offered.pk).update(
        status=SignupStatus.OFFERED, offer_expires_at=timezone.now() + datetime.timedelta(hours=5)
    )
    Task.objects.filter(pk=task.pk).update(host=host)
    assert services.sessions_understaffed() == 1

    alert = Notification.objects.get(recipient=host, kind="session_understaffed")
    assert (alert.context["confirmed"], alert.context["offered"]) == (1, 1)
    assert "1 人が決まり、1 人が繰り上げの確認待ち" in alert.rendered()[1]
    with translation.override("en"):
        assert "1 of 4 places confirmed and 1 offered" in alert.rendered()[1]
