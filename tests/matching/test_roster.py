"""The roster (issue 17): what a task asks at sign-up and why, the details collected with
the person's agreement, and the host's roster — page, CSV in UTF-8 with a BOM and in
Shift_JIS, XLSX, print view and API — for the task's managers only, each read audited,
the details deleted a set time after the session.

Through HTTP on PostgreSQL, with the frozen clock (tests/conftest.py)."""

from __future__ import annotations

import csv
import datetime
import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.models import AuditEvent
from matching import services
from matching.models import Signup, SignupDetails, Task
from tests.factories import client_for
from tests.matching.support import (
    AMA,
    CHIZU,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    move_to_past,
    published_task,
    resident,
    staff_of,
)
from tests.support import errors_of, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


REASON = "ボランティア保険に加入するため"
ASKS_ALL = {
    "asks_phone": True,
    "asks_emergency_contact": True,
    "asks_birth_date": True,
    "asks_reason": REASON,
}


def details(**extra) -> dict:
    body = {
        "full_name": "髙橋 花子",
        "furigana": "たかはし はなこ",  # hiragana: stored as katakana
        "phone": "090-1234-5678",
        "emergency_name": "髙橋 太郎（父）",
        "emergency_phone": "0858-75-0000",
        "birth_date": "1990-04-01",
        "agree": True,
    }
    body.update(extra)
    return body


def hosted_task(host, **fields) -> Task:
    """A host's task, published by the town's staff."""
    task = make_task(host, CHIZU, **fields)
    services.task_submit(task=task, actor=host)
    return services.task_publish(task=task, actor=staff_of(CHIZU))


def sign_up(task: Task, person=None, **extra) -> Signup:
    person = person or resident()
    response = api_as(person).post(
        f"/api/sessions/{task.sessions.get().pk}/signups/", details(**extra), format="json"
    )
    assert response.status_code == 201, response.content
    return Signup.objects.get(pk=response.json()["id"])


def audits(session) -> list[str]:
    return [
        e.detail["format"]
        for e in AuditEvent.objects.filter(
            action="roster.read", target_id=str(session.pk)
        ).order_by("pk")
    ]


# --- What a task asks, and why -----------------------------------------------------------


def test_a_task_that_asks_more_than_a_name_must_say_why_and_the_page_shows_it():
    staff = staff_of(CHIZU)
    api = api_as(staff)
    session = {"starts_at": in_days(7).isoformat(), "ends_at": in_days(7, 15).isoformat()}
    body = {
        "municipality": CHIZU,
        "title": "棚田の草刈り",
        "description": "あぜの草刈りです。",
        "category": "farming",
        "reward": "新米",
        "sessions": [{**session, "capacity": 5}],
        "asks_birth_date": True,
    }
    error = error_of(api.post("/api/tasks/", body, format="json"), 400, "asks_reason_required")
    assert "聞く理由" in error["fields"]["asks_reason"][0]
    english = api_as(staff, "en").post("/api/tasks/", body, format="json")
    assert "reason" in error_of(english, 400, "asks_reason_required")["message"].lower()
    response = api.post("/api/tasks/", {**body, "asks_reason": REASON}, format="json")
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.asks_birth_date, task.asks_phone, task.asks_reason) == (True, False, REASON)
    services.task_publish(task=task, actor=staff)
    # Before signing up, anyone sees what will be asked and why (page and API).
    html = page(client_for(None), f"/tasks/{task.pk}/")
    assert "申込のときに伝えること" in html and "生年月日" in html and REASON in html
    public = api_as(None).get(f"/api/tasks/{task.pk}/").json()
    assert (public["asks_birth_date"], public["asks_reason"]) == (True, REASON)
    english = page(client_for(None, "en"), f"/tasks/{task.pk}/", "en")
    assert "What you give when signing up" in english


