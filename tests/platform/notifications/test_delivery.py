"""Delivery of notifications as people see it (issue 5, Done-when 1–4), on real PostgreSQL,
real Celery worker processes on Redis and a real SMTP server on this machine:

1. publishing a task tells the people it suits, with the reasons, in the inbox and by
   e-mail with both unsubscribe headers of RFC 8058; a POST to the link stops that kind of
   e-mail, a GET does not;
2. a worker killed with SIGKILL in the middle of an announcement to 5,000 people, and
   started again, leaves each of them exactly one notification and at most one e-mail;
3. with Redis stopped, sign-ups and task changes still succeed, and every notification they
   caused is e-mailed once Redis is back;
4. a daily digest is one e-mail with all of the day's matches; the weekly cap on matches
   holds; a busy SMTP server (4xx) means a later retry with the same Message-ID, a refusal
   (5xx) means failed;
5. promotion offers (at least once): a relay SIGKILLed mid-send and then the next relay's
   database connections terminated during a batch lose no offer (issue 15, Done-when 6).
"""

from __future__ import annotations

import datetime
import re
import threading
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import User
from matching.models import Task
from notifications.models import Email, Notification, Topic
from notifications.services import digests_send, email_relay, notification_send, preferences_of
from places.models import Municipality
from registry import flags
from registry import services as registry_services
from registry.models import Announcement, Category, Profile, Registration
from tests.factories import UserFactory
from tests.matching.support import (
    CHIZU,
    SETAGAYA,
    api_as,
    make_task,
    published_task,
    register,
    resident,
    staff_of,
)
from tests.smtp import Received, SmtpServer, smtp_server_running
from tests.support import SIGNUP_DETAILS
from tests.workers import RedisServer, private_broker, tasks_queued, wait_for, worker_process

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py); a real
# worker keeps the real time.
pytestmark = pytest.mark.usefixtures("clock_unless_worker")

TOTTORI = "312011"  # 鳥取市, 26 km from 智頭町
SAPPORO = "011002"  # 札幌市, far from everything in 鳥取県

UNSUBSCRIBE = re.compile(r"^<(https?://[^>]+)>$")


def _for_participants(received) -> list:
    """The e-mail participants received: not what a task's runners hear of them (their
    own topic, ``participants``)."""
    runners = set(Email.objects.filter(topic="participants").values_list("message_id", flat=True))
    return [m for m in received if m.message_id not in runners]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server_running() as server:
        yield server


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    """A Redis of the test's own: no other suite on this machine shares its queues."""
    with private_broker() as server:
        yield server


def worker_env(smtp: SmtpServer, broker: RedisServer, **extra: str) -> dict[str, str]:
    """A worker's environment: the test's broker; e-mail to the test's SMTP server; a
    shorter relay lease, so that rows a killed relay had claimed are taken again within
    the test (still longer than a relay takes over its batch, or relays would keep taking
    each other's rows)."""
    return {
        **broker.env,
        "EMAIL_URL": smtp.url,
        "NOTIFICATIONS_RELAY_LEASE_SECONDS": "20",
        **extra,
    }


# With beat in the worker: the sweeps every second, and a dead relay's `sending` rows
# marked uncertain after 3 seconds.
SWEEPS = {"FURUSATO_SWEEP_SECONDS": "1", "NOTIFICATIONS_SENDING_STALE_SECONDS": "3"}


def outbox_settled() -> bool:
    return not Email.objects.filter(state__in=["pending", "sending"]).exists()


def matcher_done(task: Task) -> bool:
    return Task.objects.filter(pk=task.pk, match_requested_at__isnull=True).exists()


def unsubscribe_path(message: Received) -> str:
    match = UNSUBSCRIBE.match(str(message.message["List-Unsubscribe"]).strip())
    assert match, message.message["List-Unsubscribe"]
    return urlsplit(match.group(1)).path


