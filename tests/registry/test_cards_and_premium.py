"""Resident cards, the premium tier, designated activities and the periodic jobs (issue 3,
Done-when 4 and 5): what a card token says when tampered, expired, revoked or valid; premium
applied for, decided by the town's staff and audited; evidence uploaded and reviewed; expiry,
renewal and reminders as idempotent Celery tasks, once through a real worker process."""

from __future__ import annotations

import datetime
import time
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail, signing
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from config.celery import app as celery_app
from notifications.models import Email, EmailState, Notification
from notifications.services import email_relay
from places.models import Municipality
from registry import services
from registry.cards import SALT
from registry.models import Activity, Perk, PremiumApplication, Registration, RegistrationEvent
from registry.tasks import premium_expire_and_renew_task, premium_remind_task
from tests.factories import person_with_role
from tests.support import CHIZU, HIDA, PNG, TAKAYAMA, api_as, error_of, register, resident

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py); a real
# worker keeps the real time.
pytestmark = pytest.mark.usefixtures("clock_unless_worker")

BASE_KEYS = {
    "status",
    "status_label",
    "municipality",
    "tier",
    "tier_label",
    "premium_until",
    "registered_on",
}


def a_year_after(day: datetime.date) -> datetime.date:
    if (day.month, day.day) == (2, 29):
        return datetime.date(day.year + 1, 2, 28)
    return day.replace(year=day.year + 1)


def card_of(person: User, registration: Registration) -> str:
    response = api_as(person).get(f"/api/registrations/{registration.pk}/card/")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def verify(staff: User, token: str) -> dict:
    response = api_as(staff).post("/api/cards/verify/", {"token": token}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def changed(token: str, part: int) -> str:
    """The token with one character of ``part`` (0: payload, 2: signature) replaced."""
    parts = token.split(":")
    assert len(parts) == 3
    text = parts[part]
    middle = len(text) // 2
    parts[part] = text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]
    return ":".join(parts)


@pytest.fixture
def hida_staff(db) -> User:
    return person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)


# --- Cards (Done-when 4) -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_valid_card_shows_the_tier_and_only_what_was_consented(hida_staff):
    person = resident(family_name="山田", given_name="花子")
    registration = register(person, HIDA)
    token = card_of(person, registration)

    result = verify(hida_staff, token)
    assert set(result) == BASE_KEYS
    assert result["status"] == "valid"
    assert result["tier"] == "basic"
    assert result["municipality"] == {"code": HIDA, "name": "飛騨市", "romaji": "Hida-shi"}
    assert person.email not in str(result) and "山田" not in str(result)

    services.consent_change(registration=registration, actor=person, share_name=True)
    result = verify(hida_staff, token)
    assert set(result) == BASE_KEYS | {"name"}
    assert result["name"] == "山田 花子"

    services.consent_change(
        registration=registration, actor=person, share_age_band=True, share_contact=True
    )
    result = verify(hida_staff, token)
    # The contact is never on a card; the age band is, when consented.
    assert set(result) == BASE_KEYS | {"name", "age_band"}
    assert person.email not in str(result)


@pytest.mark.django_db
def test_a_tampered_card_is_invalid_and_says_nothing(hida_staff):
    person = resident()
    registration = register(person, HIDA, share_name=True)
    token = card_of(person, registration)
    assert verify(hida_staff, token)["status"] == "valid"
    for tampered in (changed(token, 0), changed(token, 2), token[:-1], token + "x"):
        result = verify(hida_staff, tampered)
        assert result == {"status": "invalid", "status_label": result["status_label"]}
        assert result["status_label"]


@pytest.mark.django_db
def test_signed_values_that_are_not_cards_are_invalid(hida_staff):
    person = resident()
    registration = register(person, HIDA, share_name=True)
    payload = {"r": registration.pk, "s": registration.card_serial}
    for token in (
        signing.dumps(payload, salt="accounts.something-else"),
        signing.dumps(payload, salt=SALT, key="not-the-site-secret-0123456789abcdef"),
        signing.dumps("a string", salt=SALT),
        signing.dumps({"r": "1", "s": 1}, salt=SALT),
        signing.dumps({"r": 2**31, "s": 1}, salt=SALT),
        "not a token at all",
    ):
        result = verify(hida_staff, token)
        assert set(result) == {"status", "status_label"}
        assert result["status"] == "invalid"