def test_the_task_form_sets_what_is_asked():
    staff = staff_of(CHIZU)
    office = client_for(staff)
    task = make_task(staff, CHIZU)
    html = page(office, f"/tasks/{task.pk}/edit/")
    assert 'name="asks_phone"' in html and 'name="asks_reason"' in html
    form = {
        "title": task.title,
        "category": task.category,
        "description": task.description,
        "reward": task.reward,
        "host_name": task.host_name,
        "participant_costs": task.participant_costs,
        "signup_mode": task.signup_mode,
        "signup_close_hours": 24,
        "cancel_close_hours": 24,
        "asks_phone": "on",
    }
    response = office.post(f"/tasks/{task.pk}/edit/", form)
    assert response.status_code == 200
    assert any("聞く理由" in e for e in errors_of(response.content.decode()))
    response = office.post(f"/tasks/{task.pk}/edit/", {**form, "asks_reason": "当日の連絡のため"})
    assert response.status_code == 302, errors_of(response.content.decode())
    task.refresh_from_db()
    assert (task.asks_phone, task.asks_reason) == (True, "当日の連絡のため")


def test_a_hosts_change_to_what_is_asked_is_held_for_staff_like_any_other():
    host = host_of(CHIZU)
    task = hosted_task(host)
    response = api_as(host).patch(
        f"/api/tasks/{task.pk}/",
        {"asks_birth_date": True, "asks_reason": REASON},
        format="json",
    )
    assert response.status_code == 202, response.content
    revision = response.json()["id"]
    task.refresh_from_db()
    assert task.asks_birth_date is False  # not before the town approves it
    office = api_as(staff_of(CHIZU))
    url = f"/api/tasks/{task.pk}/revisions/{revision}/decide/"
    assert office.post(url, {"approve": True}, format="json").status_code == 200
    task.refresh_from_db()
    assert (task.asks_birth_date, task.asks_reason) == (True, REASON)


# --- Signing up with the details ---------------------------------------------------------


def test_the_signup_page_prefills_shows_the_reason_and_stores_only_what_is_asked():
    task = published_task(asks_phone=True, asks_reason="当日の連絡のため")
    session = task.sessions.get()
    person = resident(family_name="髙橋", given_name="花子", family_name_kana="タカハシ")
    person.given_name_kana = "ハナコ"
    person.save()
    browser = client_for(person)
    html = page(browser, f"/sessions/{session.pk}/signup/")
    assert 'value="髙橋 花子"' in html and 'value="タカハシ ハナコ"' in html
    assert "当日の連絡のため" in html and "この申込のためにヌシに伝えることに同意します" in html
    assert 'name="phone"' in html
    assert 'name="birth_date"' not in html and 'name="emergency_phone"' not in html
    response = browser.post(
        f"/sessions/{session.pk}/signup/",
        {
            "full_name": "髙橋 花子",
            "furigana": "ﾀｶﾊｼ はなこ",  # half-width and hiragana: one reading
            "phone": "０９０-１２３４-５６７８",
            "birth_date": "1990-04-01",  # not asked: not kept
            "emergency_name": "誰か",
            "agree": "on",
        },
    )
    assert response.status_code == 302, errors_of(response.content.decode())
    stored = SignupDetails.objects.get(signup__person=person)
    assert (stored.full_name, stored.furigana, stored.phone) == (
        "髙橋 花子",
        "タカハシ ハナコ",
        "090-1234-5678",
    )
    assert (stored.birth_date, stored.emergency_name, stored.emergency_phone) == (None, "", "")


def test_the_api_collects_what_the_task_asks_and_nothing_else():
    asks_all = published_task(**ASKS_ALL)
    signup = sign_up(asks_all)
    stored = signup.details
    assert stored.furigana == "タカハシ ハナコ"
    assert (stored.phone, stored.emergency_name, stored.birth_date) == (
        "090-1234-5678",
        "髙橋 太郎（父）",  # a name is free text: kept as typed
        datetime.date(1990, 4, 1),
    )
    plain = published_task()
    stored = sign_up(plain).details
    assert (stored.full_name, stored.phone, stored.emergency_name, stored.birth_date) == (
        "髙橋 花子",
        "",
        "",
        None,
    )


