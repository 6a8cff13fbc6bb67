"""People, their roles in municipalities and prefectures, and the audit log of staff power."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class Language(models.TextChoices):
    """The site's languages (``settings.LANGUAGES``), for what is sent to a person."""

    JA = "ja", "日本語"
    EN = "en", "English"


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Every account is a resident; other roles are memberships."""

    email = models.EmailField(_("メールアドレス"), max_length=254, unique=True)
    family_name = models.CharField(_("姓"), max_length=50, blank=True)
    given_name = models.CharField(_("名"), max_length=50, blank=True)
    family_name_kana = models.CharField(_("セイ"), max_length=50, blank=True)
    given_name_kana = models.CharField(_("メイ"), max_length=50, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)
    is_staff = models.BooleanField(
        _("管理サイトに入れる"),
        default=False,
        help_text=_("運営者用の Django 管理サイトに入れるかどうか。"),
    )
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)
    # The language of what is sent to the person (e-mail); pages follow the browser's.
    language = models.CharField(
        _("お知らせの言語"),
        max_length=8,
        choices=Language.choices,
        default=Language.JA,
        db_default=Language.JA,
    )
    # Set when the person deleted their account: the row stays, emptied of personal data,
    # so that anonymised registrations still count as one person (実人数).
    deleted_at = models.DateTimeField(_("退会日時"), null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("利用者")
        verbose_name_plural = pgettext_lazy("plural", "利用者")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        # Japanese order: 姓 then 名.
        return f"{self.family_name} {self.given_name}".strip() or self.email

    @property
    def public_name(self) -> str:
        """姓 名 as the person gave them, or "": never the e-mail address, which is what
        ``get_full_name`` falls back to and what others must not see."""
        return f"{self.family_name} {self.given_name}".strip()

    def get_short_name(self) -> str:
        return self.given_name or self.email


class Role(models.TextChoices):
    HOST = "host", _("主催者（ヌシ）")
    MUNICIPALITY_ADMIN = "municipality_admin", _("自治体職員（管理者）")
    MUNICIPALITY_EDITOR = "municipality_editor", _("自治体職員（編集者）")
    PREFECTURE_STAFF = "prefecture_staff", _("都道府県職員")
    NATIONAL_ADMIN = "national_admin", _("全国管理者")


MUNICIPALITY_ROLES = (Role.HOST, Role.MUNICIPALITY_ADMIN, Role.MUNICIPALITY_EDITOR)
MUNICIPALITY_STAFF_ROLES = (Role.MUNICIPALITY_ADMIN, Role.MUNICIPALITY_EDITOR)


class Membership(models.Model):
    """A role a person holds: in one municipality, one prefecture, or the whole country.

    Municipality staff belong to one municipality and prefecture staff to one prefecture;
    a person may host for several municipalities.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("役割"), max_length=32, choices=Role.choices)
    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("市区町村"),
    )
    prefecture = models.ForeignKey(
        "places.Prefecture",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("都道府県"),
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("役割")
        verbose_name_plural = pgettext_lazy("plural", "役割")
        ordering = ["user_id", "role", "id"]
        constraints = [
            models.CheckConstraint(
                name="accounts_membership_scope_matches_role",
                condition=(
                    models.Q(
                        role__in=MUNICIPALITY_ROLES,
                        municipality__isnull=False,
                        prefecture__isnull=True,
                    )
                    | models.Q(
                        role=Role.PREFECTURE_STAFF,
                        municipality__isnull=True,
                        prefecture__isnull=False,
                    )
                    | models.Q(
                        role=Role.NATIONAL_ADMIN,
                        municipality__isnull=True,
                        prefecture__isnull=True,
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role", "municipality"],
                condition=models.Q(municipality__isnull=False),
                name="accounts_membership_unique_municipality_role",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(role__in=MUNICIPALITY_STAFF_ROLES),
                name="accounts_membership_one_municipality_staff",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(role=Role.PREFECTURE_STAFF),
                name="accounts_membership_one_prefecture_staff",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(role=Role.NATIONAL_ADMIN),
                name="accounts_membership_one_national_admin",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "role"], name="accounts_mship_muni_role_idx"),
        ]

    def __str__(self) -> str:
        where = self.municipality or self.prefecture or _("全国")
        return f"{self.user} · {self.get_role_display()} · {where}"


class AuditEvent(models.Model):
    """Who used staff power or read personal data, when, and on what. Never edited."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("実行者"),
    )
    action = models.CharField(_("操作"), max_length=64)
    target_type = models.CharField(_("対象の種類"), max_length=64, blank=True)
    target_id = models.CharField(_("対象の ID"), max_length=64, blank=True)
    municipality = models.ForeignKey(
        "places.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("市区町村"),
    )
    detail = models.JSONField(_("詳細"), default=dict, blank=True)
    created_at = models.DateTimeField(_("日時"), default=timezone.now)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = pgettext_lazy("plural", "監査ログ")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="accounts_audit_created_idx"),
            models.Index(fields=["actor", "created_at"], name="accounts_audit_actor_idx"),
            models.Index(fields=["target_type", "target_id"], name="accounts_audit_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
