"""Every e-mail the accounts send speaks in the site's own voice, in Japanese and in English:
the links to confirm an address and to reset a password, the replies for an unknown or an
existing address, and the security notices — never allauth's stock text ("です!",
"Hello from …!")."""

from __future__ import annotations

import re

import pytest
from allauth.account.adapter import get_adapter
from allauth.core import context
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory
from django.utils import translation

from tests.factories import PASSWORD, UserFactory, client_for

pytestmark = pytest.mark.django_db

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]")
STOCK = ("です!", "です！", "Hello from", "Thank you for using", "You're receiving this")

SUBJECTS = {
    "signup": {
        "ja": "新規登録：メールアドレスを確認してください",
        "en": "Confirm your email address to finish signing up",
    },
    "confirm": {
        "ja": "メールアドレスを確認してください",
        "en": "Please confirm your email address",
    },
    "reset": {"ja": "パスワードの再設定", "en": "Reset your password"},
    "unknown": {
        "ja": "このメールアドレスのアカウントはありません",
        "en": "No account uses this email address",
    },
    "exists": {
        "ja": "このメールアドレスのアカウントはすでにあります",
        "en": "An account with this email address already exists",
    },
}
BODIES = {
    "signup": {"ja": "登録を終えるには", "en": "To finish signing up"},
    "confirm": {"ja": "あなたのものであることを確かめる", "en": "To confirm that this email"},
    "reset": {"ja": "新しいパスワードを決めて", "en": "Open the link below to choose a new one"},
    "unknown": {"ja": "アカウントはありません", "en": "no account uses this address"},
    "exists": {"ja": "アカウントはすでにあります", "en": "already exists"},
}


def _the_one(kind: str, language: str, link: str | None = None):
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    message = mail.outbox[0]
    assert message.subject == f"[Furusato] {SUBJECTS[kind][language]}"
    assert BODIES[kind][language] in message.body
    assert message.body.startswith(
        "Furusato（ふるさと） からのご連絡です。"
        if language == "ja"
        else "A message from Furusato."
    )
    for stock in STOCK:
        assert stock not in message.body
    if language == "en":
        assert not JAPANESE.search(message.subject + message.body), message.body
    if link:
        assert re.search(rf"https?://\S+{link}", message.body), message.body
    mail.outbox.clear()
    return message


@pytest.mark.parametrize("language", ["ja", "en"])
def test_sign_up_and_its_replies(language):
    browser = client_for(None, language)
    data = {"email": f"new-{language}@example.jp", "password1": PASSWORD, "password2": PASSWORD}
    assert browser.post("/accounts/signup/", data).status_code == 302
    _the_one("signup", language, link="/accounts/confirm-email/")

    # The same address again, past the one-mail-per-three-minutes limit of an address: no
    # second account, a note to the address's owner.
    cache.clear()
    assert client_for(None, language).post("/accounts/signup/", data).status_code == 302
    _the_one("exists", language, link="/accounts/password/reset/")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_password_reset_for_a_known_and_an_unknown_address(language):
    person = UserFactory(language=language)
    browser = client_for(None, language)
    browser.post("/accounts/password/reset/", {"email": person.email})
    _the_one("reset", language, link="/accounts/password/reset/key/")

    browser.post("/accounts/password/reset/", {"email": f"nobody-{language}@example.jp"})
    _the_one("unknown", language, link="/accounts/signup/")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_new_address_is_confirmed_by_its_own_link(language):
    person = UserFactory(language=language)
    browser = client_for(person, language)
    added = f"second-{language}@example.jp"
    browser.post("/accounts/email/", {"email": added, "action_add": ""})
    browser.post("/accounts/reauthenticate/?next=/accounts/email/", {"password": PASSWORD})
    confirmation = next(m for m in mail.outbox if m.to == [added])
    mail.outbox[:] = [confirmation]
    _the_one("confirm", language, link="/accounts/confirm-email/")


NOTICES = {
    "account/email/password_changed": {"ja": "パスワードが変更", "en": "password"},
    "account/email/password_set": {"ja": "パスワード", "en": "password"},
    "account/email/password_reset": {"ja": "パスワード", "en": "password"},
    "account/email/email_added": {"ja": "メールアドレス", "en": "email"},
    "account/email/email_changed": {"ja": "メールアドレス", "en": "email"},
    "account/email/email_deleted": {"ja": "メールアドレス", "en": "email"},
    "mfa/email/totp_activated": {"ja": "認証", "en": "authent"},
    "mfa/email/totp_deactivated": {"ja": "認証", "en": "authent"},
    "mfa/email/recovery_codes_generated": {"ja": "リカバリー", "en": "recovery"},
    "mfa/email/webauthn_added": {"ja": "キー", "en": "key"},
    "mfa/email/webauthn_removed": {"ja": "キー", "en": "key"},
}


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("notice", sorted(NOTICES))
def test_security_notices_speak_the_persons_language(language, notice):
    person = UserFactory(language=language)
    request = RequestFactory().get("/accounts/email/", HTTP_USER_AGENT="Firefox/140")
    request.user = person
    # The page's language is not theirs: the notice speaks the person's.
    with translation.override("ja" if language == "en" else "en"), context.request_context(request):
        get_adapter(request).send_notification_mail(
            notice,
            person,
            {"from_email": "old@example.jp", "to_email": person.email, "deleted_email": "x@y.jp"},
            email=person.email,
        )
    (message,) = mail.outbox
    assert NOTICES[notice][language] in (message.subject + message.body).lower()
    assert "Firefox/140" in message.body and "/accounts/password/reset/" in message.body
    for stock in STOCK:
        assert stock not in message.body
    if language == "en":
        assert not JAPANESE.search(message.subject + message.body), message.body
    else:
        assert JAPANESE.search(message.subject)