@pytest.mark.django_db
def test_an_expired_card_is_reported_expired(hida_staff):
    person = resident()
    registration = register(person, HIDA, share_name=True)
    ttl = settings.REGISTRY_CARD_TOKEN_TTL

    def issued(seconds_ago: int) -> str:
        stamp = signing.b62_encode(int(time.time()) - seconds_ago)
        with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: stamp):
            return card_of(person, registration)

    result = verify(hida_staff, issued(ttl + 60))
    assert result["status"] == "expired"
    assert result["tier"] == "basic"
    assert set(result) == BASE_KEYS  # no name on an expired card, consent or not
    assert verify(hida_staff, issued(ttl - 60))["status"] == "valid"


@pytest.mark.django_db
def test_a_card_is_revoked_by_reissue_and_by_withdrawal(hida_staff):
    person = resident()
    registration = register(person, HIDA, share_name=True)
    api = api_as(person)
    old = card_of(person, registration)
    response = api.post(f"/api/registrations/{registration.pk}/card/reissue/")
    assert response.status_code == 200
    assert RegistrationEvent.objects.filter(registration=registration, kind="card_reissued")
    new = card_of(person, registration)

    result = verify(hida_staff, old)
    assert result["status"] == "revoked"
    assert set(result) == BASE_KEYS
    assert verify(hida_staff, new)["status"] == "valid"

    api.post(f"/api/registrations/{registration.pk}/withdraw/")
    result = verify(hida_staff, new)
    assert result["status"] == "revoked" and "name" not in result


@pytest.mark.django_db
def test_every_card_check_is_audited_with_its_outcome(hida_staff):
    person = resident()
    registration = register(person, HIDA, share_name=True)
    token = card_of(person, registration)
    verify(hida_staff, token)
    verify(hida_staff, changed(token, 2))
    events = AuditEvent.objects.filter(actor=hida_staff, action="card.verify").order_by("id")
    assert [(e.detail["status"], e.detail["revealed"]) for e in events] == [
        ("valid", ["name"]),
        ("invalid", []),
    ]
    assert events[0].municipality_id == HIDA and events[0].target_id == str(registration.pk)
    assert events[1].municipality_id is None


@pytest.mark.django_db
def test_a_blank_token_is_refused_as_input(hida_staff):
    error = error_of(api_as(hida_staff).post("/api/cards/verify/", {}, format="json"), 400)
    assert list(error["fields"]) == ["token"]


# --- Premium: apply, decide (Done-when 5's terms start here) ---------------------------------


