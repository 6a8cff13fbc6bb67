"""The inbox, the e-mail outbox and what each person chose to receive.

A notification is written in the same transaction as the change that causes it, so it is
never lost nor sent for a change that was rolled back. It stores its *kind*, its *topic* (what
a person chooses about) and a small JSON context, not rendered text: it is rendered when read
or mailed, in the reader's language, from the template ``notifications/<kind>.txt`` (first
line the subject, the rest the body) that the app causing it provides. ``key`` makes sending
idempotent per recipient.

E-mail goes through ``Email``, the outbox: a row per message written in that same
transaction, delivered later by the relay (``notifications.relay``). How often at most
depends on the topic (``AT_LEAST_ONCE_TOPICS``): where a lost e-mail hurts, a message whose
fate is unknown is sent again (at least once, the same Message-ID); elsewhere never twice.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.template import Context, engines
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Topic(models.TextChoices):
    """What a person chooses to hear about, each with its own preferences."""

    SIGNUPS = "signups", _("申込の受付・確定")
    PROMOTIONS = "promotions", _("キャンセル待ちからの繰り上げ")
    REMINDERS = "reminders", _("開催前のリマインダー")
    CHANGES = "changes", _("お手伝いの変更・中止")
    MATCHES = "matches", _("あなたに合う新しいお手伝い")
    PLACES = "places", _("見守り中のお手伝いの空き")
    ANNOUNCEMENTS = "announcements", _("自治体からのお知らせ")
    REGISTRY = "registry", _("ふるさと住民登録の手続き")
    HOSTING = "hosting", _("ヌシ・自治体職員としてのお知らせ")
    # For whoever runs a task (its host, or the town's staff for a task they posted):
    # sign-ups, requests, cancellations, promotions, lapsed offers, thank-yous, questions.
    PARTICIPANTS = "participants", _("参加者の申込・キャンセル・質問（ヌシ・職員向け）")
    # For participants: the host's messages and the answers to their questions.
    MESSAGES = "messages", _("ヌシからのメッセージ・質問への回答")


# E-mail whose loss hurts (a confirmed place, an offer with a deadline, a change or a
# cancellation): a message whose fate is unknown (*uncertain*) is sent again, with the same
# Message-ID, up to ``NOTIFICATIONS_UNCERTAIN_RESENDS`` times. Every other topic, and every
# digest, is sent at most once: an uncertain message is never sent again.
AT_LEAST_ONCE_TOPICS = frozenset({Topic.SIGNUPS, Topic.PROMOTIONS, Topic.CHANGES, Topic.MESSAGES})


class Channel(models.TextChoices):
    INBOX = "inbox", _("サイト内のお知らせ")
    EMAIL = "email", _("メール")


class Frequency(models.TextChoices):
    IMMEDIATELY = "immediately", _("すぐに")
    DAILY = "daily", _("1日1回まとめて")
    WEEKLY = "weekly", _("週1回まとめて")
    NEVER = "never", _("受け取らない")


# The inbox is read when the person looks: it has no digests.
CHANNEL_FREQUENCIES = {
    Channel.INBOX: (Frequency.IMMEDIATELY, Frequency.NEVER),
    Channel.EMAIL: tuple(Frequency),
}
DIGEST_FREQUENCIES = (Frequency.DAILY, Frequency.WEEKLY)


# What a deleted account's words and name become in the notifications that carried them:
# stored in the source language, shown in the reader's.
DELETED_ACCOUNT_STORED = "（削除されたアカウント）"
DELETED_ACCOUNT = _("（削除されたアカウント）")


def default_frequency(topic: str, channel: str) -> str:
    """What a person receives before choosing: everything, as it happens (match
    notifications are capped per week, ``NOTIFICATIONS_MATCH_WEEKLY_CAP``)."""
    return Frequency.IMMEDIATELY


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("受け取る人"),
    )
    kind = models.CharField(_("種類"), max_length=48)
    topic = models.CharField(_("話題"), max_length=16, choices=Topic.choices)
    key = models.CharField(_("重複防止キー"), max_length=160)
    context = models.JSONField(_("内容"), default=dict, blank=True)
    url = models.CharField(_("リンク"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    read_at = models.DateTimeField(_("既読日時"), null=True, blank=True)
    # False when the person turned the inbox off for the topic but still wants the e-mail.
    in_inbox = models.BooleanField(_("受信箱に表示"), default=True)
    # The digest the e-mail waits for ("daily"/"weekly"), and once bundled, that e-mail's key.
    digest = models.CharField(_("まとめて送るメール"), max_length=8, blank=True)
    digest_key = models.CharField(max_length=160, blank=True, editable=False)
    # Whose own words or name the context carries, under which keys (an applicant's
    # organisation, a participant's thank-you): when that person deletes their account,
    # ``notifications_scrub_author`` replaces those values with ``DELETED_ACCOUNT``, for the
    # inbox, the API and any e-mail still waiting (e-mail is rendered when it is sent).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the partial index below: most notifications carry nobody's words
        verbose_name=_("内容の書き手"),
    )
    author_keys = models.JSONField(_("書き手の言葉のキー"), default=list, blank=True)
    author_deleted = models.BooleanField(_("書き手は退会済み"), default=False)

    class Meta:
        verbose_name = _("お知らせ")
        verbose_name_plural = pgettext_lazy("plural", "お知らせ")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], name="notifications_unique_recipient_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notifications_inbox_idx"
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, in_inbox=True),
                name="notifications_unread_idx",
            ),
            # What the digests still have to bundle.
            models.Index(
                fields=["digest", "recipient", "created_at"],
                condition=~Q(digest="") & Q(digest_key=""),
                name="notifications_digest_due_idx",
            ),
            # The weekly cap counts a person's recent notifications of a topic.
            models.Index(
                fields=["recipient", "topic", "created_at"], name="notifications_topic_idx"
            ),
            # What to scrub when an author deletes their account.
            models.Index(
                fields=["author"],
                condition=Q(author__isnull=False),
                name="notifications_author_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} {self.key}"

    def rendered(self) -> tuple[str, str]:
        """(subject, body) in the active language."""
        template = engines["django"].engine.get_template(f"notifications/{self.kind}.txt")
        context = self.context
        if self.author_deleted:  # the placeholder in the reader's language
            context = {**context, **dict.fromkeys(self.author_keys, str(DELETED_ACCOUNT))}
        # Plain text: nothing is HTML-escaped here; pages escape it where they show it.
        text = template.render(Context(context, autoescape=False)).strip()
        subject, _sep, body = text.partition("\n")
        return subject.strip(), body.strip()

    @property
    def subject(self) -> str:
        return self.rendered()[0]

    @property
    def body(self) -> str:
        return self.rendered()[1]


class Preference(models.Model):
    """A person's choice for one topic and channel; without a row, ``default_frequency``."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("利用者"),
    )
    topic = models.CharField(_("話題"), max_length=16, choices=Topic.choices)
    channel = models.CharField(_("受け取り方"), max_length=8, choices=Channel.choices)
    frequency = models.CharField(_("頻度"), max_length=12, choices=Frequency.choices)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("お知らせの設定")
        verbose_name_plural = pgettext_lazy("plural", "お知らせの設定")
        ordering = ["person", "topic", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "topic", "channel"], name="notifications_preference_unique"
            ),
            models.CheckConstraint(
                name="notifications_preference_inbox_no_digest",
                condition=~Q(channel="inbox") | Q(frequency__in=["immediately", "never"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.topic}/{self.channel}: {self.frequency}"


class EmailState(models.TextChoices):
    PENDING = "pending", _("送信待ち")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信できなかった")
    # The SMTP server had the message and no answer came (the worker or the database died
    # mid-send, the connection dropped or timed out after DATA): it may have arrived. Of an
    # at-least-once topic it goes back to pending for a resend (a bounded number of times);
    # otherwise it is never sent again (no duplicates). Counted for the operators.
    UNCERTAIN = "uncertain", _("送信結果不明")


def new_message_id() -> str:
    """A Message-ID fixed when the e-mail is written: every attempt carries the same one."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "furusato.localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


class Email(models.Model):
    """One e-mail in the outbox: a notification's (same ``key``) or a digest's.

    pending → sending → sent; a transient failure goes back to pending with a later
    ``next_attempt_at``; a permanent one, or too many attempts, ends in failed."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="emails",
        verbose_name=_("受け取る人"),
    )
    key = models.CharField(_("重複防止キー"), max_length=160)
    # "" for one notification's e-mail; "daily"/"weekly" for a digest of several.
    digest = models.CharField(_("まとめメール"), max_length=8, blank=True)
    topic = models.CharField(_("話題"), max_length=16, choices=Topic.choices, blank=True)
    message_id = models.CharField(max_length=100, unique=True, default=new_message_id)
    state = models.CharField(
        _("状態"), max_length=12, choices=EmailState.choices, default=EmailState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("試行回数"), default=0)
    # How many times it was sent again after an uncertain attempt (at-least-once topics).
    resends = models.PositiveSmallIntegerField(_("結果不明後の再送回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次の送信時刻"), default=timezone.now)
    # A relay holds a pending row until then; past it, another relay may take it.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # When a relay claimed it, by the database's clock: a claim older than the database
    # server's start may have lost the relay's asynchronous commits (see the relay).
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sending_since = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    last_error = models.CharField(_("最後のエラー"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)

    class Meta:
        verbose_name = _("メール")
        verbose_name_plural = pgettext_lazy("plural", "メール")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notifications_email_key"),
            models.CheckConstraint(
                name="notifications_email_sent_has_date",
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
            ),
        ]
        indexes = [
            # The relay's queue.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(state="pending"),
                name="notifications_email_due_idx",
            ),
            models.Index(
                fields=["sending_since"],
                condition=Q(state="sending"),
                name="notif_email_sending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.key} ({self.state})"