def assert_one_click_headers(message: Received, outbox_row: Email) -> None:
    assert UNSUBSCRIBE.match(str(message.message["List-Unsubscribe"]).strip())
    assert str(message.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert message.message_id == outbox_row.message_id


# --- 1. Publishing tells the people a task suits -----------------------------------------


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_publishing_tells_the_people_it_suits_and_one_click_unsubscribe(
    municipalities, smtp, broker
):
    staff = staff_of(CHIZU)
    registered = resident(home=SETAGAYA)
    register(registered, CHIZU)
    near = resident(home=TOTTORI)
    registry_services.profile_update(user=near, interests=flags.bit(Category, "farming"))
    far = resident(home=SAPPORO)
    signed = resident(home=SETAGAYA)
    register(signed, CHIZU)
    first = make_task(staff, title="棚田の草刈り")
    second = make_task(staff, title="栗拾いの手伝い")

    with tasks_queued():
        published = api_as(staff).post(f"/api/tasks/{first.pk}/publish/")
        assert published.status_code == 200, published.content
        # Someone signs up before a worker takes the matcher's job: they are not told.
        session = first.sessions.get()
        signup = api_as(signed).post(
            f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
        )
        assert signup.status_code == 201, signup.content

        with worker_process(env=worker_env(smtp, broker), purge=False):
            wait_for(
                lambda: matcher_done(first) and outbox_settled(), 60, "the matcher and the relay"
            )

            key = f"task:{first.pk}:matched"
            told = {n.recipient_id: n for n in Notification.objects.filter(key=key)}
            assert set(told) == {registered.pk, near.pk}
            assert {n.kind for n in told.values()} == {"task_matched"}
            assert "智頭町にふるさと住民登録しています" in told[registered.pk].body
            assert "関心のある分野: 農林水産" in told[near.pk].body
            assert "ご自宅から約26 km" in told[near.pk].body
            assert not Notification.objects.filter(recipient__in=[far, signed], key=key).exists()

            outbox = {e.recipient_id: e for e in Email.objects.filter(key=key)}
            assert set(outbox) == {registered.pk, near.pk}
            assert {e.state for e in outbox.values()} == {"sent"}
            ids = {e.message_id: e for e in outbox.values()}
            matched_mail = [m for m in smtp.received if m.message_id in ids]
            assert sorted(a for m in matched_mail for a in m.rcpt_tos) == sorted(
                [registered.email, near.email]
            )
            for message in matched_mail:
                row = ids[message.message_id]
                assert_one_click_headers(message, row)
                assert message.rcpt_tos == (row.recipient.email,)
                assert "棚田の草刈り" in str(message.message["Subject"])
            mail_of = {m.rcpt_tos[0]: m for m in matched_mail}
            assert "智頭町にふるさと住民登録しています" in mail_of[registered.email].text
            assert "関心のある分野: 農林水産" in mail_of[near.email].text
            # The one far away heard nothing; the one signed up only of their sign-up.
            # (Besides what the task's runners hear of the sign-up, under their own topic.)
            assert len(_for_participants(smtp.received)) == 3
            assert smtp.to(far.email) == []
            signup_mail = Email.objects.get(recipient=signed)
            assert [m.message_id for m in smtp.to(signed.email)] == [signup_mail.message_id]

            # The link of the e-mail: a GET (a link checker, a preview) changes nothing …
            path = unsubscribe_path(mail_of[registered.email])
            browser = Client()
            page = browser.get(path)
            assert page.status_code == 200
            assert preferences_of(user=registered)["matches"]["email"] == "immediately"
            # … the one-click POST of RFC 8058 stops e-mail about matches, and only that.
            stopped = browser.post(
                path,
                "List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded",
            )
            assert stopped.status_code == 200
            after = preferences_of(user=registered)
            assert after["matches"] == {"inbox": "immediately", "email": "never"}
            assert after["signups"]["email"] == "immediately"

            # The next matching task: in their inbox, but no e-mail; the others get theirs.
            published = api_as(staff).post(f"/api/tasks/{second.pk}/publish/")
            assert published.status_code == 200, published.content
            wait_for(
                lambda: matcher_done(second) and outbox_settled(), 60, "the second matcher run"
            )
            key = f"task:{second.pk}:matched"
            told = set(Notification.objects.filter(key=key).values_list("recipient_id", flat=True))
            assert told == {registered.pk, near.pk, signed.pk}
            outbox = {e.recipient_id: e for e in Email.objects.filter(key=key)}
            assert set(outbox) == {near.pk, signed.pk}
            assert {e.state for e in outbox.values()} == {"sent"}
            for person in (near, signed):
                row = outbox[person.pk]
                got = [m for m in smtp.to(person.email) if m.message_id == row.message_id]
                assert len(got) == 1
                assert_one_click_headers(got[0], row)
            assert len(smtp.to(registered.email)) == 1  # still only the first
    assert smtp.refused == []


# --- 2. SIGKILL in the middle of a fan-out to 5,000 people --------------------------------

AUDIENCE = 5000
BATCH = 200
GATE = 2450  # the fan-out stops at this person (by id order) until the worker is killed
# The command of docker-compose.yml's notifications worker (4 processes), on every queue.
NOTIFICATIONS = "worker-notifications"


def registrants(count: int, code: str) -> list[int]:
    """``count`` people registered with ``code`` who agreed to its announcements, written
    in bulk (the registry's rules are tested elsewhere)."""
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"fan{index}@fanout.example.jp",
                family_name="関係",
                given_name=f"{index}",
                password=password,
            )
            for index in range(count)
        ],
        batch_size=1000,
    )
    home = Municipality.objects.get(code=SETAGAYA)
    Profile.objects.bulk_create(
        [Profile(user=user, home_municipality=home, birth_year=1980) for user in users],
        batch_size=1000,
    )
    Registration.objects.bulk_create(
        [
            Registration(
                person=user,
                municipality_id=code,
                home_municipality=home,
                types=1,
                origin="visits",
                allow_announcements=True,
            )
            for user in users
        ],
        batch_size=1000,
    )
    return sorted(user.pk for user in users)


