"""ふるさと住民登録: profiles, registrations, consent, premium tier, activities and perks.

Shaped for the national target of 10 million people and 100 million registrations: a
registration row holds its sets (relationship types) as bitmasks, its consent as five
booleans and its engagement as a date, so that it stays narrow; everything that happens to
it is appended to ``RegistrationEvent`` (history for statistics, consent changes for APPI)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import flags

# --- Choices (bit positions are a contract: append, never reorder) -----------------------


class RelationshipType(models.TextChoices):
    """MLIT survey categories (seed 004), deepest tie first."""

    DIRECT = "direct", _("直接寄与型")
    WORK_ON_SITE = "work_on_site", _("就労型（現地）")
    TELEWORK = "telework", _("就労型（テレワーク）")
    PARTICIPATION = "participation", _("参加・交流型")
    HOBBY = "hobby", _("趣味・消費型")
    NON_VISITING = "non_visiting", _("非訪問系")


# All visiting types (every bit but 非訪問系).
VISITING_MASK = flags.full_mask(RelationshipType) & ~flags.bit(
    RelationshipType, RelationshipType.NON_VISITING
)


def deepest_type(mask: int) -> str | None:
    """The deepest relationship type in ``mask`` (its lowest set bit), as the survey counts."""
    if not mask:
        return None
    return RelationshipType.values[(mask & -mask).bit_length() - 1]


class TieOrigin(models.TextChoices):
    BIRTHPLACE = "birthplace", _("出身地・ルーツ")
    LIVED = "lived", _("住んだことがある")
    STUDIED_WORKED = "studied_worked", _("通学・通勤していた")
    FAMILY = "family", _("家族・親族がいる")
    FURUSATO_NOZEI = "furusato_nozei", _("ふるさと納税")
    VISITS = "visits", _("訪問・旅行")
    OTHER = "other", _("その他")


class Category(models.TextChoices):
    """The board's categories; a profile's interests are a set of them."""

    FARMING = "farming", _("農林水産")
    FESTIVALS = "festivals", _("祭り・伝統文化")
    ENVIRONMENT = "environment", _("環境・景観")
    DISASTER = "disaster", _("防災・復興")
    EDUCATION = "education", _("子ども・教育")
    WELFARE = "welfare", _("福祉・健康")
    TOURISM = "tourism", _("観光・交流")
    COMMUNITY = "community", _("まちづくり")
    DIGITAL = "digital", _("デジタル・IT")
    OTHER = "other", _("その他")


class Skill(models.TextChoices):
    PHYSICAL = "physical", _("力仕事")
    DRIVING = "driving", _("運転")
    COOKING = "cooking", _("料理")
    FARMWORK = "farmwork", _("農作業")
    CARPENTRY = "carpentry", _("大工・DIY")
    CHILDCARE = "childcare", _("子どもの世話")
    CARE = "care", _("介護・福祉")
    WEB = "web", _("ウェブ・IT")
    DESIGN = "design", _("デザイン")
    PHOTO_VIDEO = "photo_video", _("写真・動画")
    WRITING = "writing", _("文章・広報")
    TRANSLATION = "translation", _("通訳・翻訳")
    OFFICE = "office", _("事務・会計")
    EVENT = "event", _("イベント運営")


class AvailableDays(models.TextChoices):
    WEEKDAYS = "weekdays", _("平日")
    WEEKENDS = "weekends", _("土日祝")


class Month(models.TextChoices):
    JAN = "1", _("1月")
    FEB = "2", _("2月")
    MAR = "3", _("3月")
    APR = "4", _("4月")
    MAY = "5", _("5月")
    JUN = "6", _("6月")
    JUL = "7", _("7月")
    AUG = "8", _("8月")
    SEP = "9", _("9月")
    OCT = "10", _("10月")
    NOV = "11", _("11月")
    DEC = "12", _("12月")


class Language(models.TextChoices):
    JA = "ja", _("日本語")
    EN = "en", _("英語")
    ZH = "zh", _("中国語")
    KO = "ko", _("韓国語")
    VI = "vi", _("ベトナム語")
    PT = "pt", _("ポルトガル語")
    ES = "es", _("スペイン語")
    OTHER = "other", _("その他の言語")


class Gender(models.TextChoices):
    FEMALE = "female", _("女性")
    MALE = "male", _("男性")
    OTHER = "other", _("その他")


class AgeBand(models.TextChoices):
    UNDER_20 = "under_20", _("20歳未満")
    TWENTIES = "20s", _("20代")
    THIRTIES = "30s", _("30代")
    FORTIES = "40s", _("40代")
    FIFTIES = "50s", _("50代")
    SIXTIES = "60s", _("60代")
    SEVENTY_PLUS = "70_plus", _("70歳以上")

    @classmethod
    def for_birth_year(cls, birth_year: int | None, today: datetime.date) -> AgeBand | None:
        """The band of the age reached this year (only the year of birth is known)."""
        if birth_year is None:
            return None
        age = today.year - birth_year
        if age < 20:
            return cls.UNDER_20
        if age >= 70:
            return cls.SEVENTY_PLUS
        return list(cls)[age // 10 - 1]


# The age of majority in Japan. With only the year of birth known, a person who turns 18
# this year may still be 17: the consent step is asked of everyone who may be a minor.
AGE_OF_MAJORITY = 18


def may_be_minor(birth_year: int | None, today: datetime.date) -> bool:
    return birth_year is not None and today.year - birth_year <= AGE_OF_MAJORITY


# --- The person's profile ----------------------------------------------------------------


class Profile(models.Model):
    """What a person tells about themselves; used to register and to match tasks."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
    )
    home_municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # registry_profile_home_idx serves (without a _like twin)
        verbose_name=_("住所の市区町村（住民票のあるまち）"),
    )
    birth_year = models.PositiveSmallIntegerField(_("生まれた年"), null=True, blank=True)
    gender = models.CharField(_("性別（任意）"), max_length=8, choices=Gender.choices, blank=True)
    interests = models.PositiveIntegerField(_("関心のある分野"), default=0)
    skills = models.PositiveIntegerField(_("できること・技能"), default=0)
    available_days = models.PositiveSmallIntegerField(_("参加しやすい日"), default=0)
    available_months = models.PositiveSmallIntegerField(_("参加しやすい月"), default=0)
    languages = models.PositiveSmallIntegerField(_("使える言語"), default=0)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("プロフィール")
        verbose_name_plural = pgettext_lazy("plural", "プロフィール")
        ordering = ["user_id"]
        constraints = [
            models.CheckConstraint(
                name="registry_profile_birth_year_range",
                condition=Q(birth_year__isnull=True)
                | Q(birth_year__gte=1900, birth_year__lte=2100),
            ),
        ]
        indexes = [
            # With what the matcher scores from: a task's people around it are read from
            # this index alone (an index-only scan), not from the table.
            models.Index(
                fields=["home_municipality"],
                include=[
                    "user",
                    "birth_year",
                    "interests",
                    "skills",
                    "available_days",
                    "available_months",
                ],
                name="registry_profile_home_idx",
            ),
            # The statistics read changed profiles (age band, gender) since their last run.
            models.Index(fields=["updated_at"], name="registry_profile_updated_idx"),
        ]

    def __str__(self) -> str:
        return str(self.user)

    def age_band(self, today: datetime.date | None = None) -> AgeBand | None:
        return AgeBand.for_birth_year(self.birth_year, today or timezone.localdate())

    @property
    def is_complete(self) -> bool:
        """Enough to register: where the person lives and the year they were born."""
        return self.home_municipality_id is not None and self.birth_year is not None


