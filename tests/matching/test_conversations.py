"""Messages to a task's participants and questions to its host (issue 17, "Messages";
Done-when 3), through the pages and the API on PostgreSQL, with a real SMTP server on this
machine behind the outbox's relay:

- a host's message to a session's participants reaches each of them exactly once, in the
  inbox and by e-mail, and nobody else: not the waiting list when only the people holding a
  place are meant, not another session's people, not the sender; a person with places in
  two sessions hears a message to the whole task once;
- a question reaches the host (or, for a task staff posted, the town's staff) and its
  answer the person who asked, both in the inbox and by e-mail;
- a stranger, another town's host and an anonymous visitor can neither read nor post in
  someone's thread, nor send or read messages;
- empty and too long texts are a clear 400, in Japanese and in English; a message to
  nobody and the same message twice are refused; preferences and languages are followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.test import override_settings

from accounts.models import User
from matching import services
from matching.models import Session, Task, TaskMessage, Thread, ThreadPost
from notifications.models import Notification
from notifications.services import email_relay, notifications_scrub_author, preferences_set
from tests.factories import client_for
from tests.matching.support import (
    AMA,
    CHIZU,
    api_as,
    error_of,
    host_of,
    in_days,
    make_task,
    published_task,
    resident,
    staff_of,
)
from tests.smtp import SmtpServer, smtp_server_running
from tests.support import errors_of, messages_of, page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def smtp(board) -> Iterator[SmtpServer]:
    """The SMTP server, after the e-mails of setting up the board (the sign-ups') went."""
    with smtp_server_running() as server, override_settings(**server.settings()):
        email_relay()
        server.clear()
        yield server


@dataclass
class Board:
    host: User
    editor: User  # 智頭町's staff
    task: Task  # the host's, published: sessions ``first`` (2 places) and ``second``
    first: Session
    second: Session
    holding: list[User]  # confirmed in ``first``
    waiting: User  # on the waiting list of ``first``
    both: User  # confirmed in ``first`` and in ``second``: one person, two sign-ups
    other: User  # confirmed in ``second`` only
    stranger: User  # signed in, nothing to do with the task
    other_host: User  # 海士町's host


@pytest.fixture
def board(db) -> Board:
    host, editor = host_of(CHIZU), staff_of(CHIZU)
    task = make_task(
        host,
        CHIZU,
        sessions=[
            {"starts_at": in_days(7), "ends_at": in_days(7, 15), "capacity": 2},
            {"starts_at": in_days(8), "ends_at": in_days(8, 15), "capacity": 5},
        ],
    )
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=editor)
    first, second = task.sessions.order_by("starts_at")
    holder, both, waiting, other = (resident() for _ in range(4))
    services.signup_create(session=first, person=holder)
    services.signup_create(session=first, person=both)
    services.signup_create(session=second, person=both)
    assert services.signup_create(session=first, person=waiting).status == "waitlisted"
    services.signup_create(session=second, person=other)
    return Board(
        host=host,
        editor=editor,
        task=task,
        first=first,
        second=second,
        holding=[holder, both],
        waiting=waiting,
        both=both,
        other=other,
        stranger=resident(),
        other_host=host_of(AMA),
    )


def told(kind: str) -> dict[str, int]:
    """{e-mail address: number of inbox rows} of ``kind``."""
    counts: dict[str, int] = {}
    for address in Notification.objects.filter(kind=kind).values_list(
        "recipient__email", flat=True
    ):
        counts[address.lower()] = counts.get(address.lower(), 0) + 1
    return counts


def mailed(smtp: SmtpServer) -> dict[str, int]:
    """{address: messages the SMTP server accepted for it}, after the relay has run."""
    email_relay()
    return dict(smtp.per_recipient())


def addresses(*people: User) -> dict[str, int]:
    return {person.email.lower(): 1 for person in people}


# --- Done-when 3: a message to a session's participants ----------------------------------


