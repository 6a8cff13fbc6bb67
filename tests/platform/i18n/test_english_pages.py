"""The main pages in English say nothing in Japanese: a crawl as an anonymous visitor, a
resident, a host and a town's clerk fails on Japanese script in the visible text (and the
labels a screen reader reads) outside elements marked lang="ja".

Left out, as they are not the site's voice: the names of places (the prefectures and
municipalities of the database, which are proper names) and what the fixtures' people typed
(a task's title, a name)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from accounts.models import Role
from matching import services as matching_services
from places.models import Municipality, Prefecture
from tests.factories import client_for, person_with_role
from tests.matching.support import CHIZU, in_days, make_task, register, resident
from tests.support import SIGNUP_DETAILS

pytestmark = pytest.mark.django_db

# What the fixtures' people typed (tests/matching/support.make_task, tests/factories,
# tests/support.SIGNUP_DETAILS): their words, kept as typed on every page.
TYPED = [
    "棚田の草刈り",
    "棚田のあぜの草刈りを手伝ってください。",
    "新米 2kg",
    "山田 花子",
    "ヤマダ ハナコ",
    "山田",
    "花子",
    "現地までの交通費は参加者の負担です。",  # the default of a task made in Japanese
]

JAPANESE = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60]+")
HIDDEN = {"script", "style", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
READ_ALOUD = ("title", "aria-label", "placeholder", "alt", "aria-description")


class VisibleText(HTMLParser):
    """The text a reader sees or hears, except inside lang="ja" or hidden elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.parts: list[str] = []

    @property
    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = (
            self.skipping
            or tag in HIDDEN
            or (attrs.get("lang") or "").startswith("ja")
            or tag == "head"
        )
        if not skipped:
            self.parts.extend(attrs[name] for name in READ_ALOUD if attrs.get(name))
            if tag == "input" and attrs.get("type") in ("submit", "button"):
                self.parts.append(attrs.get("value") or "")
        if tag not in VOID:
            self.stack.append((tag, skipped))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        # Close up to the matching tag (browsers forgive a missing </li> or </p>).
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def japanese_in(html: str, proper_names: list[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    text = "\n".join(part.strip() for part in parser.parts if part.strip())
    for name in proper_names:
        text = text.replace(name, "\x00")
    # A place's own bracket (「（岐阜県）」) goes with its name: how a place is shown is the
    # place names' own concern.
    text = re.sub(r"[（(]\s*\x00\s*[）)]", " ", text).replace("\x00", " ")
    found = []
    for line in text.splitlines():
        if JAPANESE.search(line):
            found.append(line.strip()[:160])
    return found


@pytest.fixture
def proper_names() -> list[str]:
    names = set(TYPED)
    for model in (Prefecture, Municipality):
        for row in model.objects.values("name", "kana"):
            names.update(value for value in row.values() if value)
    for name in Prefecture.objects.values_list("name", flat=True):
        names.update((name[:-1], name[:2], name[:3]))  # 岐阜, 神奈, as tiles and tables name them
    return sorted(names, key=len, reverse=True)


@pytest.fixture
def board():
    """A town (智頭町) with its clerk, a host with a published task and a resident signed
    up for it and registered with the town."""
    clerk = person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU)
    host = person_with_role(Role.HOST, CHIZU)
    task = make_task(clerk, CHIZU)
    task = matching_services.task_publish(task=task, actor=clerk)
    session = task.sessions.get()
    person = resident()
    registration = register(person, CHIZU)
    signup = matching_services.signup_create(session=session, person=person, details=SIGNUP_DETAILS)
    return {
        "clerk": clerk,
        "host": host,
        "resident": person,
        "task": task,
        "session": session,
        "registration": registration,
        "signup": signup,
        "later": in_days(14),
    }


def crawl(client, paths: list[str], proper_names: list[str]) -> str:
    """What each page says in Japanese, one line each ("" when all is English)."""
    problems = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        html = response.content.decode()
        assert '<html lang="en">' in html, path
        problems.extend(f"{path}: {line}" for line in japanese_in(html, proper_names))
        # Times on the 24-hour clock, as in Japanese: never "9 a.m." beside "15:00".
        problems.extend(f"{path}: 12-hour time" for _ in re.finditer(r"\b[ap]\.m\.", html))
    return "\n".join(problems)


def test_anonymous_pages_are_english(board, proper_names):
    task, code = board["task"], CHIZU
    paths = [
        "/",
        "/municipalities/",
        "/municipalities/?q=chizu",
        f"/municipalities/{code}/",
        "/prefectures/31/",
        "/tasks/",
        "/tasks/calendar/",
        "/tasks/map/",
        f"/tasks/{task.pk}/",
        "/stats/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
    ]
    assert crawl(client_for(None, "en"), paths, proper_names) == ""


def test_times_are_on_the_24_hour_clock_in_both_languages(board):
    task = board["task"]  # one session a week from now, 9:00 to 15:00
    for language, span in (("en", "09:00 – 15:00"), ("ja", "09:00〜15:00")):
        html = client_for(None, language).get(f"/tasks/{task.pk}/").content.decode()
        assert span in html, language
        assert "a.m." not in html and "p.m." not in html


def test_a_residents_pages_are_english(board, proper_names):
    registration, session, task = board["registration"], board["session"], board["task"]
    paths = [
        "/me/",
        "/me/profile/",
        "/me/signups/",
        "/me/export/",
        "/me/delete/",
        "/tasks/for-you/",
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/question/",
        f"/me/signups/{board['signup'].pk}/cancel/",
        "/registrations/new/",
        f"/registrations/{registration.pk}/",
        f"/registrations/{registration.pk}/card/",
        f"/registrations/{registration.pk}/activities/new/",
        "/notifications/",
        "/notifications/settings/",
        "/host/apply/",
        "/accounts/email/",
        "/accounts/password/change/",
    ]
    assert session  # the signup above is for it
    assert crawl(client_for(board["resident"], "en"), paths, proper_names) == ""


def test_a_hosts_pages_are_english(board, proper_names):
    paths = ["/host/", f"/tasks/new/{CHIZU}/", "/me/", "/notifications/"]
    assert crawl(client_for(board["host"], "en"), paths, proper_names) == ""


def test_a_town_clerks_pages_are_english(board, proper_names):
    task, session, code = board["task"], board["session"], CHIZU
    paths = [
        "/staff/",
        f"/staff/{code}/registrants/",
        f"/staff/{code}/premium/",
        f"/staff/{code}/activities/",
        f"/staff/{code}/perks/",
        f"/staff/{code}/announcements/",
        f"/staff/{code}/tasks/",
        f"/staff/{code}/hosts/",
        f"/stats/municipalities/{code}/",
        f"/tasks/new/{code}/",
        f"/tasks/{task.pk}/",
        f"/tasks/{task.pk}/edit/",
        f"/tasks/{task.pk}/sessions/",
        f"/tasks/{task.pk}/participants/",
        f"/tasks/{task.pk}/briefing/",
        f"/tasks/{task.pk}/messages/",
        f"/tasks/{task.pk}/questions/",
        f"/tasks/{task.pk}/cancel/",
        f"/tasks/{task.pk}/report/",
        f"/sessions/{session.pk}/edit/",
        f"/sessions/{session.pk}/cancel/",
        f"/sessions/{session.pk}/roster/",
        f"/sessions/{session.pk}/roster/print/",
        "/cards/verify/",
        "/accounts/2fa/",
        "/notifications/",
    ]
    assert crawl(client_for(board["clerk"], "en"), paths, proper_names) == ""


def test_the_parser_sees_japanese_outside_lang_ja_only():
    html = (
        '<html lang="en"><body><p lang="ja">ふるさと</p><p>Hello 世界</p>'
        '<button aria-label="閉じる">x</button><script>var a="日本";</script></body></html>'
    )
    assert japanese_in(html, []) == ["Hello 世界", "閉じる"]


def _posted(client, path: str, data: dict, proper_names: list[str]) -> list[str]:
    response = client.post(path, data)
    assert response.status_code == 200, (path, response.status_code)
    html = response.content.decode()
    assert 'role="alert"' in html or "field-error" in html or "errorlist" in html, path
    return [f"{path}: {line}" for line in japanese_in(html, proper_names)]


def test_what_went_wrong_is_said_in_english(board, proper_names):
    """Forms sent with mistakes, and filters that make no sense, explain in English."""
    person, clerk = client_for(board["resident"], "en"), client_for(board["clerk"], "en")
    problems = [
        *_posted(person, "/me/profile/", {"birth_year": "1800", "home": "nowhere"}, proper_names),
        *_posted(person, "/registrations/new/", {"municipality": "999999"}, proper_names),
        *_posted(person, "/host/apply/", {"municipality": "", "purpose": ""}, proper_names),
        *_posted(clerk, f"/tasks/new/{CHIZU}/", {"title": ""}, proper_names),
        *_posted(
            client_for(None, "en"),
            "/accounts/signup/",
            {"email": "x", "password1": "a", "password2": "b"},
            proper_names,
        ),
    ]
    for path in ("/tasks/?date_from=2026-13-40&distance=abc", "/municipalities/?q=市"):
        html = client_for(None, "en").get(path).content.decode()
        problems.extend(f"{path}: {line}" for line in japanese_in(html, proper_names))
    api = client_for(None, "en").get("/api/tasks/?municipality=12&date_from=x")
    assert api.status_code == 400
    assert not JAPANESE.search(api.content.decode()), api.content.decode()
    assert "\n".join(problems) == ""


def test_one_japanese_word_two_english_senses(board):
    """中止 is the button "Cancel" and the state "Cancelled"; 参加者 heads a list as
    "Participants"; 申込 is the person's page "My sign-ups"."""
    task, session = board["task"], board["session"]
    clerk = client_for(board["clerk"], "en")
    sessions = clerk.get(f"/tasks/{task.pk}/sessions/").content.decode()
    assert f'href="/sessions/{session.pk}/cancel/">Cancel</a>' in sessions
    staff_tasks = clerk.get(f"/staff/{CHIZU}/tasks/").content.decode()
    assert f'href="/tasks/{task.pk}/participants/">Participants</a>' in staff_tasks
    matching_services.session_cancel(session=session, actor=board["clerk"], reason="大雨")
    mine = client_for(board["resident"], "en").get("/me/signups/").content.decode()
    assert "<h1>My sign-ups</h1>" in mine
    assert "Cancelled" in mine  # the sign-up's state