class Gate:
    """Another transaction writes one person's notification ``key`` first and stays open.
    A fan-out reaching that person waits there on the unique index, with the batches before
    committed: killed then, the worker is surely in the middle of the fan-out. Closed, the
    row is rolled back: it never existed."""

    def __init__(self, person_id: int, key: str):
        self._held = threading.Event()
        self._release = threading.Event()
        self._errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._hold, args=(person_id, key), daemon=True)

    def _hold(self, person_id: int, key: str) -> None:
        try:
            with transaction.atomic():
                Notification.objects.create(
                    recipient_id=person_id, kind="announcement", topic=Topic.ANNOUNCEMENTS, key=key
                )
                self._held.set()
                self._release.wait(180)
                transaction.set_rollback(True)
        except BaseException as exc:
            self._errors.append(exc)
        finally:
            self._held.set()
            connection.close()

    def close(self) -> None:
        self._release.set()
        self._thread.join(30)
        assert not self._errors, self._errors

    def __enter__(self) -> Gate:
        self._thread.start()
        self._held.wait(30)
        assert not self._errors, self._errors
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_fan_out_leaves_one_notification_and_at_most_one_email_each(
    municipalities, smtp, broker
):
    staff = staff_of(CHIZU)
    people = registrants(AUDIENCE, CHIZU)
    env = worker_env(smtp, broker, REGISTRY_ANNOUNCEMENT_BATCH=str(BATCH))

    with tasks_queued():
        posted = api_as(staff).post(
            f"/api/municipalities/{CHIZU}/announcements/",
            {"title": "秋祭りのお知らせ", "body": "10月に秋祭りを開きます。"},
            format="json",
        )
        assert posted.status_code == 201, posted.content
        announcement = Announcement.objects.get(pk=posted.json()["id"])
        key = f"announcement:{announcement.pk}"
        notified = Notification.objects.filter(key=key)

        with Gate(people[GATE], key) as gate:
            with worker_process(env=env, purge=False, service=NOTIFICATIONS) as first:
                # Killed once the batches before the gate are in, while the relay sends.
                wait_for(
                    lambda: notified.count() >= GATE // BATCH * BATCH and len(smtp.received) >= 100,
                    90,
                    "the fan-out to reach the gate and e-mail to flow",
                    interval=0.05,
                )
                first.kill()
                at_kill = notified.count()
                mail_at_kill = Counter(
                    Email.objects.filter(key=key).values_list("state", flat=True)
                )
                print("at the kill:", at_kill, "notified;", dict(mail_at_kill))
            gate.close()
        assert 0 < at_kill < AUDIENCE

        with worker_process(env={**env, **SWEEPS}, beat=True, service=NOTIFICATIONS):
            wait_for(
                lambda: (
                    Announcement.objects.filter(pk=announcement.pk, state="sent").exists()
                    and Email.objects.filter(key=key).count() == AUDIENCE
                    and outbox_settled()
                ),
                150,
                "the sweeps to finish the fan-out and the relay",
            )

    # Every one of the 5,000 has exactly one notification of the announcement.
    per_person = Counter(notified.values_list("recipient_id", flat=True))
    assert sorted(per_person) == people
    assert set(per_person.values()) == {1}
    announcement.refresh_from_db()
    assert announcement.recipients == AUDIENCE

    # And at most one e-mail: every row sent arrived once; uncertain ones (a relay killed
    # while the SMTP server had them) may have arrived, once, and are never sent again.
    rows = list(Email.objects.filter(key=key).select_related("recipient"))
    states = Counter(row.state for row in rows)
    assert set(states) <= {"sent", "uncertain"}, states
    # Only what a killed relay was sending: at most one per process of the killed worker.
    assert states["uncertain"] <= first.concurrency
    per_address = smtp.per_recipient()
    assert set(per_address.values()) == {1}
    row_of = {row.recipient.email.lower(): row for row in rows}
    assert set(per_address) <= set(row_of)
    sent = {address for address, row in row_of.items() if row.state == "sent"}
    assert sent <= set(per_address)
    assert states["sent"] <= len(smtp.received) <= states["sent"] + states["uncertain"]
    for message in smtp.received:
        assert message.message_id == row_of[message.rcpt_tos[0].lower()].message_id


