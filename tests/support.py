"""Helpers the tests of every room share, defined once: the towns they use, people with a
profile, registrations made through the services (the rules are tested elsewhere), API
clients and the API's one error shape, pages and what a page says went wrong, raw rows and
the number of queries a page costs."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from places.models import Municipality
from registry import flags, services
from registry.models import Registration, RelationshipType
from tests.factories import UserFactory

HIDA, CHIZU, AMA = "212172", "313289", "325252"  # 飛騨市 (岐阜県), 智頭町 (鳥取県), 海士町 (島根県)
SETAGAYA = "131121"  # 世田谷区: where our residents live
TAKAYAMA = "212032"  # 高山市, another town of 岐阜県

# What the sign-up page and API ask of everyone for the host's roster (issue 17): a name,
# its reading and the agreement to give them to the host (matching.services.roster).
SIGNUP_DETAILS = {"full_name": "山田 花子", "furigana": "ヤマダ ハナコ", "agree": True}
SIGNUP_FORM = {"full_name": "山田 花子", "furigana": "ヤマダ ハナコ", "agree": "on"}

# The smallest valid PNG header and a few bytes: enough for the evidence check.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


def resident(home: str = SETAGAYA, birth_year: int = 1985, **kwargs) -> User:
    """A verified person whose profile is complete enough to register (set through the
    service: the form is tested apart)."""
    user = UserFactory(**kwargs)
    services.profile_update(
        user=user,
        home_municipality=Municipality.objects.get(code=home),
        birth_year=birth_year,
    )
    return user


def register(person: User, code: str, **consent: bool) -> Registration:
    return services.registration_create(
        person=person,
        municipality=Municipality.objects.get(code=code),
        types=flags.bit(RelationshipType, RelationshipType.HOBBY),
        origin="visits",
        consent=consent,
    )


def api_as(user: User | None, language: str | None = None) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language) if language else APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def error_of(response, status: int, code: str = "invalid") -> dict:
    """The API's one error shape; returns the inner ``error`` object."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if code == "invalid":
        assert isinstance(error["fields"], dict) and error["fields"]
    return error


def this_year() -> int:
    return timezone.localdate().year


def page(client: Client, path: str, language: str = "ja", status: int = 200, **params) -> str:
    """The page's HTML, having checked its status and (for a 200) its language."""
    response = client.get(path, params)
    assert response.status_code == status, (path, response.status_code)
    html = response.content.decode()
    if status == 200:
        assert f'<html lang="{language}">' in html
    return html


def errors_of(html: str) -> list[str]:
    """The messages a form shows beside its fields."""
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', html)


def summary_of(html: str) -> str:
    """The text of a form's error summary, or "" without one."""
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))) if found else ""


def messages_of(html: str) -> list[str]:
    """The messages of the framework's message list (after a redirect)."""
    return re.findall(r'<li class="message [^"]*">([^<]+)</li>', html)


def sql_rows(query: str, *params) -> list[tuple]:
    """The rows of a raw query, for tests that check what was written row by row."""
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def queries_of(client: Client, path: str, **params) -> int:
    """How many queries the page costs."""
    with CaptureQueriesContext(connection) as captured:
        page(client, path, **params)
    return len(captured)
