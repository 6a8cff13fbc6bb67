"""A municipality's announcements to its registrants (SPEC 5): its own staff write and list
them through the API; the fan-out reaches exactly the active registrants who agreed to
hear from the town, once each, however often or in however small batches it runs."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import Role, User
from notifications.models import Email, Notification
from places.models import Municipality
from registry import services
from registry.models import Announcement, AnnouncementState
from tests.factories import person_with_role
from tests.support import CHIZU, HIDA, api_as, error_of, register, resident

pytestmark = pytest.mark.django_db

URL = f"/api/municipalities/{HIDA}/announcements/"
NEWS = {
    "title": "冬の除雪ボランティアを募集します",
    "body": "1月の土曜日に集まれる方を募集します。",
}


@pytest.fixture
def hida_staff() -> User:
    return person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)


@pytest.fixture
def audience() -> dict[str, User]:
    """飛騨市's registrants: two who agreed, one who did not, one withdrawn, and someone
    who agreed to hear from 智頭町 only."""
    people = {name: resident() for name in ("yes", "also", "no", "withdrawn", "elsewhere")}
    register(people["yes"], HIDA, allow_announcements=True)
    register(people["also"], HIDA, allow_announcements=True)
    register(people["no"], HIDA)
    gone = register(people["withdrawn"], HIDA, allow_announcements=True)
    services.registration_withdraw(registration=gone, actor=people["withdrawn"])
    register(people["elsewhere"], CHIZU, allow_announcements=True)
    return people


def reached(announcement: Announcement) -> list[int]:
    return sorted(
        Notification.objects.filter(key=f"announcement:{announcement.pk}").values_list(
            "recipient_id", flat=True
        )
    )


def test_the_towns_staff_write_an_announcement_and_it_reaches_those_who_agreed(
    hida_staff, audience, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(hida_staff).post(URL, NEWS, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["body"], body["state"]) == (NEWS["title"], NEWS["body"], "sending")

    announcement = Announcement.objects.get(pk=body["id"])
    assert announcement.municipality_id == HIDA and announcement.author == hida_staff
    assert announcement.state == AnnouncementState.SENT and announcement.sent_at is not None
    assert announcement.recipients == 2
    assert reached(announcement) == sorted([audience["yes"].pk, audience["also"].pk])
    notification = Notification.objects.get(recipient=audience["yes"])
    assert (notification.kind, notification.topic) == ("announcement", "announcements")
    assert NEWS["title"] in notification.subject and "飛騨市" in notification.subject
    assert NEWS["body"] in notification.body
    # Their e-mail went out after the commit, one each.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [audience["yes"].email, audience["also"].email]
    )

    listed = api_as(hida_staff).get(URL).json()
    assert [row["id"] for row in listed["results"]] == [announcement.pk]
    assert listed["results"][0]["state"] == "sent"
    assert listed["results"][0]["recipients"] == 2


def test_the_fan_out_reaches_each_once_however_it_runs(hida_staff, audience):
    more = [resident() for _ in range(3)]
    for person in more:
        register(person, HIDA, allow_announcements=True)
    expected = sorted([audience["yes"].pk, audience["also"].pk, *(p.pk for p in more)])
    hida = Municipality.objects.get(code=HIDA)

    # Batches of two: three batches, then done; running again reaches nobody new.
    announcement = services.announcement_create(municipality=hida, actor=hida_staff, **NEWS)
    assert services.announcement_fan_out(announcement_id=announcement.pk, batch_size=2) == 5
    assert services.announcement_fan_out(announcement_id=announcement.pk, batch_size=2) == 0
    assert services.announcement_fan_out(announcement_id=announcement.pk) == 0
    assert reached(announcement) == expected
    announcement.refresh_from_db()
    assert announcement.state == AnnouncementState.SENT and announcement.recipients == 5
    assert Email.objects.filter(key=f"announcement:{announcement.pk}").count() == 5

    # Stopped half-way (a worker that died after two batches), then run in full twice.
    second = services.announcement_create(
        municipality=hida, actor=hida_staff, title=NEWS["title"], body=NEWS["body"] + "（再送）"
    )
    first_two = expected[:2]
    Announcement.objects.filter(pk=second.pk).update(cursor=first_two[-1], recipients=2)
    for person_id in first_two:  # what those batches had committed with the cursor
        Notification.objects.create(
            recipient_id=person_id,
            kind="announcement",
            topic="announcements",
            key=f"announcement:{second.pk}",
            context={"municipality": "飛騨市", "title": NEWS["title"], "body": NEWS["body"]},
        )
    assert services.announcement_fan_out(announcement_id=second.pk, batch_size=1) == 3
    assert services.announcement_fan_out(announcement_id=second.pk, batch_size=1) == 0
    assert reached(second) == expected
    second.refresh_from_db()
    assert second.recipients == 5

    # Those who did not agree, withdrew or belong to another town never heard of either.
    for name in ("no", "withdrawn", "elsewhere"):
        assert not Notification.objects.filter(recipient=audience[name]).exists(), name


def test_an_announcement_to_nobody_is_sent_to_nobody(hida_staff):
    hida = Municipality.objects.get(code=HIDA)
    announcement = services.announcement_create(municipality=hida, actor=hida_staff, **NEWS)
    assert services.announcement_fan_out(announcement_id=announcement.pk) == 0
    announcement.refresh_from_db()
    assert (announcement.state, announcement.recipients) == (AnnouncementState.SENT, 0)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": "", "body": ""}, {"title", "body"}),
        ({"title": "   ", "body": NEWS["body"]}, {"title"}),
        ({"title": NEWS["title"]}, {"body"}),
        ({"title": "長" * 101, "body": NEWS["body"]}, {"title"}),
    ],
)
def test_an_announcement_needs_a_title_and_a_body(hida_staff, body, fields):
    error = error_of(api_as(hida_staff).post(URL, body, format="json"), 400)
    assert set(error["fields"]) == fields
    for messages in error["fields"].values():
        assert messages and all(isinstance(m, str) and m for m in messages)
    assert not Announcement.objects.exists()


def test_the_service_says_what_is_missing_too(hida_staff):
    from django.core.exceptions import ValidationError

    hida = Municipality.objects.get(code=HIDA)
    with pytest.raises(ValidationError) as refused:
        services.announcement_create(municipality=hida, actor=hida_staff, title=" ", body="\n")
    assert refused.value.message_dict == {
        "title": ["件名を書いてください。"],
        "body": ["本文を書いてください。"],
    }
    assert not Announcement.objects.exists()


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("anonymous", 401, "not_authenticated"),
        ("resident", 403, "not_staff_here"),
        ("registrant", 403, "not_staff_here"),
        ("chizu_staff", 403, "not_staff_here"),
        ("gifu_staff", 403, "not_staff_here"),
        ("national", 403, "not_staff_here"),
    ],
)
def test_only_the_towns_own_staff_list_and_write(audience, who, status, code):
    people = {
        "anonymous": None,
        "resident": resident(),
        "registrant": audience["yes"],
        "chizu_staff": person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU),
        "gifu_staff": person_with_role(Role.PREFECTURE_STAFF, "21"),
        "national": person_with_role(Role.NATIONAL_ADMIN),
    }
    api = api_as(people[who])
    error_of(api.get(URL), status, code)
    error_of(api.post(URL, NEWS, format="json"), status, code)
    assert not Announcement.objects.exists()
    assert not Notification.objects.filter(kind="announcement").exists()


def test_an_unknown_town_is_not_found(hida_staff):
    api = api_as(hida_staff)
    error_of(api.get("/api/municipalities/999999/announcements/"), 404, "not_found")
    error_of(
        api.post("/api/municipalities/999999/announcements/", NEWS, format="json"), 404, "not_found"
    )


def test_staff_of_another_town_see_none_of_its_announcements(hida_staff):
    chizu_staff = person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU)
    hida = Municipality.objects.get(code=HIDA)
    services.announcement_create(municipality=hida, actor=hida_staff, **NEWS)
    body = api_as(chizu_staff).get(f"/api/municipalities/{CHIZU}/announcements/").json()
    assert body["count"] == 0 and body["results"] == []


def test_the_same_announcement_sent_twice_goes_out_once(hida_staff):
    """A form sent twice (a double click, a retried request) does not reach people twice."""
    first = api_as(hida_staff).post(URL, NEWS, format="json")
    assert first.status_code == 201
    again = api_as(hida_staff).post(URL, NEWS, format="json")
    assert "10分以内" in error_of(again, 409, "announcement_duplicate")["message"]
    english = api_as(hida_staff).post(URL, NEWS, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "10 minutes" in error_of(english, 409, "announcement_duplicate")["message"]
    assert Announcement.objects.count() == 1
    changed = api_as(hida_staff).post(
        URL, {**NEWS, "body": NEWS["body"] + "（追記）"}, format="json"
    )
    assert changed.status_code == 201
