"""Free-text search of the board on PostgreSQL: every length of query finds what a plain
substring scan of the normalised text finds, through the index of the text's 1- and 2-grams
(migration 0009); an edit is found by its new words at once; bad input is a 400 or a plain
answer, never a 500."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from core.search import query_key as search_key
from matching import services
from matching.models import Task, TaskStatus
from matching.selectors import TaskQuery, task_search
from matching.selectors.search import GRAMS_COLUMN, grams
from tests.matching.support import (
    CHIZU,
    HIDA,
    api_as,
    error_of,
    make_task,
    published_task,
    staff_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TEXTS = [
    ("棚田の草刈り", "あぜの草を刈ります。鎌の使い方はお教えします。"),
    ("草むしり", "畑の草を抜きます。"),
    ("祭りの準備", "山車を飾ります。夏祭り、秋祭りの手伝い。"),
    ("お祭り 草刈り 両方", "午前は草刈、午後は祭りの片付け。"),
    ("DIYで古民家を直そう", "壁の塗り直し。100%手作業、5_6人で。"),
    ("ＰＣ教室（オンライン）", "ﾊﾟｿｺﾝの使い方を教えます。\\や%も入力します。"),
    ("雪かき", "屋根の雪をおろします🌾。ソソソと進めます。"),
]
QUERIES = [
    "草",  # one character
    "り",  # one kana
    "草刈",  # two characters: no trigram
    "祭り",
    "くさかり",  # hiragana finds katakana, and the reading of kanji
    "草刈り",  # three and more: every bigram, then the substring
    "草刈りを",  # every bigram is there, the substring is not
    "の草",
    "祭りの準備",
    "diy",  # ASCII, either case
    "DIY",
    "ＤＩＹ",  # full-width
    "ﾊﾟｿｺﾝ",  # half-width kana
    "pc教室",
    "草刈 り",  # spaces do not matter: one key
    " 祭 り の ",
    "%",  # LIKE's wildcards are plain characters
    "_",
    "100%",
    "5_6",
    "\\",
    "🌾",  # outside the BMP
    "ソソ",
    "ソソソ",
    "ソソソソ",
    "存在しない言葉",
    "x",
]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def _plain_scan(query: str) -> list[int]:
    """The live tasks whose normalised text holds the query's key, tested in Python."""
    key = search_key(query)
    live = Task.objects.filter(status=TaskStatus.PUBLISHED, ends_at__gt=timezone.now())
    return sorted(pk for pk, text in live.values_list("pk", "search_text") if key in text)


@pytest.fixture
def board():
    staff = staff_of(CHIZU)
    tasks = [
        published_task(CHIZU, staff=staff, title=title, description=description)
        for title, description in TEXTS
    ]
    make_task(staff, CHIZU, title="草刈りと祭りの下書き")  # a draft: never found
    return tasks


def test_every_length_finds_what_a_substring_scan_finds(board):
    api = api_as(None)
    for query in QUERIES:
        expected = _plain_scan(query)
        assert _ids(api.get("/api/tasks/", {"search": query})) == expected, query
        found = task_search(TaskQuery(search=query)).values_list("pk", flat=True)
        assert sorted(found) == expected, query


def test_the_queries_find_something_and_not_everything(board):
    """The equivalence above is not vacuous: the words are found where they are."""
    by_title = {task.title: task.pk for task in board}
    assert _plain_scan("草刈") == sorted([by_title["棚田の草刈り"], by_title["お祭り 草刈り 両方"]])
    assert _plain_scan("祭り") == sorted([by_title["祭りの準備"], by_title["お祭り 草刈り 両方"]])
    assert _plain_scan("草刈りを") == []
    assert _plain_scan("ＤＩＹ") == [by_title["DIYで古民家を直そう"]]
    assert _plain_scan("100%") == [by_title["DIYで古民家を直そう"]]
    assert _plain_scan("%") == sorted(
        [by_title["DIYで古民家を直そう"], by_title["ＰＣ教室（オンライン）"]]
    )
    assert _plain_scan("ソソソソ") == []
    assert len(_plain_scan("の")) == len(TEXTS)