# --- Registrations ----------------------------------------------------------------------


class Status(models.TextChoices):
    ACTIVE = "active", _("登録中")
    WITHDRAWN = "withdrawn", _("取り下げ済み")


class Tier(models.TextChoices):
    BASIC = "basic", _("ベーシック")
    PREMIUM = "premium", _("プレミアム")


class Registration(models.Model):
    """A person's registration as a furusato resident (ふるさと住民) of one municipality.

    At most one active registration per (person, municipality); a withdrawn one stays as
    history, and registering again makes a new row. ``home_municipality`` is where the person
    lived when they registered: the origin of the flow the statistics report."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="registrations",
        db_index=False,  # the (person, municipality) index serves
        verbose_name=_("登録者"),
    )
    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="registrations",
        db_index=False,  # the (municipality, registered_at) index serves
        verbose_name=_("登録先の市区町村"),
    )
    home_municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("登録時の住所の市区町村"),
    )
    types = models.PositiveSmallIntegerField(_("関わり方"))
    origin = models.CharField(_("関わりのきっかけ"), max_length=16, choices=TieOrigin.choices)
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("取り下げ日時"), null=True, blank=True)
    tier = models.CharField(_("区分"), max_length=8, choices=Tier.choices, default=Tier.BASIC)
    premium_since = models.DateField(_("プレミアム開始日"), null=True, blank=True)
    premium_until = models.DateField(_("プレミアム有効期限"), null=True, blank=True)
    # The expiry date a reminder was sent for: the reminder job sends one per term.
    premium_reminded_for = models.DateField(null=True, blank=True, editable=False)
    # Consent: what the municipality may see, and whether it may send announcements.
    share_name = models.BooleanField(_("氏名を自治体に伝える"), default=False)
    share_contact = models.BooleanField(
        _("連絡先（メールアドレス）を自治体に伝える"), default=False
    )
    share_age_band = models.BooleanField(_("年代を自治体に伝える"), default=False)
    share_skills = models.BooleanField(_("技能・関心を自治体に伝える"), default=False)
    allow_announcements = models.BooleanField(_("自治体からのお知らせを受け取る"), default=False)
    guardian_name = models.CharField(_("保護者の氏名"), max_length=100, blank=True)
    guardian_consented_at = models.DateTimeField(_("保護者の同意日時"), null=True, blank=True)
    # Raised to revoke every card token issued before (a lost phone, a withdrawal).
    card_serial = models.PositiveIntegerField(default=1, editable=False)
    last_activity_on = models.DateField(_("最後の活動日"), null=True, blank=True)

    class Meta:
        verbose_name = _("ふるさと住民登録")
        verbose_name_plural = pgettext_lazy("plural", "ふるさと住民登録")
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "municipality"],
                condition=Q(status="active"),
                name="registry_registration_one_active_per_place",
                violation_error_message=_("このまちにはすでに登録しています。"),
            ),
            models.CheckConstraint(
                name="registry_registration_not_home",
                condition=~Q(municipality=F("home_municipality")),
                violation_error_message=_(
                    "住民票のある市区町村には登録できません。ふるさと住民登録は、住んでいるまち以外のまちとの関わりのための制度です。"
                ),
            ),
            models.CheckConstraint(
                name="registry_registration_has_types",
                condition=Q(types__gt=0, types__lt=1 << len(RelationshipType.values)),
            ),
            models.CheckConstraint(
                name="registry_registration_withdrawn_at",
                condition=Q(status="active", withdrawn_at__isnull=True)
                | Q(status="withdrawn", withdrawn_at__isnull=False),
            ),
            models.CheckConstraint(
                name="registry_registration_premium_term",
                condition=Q(tier="basic")
                | Q(
                    tier="premium",
                    premium_since__isnull=False,
                    premium_until__isnull=False,
                    premium_until__gt=F("premium_since"),
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["person", "municipality"], name="registry_reg_person_idx"),
            # The staff list: a town's active registrants, newest first; the matcher reads
            # who they are from the index alone.
            models.Index(
                fields=["municipality", "-registered_at", "-id"],
                include=["person"],
                condition=Q(status="active"),
                name="registry_reg_muni_idx",
            ),
            models.Index(
                fields=["premium_until"],
                condition=Q(tier="premium"),
                name="registry_reg_premium_until_idx",
            ),
            # An announcement's audience, in person order (its fan-out pages on it).
            models.Index(
                fields=["municipality", "person"],
                condition=Q(status="active", allow_announcements=True),
                name="registry_reg_announce_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.municipality_id}"

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def is_premium(self) -> bool:
        return self.tier == Tier.PREMIUM

    def type_values(self) -> list[str]:
        return flags.values_of(RelationshipType, self.types)

    def type_labels(self) -> list[str]:
        return flags.labels_of(RelationshipType, self.types)

    def consent(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in CONSENT_FIELDS}


CONSENT_FIELDS = (
    "share_name",
    "share_contact",
    "share_age_band",
    "share_skills",
    "allow_announcements",
)


class PrefectureRegistration(models.Model):
    """The registration with a prefecture that registering with one of its towns brings."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="prefecture_registrations",
        db_index=False,
    )
    prefecture = models.ForeignKey(
        "places.Prefecture",
        on_delete=models.PROTECT,
        related_name="registrations",
        db_index=False,
        verbose_name=_("都道府県"),
    )
    status = models.CharField(
        _("状態"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("取り下げ日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("都道府県への登録")
        verbose_name_plural = pgettext_lazy("plural", "都道府県への登録")
        ordering = ["prefecture_id", "-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "prefecture"],
                condition=Q(status="active"),
                name="registry_prefreg_one_active",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "prefecture"], name="registry_prefreg_person_idx"),
            models.Index(fields=["prefecture", "registered_at"], name="registry_prefreg_pref_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.prefecture_id}"


class EventKind(models.TextChoices):
    REGISTERED = "registered", _("登録")
    CONSENT_CHANGED = "consent_changed", _("同意の変更")
    PREMIUM_APPLIED = "premium_applied", _("プレミアムの申請")
    PREMIUM_APPROVED = "premium_approved", _("プレミアムの承認")
    PREMIUM_REFUSED = "premium_refused", _("プレミアムの却下")
    PREMIUM_RENEWED = "premium_renewed", _("プレミアムの更新")
    PREMIUM_ENDED = "premium_ended", _("プレミアムの終了")
    CARD_REISSUED = "card_reissued", _("登録証の再発行")
    WITHDRAWN = "withdrawn", _("取り下げ")
    ANONYMISED = "anonymised", _("退会による匿名化")


class RegistrationEvent(models.Model):
    """Everything that happened to a registration, appended, never edited.

    Consent changes carry the whole consent after the change in ``detail``, so the history
    of what the person agreed to, and when, can always be shown."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(_("種類"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("日時"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    detail = models.JSONField(_("詳細"), default=dict, blank=True)

    class Meta:
        verbose_name = _("登録の履歴")
        verbose_name_plural = pgettext_lazy("plural", "登録の履歴")
        ordering = ["registration_id", "at", "id"]
        indexes = [
            models.Index(fields=["registration", "at"], name="registry_event_reg_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} {self.kind} {self.at:%Y-%m-%d}"


# --- Premium tier ------------------------------------------------------------------------


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("審査待ち")
    APPROVED = "approved", _("承認")
    REFUSED = "refused", _("却下")
    CANCELLED = "cancelled", _("取り消し")


class PremiumApplication(models.Model):
    """A request for the premium tier, decided by the configured identity verifier."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="premium_applications"
    )
    verifier = models.CharField(_("本人確認の方法"), max_length=32)
    message = models.TextField(_("申請のメッセージ"), max_length=1000, blank=True)
    status = models.CharField(
        _("状態"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    applied_at = models.DateTimeField(_("申請日時"), default=timezone.now)
    decided_at = models.DateTimeField(_("決定日時"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("審査した職員"),
    )
    decision_note = models.TextField(_("審査の理由・メモ"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("プレミアム申請")
        verbose_name_plural = pgettext_lazy("plural", "プレミアム申請")
        ordering = ["applied_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration"],
                condition=Q(status="pending"),
                name="registry_premium_one_pending",
                violation_error_message=_("このまちへのプレミアム申請はすでに審査待ちです。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} {self.status}"


class ActivitySource(models.TextChoices):
    BOARD = "board", _("お手伝いへの参加（自動）")
    UPLOAD = "upload", _("本人の申告")


def private_storage():
    """Evidence is personal data: kept outside MEDIA_ROOT, handed out only by a checked view."""
    return storages["private"]


def evidence_path(activity: Activity, filename: str) -> str:
    """Evidence is kept per municipality and month, under a name that tells nothing."""
    return f"evidence/{activity.registration.municipality_id}/{timezone.now():%Y/%m}/{filename}"


class Activity(models.Model):
    """Something a registrant did for the town: engagement, and premium evidence if designated.

    Board attendance arrives accepted (``activity_record``), except a designated task's
    host's or its town's staff's own, which waits for another staff member's review like
    what the person uploads."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    title = models.CharField(_("活動の内容"), max_length=120)
    occurred_on = models.DateField(_("活動日"))
    designated = models.BooleanField(_("担い手活動（自治体が指定した活動）"), default=False)
    source = models.CharField(_("記録のされ方"), max_length=8, choices=ActivitySource.choices)
    status = models.CharField(
        _("状態"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    evidence = models.FileField(
        _("証拠の書類・写真"), upload_to=evidence_path, storage=private_storage, blank=True
    )
    note = models.TextField(_("補足"), max_length=1000, blank=True)
    # What recorded it, e.g. "signup:123": recording the same thing twice changes nothing.
    reference = models.CharField(max_length=64, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("記録日時"), default=timezone.now)
    reviewed_at = models.DateTimeField(_("審査日時"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who marked the attendance an activity held for review comes from: never its reviewer.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("記録した人"),
    )
    review_note = models.TextField(_("審査のメモ"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("活動")
        verbose_name_plural = pgettext_lazy("plural", "活動")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(reference=""),
                name="registry_activity_reference_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["registration", "occurred_on"], name="registry_activity_reg_idx"),
            models.Index(
                fields=["status"],
                condition=Q(status="pending"),
                name="registry_activity_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.title}"


# --- Perks -------------------------------------------------------------------------------


class PerkKind(models.TextChoices):
    INFORMATION = "information", _("情報の提供")
    FACILITY = "facility", _("施設の割引")
    TRANSPORT = "transport", _("交通の支援")
    LODGING = "lodging", _("宿泊の支援")
    COWORKING = "coworking", _("コワーキング")
    OTHER = "other", _("その他")


class Perk(models.Model):
    """A perk (特典) a municipality offers its registrants of a tier (premium includes basic)."""

    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="perks",
        verbose_name=_("市区町村"),
    )
    tier = models.CharField(
        _("対象"),
        max_length=8,
        choices=Tier.choices,
        default=Tier.BASIC,
        help_text=_(
            "ベーシックの特典はすべての登録者に、プレミアムの特典はプレミアムの登録者だけに示します。"
        ),
    )
    kind = models.CharField(_("種類"), max_length=12, choices=PerkKind.choices)
    title = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("内容"), max_length=2000)
    url = models.URLField(_("詳しい案内の URL"), blank=True)
    is_active = models.BooleanField(_("公開中"), default=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("特典")
        verbose_name_plural = pgettext_lazy("plural", "特典")
        ordering = ["municipality_id", "tier", "id"]

    def __str__(self) -> str:
        return self.title


# --- Announcements -----------------------------------------------------------------------


class AnnouncementState(models.TextChoices):
    SENDING = "sending", _("配信中")
    SENT = "sent", _("配信済み")


class Announcement(models.Model):
    """A municipality's message to its registrants who agreed to hear from it
    (``allow_announcements``). Fanned out in batches, in order of person id; ``cursor`` is
    the last person reached, so a worker that dies resumes where it stopped."""

    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        related_name="announcements",
        verbose_name=_("市区町村"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("書いた人"),
    )
    title = models.CharField(_("件名"), max_length=100)
    body = models.TextField(_("本文"), max_length=5000)
    state = models.CharField(
        _("状態"),
        max_length=8,
        choices=AnnouncementState.choices,
        default=AnnouncementState.SENDING,
    )
    created_at = models.DateTimeField(_("作成日時"), default=timezone.now)
    sent_at = models.DateTimeField(_("配信完了日時"), null=True, blank=True)
    cursor = models.PositiveBigIntegerField(default=0, editable=False)
    recipients = models.PositiveIntegerField(_("届けた人数"), default=0)

    class Meta:
        verbose_name = _("自治体からのお知らせ")
        verbose_name_plural = pgettext_lazy("plural", "自治体からのお知らせ")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="registry_announcement_sent_has_date",
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "-created_at"], name="registry_announce_muni_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(state="sending"),
                name="registry_announce_sending_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title
