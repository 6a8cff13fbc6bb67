"""Public reads from the cache (core.public_cache, core.versions): a 304 for a repeat, every
change visible on the very next request after its commit, a person's own state never from
the anonymous copy, languages apart, refusals never stored.

These tests commit for real (``transaction=True``): the board's version moves after a
commit, as in production, and the cache is switched on for them alone (the suite's other
tests never commit, so the cache is off there: ``config.settings.test``)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.api import AnonRateThrottle
from core.public_cache import routes_forget
from core.versions import versions_of
from matching import services
from matching.api.rows import BriefRows, brief_values
from matching.api.serializers import TaskBriefSerializer
from matching.api.tasks import TaskViewSet
from matching.board_version import BOARD
from matching.models import Session
from matching.selectors import TaskQuery, task_search
from places.api import MunicipalityViewSet
from tests.matching.support import (
    CHIZU,
    HIDA,
    in_days,
    make_task,
    published_task,
    resident,
    staff_of,
)
from tests.workers import RedisServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("municipalities", "_public_cache_on"),
]


@pytest.fixture
def _public_cache_on(settings):
    settings.PUBLIC_CACHE = True
    routes_forget()  # what the front door learned of the views' limits in other tests


def tight_limit(monkeypatch, viewset, rate: str) -> None:
    """The anonymous limit of ``viewset`` at ``rate`` for this test."""

    class Tight(AnonRateThrottle):
        pass

    Tight.rate = rate
    monkeypatch.setattr(viewset, "throttle_classes", [Tight])


def titles(api_body: dict) -> list[str]:
    return [row["title"] for row in api_body["results"]]


def places_left(html: str) -> list[str]:
    return re.findall(r"残り (\d+) 人", html)


# --- Repeats ------------------------------------------------------------------------------


def test_a_repeat_with_its_etag_is_answered_304_by_the_api_and_the_pages():
    task = published_task()
    api = APIClient()
    first = api.get("/api/tasks/")
    assert first.status_code == 200 and first["ETag"].startswith('W/"')
    assert "public" in first["Cache-Control"] and "must-revalidate" in first["Cache-Control"]
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}
    again = api.get("/api/tasks/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]

    browser = Client()
    for path in ("/tasks/", f"/tasks/{task.pk}/", f"/api/tasks/{task.pk}/", "/municipalities/"):
        browser.get(path)  # the CSRF cookie set: a page's ETag includes it
        seen = browser.get(path)
        assert seen.status_code == 200, path
        repeat = browser.get(path, HTTP_IF_NONE_MATCH=seen["ETag"])
        assert repeat.status_code == 304, path
        assert browser.get(path, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200


def test_a_cached_page_gives_each_visitor_a_csrf_token_of_their_own_that_works():
    published_task()
    one, two = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    tokens = []
    for browser in (one, two):
        html = browser.get("/tasks/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        tokens.append(token)
        # The language switch, with the token the cached page carried.
        switched = browser.post(
            "/i18n/setlang/", {"language": "en", "next": "/tasks/", "csrfmiddlewaretoken": token}
        )
        assert switched.status_code == 302
    assert tokens[0] != tokens[1]
    assert one.cookies["csrftoken"].value != two.cookies["csrftoken"].value


# --- Nothing stale ------------------------------------------------------------------------


def test_a_task_change_a_session_change_a_sign_up_and_a_cancel_show_on_the_next_request():
    staff = staff_of()
    task = published_task(staff=staff, title="棚田の草刈り", capacity=10)
    session = Session.objects.get(task=task)
    api, browser = APIClient(), Client()
    paths = ("/api/tasks/", f"/api/tasks/{task.pk}/", "/tasks/", f"/tasks/{task.pk}/")

    def read() -> dict[str, object]:
        return {path: browser.get(path) for path in paths[2:]} | {
            path: api.get(path) for path in paths[:2]
        }

    before = read()
    assert titles(before["/api/tasks/"].json()) == ["棚田の草刈り"]
    assert places_left(before["/tasks/"].content.decode()) == ["10"]

    services.task_update(task=task, actor=staff, title="棚田の草刈りと水路の掃除")
    changed = read()
    assert titles(changed["/api/tasks/"].json()) == ["棚田の草刈りと水路の掃除"]
    assert changed[f"/api/tasks/{task.pk}/"].json()["title"] == "棚田の草刈りと水路の掃除"
    for path in paths[2:]:
        assert "棚田の草刈りと水路の掃除" in changed[path].content.decode(), path
    for path in paths:
        assert changed[path]["ETag"] != before[path]["ETag"], path

    services.session_update(session=session, actor=staff, capacity=12)
    assert places_left(browser.get("/tasks/").content.decode()) == ["12"]
    assert api.get(f"/api/tasks/{task.pk}/").json()["sessions"][0]["capacity"] == 12

    person = resident()
    signup = services.signup_create(session=Session.objects.get(pk=session.pk), person=person)
    assert places_left(browser.get("/tasks/").content.decode()) == ["11"]
    assert places_left(browser.get(f"/tasks/{task.pk}/").content.decode()) == ["11"]
    assert api.get(f"/api/tasks/{task.pk}/").json()["sessions"][0]["taken"] == 1

    services.signup_cancel(signup=signup, actor=person)
    assert places_left(browser.get("/tasks/").content.decode()) == ["12"]
    assert api.get(f"/api/tasks/{task.pk}/").json()["sessions"][0]["taken"] == 0


def test_a_new_publication_is_on_the_board_at_the_next_request():
    staff = staff_of()
    published_task(staff=staff, title="棚田の草刈り")
    api = APIClient()
    assert titles(api.get("/api/tasks/").json()) == ["棚田の草刈り"]
    draft = make_task(
        staff,
        title="秋祭りの準備",
        sessions=[{"starts_at": in_days(3), "ends_at": in_days(3, 15), "capacity": 5}],
    )
    assert titles(api.get("/api/tasks/").json()) == ["棚田の草刈り"]  # a draft is not public
    services.task_publish(task=draft, actor=staff)
    assert titles(api.get("/api/tasks/").json()) == ["秋祭りの準備", "棚田の草刈り"]


def test_the_version_moves_after_the_commit_and_never_for_a_rollback():
    task = published_task()
    start = versions_of(BOARD)
    with transaction.atomic():
        services.task_update(task=task, actor=staff_of(), title="水路の掃除")
        assert versions_of(BOARD) == start  # not before the commit
    moved = versions_of(BOARD)
    assert moved > start
    try:
        with transaction.atomic():
            services.task_update(task=task, actor=staff_of(), title="別の題")
            raise RuntimeError
    except RuntimeError:
        pass
    assert versions_of(BOARD) == moved


# --- People and languages apart -----------------------------------------------------------


def test_a_signed_in_person_sees_their_own_sign_up_and_no_one_else_does():
    task = published_task()
    session = Session.objects.get(task=task)
    path = f"/tasks/{task.pk}/"
    anonymous = Client()
    assert "あなたの申込" not in anonymous.get(path).content.decode()  # now cached

    person, other = resident(), resident()
    services.signup_create(session=session, person=person)
    mine, theirs = Client(), Client()
    mine.force_login(person)
    theirs.force_login(other)
    seen = mine.get(path)
    assert "あなたの申込" in seen.content.decode()
    assert "no-store" in seen["Cache-Control"] and "private" in seen["Cache-Control"]
    assert not seen.has_header("ETag")
    assert "あなたの申込" not in theirs.get(path).content.decode()
    assert "あなたの申込" not in anonymous.get(path).content.decode()
    board = mine.get("/tasks/")
    assert "ログアウト" in board.content.decode() and "no-store" in board["Cache-Control"]
    assert "ログアウト" not in anonymous.get("/tasks/").content.decode()


def test_languages_are_kept_apart():
    published_task()
    for _round in range(2):
        ja = Client(HTTP_ACCEPT_LANGUAGE="ja").get("/tasks/").content.decode()
        en = Client(HTTP_ACCEPT_LANGUAGE="en").get("/tasks/").content.decode()
        assert '<html lang="ja">' in ja and '<html lang="en">' in en
        labels = {
            language: APIClient(HTTP_ACCEPT_LANGUAGE=language)
            .get("/api/tasks/")
            .json()["results"][0]["category_label"]
            for language in ("ja", "en")
        }
        assert labels["ja"] != labels["en"]


# --- Refusals and limits ------------------------------------------------------------------


def test_bad_query_input_is_still_a_clear_refusal_never_stored():
    published_task()
    api, browser = APIClient(), Client()
    for _round in range(2):
        refused = api.get("/api/tasks/", {"date_from": "きのう"})
        assert refused.status_code == 400 and refused.json()["error"]["fields"]["date_from"]
        assert api.get("/api/tasks/", {"sort": "x" * 500}).status_code == 400
        assert api.get("/api/municipalities/", {"search": "あ" * 101}).status_code == 400
        assert api.get("/api/tasks/999999999/").status_code == 404
        page = browser.get("/tasks/", {"date_from": "きのう"})
        assert page.status_code == 200 and 'class="error-summary"' in page.content.decode()
        assert browser.get("/tasks/", {"page": "ー１"}).status_code == 200
        assert browser.get("/tasks/999999999/").status_code == 404


def test_the_anonymous_limit_still_counts_answers_from_the_cache(monkeypatch):
    tight_limit(monkeypatch, MunicipalityViewSet, "3/hour")
    api = APIClient(REMOTE_ADDR="198.51.100.7")
    answers = Counter(
        api.get("/api/municipalities/", {"search": "ひだし"}).status_code for _ in range(5)
    )
    assert answers == {200: 3, 429: 2}


def test_a_repeat_is_answered_before_the_view_and_a_change_goes_to_it(monkeypatch):
    staff = staff_of()
    task = published_task(staff=staff, title="棚田の草刈り")
    api, browser = APIClient(), Client()
    assert titles(api.get("/api/tasks/").json()) == ["棚田の草刈り"]
    assert "棚田の草刈り" in browser.get(f"/tasks/{task.pk}/").content.decode()

    def not_run(*args, **kwargs):
        raise AssertionError("the view ran for a repeat")

    with monkeypatch.context() as patched:
        patched.setattr(TaskViewSet, "list", not_run)
        patched.setattr("matching.views.task._task_detail", not_run)
        with CaptureQueriesContext(connection) as queries:
            repeat = api.get("/api/tasks/")
            page = browser.get(f"/tasks/{task.pk}/")
        assert len(queries) == 0
        assert titles(repeat.json()) == ["棚田の草刈り"] and repeat["ETag"]
        assert "Accept" in repeat["Vary"]  # DRF's renderer is chosen by it
        assert "棚田の草刈り" in page.content.decode() and page["Cache-Control"].startswith(
            "private"
        )
    services.task_update(task=task, actor=staff, title="水路の掃除")
    assert titles(api.get("/api/tasks/").json()) == ["水路の掃除"]  # to the view again
    assert "水路の掃除" in browser.get(f"/tasks/{task.pk}/").content.decode()


def test_the_front_door_answers_json_only_to_who_asks_for_json():
    published_task(title="棚田の草刈り")
    api = APIClient()
    assert api.get("/api/tasks/")["Content-Type"] == "application/json"
    browsable = api.get("/api/tasks/", HTTP_ACCEPT="text/html")
    assert browsable["Content-Type"].startswith("text/html")
    assert api.get("/api/tasks/", HTTP_ACCEPT="*/*")["Content-Type"] == "application/json"


def test_the_limit_counts_once_when_the_front_door_hands_a_miss_to_the_view(monkeypatch):
    tight_limit(monkeypatch, TaskViewSet, "2/hour")
    staff = staff_of()
    task = published_task(staff=staff, title="棚田の草刈り")
    api = APIClient(REMOTE_ADDR="198.51.100.10")
    assert api.get("/api/tasks/").status_code == 200  # the view's: counted 1, path learned
    services.task_update(task=task, actor=staff, title="水路の掃除")
    # Counted 2 at the front door, a miss (the version moved), built by the view.
    assert titles(api.get("/api/tasks/").json()) == ["水路の掃除"]
    refused = api.get("/api/tasks/")
    assert refused.status_code == 429 and refused["Retry-After"]


# --- Lean rows ----------------------------------------------------------------------------


def test_the_lean_rows_equal_the_serializer_near_and_far():
    published_task(CHIZU, title="棚田の草刈り")
    published_task(HIDA, title="雪囲い", is_online=True)
    for query in (TaskQuery(), TaskQuery(near=CHIZU)):
        tasks = list(task_search(query))
        expected = TaskBriefSerializer(tasks, many=True).data
        assert BriefRows().rows(brief_values(task_search(query))) == [dict(e) for e in expected]


# --- On Redis, as in production ------------------------------------------------------------


@pytest.fixture
def own_redis():
    """A redis-server of the test's own as the cache."""
    server = RedisServer().start()
    try:
        with override_settings(
            CACHES={
                "default": {
                    "BACKEND": "core.cache.ResilientRedisCache",
                    "LOCATION": f"redis://127.0.0.1:{server.port}/0",
                    "KEY_PREFIX": "furusato",
                }
            }
        ):
            yield server
    finally:
        server.close()