# --- 3. Redis stopped: the changes succeed, the e-mail follows ----------------------------


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_changes_succeed_and_their_email_follows(municipalities, smtp, broker):
    staff = staff_of(CHIZU)
    task = published_task(CHIZU, staff=staff, title="竹林の整備")
    session = task.sessions.get()
    people = [UserFactory() for _ in range(2)]
    with worker_process(env=worker_env(smtp, broker, **SWEEPS), beat=True):
        broker.stop()

        for person in people:
            response = api_as(person).post(
                f"/api/sessions/{session.pk}/signups/", SIGNUP_DETAILS, format="json"
            )
            assert response.status_code == 201, response.content
            assert response.json()["status"] == "confirmed"
        changed = api_as(staff).patch(
            f"/api/tasks/{task.pk}/", {"what_to_bring": "軍手、長靴、飲み物"}, format="json"
        )
        assert changed.status_code == 200, changed.content
        assert Task.objects.get(pk=task.pk).what_to_bring == "軍手、長靴、飲み物"
        caused = Notification.objects.filter(recipient__in=people)
        assert Counter(caused.values_list("kind", flat=True)) == {
            "signup_confirmed": 2,
            "task_changed": 2,
        }
        assert Email.objects.filter(recipient__in=people).count() == 4

        broker.start()  # the same port, empty: whatever was queued is gone
        # The e-mail, and the change's matcher job, lost with Redis too, are done.
        wait_for(
            lambda: (
                Email.objects.filter(recipient__in=people, state="sent").count() == 4
                and matcher_done(task)
            ),
            120,
            "the work of the outage to be done",
        )

    rows = {row.message_id: row for row in Email.objects.filter(recipient__in=people)}
    assert len(_for_participants(smtp.received)) == 4
    assert sorted(m.message_id for m in _for_participants(smtp.received)) == sorted(rows)
    for person in people:
        got = smtp.to(person.email)
        assert len(got) == 2
        keys = sorted(rows[m.message_id].key.split(":")[2] for m in got)
        assert keys == ["changed", "signup_confirmed"]
        changed_mail = next(m for m in got if ":changed:" in rows[m.message_id].key)
        assert "変わった項目: 持ち物・服装" in changed_mail.text


# --- 4. Digests, the weekly cap and what the relay does with SMTP's answers ---------------


def next_morning(moment: datetime.datetime) -> datetime.datetime:
    """07:00 local time on the day after ``moment``: the daily digest's run."""
    day = timezone.localdate(moment) + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(7)))


# Committed for real (transaction=True): the matcher and the relay run in this process as
# each transaction commits, as in the embedded mode, and send to the SMTP server.


