"""Staff need a second factor before they see personal data or statistics (pages and API);
the token API asks for its code; an idle staff session ends. Through HTTP."""

from __future__ import annotations

import contextlib
import datetime
import time
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.middleware import LAST_SEEN_SESSION_KEY
from accounts.models import Role
from accounts.services import membership_grant
from places.models import Municipality
from tests.factories import (
    PASSWORD,
    UserFactory,
    client_for,
    person_with_role,
    totp_activate,
    totp_code,
)

pytestmark = pytest.mark.django_db

HIDA = "212172"
# Personal data and statistics of Hida, for its staff.
STAFF_PAGES = [
    f"/staff/{HIDA}/registrants/",
    f"/staff/{HIDA}/registrants.csv",
    f"/staff/{HIDA}/activities/",
    "/cards/verify/",
    f"/stats/municipalities/{HIDA}/",
    "/stats/",
]
STAFF_API = [f"/api/municipalities/{HIDA}/registrants/", f"/api/municipalities/{HIDA}/activities/"]


@contextlib.contextmanager
def time_machine_minutes(minutes: int):
    """The middleware's clock (``time.time``) this many minutes ahead."""
    ahead = time.time() + minutes * 60
    with mock.patch("accounts.middleware.time.time", return_value=ahead):
        yield


def _log_in(client, email: str):
    return client.post("/accounts/login/", {"login": email, "password": PASSWORD})


# Committed for real: allauth tells of a new factor after its commit, and the session that
# set it up is then marked as having passed it.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.MUNICIPALITY_ADMIN, Role.MUNICIPALITY_EDITOR])
def test_staff_without_a_second_factor_are_sent_to_set_one_up_then_log_in_with_it(
    role, municipalities
):
    staff = person_with_role(role, HIDA, mfa=False)
    elsewhere = client_for(None)  # another session, opened with the password alone
    _log_in(elsewhere, staff.email)
    browser = client_for(None)
    response = _log_in(browser, staff.email)
    assert response.status_code == 302 and browser.session["_auth_user_id"] == str(staff.pk)

    # No personal data or statistics: every such page sends to the second factor's setup,
    # saying why; the API answers 403 mfa_required.
    for path in STAFF_PAGES:
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/", path
    page = browser.get("/accounts/2fa/")
    assert page.status_code == 200
    assert "二段階認証の設定が必要です" in page.content.decode()
    for path in STAFF_API:
        response = browser.get(path)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "mfa_required"

    # Set up TOTP through the pages: the password once more, then a code from the secret.
    response = browser.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    browser.post(response["Location"], {"password": PASSWORD})
    page = browser.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = browser.session["mfa.totp.secret"]
    assert secret in page.content.decode()  # shown for typing into the app
    response = browser.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200 and not Authenticator.objects.filter(user=staff).exists()
    response = browser.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=staff, type="totp").exists()
    for path in STAFF_PAGES:
        assert browser.get(path).status_code == 200, path
    for path in STAFF_API:
        assert browser.get(path).status_code == 200, path
    # The person's first factor ended the other session (it passed no factor).
    assert "_auth_user_id" not in elsewhere.session

    # Logging in again asks for the code after the password.
    browser.post("/accounts/logout/")
    response = _log_in(browser, staff.email)
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in browser.session
    response = browser.post("/accounts/2fa/authenticate/", {"code": "123"})
    assert "_auth_user_id" not in browser.session
    response = browser.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(staff.pk)
    assert browser.get(STAFF_PAGES[0]).status_code == 200


def test_prefecture_and_national_staff_need_one_too_the_admin_included():
    gifu = person_with_role(Role.PREFECTURE_STAFF, "21", mfa=False)
    response = client_for(gifu).get("/stats/prefectures/21/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    admin = person_with_role(Role.NATIONAL_ADMIN, mfa=False, is_staff=True, is_superuser=True)
    for path in ["/admin/", "/stats/"]:
        response = client_for(admin).get(path)
        assert response.status_code == 302 and response["Location"] == "/accounts/2fa/", path
    with_factor = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    assert client_for(with_factor).get("/admin/").status_code == 200


def test_hosts_and_residents_need_no_second_factor():
    host = person_with_role(Role.HOST, HIDA)
    assert not Authenticator.objects.filter(user=host).exists()
    assert client_for(host).get("/me/").status_code == 200
    assert client_for(UserFactory()).get("/me/").status_code == 200


def test_account_pages_stay_open_to_staff_without_a_second_factor():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA, mfa=False)
    browser = client_for(staff)
    for path in ["/accounts/2fa/", "/accounts/password/change/", "/accounts/email/"]:
        assert browser.get(path).status_code == 200, path
    assert browser.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    browser.post("/accounts/logout/")
    assert "_auth_user_id" not in browser.session


# --- The token API ------------------------------------------------------------------------


def _token(api, **body):
    return api.post("/api/auth/token/", body, format="json")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_token_api_needs_the_code_of_an_account_with_a_second_factor(language):
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)

    missing = _token(api, email=staff.email, password=PASSWORD)
    assert missing.status_code == 400
    error = missing.json()["error"]
    assert error["code"] == "second_factor_code_required" and list(error["fields"]) == ["code"]
    expected = {"ja": "二段階認証を使っています", "en": "two-step verification"}
    assert expected[language] in error["message"]

    wrong = _token(api, email=staff.email, password=PASSWORD, code="000000")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "second_factor_code_wrong"
    expected = {"ja": "コードが正しくありません", "en": "code is not correct"}
    assert expected[language] in wrong.json()["error"]["message"]

    # A wrong password with the right code is still a wrong password.
    response = _token(api, email=staff.email, password="wrong-password-1", code="1")
    assert response.status_code == 400 and "code" not in response.json()["error"]["fields"]
    assert response.json()["error"]["code"] == "wrong_credentials"

    response = _token(api, email=staff.email, password=PASSWORD, code=totp_code(staff.totp_secret))
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get(STAFF_API[0]).status_code == 200


