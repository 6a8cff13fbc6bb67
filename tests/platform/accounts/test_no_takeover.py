"""Nobody takes over an account through an address they do not own, and every change to
the password or the address is told by e-mail — through HTTP, mail to a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD, UserFactory, client_for
from tests.smtp import SmtpServer, smtp_server_running

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "yuki-kaki-2027?"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server_running() as server, override_settings(**server.settings()):
        yield server


def _link(text: str, pattern: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/accounts/{pattern}/[^\s]+/)", text)
    assert found, text
    return found.group(1)


def _add_address(client, email: str):
    return client.post("/accounts/email/", {"email": email, "action_add": ""})


def _reauthenticate(client, password: str):
    """The password page the suspended request was sent to; it resumes the request."""
    return client.post("/accounts/reauthenticate/?next=/accounts/email/", {"password": password})


def test_the_squatting_flow_fails_at_every_step_and_the_owner_signs_up(smtp):
    squatter = UserFactory(email="squatter@example.jp")
    owner_address = "owner@example.jp"
    browser = client_for(squatter)

    # 1. Adding an address asks for the password first; nothing is added without it.
    response = _add_address(browser, owner_address)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not EmailAddress.objects.filter(email=owner_address).exists()
    response = _reauthenticate(browser, "not-the-password-1")
    assert response.status_code == 200
    assert not EmailAddress.objects.filter(email=owner_address).exists()

    # With the password the address is added — unverified, not the account's address — and
    # the account's own address is told.
    response = _reauthenticate(browser, PASSWORD)
    assert response.status_code == 302
    added = EmailAddress.objects.get(email=owner_address)
    assert added.user == squatter and not added.verified and not added.primary
    assert User.objects.get(pk=squatter.pk).email == "squatter@example.jp"
    (notice,) = smtp.to("squatter@example.jp")[-1:]
    assert "メールアドレスの追加" in notice.message["Subject"]
    assert owner_address in notice.text and "/accounts/password/reset/" in notice.text
    (confirmation,) = smtp.to(owner_address)  # the link, which only the owner gets

    # 2. A password reset through the unverified address resets nothing.
    anonymous = client_for(None)
    smtp.clear()
    response = anonymous.post("/accounts/password/reset/", {"email": owner_address})
    assert response.status_code == 302
    assert all("/accounts/password/reset/key/" not in m.text for m in smtp.received)

    # 3. Neither the login page nor the token API accepts it as the login.
    anonymous.post("/accounts/login/", {"login": owner_address, "password": PASSWORD})
    assert "_auth_user_id" not in anonymous.session
    api = APIClient()
    response = api.post(
        "/api/auth/token/", {"email": owner_address, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_credentials"
    # The squatter's own address still works.
    response = api.post(
        "/api/auth/token/",
        {"email": "squatter@example.jp", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200

    # 4. The owner signs up with the address and receives the verification mail.
    smtp.clear()
    owner = client_for(None)
    response = owner.post(
        "/accounts/signup/",
        {"email": owner_address, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    (verification,) = smtp.to(owner_address)
    account = User.objects.get(email=owner_address)
    assert account != squatter
    # The squatter's claim went with the sign-up: its link, which reached the owner too,
    # now only says it is not valid (it confirmed the address for the squatter before).
    assert not EmailAddress.objects.filter(user=squatter, email=owner_address).exists()
    squatters_link = _link(confirmation.text, "confirm-email")
    assert client_for(None).get(squatters_link).status_code == 200
    response = client_for(None).post(squatters_link)
    assert response.status_code in (200, 404)
    assert not EmailAddress.objects.filter(email=owner_address, verified=True).exists()
    response = owner.post(_link(verification.text, "confirm-email"))
    assert response.status_code == 302
    assert EmailAddress.objects.get(email=owner_address, verified=True).user == account
    # The squatter's claim on it is gone.
    assert not EmailAddress.objects.filter(user=squatter, email=owner_address).exists()
    # The owner's reset now reaches the owner's own account.
    smtp.clear()
    client_for(None).post("/accounts/password/reset/", {"email": owner_address})
    (reset,) = smtp.to(owner_address)
    assert "/accounts/password/reset/key/" in reset.text


@pytest.mark.parametrize("language", ["ja", "en"])
def test_password_change_and_reset_are_told_by_e_mail(smtp, language):
    person = UserFactory(language=language)
    browser = client_for(person, language)
    response = browser.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    (notice,) = smtp.to(person.email)
    expected = {"ja": "パスワードが変更されました", "en": "Your password was changed"}
    assert expected[language] in notice.message["Subject"]
    assert ("IP アドレス" if language == "ja" else "IP address") in notice.text

    smtp.clear()
    anonymous = client_for(None, language)
    anonymous.post("/accounts/password/reset/", {"email": person.email})
    (reset_mail,) = smtp.to(person.email)
    key_url = _link(reset_mail.text, "password/reset/key")
    form_url = anonymous.get(key_url)["Location"]
    response = anonymous.post(form_url, {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    notices = smtp.to(person.email)[1:]
    assert len(notices) == 1
    expected = {"ja": "パスワードが再設定されました", "en": "Your password was reset"}
    assert expected[language] in notices[0].message["Subject"]


def test_address_change_and_removal_are_told_to_the_old_address(smtp):
    person = UserFactory(email="old-address@example.jp")
    browser = client_for(person)
    _add_address(browser, "new-address@example.jp")
    _reauthenticate(browser, PASSWORD)
    (added,) = smtp.to("old-address@example.jp")
    assert "new-address@example.jp" in added.text
    (verification,) = smtp.to("new-address@example.jp")

    # Confirmed: the new address replaces the old, which hears of it.
    smtp.clear()
    browser.post(_link(verification.text, "confirm-email"))
    person.refresh_from_db()
    assert person.email == "new-address@example.jp"
    assert list(EmailAddress.objects.filter(user=person).values_list("email", flat=True)) == [
        "new-address@example.jp"
    ]
    (changed,) = smtp.to("old-address@example.jp")
    assert "メールアドレスが変更されました" in changed.message["Subject"]
    assert "old-address@example.jp" in changed.text and "new-address@example.jp" in changed.text

    # An address added and then removed again: the account's address hears of both.
    smtp.clear()
    _add_address(browser, "third-address@example.jp")
    browser.post("/accounts/email/", {"email": "third-address@example.jp", "action_remove": ""})
    assert not EmailAddress.objects.filter(email="third-address@example.jp").exists()
    added, removed = smtp.to("new-address@example.jp")
    assert "third-address@example.jp" in added.text
    assert "メールアドレスが削除されました" in removed.message["Subject"]
    assert "third-address@example.jp" in removed.text


def test_an_address_held_unverified_by_a_fresh_account_can_still_be_recovered(smtp):
    """Someone signed up with another person's address and never confirmed it: the owner
    is told an account exists and resets its password through the mail only they get."""
    squatter = client_for(None)
    squatter.post(
        "/accounts/signup/",
        {"email": "claimed@example.jp", "password1": PASSWORD, "password2": PASSWORD},
    )
    smtp.clear()
    owner = client_for(None)
    owner.post(
        "/accounts/signup/",
        {"email": "claimed@example.jp", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    # The address's mail limit (one in three minutes) held back the owner's; later it
    # arrives: "an account exists" (never saying so on the page).
    assert smtp.to("claimed@example.jp") == []
    cache.clear()
    owner.post(
        "/accounts/signup/",
        {"email": "claimed@example.jp", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert len(smtp.to("claimed@example.jp")) == 1
    assert User.objects.filter(email="claimed@example.jp").count() == 1
    smtp.clear()
    owner.post("/accounts/password/reset/", {"email": "claimed@example.jp"})
    (reset,) = smtp.to("claimed@example.jp")
    assert "/accounts/password/reset/key/" in reset.text
