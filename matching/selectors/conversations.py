"""Reads of the words between host and participants: who a message reaches, a task's
messages and question threads for the people who run it, and one person's own thread."""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404

from accounts.models import User

from ..models import (
    HOLDING_STATUSES,
    Audience,
    Session,
    Signup,
    SignupStatus,
    Task,
    TaskMessage,
    Thread,
    ThreadPost,
)
from .board import check_manage, may_manage_task

WAITING_STATUSES = (SignupStatus.WAITLISTED, SignupStatus.PENDING)
AUDIENCE_STATUSES = {
    Audience.HOLDING: HOLDING_STATUSES,
    Audience.WAITING: WAITING_STATUSES,
    Audience.ALL: (*HOLDING_STATUSES, *WAITING_STATUSES),
}


def message_recipients(*, task: Task, audience: str, session: Session | None = None) -> list[int]:
    """The people a message to ``audience`` reaches, each once however many sign-ups they
    have on the task: holding a place (confirmed or offered), waiting (waiting list or the
    host's approval), or both."""
    signups = Signup.objects.filter(session__task=task, status__in=AUDIENCE_STATUSES[audience])
    if session is not None:
        signups = signups.filter(session=session)
    return sorted(set(signups.values_list("person_id", flat=True)))


def task_messages_of(*, viewer: User, task: Task) -> QuerySet[TaskMessage]:
    """The task's messages, newest first, for the people who run it."""
    check_manage(viewer, task)
    return TaskMessage.objects.filter(task=task).select_related("session", "author")


def _with_last_post(threads: QuerySet[Thread]) -> QuerySet[Thread]:
    last = ThreadPost.objects.filter(thread=OuterRef("pk")).order_by("-created_at", "-id")
    return threads.annotate(
        post_count=Count("posts", distinct=True),
        last_by_host=Subquery(last.values("by_host")[:1]),
        last_body=Subquery(last.values("body")[:1]),
    )


def threads_of(*, viewer: User, task: Task) -> QuerySet[Thread]:
    """The task's threads, newest post first, for the people who run it; each with its
    number of posts and whether its last post is an answer (``last_by_host``)."""
    check_manage(viewer, task)
    return _with_last_post(Thread.objects.filter(task=task).select_related("person")).order_by(
        "-last_posted_at", "-id"
    )


def thread_get(*, viewer: User, pk: int) -> Thread:
    """A thread its person or the task's managers read; to anyone else it does not exist."""
    thread = (
        Thread.objects.select_related("task__municipality", "task__host", "person")
        .filter(pk=pk)
        .first()
    )
    if thread is None or not (
        thread.person_id == viewer.pk or may_manage_task(viewer, thread.task)
    ):
        raise Http404
    return thread


def thread_of(*, viewer: User, task: Task) -> Thread | None:
    """The viewer's own thread on the task, if they have asked."""
    return Thread.objects.filter(task=task, person=viewer).select_related("person").first()


def posts_of(thread: Thread) -> QuerySet[ThreadPost]:
    """A thread's posts, oldest first (read with ``thread_get`` or ``thread_of``)."""
    return (
        ThreadPost.objects.filter(thread=thread)
        .select_related("author")
        .order_by("created_at", "id")
    )


def questions_data_of(*, user: User) -> list[dict]:
    """The person's questions to hosts and the answers, JSON-ready (their export)."""
    threads = Thread.objects.filter(person=user).select_related("task").order_by("created_at", "id")
    return [
        {
            "task": thread.task.title,
            "posts": [
                {"by_host": by_host, "body": body, "created_at": created.isoformat()}
                for by_host, body, created in thread.posts.order_by("created_at", "id").values_list(
                    "by_host", "body", "created_at"
                )
            ],
        }
        for thread in threads
    ]