@pytest.mark.django_db(transaction=True)
def test_a_daily_digest_is_one_email_with_all_of_the_days_matches(municipalities, smtp):
    person = resident(home=SETAGAYA)
    register(person, CHIZU)
    chose = api_as(person).patch(
        "/api/notification-preferences/",
        {"preferences": [{"topic": "matches", "inbox": "immediately", "email": "daily"}]},
        format="json",
    )
    assert chose.status_code == 200, chose.content
    staff = staff_of(CHIZU)
    titles = ["棚田の草刈り", "栗拾いの手伝い", "古民家の掃除"]

    with override_settings(**smtp.settings()):
        tasks = [published_task(CHIZU, staff=staff, title=title) for title in titles]
        matched = Notification.objects.filter(recipient=person, kind="task_matched")
        assert matched.count() == 3
        assert set(matched.values_list("digest", flat=True)) == {"daily"}
        # Nothing goes out as it happens.
        assert not Email.objects.filter(recipient=person).exists()
        assert smtp.to(person.email) == []

        morning = next_morning(matched.latest("created_at").created_at)
        assert digests_send(now=morning) == 1
        assert digests_send(now=morning) == 0
        assert digests_send(now=morning + datetime.timedelta(hours=1)) == 0
        assert email_relay() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}

    digest = Email.objects.get(recipient=person)
    assert (digest.digest, digest.state) == ("daily", "sent")
    [message] = smtp.to(person.email)
    assert message.message_id == digest.message_id
    assert "1日分のお知らせ（3件）" in str(message.message["Subject"])
    for title in titles:
        assert title in message.text
    assert message.text.count("智頭町にふるさと住民登録しています") == 3
    assert str(message.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert set(matched.values_list("digest_key", flat=True)) == {digest.key}
    assert {t.pk for t in tasks} == {
        int(key.split(":")[1]) for key in matched.values_list("key", flat=True)
    }


@pytest.mark.django_db(transaction=True)
@override_settings(NOTIFICATIONS_MATCH_WEEKLY_CAP=3)
def test_the_weekly_cap_on_matches_holds_and_lifts_after_seven_days(municipalities, smtp):
    person = resident(home=SETAGAYA)
    register(person, CHIZU)
    staff = staff_of(CHIZU)

    with override_settings(**smtp.settings()):
        for number in range(5):
            published_task(CHIZU, staff=staff, title=f"お手伝い{number}")
        matched = Notification.objects.filter(recipient=person, kind="task_matched")
        assert matched.count() == 3
        assert len(smtp.to(person.email)) == 3

        # A week goes by (as the clock would move it) …
        Notification.objects.filter(recipient=person).update(
            created_at=timezone.now() - datetime.timedelta(days=7, minutes=1)
        )
        later = published_task(CHIZU, staff=staff, title="一週間後のお手伝い")
        assert matched.count() == 4
        assert matched.filter(key=f"task:{later.pk}:matched").exists()
        assert len(smtp.to(person.email)) == 4


def announce(person: User, key: str, django_capture_on_commit_callbacks) -> Email:
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(
            recipients=[person],
            kind="announcement",
            topic=Topic.ANNOUNCEMENTS,
            key=key,
            context={"municipality": "智頭町", "title": "秋祭り", "body": "10月に開きます。"},
        )
    return Email.objects.get(recipient=person, key=key)


@pytest.mark.django_db
def test_a_busy_smtp_server_means_a_later_retry_with_the_same_message_id(
    smtp, django_capture_on_commit_callbacks
):
    person = UserFactory()
    smtp.refuse(person.email, "451 4.3.0 Try again later", at="DATA")

    with override_settings(**smtp.settings()):
        email = announce(person, "announcement:busy", django_capture_on_commit_callbacks)
        assert email.state == "pending"
        assert email.attempts == 1
        assert email.next_attempt_at > timezone.now()
        assert "451" in email.last_error
        [refused] = smtp.refused
        assert refused.message_id == email.message_id
        assert smtp.received == []

        # Not due yet: the relay leaves it.
        assert email_relay() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
        # The back-off has passed (as the clock would move it): sent, once.
        Email.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        assert email_relay()["sent"] == 1
        assert email_relay()["sent"] == 0

    email.refresh_from_db()
    assert (email.state, email.attempts) == ("sent", 2)
    [message] = smtp.received
    assert message.message_id == email.message_id == refused.message_id
    assert message.rcpt_tos == (person.email,)


@pytest.mark.django_db
def test_a_refused_mailbox_fails_for_good(smtp, django_capture_on_commit_callbacks):
    person = UserFactory()
    smtp.refuse(person.email, "550 5.1.1 No such mailbox", at="RCPT")

    with override_settings(**smtp.settings()):
        email = announce(person, "announcement:refused", django_capture_on_commit_callbacks)
        assert email.state == "failed"
        assert "550" in email.last_error
        Email.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        assert email_relay() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}

    assert Email.objects.get(pk=email.pk).state == "failed"
    assert smtp.received == []
    # The inbox still has it: only the e-mail failed.
    assert Notification.objects.filter(recipient=person, key="announcement:refused").exists()