@pytest.mark.django_db
def test_premium_applied_for_and_approved_by_the_towns_staff(hida_staff):
    person = resident()
    registration = register(person, HIDA)
    Perk.objects.create(
        municipality_id=HIDA, tier="premium", kind="lodging", title="宿泊補助", description="…"
    )
    api = api_as(person)
    assert api.get(f"/api/registrations/{registration.pk}/").json()["perks"] == []

    response = api.post(
        f"/api/registrations/{registration.pk}/premium/", {"message": "毎月通っています"}
    )
    assert response.status_code == 201, response.content
    application = response.json()
    assert application["status"] == "pending" and application["verifier"] == "staff_review"

    staff = api_as(hida_staff)
    queue = staff.get(f"/api/municipalities/{HIDA}/premium-applications/").json()
    assert [row["id"] for row in queue] == [application["id"]]
    # The staff confirm who the person is by name; the address only with consent to contact.
    assert queue[0]["name"] and queue[0]["email"] is None

    response = staff.post(
        f"/api/premium-applications/{application['id']}/decide/", {"approve": True}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"

    registration.refresh_from_db()
    today = timezone.localdate()
    assert registration.tier == "premium"
    assert registration.premium_since == today
    assert registration.premium_until == a_year_after(today)
    audit = AuditEvent.objects.get(action="premium.approve")
    assert audit.actor == hida_staff
    assert audit.municipality_id == HIDA
    assert audit.target_id == str(application["id"])
    kinds = list(registration.events.values_list("kind", flat=True))
    assert kinds == ["registered", "premium_applied", "premium_approved"]
    detail = api.get(f"/api/registrations/{registration.pk}/").json()
    assert [perk["title"] for perk in detail["perks"]] == ["宿泊補助"]
    assert verify(hida_staff, card_of(person, registration))["tier"] == "premium"
    assert staff.get(f"/api/municipalities/{HIDA}/premium-applications/").json() == []

    # Decided once: a second decision is refused, as a clash with the state (409).
    response = staff.post(
        f"/api/premium-applications/{application['id']}/decide/", {"approve": True}, format="json"
    )
    error_of(response, 409, "already_decided")


@pytest.mark.django_db
def test_refusing_premium_needs_a_note(hida_staff):
    person = resident()
    registration = register(person, HIDA)
    application = services.premium_apply(registration=registration)
    staff = api_as(hida_staff)
    url = f"/api/premium-applications/{application.pk}/decide/"

    error = error_of(staff.post(url, {"approve": False}, format="json"), 400, "note_required")
    assert list(error["fields"]) == ["note"]
    assert "理由" in error["message"]
    application.refresh_from_db()
    assert application.status == "pending"
    assert not AuditEvent.objects.filter(action__startswith="premium.").exists()

    response = staff.post(url, {"approve": False, "note": "本人確認書類が読めませんでした"})
    assert response.status_code == 200
    assert response.json()["status"] == "refused"
    assert response.json()["decision_note"] == "本人確認書類が読めませんでした"
    registration.refresh_from_db()
    assert registration.tier == "basic"
    assert AuditEvent.objects.get(action="premium.refuse").actor == hida_staff


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [(Role.MUNICIPALITY_ADMIN, CHIZU), (Role.PREFECTURE_STAFF, "21"), (Role.NATIONAL_ADMIN, None)],
)
def test_staff_of_another_town_cannot_decide(role):
    person = resident()
    application = services.premium_apply(registration=register(person, HIDA))
    response = api_as(person_with_role(*role)).post(
        f"/api/premium-applications/{application.pk}/decide/", {"approve": True}, format="json"
    )
    error_of(response, 404, "not_found")  # another town's application is not even named
    application.refresh_from_db()
    assert application.status == "pending"
    assert not AuditEvent.objects.filter(action__startswith="premium.").exists()


@pytest.mark.django_db
def test_a_pending_application_can_be_cancelled_and_frees_its_slot():
    person = resident()
    registration = register(person, HIDA)
    api = api_as(person)
    assert api.post(f"/api/registrations/{registration.pk}/premium/").status_code == 201
    pending = api.post(f"/api/registrations/{registration.pk}/premium/")  # one pending
    error_of(pending, 409, "premium_already_pending")
    assert api.delete(f"/api/registrations/{registration.pk}/premium/").status_code == 204
    assert PremiumApplication.objects.get(registration=registration).status == "cancelled"
    error_of(
        api.delete(f"/api/registrations/{registration.pk}/premium/"), 409, "no_pending_application"
    )
    assert api.post(f"/api/registrations/{registration.pk}/premium/").status_code == 201


# --- Designated activities ------------------------------------------------------------------


