"""The board (ヒダスケ!-style): hosts, help tasks (お手伝い), their sessions and sign-ups.

A task belongs to a municipality and optionally a host (ヌシ); it has one or more sessions,
each with a capacity. A sign-up is one person for one session. The places a session has
given away are counted on the session row (``taken``), which is changed only under that
row's lock, so that capacity holds under any concurrency; the database checks it too.

Lock order, everywhere: a session's row, then a person's row. Never the other way round.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from registry.models import Category

# --- Hosts -------------------------------------------------------------------------------


class HostApplicationStatus(models.TextChoices):
    PENDING = "pending", _("審査中")
    APPROVED = "approved", _("承認")
    REFUSED = "refused", _("不承認")
    WITHDRAWN = "withdrawn", _("取り下げ")


class HostApplication(models.Model):
    """A person asks to host (ヌシ) for a municipality; its staff approve or refuse.

    Approval grants the host role (an ``accounts.Membership``)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="host_applications",
        verbose_name=_("申請した人"),
    )
    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="host_applications",
        verbose_name=_("市区町村"),
    )
    organisation = models.CharField(_("団体名・屋号"), max_length=100, blank=True)
    message = models.TextField(_("困りごと・やりたいこと"), max_length=2000)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=HostApplicationStatus.choices,
        default=HostApplicationStatus.PENDING,
    )
    applied_at = models.DateTimeField(_("申請日時"), default=timezone.now)
    decided_at = models.DateTimeField(_("審査日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("審査した職員"),
    )
    decision_note = models.TextField(_("審査のコメント"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("ヌシの申請")
        verbose_name_plural = pgettext_lazy("plural", "ヌシの申請")
        ordering = ["-applied_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "municipality"],
                condition=Q(status="pending"),
                name="matching_hostapp_one_pending",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "status"], name="matching_hostapp_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.municipality_id} ({self.status})"


# --- Tasks -------------------------------------------------------------------------------


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    IN_REVIEW = "in_review", _("審査中")
    PUBLISHED = "published", _("募集中")
    CLOSED = "closed", _("募集終了")
    COMPLETED = "completed", _("終了")
    CANCELLED = "cancelled", _("中止")


# Statuses in which the task is shown to everyone.
PUBLIC_STATUSES = (TaskStatus.PUBLISHED, TaskStatus.CLOSED, TaskStatus.COMPLETED)
# Statuses in which its content may still change.
EDITABLE_STATUSES = (TaskStatus.DRAFT, TaskStatus.IN_REVIEW, TaskStatus.PUBLISHED)


class SignupMode(models.TextChoices):
    FIRST_COME = "first_come", _("先着順")
    APPROVAL = "approval", _("ヌシが選ぶ（承認制）")


def task_photo_path(task: Task, filename: str) -> str:
    return f"tasks/{timezone.now():%Y/%m}/{filename}"


class Task(models.Model):
    """A help task (お手伝い) of a municipality."""

    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name=_("市区町村"),
    )
    # Denormalised from the municipality, for the prefecture filter on an index.
    prefecture = models.ForeignKey(
        "places.Prefecture", on_delete=models.PROTECT, related_name="+", editable=False
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hosted_tasks",
        verbose_name=_("ヌシ"),
    )
    host_name = models.CharField(_("ヌシの名前（表示名）"), max_length=100)
    title = models.CharField(_("タイトル"), max_length=120)
    description = models.TextField(_("お手伝いの内容"), max_length=5000)
    host_message = models.TextField(_("ヌシの想い"), max_length=3000, blank=True)
    schedule = models.TextField(
        _("当日のスケジュール"),
        max_length=2000,
        blank=True,
        help_text=_("例: 9:00 集合・説明／9:30 作業開始／12:00 昼食／15:00 解散"),
    )
    category = models.CharField(_("カテゴリ"), max_length=16, choices=Category.choices)
    skills = models.BigIntegerField(_("あると助かる技能"), default=0)
    is_online = models.BooleanField(_("オンライン"), default=False)
    address = models.CharField(_("集合場所・住所"), max_length=200, blank=True)
    latitude = models.FloatField(_("緯度"), null=True, blank=True)
    longitude = models.FloatField(_("経度"), null=True, blank=True)
    minimum_age = models.PositiveSmallIntegerField(
        _("参加できる年齢（何歳以上）"), null=True, blank=True
    )
    what_to_bring = models.TextField(_("持ち物・服装"), max_length=1000, blank=True)
    reward = models.TextField(
        _("オカエシ"),
        max_length=1000,
        help_text=_("地元の産品、食事、体験、地域通貨のポイントなど"),
    )
    conditions = models.TextField(_("参加条件"), max_length=1000, blank=True)
    participant_costs = models.TextField(
        _("参加者の負担"),
        max_length=1000,
        default=_("現地までの交通費は参加者の負担です。"),
        help_text=_("交通費・宿泊費・食費など、参加者が払うもの"),
    )
    weather_policy = models.TextField(_("雨天・延期のとき"), max_length=1000, blank=True)
    signup_mode = models.CharField(
        _("参加の決め方"), max_length=16, choices=SignupMode.choices, default=SignupMode.FIRST_COME
    )
    signup_close_hours = models.PositiveIntegerField(
        _("申込締切（各回の開始の何時間前）"), default=24
    )
    cancel_close_hours = models.PositiveIntegerField(
        _("キャンセル締切（各回の開始の何時間前）"), default=24
    )
    confirm_window_hours = models.PositiveIntegerField(
        _("繰り上げ後の確認期限（時間）"),
        null=True,
        blank=True,
        help_text=_(
            "キャンセル待ちから繰り上がった人が、この時間内に参加を確定しないと次の人に回ります。"
            "空欄なら確認なしで確定します。"
        ),
    )
    designated = models.BooleanField(
        _("担い手活動（プレミアム登録の活動実績になる）"), default=False
    )
    # What the roster asks of each participant at sign-up besides name and furigana, and
    # why (shown before they agree): a phone number, an emergency contact, a birth date
    # (ボランティア保険, for example).
    asks_phone = models.BooleanField(_("参加者の電話番号を聞く"), default=False)
    asks_emergency_contact = models.BooleanField(_("緊急連絡先を聞く"), default=False)
    asks_birth_date = models.BooleanField(_("生年月日を聞く"), default=False)
    asks_reason = models.CharField(
        _("聞く理由"),
        max_length=200,
        blank=True,
        help_text=_("例：ボランティア保険に加入するため"),
    )
    photo = models.ImageField(_("写真"), upload_to=task_photo_path, blank=True)
    photo_alt = models.CharField(_("写真の説明"), max_length=200, blank=True)

    status = models.CharField(
        _("状態"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("作成した人"),
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)
    submitted_at = models.DateTimeField(_("審査依頼日時"), null=True, blank=True)
    published_at = models.DateTimeField(_("公開日時"), null=True, blank=True)
    review_note = models.TextField(_("差し戻しの理由"), max_length=1000, blank=True)
    cancelled_at = models.DateTimeField(_("中止日時"), null=True, blank=True)
    cancel_reason = models.TextField(_("中止の理由"), max_length=1000, blank=True)

    # The first and last session's start, kept by the services, for sorting and date ranges.
    starts_at = models.DateTimeField(null=True, blank=True, editable=False)
    ends_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last moment anyone may still sign up (the last session's deadline).
    signup_closes_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The search key (core.search: NFKC, katakana folded to hiragana, with the reading of
    # the kanji and the municipality's name and reading), what free-text search looks in;
    # the text itself stays as typed. On PostgreSQL its 1- and 2-grams are in the generated
    # column search_grams, which this model leaves undeclared so that no read carries it
    # (migrations 0009 and 0010, matching.selectors.search).
    search_text = models.TextField(blank=True, editable=False)
    # The days (registry.AvailableDays bits) and months (registry.Month bits) of its
    # scheduled sessions, kept by the services: matched against people's availability.
    session_days = models.PositiveSmallIntegerField(default=0, editable=False)
    session_months = models.PositiveSmallIntegerField(default=0, editable=False)
    # The matcher's work, in the database (beat's sweep finds it if no broker took it):
    # set when the task is published or changed, cleared when its matches are stored.
    match_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How wide the matcher casts its net: 1 when published, 2 once a session is understaffed.
    match_wave = models.PositiveSmallIntegerField(default=1, editable=False)

    # 活動レポート, published by the host after the event.
    report = models.TextField(_("活動レポート"), max_length=5000, blank=True)
    report_photo = models.ImageField(_("レポートの写真"), upload_to=task_photo_path, blank=True)
    report_published_at = models.DateTimeField(_("レポート公開日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("お手伝い")
        verbose_name_plural = pgettext_lazy("plural", "お手伝い")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="matching_task_coordinate_pair",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__range=(20, 46), longitude__range=(122, 154)),
            ),
            models.CheckConstraint(
                name="matching_task_minimum_age_range", condition=Q(minimum_age__lte=100)
            ),
            models.CheckConstraint(
                name="matching_task_cancelled_has_date",
                condition=Q(status="cancelled", cancelled_at__isnull=False)
                | ~Q(status="cancelled"),
            ),
        ]
        indexes = [
            # The public board: what is shown, by date and by newest.
            models.Index(
                fields=["starts_at", "id"],
                condition=Q(status__in=["published", "closed", "completed"]),
                name="matching_task_public_date_idx",
            ),
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(status__in=["published", "closed", "completed"]),
                name="matching_task_public_new_idx",
            ),
            models.Index(
                fields=["municipality", "status", "starts_at"], name="matching_task_muni_idx"
            ),
            models.Index(
                fields=["prefecture", "status", "starts_at"], name="matching_task_pref_idx"
            ),
            models.Index(fields=["category", "status", "starts_at"], name="matching_task_cat_idx"),
            models.Index(fields=["host", "status"], name="matching_task_host_idx"),
            # The live board (published, what every search shows by default), by date:
            # without it a page walks the public index past every completed task, and a
            # count reads the whole table. With the columns the default filters and "open
            # only" read, counting reads the index alone (bench/RESULTS.md, "Board"). Key
            # columns rather than INCLUDE, which SQLite lacks.
            models.Index(
                fields=["starts_at", "id", "ends_at", "signup_closes_at", "signup_close_hours"],
                condition=Q(status="published"),
                name="matching_task_live_idx",
            ),
            models.Index(
                fields=["match_requested_at"],
                condition=Q(match_requested_at__isnull=False),
                name="matching_task_match_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.PUBLISHED

    def place_coordinate(self) -> tuple[float, float] | None:
        """Where it happens: its own coordinate, else its municipality's; none if online."""
        if self.is_online:
            return None
        if self.latitude is not None:
            return (self.latitude, self.longitude)
        return (self.municipality.latitude, self.municipality.longitude)


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("予定")
    CANCELLED = "cancelled", _("中止")


class Session(models.Model):
    """One date of a task (開催回), with its capacity and the places given away."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("お手伝い")
    )
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    capacity = models.PositiveIntegerField(_("定員"))
    # Places held: confirmed sign-ups and offers to the waiting list. Changed under lock only.
    taken = models.PositiveIntegerField(_("確定した人数"), default=0, editable=False)
    status = models.CharField(
        _("状態"), max_length=16, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    # When its host and staff were told it is not filled, days before (once per session).
    understaffed_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("開催回")
        verbose_name_plural = pgettext_lazy("plural", "開催回")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="matching_session_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))
            ),
            models.CheckConstraint(
                name="matching_session_capacity_range", condition=Q(capacity__range=(1, 10000))
            ),
            models.CheckConstraint(
                name="matching_session_taken_within_capacity",
                condition=Q(taken__gte=0, taken__lte=F("capacity")),
            ),
        ]
        indexes = [
            models.Index(fields=["task", "starts_at"], name="matching_session_task_idx"),
            models.Index(
                fields=["starts_at"],
                condition=Q(status="scheduled"),
                name="matching_session_start_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.taken)

    @property
    def is_full(self) -> bool:
        return self.taken >= self.capacity

    def signup_closes_at(self) -> datetime.datetime:
        return self.starts_at - datetime.timedelta(hours=self.task.signup_close_hours)

    def cancel_closes_at(self) -> datetime.datetime:
        return self.starts_at - datetime.timedelta(hours=self.task.cancel_close_hours)


# --- Revisions of published tasks -------------------------------------------------------


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("確認待ち")
    APPROVED = "approved", _("反映済み")
    REJECTED = "rejected", _("却下")
    WITHDRAWN = "withdrawn", _("取り下げ")
    REPLACED = "replaced", _("差し替え")


class TaskRevision(models.Model):
    """A host's change to a published task, held for the town's staff.

    The task, its photo and its sessions stay as published (on the board, the pages and the
    API) until a staff member approves the revision; it is then applied through the same
    services as a staff edit. ``changes`` holds the new values of task fields, ``photo`` a
    new photo (already checked and re-encoded), ``sessions`` new sessions (``session`` null)
    and changes to existing ones: ``{"session", "starts_at", "ends_at", "capacity"}``.
    A task has at most one pending revision; a further edit replaces it with one holding
    both."""

    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("お手伝い")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("変更した人"),
    )
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=RevisionStatus.choices,
        default=RevisionStatus.PENDING,
    )
    changes = models.JSONField(_("変更する項目"), default=dict, blank=True)
    photo = models.ImageField(_("新しい写真"), upload_to=task_photo_path, blank=True)
    sessions = models.JSONField(_("開催回の変更"), default=list, blank=True)
    created_at = models.DateTimeField(_("申請日時"), default=timezone.now)
    decided_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("確認した職員"),
    )
    decision_note = models.TextField(_("却下の理由"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("公開中のお手伝いの変更")
        verbose_name_plural = pgettext_lazy("plural", "公開中のお手伝いの変更")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(status="pending"),
                name="matching_revision_one_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="pending"),
                name="matching_revision_queue_idx",
            ),
            models.Index(fields=["task", "-created_at"], name="matching_revision_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} revision {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == RevisionStatus.PENDING


# --- Sign-ups ----------------------------------------------------------------------------


class SignupStatus(models.TextChoices):
    PENDING = "pending", _("ヌシの承認待ち")
    CONFIRMED = "confirmed", _("参加確定")
    WAITLISTED = "waitlisted", _("キャンセル待ち")
    OFFERED = "offered", _("繰り上げ（確認待ち）")
    DECLINED = "declined", _("お断り")
    CANCELLED = "cancelled", _("キャンセル")
    EXPIRED = "expired", _("確認期限切れ")


# A person holds at most one sign-up in these per session.
LIVE_STATUSES = (
    SignupStatus.PENDING,
    SignupStatus.CONFIRMED,
    SignupStatus.WAITLISTED,
    SignupStatus.OFFERED,
)
# These hold a place (counted in ``Session.taken``) and may not overlap for one person.
HOLDING_STATUSES = (SignupStatus.CONFIRMED, SignupStatus.OFFERED)


class Attendance(models.TextChoices):
    ATTENDED = "attended", _("参加した")
    EXCUSED = "excused", _("欠席（連絡あり）")
    NO_SHOW = "no_show", _("欠席（連絡なし）")


class Signup(models.Model):
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="signups", verbose_name=_("開催回")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="signups",
        verbose_name=_("参加者"),
    )
    # Copies of the session's times: a person's overlapping sign-ups are found on an index.
    starts_at = models.DateTimeField(editable=False)
    ends_at = models.DateTimeField(editable=False)
    status = models.CharField(_("状態"), max_length=16, choices=SignupStatus.choices)
    message = models.TextField(_("ヌシへのひとこと"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("申込日時"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("確定日時"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("確認期限"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("キャンセル日時"), null=True, blank=True)
    attendance = models.CharField(_("出欠"), max_length=16, choices=Attendance.choices, blank=True)
    attendance_marked_at = models.DateTimeField(_("出欠の記録日時"), null=True, blank=True)
    thanks = models.TextField(_("ありがとうメッセージ"), max_length=1000, blank=True)
    thanks_at = models.DateTimeField(_("メッセージの日時"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("リマインダーの日時"), null=True, blank=True)
    # Why the person cancelled, if they said: shown to the host.
    cancel_reason = models.TextField(_("キャンセルの理由"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("申込")
        verbose_name_plural = pgettext_lazy("plural", "申込")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "person"],
                condition=Q(status__in=["pending", "confirmed", "waitlisted", "offered"]),
                name="matching_signup_one_live_per_session",
            ),
            models.CheckConstraint(
                name="matching_signup_offer_has_deadline",
                condition=~Q(status="offered") | Q(offer_expires_at__isnull=False),
            ),
            models.CheckConstraint(
                name="matching_signup_attendance_confirmed",
                condition=Q(attendance="") | Q(status="confirmed"),
            ),
        ]
        indexes = [
            # The waiting list in order, and each session's participants.
            models.Index(fields=["session", "status", "id"], name="matching_signup_session_idx"),
            # A person's sign-ups by time: their list, and the overlap check.
            models.Index(fields=["person", "starts_at"], name="matching_signup_person_idx"),
            models.Index(
                fields=["offer_expires_at"],
                condition=Q(status="offered"),
                name="matching_signup_offer_idx",
            ),
            # Reminders still to send, by when they fall due.
            models.Index(
                fields=["starts_at"],
                condition=Q(status="confirmed", reminded_at__isnull=True),
                name="matching_signup_remind_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.session_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES
