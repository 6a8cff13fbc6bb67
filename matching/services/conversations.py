"""Words between a task's host and its people: the host's (or the town's staff's) messages to
a session's or a task's participants, and each person's private questions to the host.

- ``task_message_send``: one message to the people holding a place, waiting for one, or both
  (of one session or of the whole task); each person once, in their inbox and by e-mail (as
  they chose for ``Topic.MESSAGES``), in their language. The message stays on the task for
  the people who run it.
- ``thread_post``: a person asks (before or after signing up), the host or staff answer in
  the same thread; the other side is told. Only the person and the task's managers read it.

The reads are here too (``task_messages_of``, ``threads_of``, ``thread_get``,
``thread_of``), each with the reader as an argument, so that no caller forgets who may read.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.errors import Conflict, Denied
from notifications.models import Topic
from notifications.services import notification_send

from ..errors import MatchingCode
from ..locks import lock_task, lock_thread
from ..models import (
    Audience,
    Session,
    Task,
    TaskMessage,
    Thread,
    ThreadPost,
)
from ..selectors import check_manage, may_manage_task, message_recipients
from ._common import (
    _session_context,
    _task_context,
    _task_url,
    task_runners,
)

SUBJECT_MAX = 120  # TaskMessage.subject
MESSAGE_BODY_MAX = 3000  # TaskMessage.body
POST_BODY_MAX = 2000  # ThreadPost.body
# A person's questions waiting for an answer, at most: the host is not flooded.
UNANSWERED_MAX = 5
# The same message to the same people again within this time is a form sent twice.
DUPLICATE_WINDOW = datetime.timedelta(minutes=10)


# --- Messages to participants ------------------------------------------------------------


def _message_errors(task, session, audience, subject, body) -> dict[str, ValidationError]:
    errors: dict[str, ValidationError] = {}
    if audience not in Audience.values:
        errors["audience"] = ValidationError(
            _(
                "宛先は「参加が決まった人」「キャンセル待ち・承認待ちの人」「両方」から選んでください。"
            ),
            code=MatchingCode.MESSAGE_AUDIENCE_INVALID,
        )
    if session is not None and session.task_id != task.pk:
        errors["session"] = ValidationError(
            _("この開催回は、このお手伝いの回ではありません。"),
            code=MatchingCode.NOT_TASK_SESSION,
        )
    if not subject:
        errors["subject"] = ValidationError(
            _("件名を書いてください。"), code=MatchingCode.MESSAGE_SUBJECT_REQUIRED
        )
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = ValidationError(
            _("件名は%(max)d文字以内にしてください（いま%(length)d文字）。")
            % {"max": SUBJECT_MAX, "length": len(subject)},
            code=MatchingCode.MESSAGE_SUBJECT_TOO_LONG,
        )
    if not body:
        errors["body"] = ValidationError(
            _("本文を書いてください。"), code=MatchingCode.MESSAGE_BODY_REQUIRED
        )
    elif len(body) > MESSAGE_BODY_MAX:
        errors["body"] = ValidationError(
            _("本文は%(max)d文字以内にしてください（いま%(length)d文字）。")
            % {"max": MESSAGE_BODY_MAX, "length": len(body)},
            code=MatchingCode.MESSAGE_BODY_TOO_LONG,
        )
    return errors


def task_message_send(
    *,
    task: Task,
    actor: User,
    audience: str,
    subject: str,
    body: str,
    session: Session | None = None,
) -> TaskMessage:
    """The task's host or staff write to the people of one session (or of all of them) who
    hold a place, wait for one, or both. Each is told once (the message's own key: a retry
    tells nobody twice), never the sender; a message to nobody is refused."""
    check_manage(actor, task)
    subject = " ".join((subject or "").split())  # one line: it is an e-mail's subject
    body = (body or "").strip()
    errors = _message_errors(task, session, audience, subject, body)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        # One message at a time per task, so that a form sent twice is caught below.
        lock_task(task.pk)
        if TaskMessage.objects.filter(
            task=task,
            session=session,
            audience=audience,
            subject=subject,
            body=body,
            created_at__gte=now - DUPLICATE_WINDOW,
        ).exists():
            raise Conflict(
                _(
                    "同じメッセージを、10分以内に同じ宛先へ送っています。二重に送られないよう止めました。"
                ),
                code=MatchingCode.MESSAGE_DUPLICATE,
            )
        people = [
            pk
            for pk in message_recipients(task=task, audience=audience, session=session)
            if pk != actor.pk
        ]
        if not people:
            raise Conflict(
                _(
                    "この宛先には、いまメッセージを受け取る人がいません。開催回か宛先を選び直してください。"
                ),
                code=MatchingCode.MESSAGE_NO_RECIPIENTS,
            )
        message = TaskMessage.objects.create(
            task=task,
            session=session,
            audience=audience,
            author=actor,
            subject=subject,
            body=body,
            created_at=now,
        )
        extra = _session_context(session) if session is not None else {}
        told = notification_send(
            recipients=people,
            kind="task_message",
            topic=Topic.MESSAGES,
            key=f"task_message:{message.pk}",
            context=_task_context(task, host=task.host_name, subject=subject, body=body, **extra),
            url=_task_url(task),
            author=actor,
            author_keys=["subject", "body"],
        )
        message.recipients = len(told)
        message.save(update_fields=["recipients"])
        audit_record(
            actor=actor,
            action="task_message.send",
            target=message,
            municipality=task.municipality,
            detail={
                "task": task.pk,
                "session": session.pk if session is not None else None,
                "audience": audience,
                "addressed": len(people),
                "told": len(told),
            },
        )
    return message


# --- Questions to the host ---------------------------------------------------------------


def _post_errors(body: str) -> dict[str, ValidationError]:
    if not body:
        return {
            "body": ValidationError(
                _("質問や回答の本文を書いてください。"), code=MatchingCode.QUESTION_REQUIRED
            )
        }
    if len(body) > POST_BODY_MAX:
        return {
            "body": ValidationError(
                _("本文は%(max)d文字以内にしてください（いま%(length)d文字）。")
                % {"max": POST_BODY_MAX, "length": len(body)},
                code=MatchingCode.QUESTION_TOO_LONG,
            )
        }
    return {}


def _unanswered(thread: Thread) -> int:
    """The person's posts since the last answer (in the order they were written: ids, as
    the posts of a thread are written under its lock)."""
    last_answer = (
        ThreadPost.objects.filter(thread=thread, by_host=True)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    posts = ThreadPost.objects.filter(thread=thread, by_host=False)
    if last_answer is not None:
        posts = posts.filter(id__gt=last_answer)
    return posts.count()


def thread_post(*, task: Task, actor: User, body: str, person: User | None = None) -> ThreadPost:
    """A person asks the task's host (``person`` left out, or themselves), or the task's
    host or staff answer ``person`` in that person's thread. The other side is told: the
    host (or the town's staff) under ``Topic.PARTICIPANTS``, the person under
    ``Topic.MESSAGES``."""
    manages = may_manage_task(actor, task)
    asking = person is None or person.pk == actor.pk
    if asking and manages:
        raise Denied(
            _("ご自身が運営するお手伝いには質問できません。届いた質問には回答できます。"),
            code=MatchingCode.QUESTION_OWN_TASK,
        )
    if not asking and not manages:
        raise Denied(
            _("このお手伝いを管理する権限がありません。"), code=MatchingCode.NOT_TASK_MANAGER
        )
    body = (body or "").strip()
    errors = _post_errors(body)
    if errors:
        raise ValidationError(errors)
    if asking and not task.is_public:
        raise Conflict(
            _("公開中のお手伝いにだけ質問できます。"), code=MatchingCode.QUESTION_TASK_NOT_OPEN
        )
    now = timezone.now()
    with transaction.atomic():
        if asking:
            thread, _created = Thread.objects.get_or_create(
                task=task, person=actor, defaults={"created_at": now, "last_posted_at": now}
            )
        else:
            thread = Thread.objects.filter(task=task, person=person).first()
            if thread is None:  # an answer needs a question
                raise Http404
        thread = lock_thread(thread.pk)
        if asking and _unanswered(thread) >= UNANSWERED_MAX:
            raise Conflict(
                _(
                    "回答を待っている質問が%(n)d件あります。ヌシが回答してから、続けて質問してください。"
                )
                % {"n": UNANSWERED_MAX},
                code=MatchingCode.QUESTIONS_UNANSWERED,
            )
        post = ThreadPost.objects.create(
            thread=thread, author=actor, by_host=not asking, body=body, created_at=now
        )
        thread.last_posted_at = now
        thread.save(update_fields=["last_posted_at"])
        if asking:
            notification_send(
                recipients=[pk for pk in task_runners(task) if pk != actor.pk],
                kind="thread_question",
                topic=Topic.PARTICIPANTS,
                key=f"thread_post:{post.pk}",
                context=_task_context(
                    task, thread_id=thread.pk, name=actor.public_name or "", body=body
                ),
                url=reverse("matching:thread_detail", args=[thread.pk]),
                author=actor,
                author_keys=["name", "body"],
            )
        else:
            notification_send(
                recipients=[thread.person_id],
                kind="thread_answer",
                topic=Topic.MESSAGES,
                key=f"thread_post:{post.pk}",
                # The town's staff answer as the town, never in the host's name.
                context=_task_context(
                    task, host=task.host_name, by_staff=actor.pk != task.host_id, body=body
                ),
                url=reverse("matching:thread_mine", args=[task.pk]),
                author=actor,
                author_keys=["body"],
            )
    return post


def conversations_anonymise(*, user: User) -> None:
    """On account deletion: the person's own threads go (their questions and the answers
    written to them alone), and what they wrote in other people's threads (as a task's host
    or staff) is blanked. Their messages to participants stay on the task, as the task's
    record (the town's staff run it on); the notifications that carried them were scrubbed
    with the author's other words (``notifications_scrub_author``)."""
    Thread.objects.filter(person=user).delete()
    ThreadPost.objects.filter(author=user).update(body="")