def test_a_recovery_code_works_once_for_the_token_api():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    code = RecoveryCodes.activate(staff).get_unused_codes()[0]
    api = APIClient()
    assert _token(api, email=staff.email, password=PASSWORD, code=code).status_code == 200
    assert _token(api, email=staff.email, password=PASSWORD, code=code).status_code == 400


def test_staff_without_a_second_factor_get_no_token_and_their_token_is_refused():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA, mfa=False)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    response = _token(api, email=staff.email, password=PASSWORD)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "mfa_required" and "two-step verification" in error["message"]

    # A token from before the rule (or the factor was removed) opens nothing either.
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=staff)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get(STAFF_API[0])
    assert response.status_code == 403 and response.json()["error"]["code"] == "mfa_required"


def test_residents_get_a_token_with_the_password_alone():
    person = UserFactory()
    assert _token(APIClient(), email=person.email, password=PASSWORD).status_code == 200


# --- Idle staff sessions ------------------------------------------------------------------


def _idle(browser, seconds: int) -> None:
    session = browser.session
    session[LAST_SEEN_SESSION_KEY] = int(time.time()) - seconds
    session.save()


def test_an_idle_staff_session_ends_and_an_active_one_goes_on(settings):
    settings.ACCOUNTS_STAFF_IDLE_SECONDS = 1800
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    browser = client_for(staff)
    assert browser.get(STAFF_PAGES[0]).status_code == 200

    _idle(browser, 1700)
    assert browser.get(STAFF_PAGES[0]).status_code == 200  # still within the limit

    _idle(browser, 1900)
    response = browser.get(STAFF_PAGES[0])
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={STAFF_PAGES[0]}"
    assert "_auth_user_id" not in browser.session
    page = browser.get(response["Location"])
    assert "しばらく操作がなかったため、ログアウトしました" in page.content.decode()


def test_an_idle_staff_session_on_the_api_is_a_401():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    browser = client_for(staff)
    assert browser.get(STAFF_API[0]).status_code == 200
    _idle(browser, 7200)
    assert browser.get(STAFF_API[0]).status_code == 401
    assert "_auth_user_id" not in browser.session


def test_residents_keep_their_session_however_long_idle():
    person = UserFactory()
    browser = client_for(person)
    browser.get("/me/")
    _idle(browser, 10 * 24 * 3600)
    assert browser.get("/me/").status_code == 200


def test_the_admin_login_page_does_not_bypass_the_second_factor():
    admin = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    browser = client_for(None)
    response = browser.post("/admin/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert "_auth_user_id" not in browser.session


def test_a_session_that_passed_only_the_password_stays_shut_when_a_factor_appears():
    """A factor set up elsewhere (by the owner, or by whoever knows the password) does not
    open a session that logged in with the password alone: only passing a factor does."""
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA, mfa=False)
    browser = client_for(None)
    _log_in(browser, staff.email)
    assert browser.get(STAFF_PAGES[0])["Location"] == "/accounts/2fa/"
    totp_activate(staff)
    with time_machine_minutes(2):  # past the once-a-minute recheck
        for path in STAFF_PAGES:
            response = browser.get(path)
            assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
        for path in STAFF_API:
            response = browser.get(path)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "mfa_required"


def test_a_token_taken_with_the_password_alone_ends_when_its_person_becomes_staff():
    person = UserFactory()
    api = APIClient()
    response = api.post(
        "/api/auth/token/", {"email": person.email, "password": PASSWORD}, format="json"
    )
    old = response.json()["token"]
    membership_grant(
        user=person, role=Role.MUNICIPALITY_ADMIN, municipality=Municipality.objects.get(code=HIDA)
    )
    totp_activate(person)
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get(STAFF_API[0]).status_code == 401
    # A new token takes the code, and lasts a working day.
    response = APIClient().post(
        "/api/auth/token/",
        {"email": person.email, "password": PASSWORD, "code": totp_code(person.totp_secret)},
        format="json",
    )
    new = response.json()["token"]
    assert new != old
    api.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api.get(STAFF_API[0]).status_code == 200


def test_a_staff_token_expires_and_a_residents_does_not(settings):
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    resident = UserFactory()
    tokens = {user: Token.objects.create(user=user) for user in (staff, resident)}
    Token.objects.update(
        created=timezone.now()
        - datetime.timedelta(seconds=settings.ACCOUNTS_STAFF_TOKEN_SECONDS + 1)
    )
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Token {tokens[staff].key}")
    response = api.get(STAFF_API[0])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert "expired" in response.json()["error"]["message"]
    assert not Token.objects.filter(user=staff).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Token {tokens[resident].key}")
    assert api.get("/api/me/").status_code == 200


def test_staff_without_a_second_factor_may_still_revoke_their_token():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA, mfa=False)
    token = Token.objects.create(user=staff)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.delete("/api/auth/token/").status_code == 204
    assert not Token.objects.filter(user=staff).exists()


def test_staff_with_an_address_waiting_are_told_why_no_factor_can_be_set_up():
    """allauth sets up no factor while an address waits for its link: the page says so."""
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA, mfa=False)
    EmailAddress.objects.create(user=staff, email="new-address@example.jp", verified=False)
    response = client_for(staff).get(STAFF_PAGES[0], follow=True)
    assert "確認待ちのメールアドレス（new-address@example.jp）" in response.content.decode()