def test_on_redis_the_limit_reads_the_entry_and_a_change_still_shows(own_redis, monkeypatch):
    tight_limit(monkeypatch, TaskViewSet, "5/hour")
    staff = staff_of()
    task = published_task(staff=staff, title="棚田の草刈り")
    api = APIClient(REMOTE_ADDR="198.51.100.8")
    first = api.get("/api/tasks/")
    assert titles(first.json()) == ["棚田の草刈り"]
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/tasks/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert len(queries) == 0  # from the entry read with the limit's count
    services.task_update(task=task, actor=staff, title="水路の掃除")
    assert titles(api.get("/api/tasks/").json()) == ["水路の掃除"]
    assert Counter(api.get("/api/tasks/").status_code for _ in range(4)) == {200: 2, 429: 2}

    own_redis.stop()  # each process on its own memory: no cache, every answer built
    services.task_update(task=task, actor=staff, title="雪囲い")
    fresh = APIClient(REMOTE_ADDR="198.51.100.9").get("/api/tasks/")
    assert titles(fresh.json()) == ["雪囲い"] and not fresh.has_header("ETag")


def test_near_my_home_is_each_persons_own_list_and_filters():
    published_task(CHIZU, title="棚田の草刈り")
    published_task(HIDA, title="雪囲い")
    near, far = resident(home=CHIZU), resident(home=HIDA)
    seen = {}
    for person in (near, far):
        browser = Client()
        browser.force_login(person)
        html = browser.get("/tasks/", {"near": "home", "sort": "distance"}).content.decode()
        seen[person.pk] = (re.findall(r'class="task-card-title"><a [^>]+>([^<]+)<', html), html)
        api = APIClient()
        api.force_login(person)
        rows = api.get("/api/tasks/", {"near": "home", "sort": "distance"}).json()["results"]
        assert [row["title"] for row in rows] == seen[person.pk][0]
    assert seen[near.pk][0] == ["棚田の草刈り", "雪囲い"]
    assert seen[far.pk][0] == ["雪囲い", "棚田の草刈り"]
    assert "自宅（智頭町）から" in seen[near.pk][1] and "智頭町）から" not in seen[far.pk][1]
