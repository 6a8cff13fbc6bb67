"""Words between a task's host and its people: the host's (or staff's) messages to a
session's or a task's participants, and one private question thread per person and task."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .board import Session, Task


class Audience(models.TextChoices):
    HOLDING = "holding", _("参加が決まった人")
    WAITING = "waiting", _("キャンセル待ち・承認待ちの人")
    ALL = "all", _("両方")


class TaskMessage(models.Model):
    """A message from the host or staff to a task's (or one session's) participants; the
    history stays on the task for the people who run it."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="messages", verbose_name=_("お手伝い")
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("開催回（空欄はすべての回）"),
    )
    audience = models.CharField(_("宛先"), max_length=16, choices=Audience.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("送った人"),
    )
    subject = models.CharField(_("件名"), max_length=120)
    body = models.TextField(_("本文"), max_length=3000)
    recipients = models.PositiveIntegerField(_("送った人数"), default=0)
    created_at = models.DateTimeField(_("送信日時"), default=timezone.now)

    class Meta:
        verbose_name = _("参加者へのメッセージ")
        verbose_name_plural = pgettext_lazy("plural", "参加者へのメッセージ")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["task", "-created_at"], name="matching_message_task_idx"),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} on {self.task_id}"


class Thread(models.Model):
    """One person's private questions to a task's host, and the answers."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="threads", verbose_name=_("お手伝い")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="task_threads",
        verbose_name=_("質問した人"),
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    last_posted_at = models.DateTimeField(_("最後の投稿日時"), default=timezone.now)

    class Meta:
        verbose_name = _("ヌシへの質問")
        verbose_name_plural = pgettext_lazy("plural", "ヌシへの質問")
        ordering = ["-last_posted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "person"], name="matching_thread_one_per_person"
            ),
        ]
        indexes = [
            models.Index(fields=["task", "-last_posted_at"], name="matching_thread_task_idx"),
        ]

    def __str__(self) -> str:
        return f"thread {self.pk} ({self.person_id} on {self.task_id})"


class ThreadPost(models.Model):
    """A question or an answer in a thread."""

    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="posts", verbose_name=_("質問")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("書いた人"),
    )
    # True for the host's or staff's answers, False for the person's own questions.
    by_host = models.BooleanField(_("ヌシ・職員の回答"), default=False)
    body = models.TextField(_("本文"), max_length=2000)
    created_at = models.DateTimeField(_("投稿日時"), default=timezone.now)

    class Meta:
        verbose_name = _("質問への投稿")
        verbose_name_plural = pgettext_lazy("plural", "質問への投稿")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["thread", "created_at"], name="matching_threadpost_idx"),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} in {self.thread_id}"