def test_signing_up_without_agreement_or_with_bad_furigana_is_a_clear_400():
    task = published_task(**ASKS_ALL)
    url = f"/api/sessions/{task.sessions.get().pk}/signups/"
    person = resident()
    error = error_of(
        api_as(person).post(url, details(agree=False), format="json"),
        400,
        "details_agreement_required",
    )
    assert "同意します" in error["message"]
    error = error_of(
        api_as(person, "en").post(url, details(agree=False), format="json"),
        400,
        "details_agreement_required",
    )
    assert "agree" in error["message"]
    error = error_of(
        api_as(person).post(url, details(furigana="Takahashi"), format="json"),
        400,
        "furigana_invalid",
    )
    assert "カタカナ" in error["fields"]["furigana"][0]
    error = error_of(
        api_as(person, "en").post(url, details(furigana="高橋"), format="json"),
        400,
        "furigana_invalid",
    )
    assert "katakana" in error["fields"]["furigana"][0]
    # What the task asks is required; a phone number is a phone number.
    response = api_as(person).post(url, details(phone="", birth_date="1890-01-01"), format="json")
    error = error_of(response, 400, "details_required")
    assert set(error["fields"]) == {"phone", "birth_date"}
    error_of(
        api_as(person).post(url, details(phone="電話して"), format="json"), 400, "phone_invalid"
    )
    error_of(
        api_as(person).post(url, details(birth_date="昭和60年"), format="json"),
        400,
        "birth_date_invalid",
    )
    assert not Signup.objects.filter(person=person).exists()
    assert not SignupDetails.objects.exists()


def test_the_signup_page_refuses_without_agreement_in_japanese_and_english():
    task = published_task()
    session = task.sessions.get()
    person = resident()
    for language, words in (("ja", "同意します"), ("en", "agree")):
        browser = client_for(person, language)
        response = browser.post(
            f"/sessions/{session.pk}/signup/", {"full_name": "山田 花子", "furigana": "ヤマダ"}
        )
        assert response.status_code == 200
        assert any(words in e for e in errors_of(response.content.decode()))
        response = browser.post(
            f"/sessions/{session.pk}/signup/",
            {"full_name": "山田 花子", "furigana": "yamada", "agree": "on"},
        )
        assert any(
            ("カタカナ" if language == "ja" else "katakana") in e
            for e in errors_of(response.content.decode())
        )
    assert not Signup.objects.filter(person=person).exists()


# --- The roster ---------------------------------------------------------------------------


@pytest.fixture
def board():
    host = host_of(CHIZU)
    task = hosted_task(host, **ASKS_ALL)
    first = sign_up(task)
    second = sign_up(
        task,
        full_name="山﨑 一郎",
        furigana="ヤマサキ イチロウ",
        phone="+81-90-0000-0000",
        emergency_name='=HYPERLINK("x")',
    )
    return {"host": host, "task": task, "session": task.sessions.get(), "signups": [first, second]}