def test_a_hosts_message_to_a_session_reaches_each_holder_once_and_nobody_else(board, smtp):
    client = client_for(board.host)
    html = page(client, f"/tasks/{board.task.pk}/participants/")
    assert "参加者にメッセージを送る" in html
    response = client.post(
        f"/tasks/{board.task.pk}/messages/",
        {
            "session": board.first.pk,
            "audience": "holding",
            "subject": "集合場所の変更",
            "body": "集合場所は智頭駅の東口に変わりました。\n8:45 に集まってください。",
        },
    )
    assert response.status_code == 302, errors_of(response.content.decode())
    assert messages_of(client.get(response["Location"]).content.decode()) == [
        "2人にメッセージを送りました。"
    ]

    # The holders of the first session, each once; not the waiting list, not the second
    # session's people, not the host.
    assert told("task_message") == addresses(*board.holding)
    assert mailed(smtp) == addresses(*board.holding)
    message = smtp.to(board.both.email)[0]
    assert "集合場所の変更" in str(message.message["Subject"])
    assert "智頭駅の東口" in message.text
    # A second run of the relay sends nothing again.
    assert mailed(smtp) == addresses(*board.holding)

    sent = TaskMessage.objects.get()
    assert (sent.session, sent.audience, sent.recipients, sent.author) == (
        board.first,
        "holding",
        2,
        board.host,
    )
    # The history stays on the task, for the host and for the town's staff.
    for person in (board.host, board.editor):
        html = page(client_for(person), f"/tasks/{board.task.pk}/participants/")
        assert "集合場所の変更" in html and "智頭駅の東口" in html
    # An audit row says who wrote to how many.
    from accounts.models import AuditEvent

    event = AuditEvent.objects.get(action="task_message.send")
    assert event.actor == board.host and event.detail["told"] == 2