# --- 5. Promotion offers: a relay SIGKILLed, then its database connections killed --------

WAITING = 800  # people on the waiting list offered a place at once


def waiting_list(session, count: int) -> list[User]:
    """``count`` people on ``session``'s waiting list, written in bulk (the rules of
    signing up are tested elsewhere)."""
    from matching.models import Signup, SignupStatus

    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"wait{index}@offers.example.jp",
                family_name="待機",
                given_name=f"{index}",
                password=password,
            )
            for index in range(count)
        ],
        batch_size=1000,
    )
    Signup.objects.bulk_create(
        [
            Signup(
                session=session,
                person=user,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                status=SignupStatus.WAITLISTED,
            )
            for user in users
        ],
        batch_size=1000,
    )
    return users


def terminate_other_connections() -> int:
    """pg_terminate_backend of every other connection to the test database: the worker's
    (nothing else of this test holds one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND backend_type = 'client backend'"""
        )
        return cursor.fetchone()[0]


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_promotion_offers_survive_a_killed_relay_and_a_killed_database_connection(
    municipalities, smtp, broker
):
    """Offers with a deadline are at least once: a relay SIGKILLed mid-send, and then the
    database connections of the next one terminated during a batch, lose no offer; each
    arrives once or (its first copy's fate unknown) twice, always with its one Message-ID."""
    staff = staff_of(CHIZU)
    task = published_task(CHIZU, staff=staff, capacity=1, confirm_window_hours=48)
    session = task.sessions.get()
    people = waiting_list(session, WAITING)
    env = worker_env(
        smtp,
        broker,
        NOTIFICATIONS_UNCERTAIN_RETRY_SECONDS="1",
        **SWEEPS,
    )
    offers = Email.objects.filter(recipient__in=people, topic=Topic.PROMOTIONS)

    with tasks_queued():
        raised = api_as(staff).patch(
            f"/api/sessions/{session.pk}/", {"capacity": WAITING + 1}, format="json"
        )
        assert raised.status_code == 200, raised.content
        assert offers.count() == WAITING
        assert (
            Notification.objects.filter(recipient__in=people, kind="signup_promoted").count()
            == WAITING
        )

        with worker_process(env=env, purge=False, service=NOTIFICATIONS) as first:
            wait_for(lambda: len(smtp.received) >= 100, 90, "offers to flow", interval=0.05)
            first.kill()
        print("at the kill:", dict(Counter(offers.values_list("state", flat=True))))

        with worker_process(env=env, beat=True, service=NOTIFICATIONS):
            before = len(smtp.received)
            wait_for(
                lambda: len(smtp.received) >= before + 100,
                90,
                "the next relay to be in a batch",
                interval=0.05,
            )
            killed = terminate_other_connections()
            print("at the database kill:", killed, "connections;", len(smtp.received), "sent")
            wait_for(
                lambda: offers.filter(state="sent").count() == WAITING,
                150,
                "every offer to be sent",
            )

    # Every person has their offer, once or twice, and only with the row's Message-ID.
    rows = {row.recipient.email.lower(): row for row in offers.select_related("recipient")}
    offered = _for_participants(smtp.received)  # the host hears of each promotion too
    per_address = Counter(message.rcpt_tos[0].lower() for message in offered)
    assert set(per_address) == set(rows)
    assert set(per_address.values()) <= {1, 2}
    for message in offered:
        assert message.message_id == rows[message.rcpt_tos[0].lower()].message_id
    twice = [address for address, count in per_address.items() if count == 2]
    # Only what the killed relays were sending may have gone twice.
    assert all(rows[address].resends == 1 for address in twice)
    print("sent twice:", len(twice))