def test_the_roster_downloads_as_xlsx_csv_and_print_view_each_read_audited(board):
    session, host = board["session"], board["host"]
    browser = client_for(host)

    html = page(browser, f"/sessions/{session.pk}/roster/")
    assert "髙橋 花子" in html and "タカハシ ハナコ" in html and "0858-75-0000" in html
    assert "1990-04-01" in html and REASON in html
    assert f"/sessions/{session.pk}/roster/" in page(
        browser, f"/tasks/{board['task'].pk}/participants/"
    )

    response = browser.get(f"/sessions/{session.pk}/roster.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    header = rows[0]
    assert header[:4] == ["No.", "氏名", "フリガナ", "状態"]
    people = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert people["髙橋 花子"]["電話番号"] == "090-1234-5678"
    assert people["髙橋 花子"]["生年月日"] == "1990-04-01"
    assert people["山﨑 一郎"]["フリガナ"] == "ヤマサキ イチロウ"
    # Text, never a formula.
    formula = people["山﨑 一郎"]["緊急連絡先（氏名・続柄）"]
    assert formula == '=HYPERLINK("x")'
    cell = next(c for c in sheet["F"] if c.value == formula)
    assert cell.data_type == "s"

    response = browser.get(f"/sessions/{session.pk}/roster.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel looks for
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["No.", "氏名", "フリガナ"]
    assert table[1][1:3] == ["髙橋 花子", "タカハシ ハナコ"]
    assert table[2][5] == '\'=HYPERLINK("x")'  # a spreadsheet reads it as text
    assert table[2][4] == "'+81-90-0000-0000"

    response = browser.get(f"/sessions/{session.pk}/roster.csv?encoding=sjis")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=shift_jis"
    assert not response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("cp932")  # 髙 and 﨑 are in cp932 (IBM extensions)
    table = list(csv.reader(io.StringIO(text)))
    assert table[1][1:3] == ["髙橋 花子", "タカハシ ハナコ"]
    assert table[2][1] == "山﨑 一郎"
    assert "緊急連絡先（電話番号）" in table[0]

    response = browser.get(f"/sessions/{session.pk}/roster/print/")
    html = response.content.decode()
    assert response.status_code == 200 and "髙橋 花子" in html and "0858-75-0000" in html
    assert "roster_print.css" in html
    assert 'class="site-header"' not in html and "<nav" not in html  # no navigation

    api = api_as(host).get(f"/api/sessions/{session.pk}/roster/")
    assert api.status_code == 200
    body = api.json()
    assert body["details_deleted"] is False and body["asks_reason"] == REASON
    assert [row["full_name"] for row in body["rows"]] == ["髙橋 花子", "山﨑 一郎"]
    assert body["rows"][0]["emergency_phone"] == "0858-75-0000"
    assert {row["details"] for row in body["rows"]} == {"given"}

    assert audits(session) == ["page", "xlsx", "csv", "csv", "print", "api"]
    encodings = [
        e.detail.get("encoding")
        for e in AuditEvent.objects.filter(action="roster.read", detail__format="csv").order_by(
            "pk"
        )
    ]
    assert encodings == ["utf-8", "cp932"]
    event = AuditEvent.objects.filter(action="roster.read").order_by("pk").first()
    assert event.actor == host and event.municipality_id == CHIZU and event.detail["rows"] == 2


def test_a_name_shift_jis_cannot_hold_is_refused_clearly_and_utf8_still_works(board):
    session, host = board["session"], board["host"]
    sign_up(board["task"], full_name="𠮷田 次郎", furigana="ヨシダ ジロウ")
    before = len(audits(session))
    for language, words in (
        ("ja", "Shift_JIS では表せない文字"),
        ("en", "cannot be written in Shift_JIS"),
    ):
        browser = client_for(host, language)
        response = browser.get(f"/sessions/{session.pk}/roster.csv?encoding=sjis", follow=True)
        html = response.content.decode()
        assert response.redirect_chain[-1][0] == f"/sessions/{session.pk}/roster/"
        assert words in html and "3" in html and "𠮷" in html
    # The refused download read nothing out; the pages it returned to did.
    assert audits(session)[before:] == ["page", "page"]
    response = client_for(host).get(f"/sessions/{session.pk}/roster.csv")
    assert "𠮷田 次郎" in response.content.decode("utf-8-sig")
    assert (
        client_for(host).get(f"/sessions/{session.pk}/roster.csv?encoding=ebcdic").status_code
        == 302
    )


def test_only_the_tasks_managers_read_the_roster(board):
    session = board["session"]
    paths = [
        f"/sessions/{session.pk}/roster/",
        f"/sessions/{session.pk}/roster/print/",
        f"/sessions/{session.pk}/roster.csv",
        f"/sessions/{session.pk}/roster.csv?encoding=sjis",
        f"/sessions/{session.pk}/roster.xlsx",
    ]
    participant = board["signups"][0].person
    for stranger in (host_of(AMA), staff_of(AMA), host_of(CHIZU), participant):
        browser = client_for(stranger)
        for path in paths:
            assert browser.get(path).status_code == 404, (stranger, path)
        error_of(api_as(stranger).get(f"/api/sessions/{session.pk}/roster/"), 404, "not_found")
    assert client_for(None).get(paths[0]).status_code == 302
    assert client_for(None).get(paths[0])["Location"].startswith("/accounts/login/")
    assert client_for(None).get(paths[4]).status_code == 302
    assert api_as(None).get(f"/api/sessions/{session.pk}/roster/").status_code == 401
    # A guessed id is a 404 as well.
    assert client_for(board["host"]).get("/sessions/999999/roster/").status_code == 404
    assert audits(session) == []
    # The town's staff may read it.
    assert client_for(staff_of(CHIZU)).get(paths[4]).status_code == 200
    assert audits(session) == ["xlsx"]


def test_the_details_are_deleted_after_the_retention_period(board, clock):
    session, host = board["session"], board["host"]
    other = published_task()
    kept = sign_up(other)
    move_to_past(session, days=1)
    with override_settings(MATCHING_ROSTER_RETENTION_DAYS=30):
        call_command("run_periodic_jobs", "--once")
        assert SignupDetails.objects.count() == 3  # still within the period
        html = page(client_for(host), f"/sessions/{session.pk}/roster/")
        assert "090-1234-5678" in html and "削除しました" not in html
        clock.shift(datetime.timedelta(days=30))
        call_command("run_periodic_jobs", "--once")
        assert list(SignupDetails.objects.values_list("signup_id", flat=True)) == [kept.pk]
        html = page(client_for(host), f"/sessions/{session.pk}/roster/")
        assert "保存期間（回の終了後 30 日）を過ぎたため" in html
        assert "090-1234-5678" not in html and "0858-75-0000" not in html
        assert "削除済み" in html
        english = page(client_for(host, "en"), f"/sessions/{session.pk}/roster/", "en")
        assert "deleted" in english
        body = api_as(host).get(f"/api/sessions/{session.pk}/roster/").json()
        assert body["details_deleted"] is True
        assert {row["details"] for row in body["rows"]} == {"deleted"}
        assert {row["phone"] for row in body["rows"]} == {""}
        sheet = openpyxl.load_workbook(
            io.BytesIO(client_for(host).get(f"/sessions/{session.pk}/roster.xlsx").content)
        ).active
        assert "090-1234-5678" not in {c.value for row in sheet.iter_rows() for c in row}
    # The purge runs in batches and a second run finds nothing to do.
    assert services.roster_details_purge(batch_size=1) == 0


def test_the_purge_works_in_batches(board, clock):
    move_to_past(board["session"], days=40)
    assert services.roster_details_purge(batch_size=1) == 2
    assert not SignupDetails.objects.exists()


def test_deleting_the_account_deletes_the_details(board):
    from accounts.services import account_delete

    person = board["signups"][0].person
    account_delete(user=person)
    assert not SignupDetails.objects.filter(signup__person_id=person.pk).exists()
    assert SignupDetails.objects.count() == 1


def test_the_roster_page_in_english(board):
    html = page(client_for(board["host"], "en"), f"/sessions/{board['session'].pk}/roster/", "en")
    assert "Roster" in html and "Download as Excel" in html
    assert re.search(r"Shift_JIS", html)


def test_the_person_finds_what_they_gave_in_their_export(board):
    signup = board["signups"][0]
    browser = client_for(signup.person)
    data = browser.get("/api/me/export/").json()
    given = data["board"]["signups"][0]["details"]
    assert (given["full_name"], given["furigana"], given["birth_date"]) == (
        "髙橋 花子",
        "タカハシ ハナコ",
        "1990-04-01",
    )