@pytest.mark.django_db
def test_activity_record_counts_once_and_moves_the_last_activity_forward():
    person = resident()
    registration = register(person, HIDA)
    hida = Municipality.objects.get(code=HIDA)
    today = timezone.localdate()

    def record(reference, day):
        return services.activity_record(
            person=person,
            municipality=hida,
            title="棚田の草刈り",
            occurred_on=day,
            designated=True,
            reference=reference,
        )

    first = record("signup:1", today - datetime.timedelta(days=3))
    again = record("signup:1", today - datetime.timedelta(days=3))
    assert again.pk == first.pk
    assert Activity.objects.filter(registration=registration).count() == 1
    assert first.status == "approved" and first.source == "board"
    registration.refresh_from_db()
    assert registration.last_activity_on == today - datetime.timedelta(days=3)

    record("signup:2", today - datetime.timedelta(days=10))  # earlier: no step back
    registration.refresh_from_db()
    assert registration.last_activity_on == today - datetime.timedelta(days=3)
    record("signup:3", today)
    registration.refresh_from_db()
    assert registration.last_activity_on == today

    # Where the person is not registered there is nothing to count it for.
    chizu = Municipality.objects.get(code=CHIZU)
    assert (
        services.activity_record(
            person=person,
            municipality=chizu,
            title="x",
            occurred_on=today,
            designated=True,
            reference="signup:4",
        )
        is None
    )
    detail = api_as(person).get(f"/api/registrations/{registration.pk}/").json()
    assert detail["last_activity_on"] == today.isoformat()
    assert (
        detail["activities_this_year"]
        == Activity.objects.filter(registration=registration, occurred_on__year=today.year).count()
    )


def _evidence_files() -> int:
    storage = storages["private"]
    if not storage.exists(f"evidence/{HIDA}"):
        return 0
    count = 0
    for year in storage.listdir(f"evidence/{HIDA}")[0]:
        for month in storage.listdir(f"evidence/{HIDA}/{year}")[0]:
            count += len(storage.listdir(f"evidence/{HIDA}/{year}/{month}")[1])
    return count


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "words", "code"),
    [
        (
            SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + bytes(60)),
            ["PDF", "PNG"],
            "evidence_type",
        ),
        (
            SimpleUploadedFile("photo.png", b"just some text, not an image"),
            ["PNG"],
            "evidence_mismatch",
        ),
        (SimpleUploadedFile("photo", PNG), ["PNG"], "evidence_type"),
        (SimpleUploadedFile("scan.pdf", PNG), ["PDF"], "evidence_mismatch"),
    ],
    ids=["exe", "text-named-png", "no-suffix", "png-named-pdf"],
)
def test_evidence_that_is_not_a_document_or_photo_is_refused(upload, words, code):
    person = resident()
    registration = register(person, HIDA)
    files = _evidence_files()
    response = api_as(person).post(
        f"/api/registrations/{registration.pk}/activities/",
        {
            "title": "祭りの準備",
            "occurred_on": timezone.localdate().isoformat(),
            "evidence": upload,
        },
        format="multipart",
    )
    error = error_of(response, 400, code)
    assert list(error["fields"]) == ["evidence"]
    for word in words:
        assert word in error["message"]
    assert not Activity.objects.exists()
    assert _evidence_files() == files