def _stored_grams(task_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {GRAMS_COLUMN} FROM matching_task WHERE id = %s", [task_id])  # noqa: S608
        return cursor.fetchone()[0]


def _all_grams(text: str) -> set[str]:
    return {text[i : i + n] for n in (1, 2) for i in range(len(text) - n + 1)}


def test_the_stored_grams_are_the_ones_the_queries_ask_for(board):
    """Each task's column holds every character and pair of characters of its text, and what
    a query asks for is among them when the text holds the query."""
    for task in board:
        task.refresh_from_db()
        assert set(_stored_grams(task.pk)) == _all_grams(task.search_text), task.title
    for text in ("草刈リ", "ab", "a", "ソソソ", "🌾草", ""):
        with connection.cursor() as cursor:
            cursor.execute("SELECT matching_search_grams(%s)", [text])
            (computed,) = cursor.fetchone()
        assert set(computed) == _all_grams(text) and set(grams(text)) <= set(computed), text
    assert grams("草") == ["草"] and grams("草刈") == ["草刈"]
    assert grams("草刈リ") == ["草刈", "刈リ"] and grams("ソソソソ") == ["ソソ"]
    assert grams("") == []


def _plan(query: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = task_search(TaskQuery(search=query)).explain()
        cursor.execute("RESET enable_seqscan")
    return plan


def test_the_gram_index_answers_every_length(board):
    """Among 2,000 live tasks that do not hold the words, it is the gram index that finds
    the few that do, for 1, 2 and 3+ characters; the substring test then decides."""
    model = board[0]
    filler = []
    for i in range(2000):
        task = Task(**{f.attname: getattr(model, f.attname) for f in Task._meta.fields})
        task.pk, task.search_text = None, search_key(f"集会所の修繕その{i}")
        filler.append(task)
    Task.objects.bulk_create(filler)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE matching_task")
        # New entries wait in the index's pending list until a vacuum merges them, and the
        # planner prices reading that list high: merge it, as autovacuum would.
        cursor.execute("SELECT gin_clean_pending_list('matching_task_search_grams')")
    for query in ("草", "草刈", "祭り", "草刈り", "diy"):
        plan = _plan(query)
        assert "Bitmap Index Scan on matching_task_search_grams" in plan, plan
        key = search_key(query)
        asked = ",".join(grams(key))
        assert f"{GRAMS_COLUMN} @> '{{{asked}}}'::text[]" in plan, plan
        assert f"strpos(search_text, '{key}'::text) <> 0" in plan, plan


def test_an_edit_is_found_by_its_new_words_at_once(board):
    api = api_as(None)
    task = board[1]  # 草むしり
    assert task.pk not in _ids(api.get("/api/tasks/", {"search": "蕎麦"}))
    services.task_update(task=task, actor=staff_of(CHIZU), title="蕎麦打ち")
    task.refresh_from_db()
    assert set(_stored_grams(task.pk)) == _all_grams(task.search_text)  # PostgreSQL's doing
    assert _ids(api.get("/api/tasks/", {"search": "蕎麦"})) == [task.pk]
    assert _ids(api.get("/api/tasks/", {"search": "蕎"})) == [task.pk]
    assert _ids(api.get("/api/tasks/", {"search": "蕎麦打"})) == [task.pk]
    assert task.pk not in _ids(api.get("/api/tasks/", {"search": "むしり"}))
    assert task.pk in _ids(api.get("/api/tasks/", {"search": "畑の草"}))  # the description


def test_a_new_task_is_found_at_once(board):
    task = published_task(HIDA, title="栗拾い", description="山の栗を拾います。")
    assert _ids(api_as(None).get("/api/tasks/", {"search": "栗拾"})) == [task.pk]


def test_bad_input_is_a_400_naming_the_search(board):
    for query in ("草" * 101, "草刈\x00", "\x00", "x" * 5000):
        error = error_of(api_as(None).get("/api/tasks/", {"search": query}), 400)
        assert list(error["fields"]) == ["search"], error
        page = Client().get("/tasks/", {"search": query})
        assert page.status_code == 200  # the form says why (tests/matching/test_pages.py)


def test_odd_input_is_a_plain_answer(board):
    """Only spaces search nothing (every live task); symbols are searched as written; the
    longest query allowed (100 characters, 99 bigrams) is answered like any other."""
    for query in ("   ", "\u3000\u3000", "\t\n", "!!!", "%%%", "'; DROP TABLE x; --", "ab" * 50):
        response = api_as(None).get("/api/tasks/", {"search": query})
        assert _ids(response) == _plain_scan(query), query
        assert Client().get("/tasks/", {"search": query}).status_code == 200, query
    assert len(_plain_scan("   ")) == len(TEXTS)
