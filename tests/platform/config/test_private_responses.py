"""What is answered to a signed-in person or an API token is never kept by a cache
(``Cache-Control: private, no-store``); public answers to anonymous callers stay cacheable."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from matching import services as board
from matching.models import Session
from tests.factories import client_for
from tests.matching.support import published_task, staff_of
from tests.support import HIDA, api_as, register, resident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("municipalities")]


def assert_private(response, what: str) -> None:
    assert response.status_code == 200, (what, response.status_code, response.content[:300])
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= cache_control, (what, response.get("Cache-Control"))


@pytest.fixture
def person():
    person = resident(family_name="佐藤", given_name="一郎")
    register(person, HIDA, share_name=True, share_contact=True)
    return person


def test_a_token_holders_personal_data_is_never_cached(person):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    for path in (
        "/api/me/",
        "/api/me/export/",
        "/api/registrations/",
        "/api/notifications/",
        "/api/notification-preferences/",
        "/api/signups/",
        "/api/prefectures/",  # public data, but answered to someone signed in
    ):
        assert_private(api.get(path), path)


def test_staff_lists_of_people_are_never_cached(person):
    staff = staff_of(HIDA)
    api = api_as(staff)
    assert_private(api.get(f"/api/municipalities/{HIDA}/registrants/"), "registrants")
    csv = api.get(f"/api/municipalities/{HIDA}/registrants/?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert_private(csv, "registrants CSV")

    task = published_task(HIDA, staff=staff)
    board.signup_create(session=Session.objects.filter(task=task).first(), person=person)
    participants = api.get(f"/api/tasks/{task.pk}/participants/")
    assert participants.json()["count"] == 1
    assert_private(participants, "participants")


def test_signed_in_pages_are_never_cached(person):
    browser = client_for(person)
    for path in ("/me/", "/notifications/", "/", "/tasks/"):
        assert_private(browser.get(path), path)


def test_public_answers_to_anonymous_callers_stay_cacheable():
    for path in ("/api/prefectures/", "/"):
        response = APIClient().get(path)
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", ""), path
