"""The pages of the matcher as a person sees them: あなたへのおすすめ (its cards, reasons,
pages and the empty state that says what to do), the best three on the board, and
watching a full task to hear when a place opens."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from accounts.models import User
from matching import services
from matching.matcher import reason_texts
from matching.models import Match, Signup, TaskWatch
from matching.views import finding
from notifications.models import Notification
from registry import flags
from registry import services as registry_services
from registry.models import Category
from tests.factories import UserFactory, client_for
from tests.matching.support import (
    AMA,
    CHIZU,
    HIDA,
    host_of,
    make_task,
    published_task,
    register,
    resident,
    staff_of,
)
from tests.support import messages_of, page, queries_of

pytestmark = pytest.mark.django_db


def recommended_ids(html: str) -> list[int]:
    """The tasks of the recommendation cards, in their order on the page."""
    found = re.findall(
        r'class="task-card task-card-recommended">.*?href="/tasks/(\d+)/"', html, re.S
    )
    assert len(found) == html.count('class="task-card task-card-recommended"')
    return [int(pk) for pk in found]


def refresh(person: User) -> int:
    """What the signals ask the matcher to do when a profile or registration changes."""
    return services.person_recommendations_refresh(person_id=person.pk)


@pytest.fixture
def chizu_fan() -> User:
    """Lives in Tokyo, registered with 智頭町, interested in farming."""
    person = resident()
    registry_services.profile_update(user=person, interests=flags.bit(Category, Category.FARMING))
    register(person, CHIZU)
    return person


# --- あなたへのおすすめ -------------------------------------------------------------------


def test_for_you_asks_visitors_to_log_in():
    response = client_for(None).get("/tasks/for-you/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/") and "next=/tasks/for-you/" in response.url


@pytest.mark.parametrize("language", ["ja", "en"])
def test_for_you_lists_the_persons_recommendations_with_their_reasons(chizu_fan, language):
    staff = staff_of(CHIZU)
    best = published_task(staff=staff, title="棚田の草刈り", category="farming")
    other = published_task(staff=staff, title="祭りの準備", category="festivals")
    elsewhere = published_task(AMA, title="海士町の漁の手伝い", category="tourism")
    signed_up = published_task(staff=staff, title="申込済みのお手伝い")
    assert refresh(chizu_fan) == 3
    # Signed up since the matcher ran: the page leaves it out all the same.
    services.signup_create(session=signed_up.sessions.get(), person=chizu_fan)
    assert Match.objects.filter(person=chizu_fan, task=signed_up).exists()

    html = page(client_for(chizu_fan, language), "/tasks/for-you/", language)

    # Best first: registered with the town and interested in farming beats the town alone;
    # neither a task of a town they have no tie to nor one they signed up for is offered.
    assert recommended_ids(html) == [best.pk, other.pk]
    assert elsewhere.title not in html and signed_up.title not in html
    with translation.override(language):
        expected = reason_texts([["registered", "智頭町"], ["interest", "farming"]])
    assert len(expected) == 2
    for reason in expected:
        assert reason in html
    if language == "ja":
        assert "<h1>あなたへのおすすめ</h1>" in html
        assert "おすすめの理由" in html
        assert "智頭町にふるさと住民登録しています" in html
        assert "関心のある分野: 農林水産" in html


def test_someone_elses_recommendations_are_not_shown(chizu_fan):
    published_task(title="棚田の草刈り")
    refresh(chizu_fan)
    stranger = resident()
    html = page(client_for(stranger), "/tasks/for-you/")
    assert recommended_ids(html) == []
    assert "棚田の草刈り" not in html


def test_for_you_is_paginated(chizu_fan, monkeypatch):
    monkeypatch.setattr(finding, "RECOMMENDATIONS_PER_PAGE", 2)
    staff = staff_of(CHIZU)
    tasks = [published_task(staff=staff, title=f"お手伝い{n}") for n in range(3)]
    refresh(chizu_fan)
    me = client_for(chizu_fan)
    first = page(me, "/tasks/for-you/")
    second = page(me, "/tasks/for-you/", page=2)
    shown = recommended_ids(first) + recommended_ids(second)
    assert len(recommended_ids(first)) == 2 and len(recommended_ids(second)) == 1
    assert sorted(shown) == sorted(task.pk for task in tasks)
    assert "3 件のおすすめ" in first
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert recommended_ids(page(me, "/tasks/for-you/", page="abc")) == recommended_ids(first)


def test_without_recommendations_the_page_says_how_to_get_some():
    published_task(title="棚田の草刈り")
    newcomer = UserFactory()  # no profile at all
    html = page(client_for(newcomer), "/tasks/for-you/")
    assert "いまはおすすめがありません" in html
    assert 'href="/me/profile/"' in html and 'href="/registrations/new/"' in html
    assert "お住まいの市区町村を設定する" in html
    assert "関心のある分野・できること・参加しやすい日を選ぶ" in html
    assert "ふるさと住民登録をする" in html
    assert recommended_ids(html) == []

    # With a home and interests, only the registration is left to suggest.
    person = resident()
    registry_services.profile_update(user=person, interests=flags.bit(Category, Category.FARMING))
    html = page(client_for(person), "/tasks/for-you/")
    assert "お住まいの市区町村は設定済みです" in html
    assert "関心のある分野は設定済みです" in html
    assert "気になるまちに、ふるさと住民登録をする" in html

    html = page(client_for(person, "en"), "/tasks/for-you/", "en")
    assert 'href="/registrations/new/"' in html and recommended_ids(html) == []


# --- The board's best three --------------------------------------------------------------


def test_the_board_shows_the_best_three_recommendations_to_the_signed_in(chizu_fan, monkeypatch):
    monkeypatch.setattr(finding, "TASKS_PER_PAGE", 3)
    staff = staff_of(CHIZU)
    for n in range(4):
        published_task(staff=staff, title=f"お手伝い{n}")
    published_task(HIDA, title="飛騨市のお手伝い")
    refresh(chizu_fan)
    best = [
        m.task_id
        for m in Match.objects.filter(person=chizu_fan).order_by(
            "-score", "task__starts_at", "task_id"
        )[:3]
    ]

    html = page(client_for(chizu_fan), "/tasks/")
    assert recommended_ids(html) == best
    assert 'id="recommended-heading">あなたへのおすすめ' in html
    assert 'href="/tasks/for-you/"' in html
    assert html.count('class="task-card"') == 3  # the list itself is unchanged

    # Not for visitors, not on a search, not past the first page.
    assert recommended_ids(page(client_for(None), "/tasks/")) == []
    assert recommended_ids(page(client_for(chizu_fan), "/tasks/", prefecture="21")) == []
    assert recommended_ids(page(client_for(chizu_fan), "/tasks/", search="お手伝い")) == []
    assert recommended_ids(page(client_for(chizu_fan), "/tasks/", page="2")) == []
    # Someone without recommendations sees the board as before.
    assert recommended_ids(page(client_for(resident()), "/tasks/")) == []


def test_the_board_with_recommendations_costs_one_query_more_at_most(chizu_fan):
    staff = staff_of(CHIZU)
    me = client_for(chizu_fan)
    published_task(staff=staff, title="最初のお手伝い")
    page(me, "/tasks/")  # what is read once per process
    without = queries_of(me, "/tasks/")
    assert recommended_ids(page(me, "/tasks/")) == []
    for n in range(5):
        published_task(staff=staff, title=f"お手伝い{n}")
    refresh(chizu_fan)
    assert len(recommended_ids(page(me, "/tasks/"))) == 3
    # The recommendations' facts come in the list's own query: the same count either way.
    assert queries_of(me, "/tasks/") == without
    # The same list without them (an empty search counts as a search) saves one query.
    assert recommended_ids(page(me, "/tasks/", search="")) == []
    assert queries_of(me, "/tasks/", search="") == without - 1


def test_the_header_links_recommendations_and_notification_settings(chizu_fan):
    html = page(client_for(chizu_fan), "/")
    assert 'href="/tasks/for-you/"' in html and 'href="/notifications/settings/"' in html
    html = page(client_for(None), "/")
    assert 'href="/tasks/for-you/"' not in html


# --- Watching a task ---------------------------------------------------------------------


@pytest.fixture
def full_task():
    """A task whose only session is full (one place, taken)."""
    task = published_task(capacity=1, title="満員のお手伝い")
    services.signup_create(session=task.sessions.get(), person=resident())
    return task


def test_a_person_watches_a_full_task_and_stops_watching(full_task):
    person = resident()
    me = client_for(person)
    path = f"/tasks/{full_task.pk}/"
    html = page(me, path)
    assert f'action="/tasks/{full_task.pk}/watch/"' in html
    assert "いまは満員です。" in html and "空きが出たら知らせる" in html

    response = me.post(f"/tasks/{full_task.pk}/watch/")
    assert response.status_code == 302 and response.url == f"{path}#watch"
    assert TaskWatch.objects.filter(task=full_task, person=person).count() == 1
    html = page(me, path)
    assert messages_of(html) == [
        "「満員のお手伝い」を見守ります。空きが出たら、お知らせでお伝えします。"
    ]
    assert f'action="/tasks/{full_task.pk}/unwatch/"' in html and "見守りをやめる" in html
    assert f'action="/tasks/{full_task.pk}/watch/"' not in html

    me.post(f"/tasks/{full_task.pk}/watch/", follow=True)  # twice is once
    assert TaskWatch.objects.filter(task=full_task, person=person).count() == 1

    response = me.post(f"/tasks/{full_task.pk}/unwatch/")
    assert response.status_code == 302 and response.url == f"{path}#watch"
    assert not TaskWatch.objects.filter(task=full_task, person=person).exists()
    html = page(me, path)
    assert messages_of(html) == ["「満員のお手伝い」の見守りをやめました。"]
    assert f'action="/tasks/{full_task.pk}/watch/"' in html


def test_a_watcher_hears_when_a_place_opens(full_task):
    watcher = resident()
    client_for(watcher, "en").post(f"/tasks/{full_task.pk}/watch/")
    holder = Signup.objects.get(session__task=full_task)
    services.signup_cancel(signup=holder, actor=holder.person)
    assert Notification.objects.filter(recipient=watcher, kind="place_opened").count() == 1
    html = page(client_for(watcher, "en"), "/notifications/", "en")
    assert "満員のお手伝い" in html


def test_watching_is_offered_only_to_people_without_a_place(full_task):
    path = f"/tasks/{full_task.pk}/"
    watch = f'action="/tasks/{full_task.pk}/watch/"'
    assert watch not in page(client_for(None), path)
    holder = Signup.objects.get(session__task=full_task).person
    assert watch not in page(client_for(holder), path)
    assert watch not in page(client_for(staff_of(CHIZU)), path)  # who manages it
    # A task with places left does not offer it (issue 17): one signs up instead.
    open_task = published_task(capacity=5)
    html = page(client_for(resident()), f"/tasks/{open_task.pk}/")
    assert f'action="/tasks/{open_task.pk}/watch/"' not in html


def test_watching_is_refused_where_it_cannot_be(full_task):
    # Visitors are sent to log in; nothing is stored.
    response = client_for(None).post(f"/tasks/{full_task.pk}/watch/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    person = resident()
    me = client_for(person)
    # Only by POST.
    assert me.get(f"/tasks/{full_task.pk}/watch/").status_code == 405
    # A closed task: the service's refusal is a message, not an error page.
    staff = staff_of(CHIZU)
    services.task_close(task=full_task, actor=staff)
    response = me.post(f"/tasks/{full_task.pk}/watch/", follow=True)
    assert response.status_code == 200
    assert messages_of(response.content.decode()) == ["募集中のお手伝いだけを見守れます。"]
    # A draft of someone else's: 404, as if it did not exist.
    host = host_of(CHIZU)
    draft = make_task(host, CHIZU)
    assert me.post(f"/tasks/{draft.pk}/watch/").status_code == 404
    assert me.post("/tasks/999999/unwatch/").status_code == 404
    assert not TaskWatch.objects.filter(person=person).exists()
