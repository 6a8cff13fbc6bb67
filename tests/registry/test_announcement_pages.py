"""The staff's announcements page: a town's staff write to the registrants who agreed to hear
from the town and see what they sent; nobody else may; a bad form writes nothing; a good
one reaches exactly the consenting registrants' inboxes (and their e-mail)."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import AuditEvent, Role, User
from notifications.models import Notification
from places.models import Municipality
from registry import services
from registry.models import Announcement
from tests.factories import client_for, person_with_role
from tests.support import CHIZU, HIDA, errors_of, register, resident, summary_of

pytestmark = pytest.mark.django_db

PATH = f"/staff/{HIDA}/announcements/"
BODY = "10月に秋祭りを開きます。\nぜひお越しください。"


@pytest.fixture
def hida_staff() -> User:
    return person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)


@pytest.fixture
def people() -> dict[str, User]:
    """飛騨市's registrants: two who agreed to announcements, one who did not, one who
    agreed and withdrew; and someone who agreed with another town."""
    people = {name: resident() for name in ("agreed", "also", "refused", "withdrawn", "other")}
    register(people["agreed"], HIDA, allow_announcements=True)
    register(people["also"], HIDA, allow_announcements=True)
    register(people["refused"], HIDA, allow_announcements=False)
    gone = register(people["withdrawn"], HIDA, allow_announcements=True)
    services.registration_withdraw(registration=gone, actor=people["withdrawn"])
    register(people["other"], CHIZU, allow_announcements=True)
    return people


def test_the_page_shows_the_audience_and_says_who_receives_it(people, hida_staff):
    response = client_for(hida_staff).get(PATH)
    assert response.status_code == 200
    html = response.content.decode()
    assert "飛騨市の登録者へのお知らせ" in html
    assert "いま送ると 2 人に届きます。" in html
    assert "「まちからのお知らせを受け取る」に同意した人だけです" in html
    assert "同意した 2 人に送る" in html
    assert '<label for="id_title">件名' in html and '<label for="id_body">本文' in html
    assert "まだお知らせを送っていません。" in html
    # The staff menu links to it.
    assert f'href="{PATH}"' in client_for(hida_staff).get("/staff/").content.decode()


def test_only_the_towns_staff_may_open_or_post(people, hida_staff):
    response = client_for(None).get(PATH)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client_for(people["agreed"]).get(PATH).status_code == 403
    chizu_staff = client_for(person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU))
    assert chizu_staff.get(PATH).status_code == 403
    response = chizu_staff.post(PATH, {"title": "件名", "body": "本文"})
    assert response.status_code == 403
    response = client_for(None).post(PATH, {"title": "件名", "body": "本文"})
    assert response.status_code == 302
    assert not Announcement.objects.exists()
    staff = client_for(hida_staff)
    assert staff.get("/staff/999999/announcements/").status_code == 404
    assert staff.put(PATH).status_code == 405


@pytest.mark.parametrize("language", ["ja", "en"])
def test_empty_or_too_long_fields_are_shown_on_the_form_and_nothing_is_sent(
    people, hida_staff, language, django_capture_on_commit_callbacks
):
    staff = client_for(hida_staff, language)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(PATH, {"title": "  ", "body": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert len(errors_of(html)) == 2
    assert 'href="#id_title"' in html and 'href="#id_body"' in html  # the summary links
    if language == "ja":
        assert errors_of(html) == ["件名を書いてください。", "本文を書いてください。"]
        assert "入力内容を確認してください" in summary_of(html)
        assert "件名を書いてください。" in summary_of(html)
    else:
        assert "Please check what you entered" in summary_of(html)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(PATH, {"title": "あ" * 101, "body": "本文"})
    assert response.status_code == 200
    html = response.content.decode()
    assert len(errors_of(html)) == 1
    assert "あ" * 101 in html  # what was typed is kept
    assert not Announcement.objects.exists()
    assert not Notification.objects.filter(kind="announcement").exists()
    assert not AuditEvent.objects.filter(action="announcement.create").exists()
    assert mail.outbox == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_announcement_reaches_exactly_the_consenting_registrants(
    people, hida_staff, language, django_capture_on_commit_callbacks
):
    staff = client_for(hida_staff, language)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(PATH, {"title": "秋祭りのお知らせ", "body": BODY})
    assert response.status_code == 302 and response.url == PATH

    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.author) == ("秋祭りのお知らせ", hida_staff)
    assert announcement.state == "sent" and announcement.recipients == 2
    told = set(Notification.objects.filter(kind="announcement").values_list("recipient", flat=True))
    assert told == {people["agreed"].pk, people["also"].pk}
    assert AuditEvent.objects.filter(actor=hida_staff, action="announcement.create").count() == 1
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [people["agreed"].email, people["also"].email]
    )

    inbox = client_for(people["agreed"], language).get("/notifications/").content.decode()
    assert "秋祭りのお知らせ" in inbox and "10月に秋祭りを開きます。" in inbox
    for name in ("refused", "withdrawn", "other"):
        html = client_for(people[name], language).get("/notifications/").content.decode()
        assert "秋祭りのお知らせ" not in html

    html = staff.get(PATH).content.decode()
    assert "秋祭りのお知らせ" in html
    if language == "ja":
        assert re.findall(r'<li class="message [^"]*">([^<]+)</li>', html) == [
            "お知らせ「秋祭りのお知らせ」の配信を始めました。受け取りに同意した登録者に順に届きます。"
        ]
        assert "配信済み" in html and "2 人に届けました" in html
    assert "まだお知らせを送っていません。" not in html


def test_the_list_shows_each_announcements_state_and_only_this_towns(people, hida_staff):
    hida, chizu = (Municipality.objects.get(code=code) for code in (HIDA, CHIZU))
    # Written, its fan-out not yet run (the broker is away, or the worker is busy).
    services.announcement_create(
        municipality=hida, actor=hida_staff, title="草刈りの日程", body="来週です。"
    )
    chizu_staff = person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU)
    services.announcement_create(
        municipality=chizu, actor=chizu_staff, title="智頭町からの便り", body="本文"
    )
    html = client_for(hida_staff).get(PATH).content.decode()
    assert "草刈りの日程" in html and "配信中" in html and "これまでに 0 人に届けました" in html
    assert "智頭町からの便り" not in html
    assert "<summary>本文を見る</summary>" in html and "来週です。" in html
