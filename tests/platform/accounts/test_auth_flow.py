"""Sign up, verify by e-mail, log in and out, reset and change the password — through HTTP,
in Japanese and in English."""

import re

import pytest
from django.core import mail
from rest_framework.authtoken.models import Token

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "kome-tsukuri-2026!"
NEW_PASSWORD = "yuki-kaki-2027?"

TEXT = {
    "ja": {"verify_subject": "メールアドレスを確認してください", "reset_subject": "パスワード"},
    "en": {
        "verify_subject": "Confirm your email address",
        "reset_subject": "Reset your password",
    },
}


def _link(message, pattern: str) -> str:
    found = re.search(rf"https?://[^/\s]+(/accounts/{pattern}/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def _language(client, language: str) -> dict:
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return {"HTTP_ACCEPT_LANGUAGE": language}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_sign_up_verify_login_logout_and_reset(client, language):
    headers = _language(client, language)
    email = f"newcomer-{language}@example.jp"

    # Sign up: an e-mail asks to confirm the address; nobody is logged in yet.
    page = client.get("/accounts/signup/", **headers)
    assert page.status_code == 200
    response = client.post(
        "/accounts/signup/",
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
        **headers,
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert len(mail.outbox) == 1
    assert TEXT[language]["verify_subject"] in mail.outbox[0].subject
    assert mail.outbox[0].to == [email]

    # Logging in before confirming is refused (mandatory verification).
    client.post("/accounts/login/", {"login": email, "password": PASSWORD}, **headers)
    assert "_auth_user_id" not in client.session

    # Follow the link from the e-mail and confirm.
    confirm = _link(mail.outbox[-1], "confirm-email")
    assert client.get(confirm, **headers).status_code == 200
    response = client.post(confirm, **headers)
    assert response.status_code == 302
    user = User.objects.get(email=email)
    assert user.emailaddress_set.get().verified

    # Log out (POST), then in again.
    client.post("/accounts/logout/", **headers)
    assert "_auth_user_id" not in client.session
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD}, **headers)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post("/accounts/logout/", **headers)

    # Reset the password by e-mail.
    mail.outbox.clear()
    response = client.post("/accounts/password/reset/", {"email": email}, **headers)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert TEXT[language]["reset_subject"] in mail.outbox[0].subject
    reset = _link(mail.outbox[0], "password/reset/key")
    response = client.get(reset, **headers)  # redirects to the key-less form URL
    assert response.status_code == 302
    form_url = response["Location"]
    response = client.post(
        form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, **headers
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The old password no longer works; the new one does.
    client.post("/accounts/login/", {"login": email, "password": PASSWORD}, **headers)
    assert "_auth_user_id" not in client.session
    client.post("/accounts/login/", {"login": email, "password": NEW_PASSWORD}, **headers)
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_pages_speak_the_chosen_language(client, language):
    headers = _language(client, language)
    html = client.get("/accounts/signup/", **headers).content.decode()
    assert f'lang="{language}"' in html
    if language == "ja":
        assert "新規登録" in html and "パスワード" in html
    else:
        assert "Sign up" in html and "Password" in html


def test_change_password_when_logged_in_ends_api_tokens(client):
    client.post(
        "/accounts/signup/", {"email": "a@example.jp", "password1": PASSWORD, "password2": PASSWORD}
    )
    client.post(_link(mail.outbox[-1], "confirm-email"))
    user = User.objects.get(email="a@example.jp")
    Token.objects.create(user=user)
    assert 'href="/accounts/password/change/"' in client.get("/").content.decode()
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(email="a@example.jp").check_password(NEW_PASSWORD)
    assert not Token.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address", "password1": PASSWORD, "password2": PASSWORD}, "email"),
        ({"email": "b@example.jp", "password1": "short", "password2": "short"}, "password1"),
        (
            {"email": "b@example.jp", "password1": PASSWORD, "password2": "other-password-1"},
            "password2",
        ),
        (
            {"email": "b@example.jp", "password1": "1234567890", "password2": "1234567890"},
            "password1",
        ),
    ],
)
def test_bad_sign_up_is_explained_and_changes_nothing(client, data, field):
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    html = response.content.decode()
    assert 'role="alert"' in html and "field-error" in html
    assert not User.objects.exists()
    assert not mail.outbox


def test_passwords_are_hashed_with_argon2_outside_tests(settings):
    from config.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_failed_logins_are_rate_limited(client):
    client.post(
        "/accounts/signup/", {"email": "c@example.jp", "password1": PASSWORD, "password2": PASSWORD}
    )
    client.post(_link(mail.outbox[-1], "confirm-email"))
    client.post("/accounts/logout/")
    for _ in range(6):
        client.post("/accounts/login/", {"login": "c@example.jp", "password": "wrong-1234"})
    response = client.post("/accounts/login/", {"login": "c@example.jp", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


def test_an_overlong_address_is_refused_not_cut_short(client):
    email = "a" * 300 + "@example.jp"
    response = client.post(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "254" in str(response.context["form"].errors["email"])
    assert not User.objects.exists()
    assert not mail.outbox


def test_the_e_mail_speaks_as_furusato(client):
    client.post(
        "/accounts/signup/", {"email": "d@example.jp", "password1": PASSWORD, "password2": PASSWORD}
    )
    body = mail.outbox[-1].body
    assert "Furusato" in body
    assert "testserver です" not in body


def test_a_form_from_an_outdated_page_gets_the_sites_own_explanation():
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/accounts/login/", {"login": "x@example.jp", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "有効期限" in html and 'class="site-header"' in html
