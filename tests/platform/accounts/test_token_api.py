"""/api/auth/token/: token authentication for API clients."""

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_token_for_a_verified_person_authenticates_api_calls():
    user = UserFactory()
    api = APIClient()
    response = api.post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.delete("/api/auth/token/").status_code == 204
    # The revoked token no longer authenticates.
    assert api.delete("/api/auth/token/").status_code == 401


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "nobody@example.jp", "password": PASSWORD}, "non_field_errors"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
    ],
)
def test_bad_credentials_are_refused_clearly(data, field):
    response = APIClient().post("/api/auth/token/", data)
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field]


def test_unverified_people_get_no_token():
    user = UserFactory(verified=False)
    response = APIClient().post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_unverified"
    assert "確認" in response.json()["error"]["message"]


def test_wrong_password_in_english():
    user = UserFactory()
    response = APIClient().post(
        "/api/auth/token/",
        {"email": user.email, "password": "wrong"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["error"]["code"] == "wrong_credentials"
    message = response.json()["error"]["message"]
    assert message.isascii() and "password" in message.lower()


def test_failed_token_requests_are_rate_limited_per_account():
    user = UserFactory()
    api = APIClient()
    for _ in range(5):
        response = api.post("/api/auth/token/", {"email": user.email, "password": "wrong"})
        assert response.status_code == 400
    # Now even the right password is refused for a while, with a clear 429.
    response = api.post("/api/auth/token/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_api_is_closed_by_default():
    """An endpoint without its own permission (here the router's default for writes) is
    closed to anonymous callers: 401 with a challenge."""
    response = APIClient().delete("/api/auth/token/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_malformed_json_is_explained_in_the_request_language():
    for language, word in (("ja", "JSON の形式"), ("en", "JSON")):
        response = APIClient().post(
            "/api/auth/token/",
            data='{"email": "a@example.jp", "password": ',
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "parse_error" and word in error["message"]
        assert error["message"].isascii() == (language == "en")
