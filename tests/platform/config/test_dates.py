"""Dates outside 2000-01-01 … 2100-12-31 are a clear message, never a 500: a form error on
the pages, a 400 naming the field in the API, on PostgreSQL and on the embedded SQLite."""

from __future__ import annotations

import json
import re

import pytest

from tests.embedded import run_embedded
from tests.factories import client_for
from tests.matching.support import CHIZU, api_as, error_of, published_task, staff_of

PAGES = ("/tasks/", "/tasks/calendar/", "/tasks/map/")
FAR = [("date_from", "0001-01-01"), ("date_to", "9999-12-31"), ("date_from", "1999-12-31")]

pytestmark = pytest.mark.django_db


def _summary(html: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(0)) if found else ""


@pytest.mark.parametrize(("name", "value"), FAR)
def test_far_dates_are_a_form_error_on_every_board_page(name, value):
    published_task(CHIZU, title="棚田の草刈り")
    visitor = client_for(None)
    for path in PAGES:
        response = visitor.get(path, {name: value})
        assert response.status_code == 200, (path, response.status_code)
        summary = _summary(response.content.decode())
        assert "2000-01-01" in summary and "2100-12-31" in summary, (path, summary)


def test_the_board_pages_keep_dates_inside_the_range():
    published_task(CHIZU, title="棚田の草刈り")
    visitor = client_for(None)
    for path in PAGES:
        response = visitor.get(path, {"date_from": "2000-01-01", "date_to": "2100-12-31"})
        assert response.status_code == 200
        assert not _summary(response.content.decode()), path
    assert "棚田の草刈り" in visitor.get("/tasks/", {"date_from": "2000-01-01"}).content.decode()


@pytest.mark.parametrize(("name", "value"), FAR)
def test_far_dates_are_a_400_with_the_field_in_the_tasks_api(name, value):
    error = error_of(api_as(None).get("/api/tasks/", {name: value}), 400, "date_out_of_range")
    assert list(error["fields"]) == [name]
    assert "2000-01-01" in error["fields"][name][0]


def test_the_message_is_english_when_the_language_is_english():
    error = error_of(
        api_as(None, "en").get("/api/tasks/", {"date_from": "0001-01-01"}), 400, "date_out_of_range"
    )
    assert error["message"] == "Enter a date between 2000-01-01 and 2100-12-31."
    html = client_for(None, "en").get("/tasks/", {"date_from": "0001-01-01"}).content.decode()
    assert "Enter a date between 2000-01-01 and 2100-12-31." in _summary(html)


def test_session_times_far_off_are_a_400_not_an_overflow():
    staff = staff_of(CHIZU)
    api = api_as(staff)
    body = {
        "municipality": CHIZU,
        "title": "棚田の草刈り",
        "description": "あぜの草刈りです。",
        "category": "farming",
        "reward": "新米",
        "sessions": [
            {"starts_at": "0001-01-01T00:00:00", "ends_at": "0001-01-01T03:00:00", "capacity": 5}
        ],
    }
    error = error_of(api.post("/api/tasks/", body, format="json"), 400, "date_out_of_range")
    assert "sessions" in error["fields"]
    task = published_task(CHIZU, staff=staff)
    session = task.sessions.first()
    for moment in ("0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59Z"):
        response = api.patch(f"/api/sessions/{session.pk}/", {"starts_at": moment}, format="json")
        error = error_of(response, 400, "date_out_of_range")
        assert "starts_at" in error["fields"], error


def test_registrant_filters_and_activity_dates_keep_the_range():
    staff = staff_of(CHIZU)
    error = error_of(
        api_as(staff).get(
            f"/api/municipalities/{CHIZU}/registrants/", {"registered_from": "0001-01-01"}
        ),
        400,
        "date_out_of_range",
    )
    assert "registered_from" in error["fields"]
    html = client_for(staff).get(f"/staff/{CHIZU}/registrants/", {"registered_to": "9999-12-31"})
    assert html.status_code == 200
    assert "2000-01-01" in html.content.decode()


SQLITE_SCRIPT = """
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings

assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
# Static files from the finders, as the suite takes them (no collectstatic here).
plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": plain}}).enable()
client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="ja")
out = {}
for path in ("/tasks/", "/tasks/calendar/", "/tasks/map/", "/api/tasks/"):
    response = client.get(path, {"date_from": "0001-01-01"})
    out[path] = [response.status_code, response.content.decode()]
print(json.dumps(out))
"""


@pytest.mark.slow  # a Django process of its own, migrating a fresh SQLite database
def test_far_dates_are_refused_on_the_embedded_sqlite_default(tmp_path):
    """The embedded default (config.settings.base, SQLite in a fresh var/ folder), in its own
    process: this is where 0001-01-01 used to overflow into a 500."""
    pages = run_embedded(SQLITE_SCRIPT, tmp_path)
    for path in PAGES:
        status, html = pages[path]
        assert status == 200, (path, html[-2000:])
        assert "2000-01-01" in _summary(html), path
    status, body = pages["/api/tasks/"]
    assert status == 400, body
    assert "date_from" in json.loads(body)["error"]["fields"]
