"""Text kept as typed (issue 19): a task's free text comes back exactly as its host wrote
it, on the page, in the API and in the Django admin, through the pages' forms and the API
alike; fields of a fixed form (codes, numbers, furigana, phone numbers) are still folded
(NFKC); and the search finds the task by its kanji, its reading in hiragana, katakana or
half-width kana, and by its municipality's reading (ひだ finds a 飛騨市 task). Existing
tasks get their new keys from migration 0010, batch by batch."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as global_apps
from django.db import connection

from accounts.models import Role
from matching import services
from matching.models import Task
from tests.factories import client_for, person_with_role
from tests.matching.support import (
    CHIZU,
    HIDA,
    api_as,
    host_of,
    in_days,
    make_task,
    published_task,
    resident,
    staff_of,
)
from tests.matching.test_pages import day, summary_of, task_data
from tests.support import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TITLE = "草刈り（テスト）！"
SCHEDULE = "集合／8:30"
DESCRIPTION = "あぜの草刈りと水路の掃除（テスト）です。鎌は貸します！"
QUERIES = ("くさかり", "ｸｻｶﾘ", "クサカリ", "草刈", "草刈り", "テスト", "（テスト）", "(テスト)")


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def test_a_task_written_on_the_pages_comes_back_exactly_as_typed_everywhere():
    host = host_of(CHIZU)
    writer = client_for(host)
    response = writer.post(
        f"/tasks/new/{CHIZU}/",
        task_data(
            [(day(10), "08:30", "11:30", "５")],  # a number in full width is still a number
            title=TITLE,
            schedule=SCHEDULE,
            description=DESCRIPTION,
            what_to_bring="軍手・長靴（あれば）",
        ),
    )
    assert response.status_code == 302, summary_of(response.content.decode())
    task = Task.objects.get(host=host)
    assert (task.title, task.schedule, task.description) == (TITLE, SCHEDULE, DESCRIPTION)
    assert task.what_to_bring == "軍手・長靴（あれば）"
    assert task.sessions.get().capacity == 5

    # A draft's change on the page: still as typed, the half-width one too.
    response = writer.post(
        f"/tasks/{task.pk}/edit/",
        {
            **task_data([]),
            "title": TITLE,
            "schedule": "集合／8:30（ｼｭｳｺﾞｳ）",
            "description": "ＤＩＹ",
        },
    )
    assert response.status_code == 302, summary_of(response.content.decode())
    task.refresh_from_db()
    assert (task.title, task.schedule, task.description) == (TITLE, "集合／8:30（ｼｭｳｺﾞｳ）", "ＤＩＹ")
    services.task_update(task=task, actor=host, schedule=SCHEDULE, description=DESCRIPTION)
    services.task_submit(task=task, actor=host)
    services.task_publish(task=task, actor=staff_of(CHIZU))

    html = page(client_for(None), f"/tasks/{task.pk}/")
    assert TITLE in html and SCHEDULE in html and "（テスト）です。鎌は貸します！" in html
    assert TITLE in page(client_for(None), "/tasks/")
    body = api_as(None).get(f"/api/tasks/{task.pk}/").json()
    assert (body["title"], body["schedule"], body["description"]) == (
        TITLE,
        SCHEDULE,
        DESCRIPTION,
    )
    operator = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    admin_page = client_for(operator).get(f"/admin/matching/task/{task.pk}/change/")
    assert admin_page.status_code == 200
    assert TITLE in admin_page.content.decode() and SCHEDULE in admin_page.content.decode()


def test_a_task_written_through_the_api_comes_back_exactly_as_typed():
    staff = staff_of(CHIZU)
    api = api_as(staff)
    body = {
        "municipality": "３１３２８９",  # a code in full width: still 智頭町's
        "title": TITLE,
        "description": DESCRIPTION,
        "schedule": SCHEDULE,
        "category": "farming",
        "reward": "新米２kg（精米）",
        "sessions": [
            {
                "starts_at": in_days(10, 8).isoformat(),
                "ends_at": in_days(10, 11).isoformat(),
                "capacity": 5,
            }
        ],
    }
    response = api.post("/api/tasks/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["title"], created["schedule"], created["reward"]) == (
        TITLE,
        SCHEDULE,
        "新米２kg（精米）",
    )
    task = Task.objects.get(pk=created["id"])
    assert (task.title, task.schedule, task.description) == (TITLE, SCHEDULE, DESCRIPTION)
    assert task.municipality_id == CHIZU

    response = api.patch(f"/api/tasks/{task.pk}/", {"title": "  草刈り（本番）！  "}, format="json")
    assert response.status_code == 200, response.content
    task.refresh_from_db()
    assert task.title == "草刈り（本番）！"  # only the ends trimmed


def test_search_finds_the_typed_task_by_kanji_reading_and_any_kana():
    task = published_task(CHIZU, title=TITLE, description=DESCRIPTION, schedule=SCHEDULE)
    other = published_task(CHIZU, title="雪かき", description="屋根の雪をおろします。")
    api, visitor = api_as(None), client_for(None)
    for query in QUERIES:
        assert _ids(api.get("/api/tasks/", {"search": query})) == [task.pk], query
        html = page(visitor, "/tasks/", search=query)
        assert TITLE in html and "雪かき" not in html, query
    assert _ids(api.get("/api/tasks/", {"search": "ゆきかき"})) == [other.pk]  # 雪かき
    assert _ids(api.get("/api/tasks/", {"search": "ﾕｷ"})) == [other.pk]
    assert _ids(api.get("/api/tasks/", {"search": "くさかりを"})) == []


def test_kana_finds_a_task_through_its_municipalitys_reading():
    hida = published_task(HIDA, title="古い町並みの清掃", description="雪が解けたら掃除します。")
    chizu = published_task(CHIZU, title="古い町並みの清掃", description="雪が解けたら掃除します。")
    api = api_as(None)
    for query in ("ひだ", "ヒダ", "ﾋﾀﾞ", "ひだし", "飛騨", "飛騨市"):
        assert _ids(api.get("/api/tasks/", {"search": query})) == [hida.pk], query
    for query in ("ちづ", "チヅチョウ", "智頭"):
        assert _ids(api.get("/api/tasks/", {"search": query})) == [chizu.pk], query
    assert hida.title in page(client_for(None), "/tasks/", search="ひだ")


def test_fixed_form_fields_are_still_folded_and_names_kept():
    task = published_task(
        CHIZU, asks_phone=True, asks_emergency_contact=True, asks_reason="保険のため"
    )
    person = resident()
    response = client_for(person).post(
        f"/sessions/{task.sessions.get().pk}/signup/",
        {
            "full_name": "髙橋　花子（ﾊﾅ）",
            "furigana": "ﾀｶﾊｼ ﾊﾅｺ",
            "phone": "０９０－１２３４－５６７８",
            "emergency_name": "髙橋 太郎（父）",
            "emergency_phone": "090-1111-2222",
            "message": "よろしくお願いします！",
            "agree": "on",
        },
    )
    assert response.status_code == 302, summary_of(response.content.decode())
    signup = task.sessions.get().signups.get(person=person)
    details = signup.details
    assert (details.full_name, details.emergency_name) == ("髙橋　花子（ﾊﾅ）", "髙橋 太郎（父）")
    assert (details.furigana, details.phone) == ("タカハシ ハナコ", "090-1234-5678")
    assert signup.message == "よろしくお願いします！"

    # The board's filters are codes: a full-width code is the same town.
    html = page(client_for(None), "/tasks/", municipality="３１３２８９")
    assert task.title in html


def test_migration_0010_rebuilds_every_key_in_batches(monkeypatch):
    tasks = [
        published_task(HIDA, title=f"草刈り（その{n}）", staff=staff_of(HIDA)) for n in range(5)
    ]
    make_task(staff_of(CHIZU), CHIZU, title="下書きの雪かき")
    # Keys as the old code wrote them: NFKC, katakana, no readings.
    Task.objects.update(search_text="古い鍵")
    assert _ids(api_as(None).get("/api/tasks/", {"search": "くさかり"})) == []

    migration = importlib.import_module("matching.migrations.0010_task_search_readings")
    monkeypatch.setattr(migration, "BATCH", 2)
    statements = []

    def count(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        migration.rebuild(global_apps, None)
    assert len(statements) == 3  # 6 tasks, 2 a batch: one UPDATE a batch
    found = _ids(api_as(None).get("/api/tasks/", {"search": "くさかり"}))
    assert found == sorted(task.pk for task in tasks)
    assert _ids(api_as(None).get("/api/tasks/", {"search": "ひだ"})) == found
    draft = Task.objects.get(title="下書きの雪かき")
    assert "ゆきかき" in draft.search_text and "ちづちょう" in draft.search_text
    assert all(
        task.search_text == services._search_text(task)
        for task in Task.objects.select_related("municipality")
    )
    # Run again, it finds every key right and writes nothing.
    statements.clear()
    with connection.execute_wrapper(count):
        migration.rebuild(global_apps, None)
    assert statements == []

    # Reversed, the keys are 0009's again (katakana, no readings), and forward once more.
    migration.rebuild_as_before(global_apps, None)
    assert Task.objects.get(pk=tasks[0].pk).search_text.startswith("草刈リ(ソノ0)")
    assert _ids(api_as(None).get("/api/tasks/", {"search": "ひだ"})) == []
    migration.rebuild(global_apps, None)
    assert _ids(api_as(None).get("/api/tasks/", {"search": "ひだ"})) == found