@pytest.mark.django_db
def test_evidence_without_a_file_or_with_a_future_date_is_refused():
    person = resident()
    registration = register(person, HIDA)
    api = api_as(person)
    url = f"/api/registrations/{registration.pk}/activities/"
    error = error_of(
        api.post(url, {"title": "祭り", "occurred_on": "2020-01-01"}, format="multipart"), 400
    )
    assert list(error["fields"]) == ["evidence"]
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    error = error_of(
        api.post(
            url,
            {
                "title": "祭り",
                "occurred_on": tomorrow.isoformat(),
                "evidence": SimpleUploadedFile("p.png", PNG),
            },
            format="multipart",
        ),
        400,
        "activity_in_future",
    )
    assert list(error["fields"]) == ["occurred_on"]
    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_uploaded_evidence_is_reviewed_by_the_towns_staff(hida_staff):
    person = resident()
    registration = register(person, HIDA)
    day = timezone.localdate() - datetime.timedelta(days=5)
    files = _evidence_files()
    response = api_as(person).post(
        f"/api/registrations/{registration.pk}/activities/",
        {
            "title": "祭りの準備",
            "occurred_on": day.isoformat(),
            "evidence": SimpleUploadedFile("photo.PNG", PNG, content_type="image/png"),
            "note": "実行委員会の証明です",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    activity = response.json()
    assert activity["status"] == "pending"
    assert activity["designated"] is True and activity["source"] == "upload"
    assert activity["evidence"] is True
    assert _evidence_files() == files + 1
    stored = Activity.objects.get(pk=activity["id"])
    assert stored.evidence.name.endswith(".png")
    assert "photo" not in stored.evidence.name  # a name that tells nothing
    registration.refresh_from_db()
    assert registration.last_activity_on is None  # not until accepted

    staff = api_as(hida_staff)
    queue = staff.get(f"/api/municipalities/{HIDA}/activities/").json()
    assert [row["id"] for row in queue] == [activity["id"]]

    other = api_as(person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU))
    url = f"/api/activities/{activity['id']}/review/"
    error_of(other.post(url, {"approve": True}, format="json"), 404, "not_found")
    error = error_of(staff.post(url, {"approve": False}, format="json"), 400, "note_required")
    assert list(error["fields"]) == ["note"]

    response = staff.post(url, {"approve": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    registration.refresh_from_db()
    assert registration.last_activity_on == day
    audit = AuditEvent.objects.get(action="activity.accept")
    assert audit.actor == hida_staff and audit.municipality_id == HIDA
    error_of(staff.post(url, {"approve": True}, format="json"), 409, "already_decided")
    assert staff.get(f"/api/municipalities/{HIDA}/activities/").json() == []


# --- Periodic jobs (Done-when 5) --------------------------------------------------------------


def premium(person: User, code: str, since: datetime.date, until: datetime.date) -> Registration:
    """A premium registration (approved by an automatic verifier) whose term is moved to
    [since, until], both days included."""
    registration = register(person, code)
    application = services.premium_apply(registration=registration)
    services.premium_decide(application=application, actor=None, approve=True)
    Registration.objects.filter(pk=registration.pk).update(premium_since=since, premium_until=until)
    registration.refresh_from_db()
    return registration


def record(registration: Registration, day: datetime.date, *, designated: bool = True) -> None:
    services.activity_record(
        person=registration.person,
        municipality=registration.municipality,
        title="担い手活動",
        occurred_on=day,
        designated=designated,
        reference=f"test:{registration.pk}:{day}:{designated}",
    )


def terms_due_today() -> tuple[Registration, Registration, Registration]:
    """Three premium registrations: one earned its renewal, one did not, one is not due.
    The two due ended yesterday (``premium_until`` is a term's last day)."""
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    since = today - datetime.timedelta(days=365)
    earned = premium(resident(), HIDA, since, yesterday)
    for days in (10, 100, 364):
        record(earned, since + datetime.timedelta(days=days))
    short = premium(resident(), CHIZU, since, yesterday)
    record(short, since + datetime.timedelta(days=20))
    record(short, since + datetime.timedelta(days=30))
    record(short, since + datetime.timedelta(days=40), designated=False)  # does not count
    record(short, since - datetime.timedelta(days=1))  # before the term: does not count
    running = premium(resident(), TAKAYAMA, today, a_year_after(today))
    return earned, short, running


def state() -> tuple[list, int, int]:
    registrations = list(
        Registration.objects.order_by("pk").values(
            "pk", "tier", "premium_since", "premium_until", "status", "card_serial"
        )
    )
    return registrations, RegistrationEvent.objects.count(), AuditEvent.objects.count()


@pytest.mark.django_db
def test_expiry_renews_earned_terms_and_ends_the_others_once():
    earned, short, running = terms_due_today()
    today = timezone.localdate()

    assert premium_expire_and_renew_task.delay().get() == {"renewed": 1, "ended": 1}

    earned.refresh_from_db()
    assert earned.tier == "premium"
    yesterday = today - datetime.timedelta(days=1)
    assert (earned.premium_since, earned.premium_until) == (today, a_year_after(yesterday))
    renewal = earned.events.get(kind="premium_renewed")
    assert renewal.detail["activities"] == 3
    short.refresh_from_db()
    assert short.tier == "basic"
    assert (short.premium_since, short.premium_until) == (None, None)
    assert short.events.get(kind="premium_ended").detail == {"reason": "expired", "activities": 2}
    before = running.premium_until
    running.refresh_from_db()
    assert running.tier == "premium" and running.premium_until == before

    # Running again changes nothing more.
    after_first = state()
    assert premium_expire_and_renew_task.delay().get() == {"renewed": 0, "ended": 0}
    assert state() == after_first


@pytest.mark.django_db
def test_the_reminder_goes_out_once_per_term(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    person = resident()
    soon = premium(
        person, HIDA, today - datetime.timedelta(days=355), today + datetime.timedelta(days=10)
    )
    record(soon, today - datetime.timedelta(days=30))
    later = premium(resident(), CHIZU, today, today + datetime.timedelta(days=200))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert premium_remind_task.delay().get() == 1
        # Written to the inbox and the outbox; the relay sends it once this commits.
        assert mail.outbox == []
        assert Email.objects.get(recipient=person).state == EmailState.PENDING
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [person.email]
    assert "飛騨市" in message.subject
    assert f"/registrations/{soon.pk}/" in message.body
    assert "1 件" in message.body
    email = Email.objects.get(recipient=person)
    assert (
        email.state == EmailState.SENT and message.extra_headers["Message-ID"] == email.message_id
    )
    assert Notification.objects.get(recipient=person).kind == "premium_reminder"

    with django_capture_on_commit_callbacks(execute=True):
        assert premium_remind_task.delay().get() == 0
    assert len(mail.outbox) == 1
    soon.refresh_from_db()
    assert soon.premium_reminded_for == soon.premium_until
    later.refresh_from_db()
    assert later.premium_reminded_for is None

    # The next term is reminded of again, once.
    Registration.objects.filter(pk=soon.pk).update(
        premium_since=today - datetime.timedelta(days=360),
        premium_until=today + datetime.timedelta(days=5),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert premium_remind_task.delay().get() == 1
        assert premium_remind_task.delay().get() == 0
    assert len(mail.outbox) == 2


def test_both_jobs_are_on_the_beat_schedule():
    scheduled = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task in (premium_expire_and_renew_task, premium_remind_task):
        assert task.name in scheduled
        assert task.name in celery_app.tasks
        assert scheduled[task.name]["schedule"] <= 24 * 60 * 60


# --- Through a real worker process ------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
def test_expiry_through_a_real_worker_twice(celery_worker_process):
    earned, short, running = terms_due_today()
    today = timezone.localdate()

    first = premium_expire_and_renew_task.apply_async(ignore_result=False)
    assert first.get(timeout=60) == {"renewed": 1, "ended": 1}
    earned.refresh_from_db()
    short.refresh_from_db()
    yesterday = today - datetime.timedelta(days=1)
    assert earned.tier == "premium" and earned.premium_until == a_year_after(yesterday)
    assert short.tier == "basic" and short.premium_until is None
    after_first = state()

    second = premium_expire_and_renew_task.apply_async(ignore_result=False)
    assert second.get(timeout=60) == {"renewed": 0, "ended": 0}
    assert state() == after_first
    running.refresh_from_db()
    assert running.tier == "premium"


# --- Found by review ------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_cannot_decide_their_own_application_or_evidence():
    """A town's staff member registered with their own town is not their own verifier."""
    staff_person = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    services.profile_update(
        user=staff_person,
        home_municipality=Municipality.objects.get(code="131121"),
        birth_year=1980,
    )
    registration = register(staff_person, HIDA)
    application = services.premium_apply(registration=registration)
    response = api_as(staff_person).post(
        f"/api/premium-applications/{application.pk}/decide/", {"approve": True}, format="json"
    )
    error_of(response, 403, "own_item")
    application.refresh_from_db()
    registration.refresh_from_db()
    assert application.status == "pending" and registration.tier == "basic"

    upload = SimpleUploadedFile("proof.png", PNG, content_type="image/png")
    activity = services.activity_submit(
        registration=registration,
        title="草刈り",
        occurred_on=timezone.localdate(),
        evidence=upload,
    )
    response = api_as(staff_person).post(
        f"/api/activities/{activity.pk}/review/", {"approve": True}, format="json"
    )
    error_of(response, 403, "own_item")
    activity.refresh_from_db()
    assert activity.status == "pending"


@pytest.mark.django_db
def test_an_ended_term_waits_for_evidence_still_under_review():
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    since = today - datetime.timedelta(days=365)
    registration = premium(resident(), HIDA, since, yesterday)
    record(registration, since + datetime.timedelta(days=10))
    record(registration, since + datetime.timedelta(days=20))
    third = services.activity_submit(
        registration=registration,
        title="祭りの準備",
        occurred_on=yesterday,
        evidence=SimpleUploadedFile("proof.png", PNG, content_type="image/png"),
    )

    assert services.premium_expire_and_renew() == {"renewed": 0, "ended": 0}
    registration.refresh_from_db()
    assert registration.tier == "premium"  # the third activity may still count

    Activity.objects.filter(pk=third.pk).update(status="approved")
    assert services.premium_expire_and_renew() == {"renewed": 1, "ended": 0}


@pytest.mark.django_db(transaction=True)
def test_deletion_removes_evidence_files_only_once_it_has_committed(municipalities):
    person = resident()
    registration = register(person, HIDA)
    activity = services.activity_submit(
        registration=registration,
        title="祖母の畑を手伝った",
        occurred_on=timezone.localdate(),
        evidence=SimpleUploadedFile("proof.png", PNG, content_type="image/png"),
    )
    name = activity.evidence.name
    storage = storages["private"]

    from django.db import transaction

    from accounts.services import account_delete

    with pytest.raises(RuntimeError), transaction.atomic():
        account_delete(user=person)
        raise RuntimeError("rolled back")
    assert storage.exists(name)  # the rollback left row and file together

    account_delete(user=person)
    activity.refresh_from_db()
    assert not storage.exists(name)
    assert activity.evidence.name == "" and activity.title == "-"


@pytest.mark.django_db
def test_a_reminder_the_mail_server_refused_is_sent_again_later(django_capture_on_commit_callbacks):
    """The reminder is written once, its e-mail in the outbox: a mail server that is down
    delays the e-mail (the relay tries again later), it loses and doubles nothing."""
    today = timezone.localdate()
    registration = premium(resident(), HIDA, today, today + datetime.timedelta(days=5))
    person = registration.person
    mail.outbox.clear()
    down = mock.patch(  # the outside world: the mail server refuses the connection
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        side_effect=ConnectionRefusedError("SMTP down"),
    )
    with down, django_capture_on_commit_callbacks(execute=True):
        assert services.premium_remind() == 1
    assert mail.outbox == []
    registration.refresh_from_db()
    assert registration.premium_reminded_for == registration.premium_until
    email = Email.objects.get(recipient=person)
    assert (email.state, email.attempts) == (EmailState.PENDING, 1)
    assert email.next_attempt_at > timezone.now()

    # The next run writes no second reminder; the relay waits for the retry time.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.premium_remind() == 0
    assert email_relay()["sent"] == 0 and mail.outbox == []

    Email.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())  # time passes
    assert email_relay()["sent"] == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [person.email]
    assert email_relay()["sent"] == 0 and len(mail.outbox) == 1
    assert Notification.objects.filter(recipient=person, kind="premium_reminder").count() == 1


@pytest.mark.django_db
def test_one_run_is_bounded_and_the_next_goes_on():
    terms_due_today()  # two terms due, one not
    first = services.premium_expire_and_renew(batch_size=1, max_rows=1)
    assert sum(first.values()) == 1
    second = services.premium_expire_and_renew(batch_size=1, max_rows=1)
    assert sum(second.values()) == 1 and first != second
    assert services.premium_expire_and_renew() == {"renewed": 0, "ended": 0}


@pytest.mark.django_db
def test_the_export_reads_in_local_time_and_by_name(client):
    person = resident()
    register(person, HIDA)
    client.force_login(person)
    data = client.get("/api/me/export/").json()
    registration = data["registry"]["registrations"][0]
    assert registration["registered_at"].endswith("+09:00")
    assert registration["history"][0]["detail"]["types"] == ["hobby"]