def test_a_message_to_the_whole_task_reaches_a_person_of_two_sessions_once(board, smtp):
    response = api_as(board.host).post(
        f"/api/tasks/{board.task.pk}/messages/",
        {"audience": "all", "subject": "雨天の場合", "body": "小雨なら決行します。"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["recipients"] == 4
    everyone = (*board.holding, board.waiting, board.other)
    assert told("task_message") == addresses(*everyone)
    assert mailed(smtp) == addresses(*everyone)


def test_the_waiting_audience_is_the_waiting_list_and_the_requests(board, smtp):
    response = api_as(board.editor).post(
        f"/api/tasks/{board.task.pk}/messages/",
        {"session": board.first.pk, "audience": "waiting", "subject": "空き", "body": "待機中"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert told("task_message") == addresses(board.waiting)
    assert mailed(smtp) == addresses(board.waiting)


def test_the_sender_never_hears_their_own_message(board):
    # The town's staff member holds a place in the second session too.
    services.signup_create(session=board.second, person=board.editor)
    response = api_as(board.editor).post(
        f"/api/tasks/{board.task.pk}/messages/",
        {"session": board.second.pk, "audience": "holding", "subject": "件名", "body": "本文"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert told("task_message") == addresses(board.both, board.other)


def test_a_retry_tells_nobody_twice(board, smtp):
    api = api_as(board.host)
    body = {"audience": "holding", "subject": "持ち物", "body": "軍手を持ってきてください。"}
    first = api.post(
        f"/api/tasks/{board.task.pk}/messages/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = api.post(
        f"/api/tasks/{board.task.pk}/messages/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    # Without the key, the same message again is caught too.
    error = error_of(
        api.post(f"/api/tasks/{board.task.pk}/messages/", body, format="json"),
        409,
        "message_duplicate",
    )
    assert "二重に送られないよう" in error["message"]
    assert TaskMessage.objects.count() == 1
    holders = (*board.holding, board.other)
    assert told("task_message") == addresses(*holders)
    assert mailed(smtp) == addresses(*holders)


def test_a_message_to_nobody_is_refused(board):
    error = error_of(
        api_as(board.host).post(
            f"/api/tasks/{board.task.pk}/messages/",
            {"session": board.second.pk, "audience": "waiting", "subject": "件名", "body": "本文"},
            format="json",
        ),
        409,
        "message_no_recipients",
    )
    assert "受け取る人がいません" in error["message"]
    assert (
        not TaskMessage.objects.exists()
        and not Notification.objects.filter(kind="task_message").exists()
    )


def test_a_session_of_another_task_is_refused(board):
    elsewhere = published_task(CHIZU).sessions.get()
    error_of(
        api_as(board.host).post(
            f"/api/tasks/{board.task.pk}/messages/",
            {"session": elsewhere.pk, "audience": "all", "subject": "件名", "body": "本文"},
            format="json",
        ),
        400,
        "not_task_session",
    )


def test_preferences_and_languages_are_followed(board, smtp):
    holder, both = board.holding
    # One wants no e-mail of the host's messages (the inbox still has it); one reads English.
    preferences_set(user=holder, changes=[("messages", "email", "never")])
    preferences_set(user=both, changes=[], language="en")
    response = api_as(board.host).post(
        f"/api/tasks/{board.task.pk}/messages/",
        {"session": board.first.pk, "audience": "holding", "subject": "集合", "body": "駅で"},
        format="json",
    )
    assert response.status_code == 201
    assert told("task_message") == addresses(holder, both)
    assert mailed(smtp) == addresses(both)
    [message] = smtp.to(both.email)
    assert "A message to the participants of" in message.text
    assert "駅で" in message.text
    # The inbox speaks the reader's language too.
    inbox = api_as(both, "en").get("/api/notifications/").json()["results"]
    assert any("A message to the participants of" in row["body"] for row in inbox)


# --- Done-when 3: a question and its answer ----------------------------------------------


def test_a_question_reaches_the_host_and_the_answer_the_person(board, smtp):
    person = board.stranger  # not signed up: asking before signing up
    client = client_for(person)
    html = page(client, f"/tasks/{board.task.pk}/")
    assert f'href="/tasks/{board.task.pk}/question/"' in html and "ヌシに質問する" in html
    response = client.post(f"/tasks/{board.task.pk}/question/", {"body": "駐車場はありますか？"})
    assert response.status_code == 302, errors_of(response.content.decode())
    thread = Thread.objects.get()
    assert (thread.task, thread.person) == (board.task, person)

    # The host hears it, in the inbox and by e-mail; nobody else.
    assert told("thread_question") == addresses(board.host)
    assert mailed(smtp) == addresses(board.host)
    [question] = smtp.to(board.host.email)
    assert "駐車場はありますか" in question.text
    assert f"/threads/{thread.pk}/" in question.text

    # The host's list of questions, then the thread, and the answer.
    host = client_for(board.host)
    html = page(host, f"/tasks/{board.task.pk}/questions/")
    assert f'href="/threads/{thread.pk}/"' in html and "回答待ち" in html
    assert "駐車場はありますか" in page(host, f"/threads/{thread.pk}/")
    response = host.post(f"/threads/{thread.pk}/", {"body": "役場の駐車場を使えます。"})
    assert response.status_code == 302, errors_of(response.content.decode())
    assert told("thread_answer") == addresses(person)
    smtp.clear()
    assert mailed(smtp) == addresses(person)
    [answer] = smtp.to(person.email)
    assert "役場の駐車場を使えます" in answer.text
    assert "回答済み" in page(host, f"/tasks/{board.task.pk}/questions/")

    # The person sees both in their thread, and may ask again, through the API too.
    html = page(client, f"/tasks/{board.task.pk}/question/")
    assert "駐車場はありますか" in html and "役場の駐車場を使えます" in html
    mine = api_as(person).get(f"/api/tasks/{board.task.pk}/question/").json()
    assert [(p["by_host"], p["body"]) for p in mine["posts"]] == [
        (False, "駐車場はありますか？"),  # typed text is kept as typed
        (True, "役場の駐車場を使えます。"),
    ]
    again = api_as(person).post(
        f"/api/threads/{thread.pk}/posts/", {"body": "雨具は要りますか？"}, format="json"
    )
    assert again.status_code == 201, again.content
    assert len(again.json()["posts"]) == 3
    assert told("thread_question") == {board.host.email.lower(): 2}


def test_a_participant_asks_through_the_api_and_staff_answer(board):
    participant = board.other
    api = api_as(participant)
    asked = api.post(
        f"/api/tasks/{board.task.pk}/question/", {"body": "途中参加できますか？"}, format="json"
    )
    assert asked.status_code == 201, asked.content
    thread_id = asked.json()["id"]
    listed = api_as(board.editor).get(f"/api/tasks/{board.task.pk}/threads/").json()["results"]
    assert [(t["id"], t["post_count"], t["answered"]) for t in listed] == [(thread_id, 1, False)]
    answered = api_as(board.editor).post(
        f"/api/threads/{thread_id}/posts/", {"body": "10時までなら大丈夫です。"}, format="json"
    )
    assert answered.status_code == 201, answered.content
    assert [p["by_host"] for p in answered.json()["posts"]] == [False, True]
    assert told("thread_answer") == addresses(participant)
    # The town's staff answer as the town, not in the host's name.
    body = Notification.objects.get(kind="thread_answer").rendered()[1]
    assert f"{board.task.municipality.name}の職員から" in body
    assert board.task.host_name not in body
    html = client_for(participant).get(f"/tasks/{board.task.pk}/question/").content.decode()
    assert f"{board.task.municipality.name}の職員" in html


def test_a_question_on_a_task_staff_posted_reaches_the_towns_staff():
    editor, colleague = staff_of(CHIZU), staff_of(CHIZU)
    task = published_task(CHIZU, staff=editor)
    assert task.host_id is None
    person = resident()
    response = api_as(person).post(
        f"/api/tasks/{task.pk}/question/", {"body": "子ども連れでも大丈夫？"}, format="json"
    )
    assert response.status_code == 201
    assert told("thread_question") == addresses(editor, colleague)


def test_the_questions_words_go_when_their_author_deletes_the_account(board):
    api_as(board.stranger).post(
        f"/api/tasks/{board.task.pk}/question/", {"body": "秘密の質問"}, format="json"
    )
    notifications_scrub_author(user=board.stranger)
    [notification] = Notification.objects.filter(kind="thread_question")
    assert "秘密の質問" not in notification.body
    assert board.stranger.public_name not in notification.body


def test_a_person_may_not_flood_the_host(board):
    api = api_as(board.stranger)
    for n in range(services.conversations.UNANSWERED_MAX):
        assert (
            api.post(
                f"/api/tasks/{board.task.pk}/question/", {"body": f"質問{n}"}, format="json"
            ).status_code
            == 201
        )
    error_of(
        api.post(f"/api/tasks/{board.task.pk}/question/", {"body": "もう一つ"}, format="json"),
        409,
        "questions_unanswered",
    )
    assert ThreadPost.objects.count() == services.conversations.UNANSWERED_MAX


def test_the_host_does_not_ask_on_their_own_task_and_a_draft_has_no_questions(board):
    error_of(
        api_as(board.host).post(
            f"/api/tasks/{board.task.pk}/question/", {"body": "自問"}, format="json"
        ),
        403,
        "question_own_task",
    )
    # The host's own page of questions is their list.
    response = client_for(board.host).get(f"/tasks/{board.task.pk}/question/")
    assert response["Location"] == f"/tasks/{board.task.pk}/questions/"
    draft = make_task(board.host, CHIZU, title="下書き")
    error_of(
        api_as(board.stranger).post(
            f"/api/tasks/{draft.pk}/question/", {"body": "これは？"}, format="json"
        ),
        404,
        "not_found",
    )
    assert not Thread.objects.exists()


# --- Who may not read or write -----------------------------------------------------------


@pytest.fixture
def thread(board) -> Thread:
    services.thread_post(task=board.task, actor=board.other, body="集合時間は？")
    return Thread.objects.get()


def test_nobody_else_reads_or_posts_in_someones_thread(board, thread):
    for person in (board.stranger, board.other_host, board.waiting, staff_of(AMA)):
        api = api_as(person)
        error_of(api.get(f"/api/threads/{thread.pk}/"), 404, "not_found")
        error_of(
            api.post(f"/api/threads/{thread.pk}/posts/", {"body": "割り込み"}, format="json"),
            404,
            "not_found",
        )
        client = client_for(person)
        assert client.get(f"/threads/{thread.pk}/").status_code == 404
        assert client.post(f"/threads/{thread.pk}/", {"body": "割り込み"}).status_code == 404
        # Their own page of the task shows their own (empty) thread, never someone else's.
        assert "集合時間は" not in page(client, f"/tasks/{board.task.pk}/question/")
    # Nor the list of a task's questions.
    for person in (board.stranger, board.other_host, board.other):
        error_of(
            api_as(person).get(f"/api/tasks/{board.task.pk}/threads/"), 403, "not_task_manager"
        )
        assert client_for(person).get(f"/tasks/{board.task.pk}/questions/").status_code == 403
    # Anonymous: 401 in the API, the log-in page for the pages.
    for path in (f"/api/threads/{thread.pk}/", f"/api/tasks/{board.task.pk}/question/"):
        error_of(api_as(None).get(path), 401, "not_authenticated")
    error_of(
        api_as(None).post(f"/api/threads/{thread.pk}/posts/", {"body": "x"}, format="json"),
        401,
        "not_authenticated",
    )
    for path in (f"/threads/{thread.pk}/", f"/tasks/{board.task.pk}/questions/"):
        response = client_for(None).get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert ThreadPost.objects.count() == 1  # nothing was added


def test_nobody_else_sends_or_reads_messages(board):
    body = {"audience": "all", "subject": "乗っ取り", "body": "偽の集合場所"}
    path = f"/api/tasks/{board.task.pk}/messages/"
    for person in (board.stranger, board.other_host, board.other, staff_of(AMA)):
        error_of(api_as(person).post(path, body, format="json"), 403, "not_task_manager")
        error_of(api_as(person).get(path), 403, "not_task_manager")
        client = client_for(person)
        assert client.post(f"/tasks/{board.task.pk}/messages/", body).status_code == 403
        assert client.get(f"/tasks/{board.task.pk}/messages/").status_code == 403
    error_of(api_as(None).post(path, body, format="json"), 401, "not_authenticated")
    response = client_for(None).post(f"/tasks/{board.task.pk}/messages/", body)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # A guessed task that does not exist, or a draft of another town's host: 404.
    draft = make_task(board.other_host, AMA)
    error_of(
        api_as(board.host).post(f"/api/tasks/{draft.pk}/messages/", body, format="json"),
        404,
        "not_found",
    )
    error_of(
        api_as(board.host).post("/api/tasks/999999/messages/", body, format="json"),
        404,
        "not_found",
    )
    assert not TaskMessage.objects.exists()
    assert not Notification.objects.filter(kind="task_message").exists()


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "required", "too_long"),
    [
        ("ja", "件名を書いてください。", "本文は3000文字以内にしてください（いま3001文字）。"),
        ("en", "Please enter a subject.", "Keep the text to 3000 characters (it has 3001)."),
    ],
)
def test_empty_and_too_long_messages_are_a_clear_400(board, language, required, too_long):
    api = api_as(board.host, language)
    path = f"/api/tasks/{board.task.pk}/messages/"
    error = error_of(
        api.post(path, {"audience": "all", "subject": " ", "body": "本文"}, format="json"),
        400,
        "message_subject_required",
    )
    assert error["fields"] == {"subject": [required]}
    error = error_of(
        api.post(path, {"audience": "all", "subject": "件名", "body": "あ" * 3001}, format="json"),
        400,
        "message_body_too_long",
    )
    assert error["fields"] == {"body": [too_long]}
    error_of(
        api.post(path, {"audience": "everyone", "subject": "件名", "body": "本文"}, format="json"),
        400,
    )
    assert not TaskMessage.objects.exists()


@pytest.mark.parametrize(
    ("language", "required", "too_long"),
    [
        (
            "ja",
            "質問や回答の本文を書いてください。",
            "本文は2000文字以内にしてください（いま2001文字）。",
        ),
        ("en", "Write your question or answer.", "Keep the text to 2000 characters (it has 2001)."),
    ],
)
def test_empty_and_too_long_posts_are_a_clear_400(board, thread, language, required, too_long):
    api = api_as(board.stranger, language)
    path = f"/api/tasks/{board.task.pk}/question/"
    error = error_of(api.post(path, {"body": "   "}, format="json"), 400, "question_required")
    assert error["message"] == required
    error = error_of(api.post(path, {"body": "あ" * 2001}, format="json"), 400, "question_too_long")
    assert error["message"] == too_long
    host = api_as(board.host, language)
    error = error_of(
        host.post(f"/api/threads/{thread.pk}/posts/", {"body": ""}, format="json"),
        400,
        "question_required",
    )
    assert error["message"] == required
    assert ThreadPost.objects.count() == 1


def test_the_pages_in_english_show_the_refusal_on_the_form(board):
    client = client_for(board.host, "en")
    html = page(client, f"/tasks/{board.task.pk}/participants/", language="en")
    assert "Send a message to participants" in html
    response = client.post(
        f"/tasks/{board.task.pk}/messages/",
        {"session": "", "audience": "holding", "subject": "", "body": ""},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert errors_of(html) == ["Please enter a subject.", "Please enter a message."]
    # The person's side, in English: the link on the task's page and a refused question.
    person = client_for(board.stranger, "en")
    assert "Ask the host" in page(person, f"/tasks/{board.task.pk}/", language="en")
    response = person.post(f"/tasks/{board.task.pk}/question/", {"body": ""})
    assert response.status_code == 200
    assert errors_of(response.content.decode()) == ["Write your question or answer."]
    assert not TaskMessage.objects.exists() and not Thread.objects.exists()


def test_the_persons_questions_are_in_their_export(board, thread):
    services.thread_post(task=board.task, actor=board.host, person=board.other, body="9時です。")
    [exported] = services.board_data_of(user=board.other)["questions"]
    assert exported["task"] == board.task.title
    assert [(p["by_host"], p["body"]) for p in exported["posts"]] == [
        (False, "集合時間は？"),
        (True, "9時です。"),
    ]
    assert services.board_data_of(user=board.stranger)["questions"] == []


def test_deleting_an_account_takes_its_questions_and_blanks_its_answers(board, thread):
    from accounts.services import account_delete

    services.thread_post(task=board.task, actor=board.host, person=board.other, body="9時です。")
    other_thread = services.thread_post(task=board.task, actor=board.stranger, body="駐車場は？")
    services.thread_post(
        task=board.task, actor=board.host, person=board.stranger, body="役場の駐車場へ。"
    )
    # The person who asked: their thread goes, and with it the answers written to them.
    account_delete(user=board.other)
    assert not Thread.objects.filter(pk=thread.pk).exists()
    # The host: their answers in the others' threads are blanked; the questions stay.
    account_delete(user=board.host)
    assert list(other_thread.thread.posts.values_list("by_host", "body")) == [
        (False, "駐車場は？"),
        (True, ""),
    ]
    html = page(client_for(board.stranger), f"/tasks/{board.task.pk}/question/")
    assert "役場の駐車場へ" not in html and "（削除されたアカウント）" in html
