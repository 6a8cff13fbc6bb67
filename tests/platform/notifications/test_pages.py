"""The notification pages people use: the inbox, the settings (what they hear about, where
and how often) and the one-click unsubscribe link of an e-mail (a GET only asks; a POST
stops that kind of mail)."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from notifications import services, tokens
from notifications.models import Channel, Email, Notification, Preference, Topic
from tests.factories import UserFactory, client_for
from tests.support import errors_of, messages_of, page, summary_of

pytestmark = pytest.mark.django_db


def settings_form(**changes: str) -> dict[str, str]:
    """Every field of the settings form as a person first sees it, with ``changes``."""
    data = {
        f"{topic}__{channel}": "immediately" for topic in Topic.values for channel in Channel.values
    }
    data["language"] = "ja"
    data.update(changes)
    return data


def tell(person: User, key: str) -> None:
    """A match notification, as the matcher sends one."""
    services.notification_send(
        recipients=[person],
        kind="task_matched",
        topic=Topic.MATCHES,
        key=key,
        context={"title": "棚田の草刈り", "municipality": "智頭町", "reasons": []},
        url="/tasks/",
    )


@pytest.fixture
def person() -> User:
    return UserFactory(email="taro@example.jp")


# --- Who may open them -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/notifications/", "/notifications/settings/"])
def test_the_inbox_and_settings_ask_visitors_to_log_in(path):
    response = client_for(None).get(path)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client_for(None).post(path, settings_form()).status_code == 302
    assert not Preference.objects.exists()


def test_the_inbox_header_and_settings_link_each_other(person):
    html = page(client_for(person), "/notifications/")
    assert 'href="/notifications/settings/"' in html.split("</header>", 1)[1]  # in the page
    assert 'href="/notifications/settings/"' in html.split("</header>", 1)[0]  # in the menu
    assert "お知らせはまだありません。" in html
    html = page(client_for(person), "/notifications/settings/")
    assert 'href="/notifications/"' in html.split("</header>", 1)[1]


# --- Settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_settings_page_has_a_labelled_menu_per_kind_and_channel(person, language):
    html = page(client_for(person, language), "/notifications/settings/", language)
    assert html.count('<tr><th scope="row">') == len(Topic.values)
    for topic in Topic.values:
        for channel in Channel.values:
            field = f"id_{topic}__{channel}"
            assert f'<label class="preference-label" for="{field}">' in html
            assert f'<select name="{topic}__{channel}" id="{field}"' in html
    # The inbox has no digests: its menus offer only "immediately" and "never".
    inbox_menu = re.search(r'<select name="matches__inbox".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="(\w+)"', inbox_menu) == ["immediately", "never"]
    email_menu = re.search(r'<select name="matches__email".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="(\w+)"', email_menu) == ["immediately", "daily", "weekly", "never"]
    assert '<label for="id_language">' in html
    if language == "ja":
        assert "<h1>お知らせの設定</h1>" in html and "多くても7日間に3件まで" in html


def test_saving_the_settings_changes_what_the_person_receives(person):
    me = client_for(person)
    response = me.post(
        "/notifications/settings/",
        settings_form(matches__email="daily", announcements__inbox="never", language="en"),
    )
    assert response.status_code == 302 and response.url == "/notifications/settings/"
    chosen = services.preferences_of(user=person)
    assert chosen["matches"] == {"inbox": "immediately", "email": "daily"}
    assert chosen["announcements"] == {"inbox": "never", "email": "immediately"}
    person.refresh_from_db()
    assert person.language == "en"
    html = page(me, "/notifications/settings/")
    assert messages_of(html) == ["お知らせの設定を保存しました。"]
    assert re.search(r'<select name="matches__email"[^>]*>.*?value="daily" selected', html, re.S)
    # A daily digest: the match is in the inbox, its e-mail waits for the digest.
    tell(person, "task:1:matched")
    assert Notification.objects.get(recipient=person).digest == "daily"
    assert not Email.objects.filter(recipient=person).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("ja", "正しく選択してください。 daily は候補にありません。"),
        ("en", "Select a valid choice. daily is not one of the available choices."),
    ],
)
def test_a_value_the_menus_do_not_offer_is_an_error_and_changes_nothing(person, language, message):
    """An inbox has no digest: "daily" posted by hand (or by an old page) is refused."""
    me = client_for(person, language)
    response = me.post(
        "/notifications/settings/",
        settings_form(matches__inbox="daily", matches__email="never", language="en"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert errors_of(html) == [message]
    summary = summary_of(html)
    assert message in summary and 'href="#id_matches__inbox"' in html
    assert 'id="id_matches__inbox_error"' in html
    assert not Preference.objects.filter(person=person).exists()
    person.refresh_from_db()
    assert person.language == "ja"
    # A missing field and an unknown language are errors as well, and change nothing.
    data = settings_form(language="fr")
    del data["signups__email"]
    response = me.post("/notifications/settings/", data)
    assert response.status_code == 200 and len(errors_of(response.content.decode())) == 2
    assert not Preference.objects.filter(person=person).exists()


# --- One-click unsubscribe ---------------------------------------------------------------


def test_the_unsubscribe_link_asks_on_get_and_stops_the_mail_on_post(person):
    token = tokens.unsubscribe_token(person_id=person.pk, topics=[Topic.MATCHES])
    path = f"/notifications/unsubscribe/{token}/"
    # A mail provider posts without a session or a CSRF token (RFC 8058).
    anyone = client_for(None, enforce_csrf_checks=True)

    for _ in range(2):  # a link checker, a preview, a second look: nothing changes
        html = page(anyone, path)
        assert re.search(r'<form method="post">.*?<button[^>]*type="submit"', html, re.S)
        assert "t***@example.jp" in html and "taro@example.jp" not in html
        assert "あなたに合う新しいお手伝い" in html
    assert not Preference.objects.filter(person=person).exists()
    tell(person, "task:1:matched")
    assert Email.objects.filter(recipient=person).count() == 1

    response = anyone.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "メールを停止しました" in html and 'href="/notifications/settings/"' in html
    assert services.preferences_of(user=person)["matches"] == {
        "inbox": "immediately",
        "email": "never",
    }
    # The next match still comes to the inbox, but no e-mail is written for it; other
    # kinds of mail are untouched.
    tell(person, "task:2:matched")
    assert Notification.objects.filter(recipient=person).count() == 2
    assert Email.objects.filter(recipient=person).count() == 1
    assert services.preferences_of(user=person)["signups"]["email"] == "immediately"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_broken_unsubscribe_link_says_so_and_changes_nothing(person, language):
    token = tokens.unsubscribe_token(person_id=person.pk, topics=[Topic.MATCHES])
    anyone = client_for(None, language)
    for method in (anyone.get, anyone.post):
        response = method(f"/notifications/unsubscribe/{token[:-3]}xyz/")
        assert response.status_code == 400
        html = response.content.decode()
        assert f'<html lang="{language}">' in html and 'class="error-summary"' in html
        if language == "ja":
            assert "この配信停止のリンクは正しくありません。" in html
    assert not Preference.objects.exists()
