"""Prefectures and municipalities, keyed by their official codes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .codes import is_valid_code
from .errors import PlacesCode
from .romaji import display as romaji_display


class Region(models.TextChoices):
    """The eight 地方区分, in the order statistics list them."""

    HOKKAIDO = "hokkaido", _("北海道")
    TOHOKU = "tohoku", _("東北")
    KANTO = "kanto", _("関東")
    CHUBU = "chubu", _("中部")
    KINKI = "kinki", _("近畿")
    CHUGOKU = "chugoku", _("中国")
    SHIKOKU = "shikoku", _("四国")
    KYUSHU_OKINAWA = "kyushu_okinawa", _("九州・沖縄")

    @classmethod
    def for_prefecture_code(cls, code: str) -> Region:
        """The region of a prefecture by its JIS code (01 北海道 … 47 沖縄県)."""
        number = int(code)
        for last, region in _REGION_BY_LAST_PREFECTURE:
            if number <= last:
                return region
        raise ValueError(f"No prefecture has the code {code!r}.")


_REGION_BY_LAST_PREFECTURE = (
    (1, Region.HOKKAIDO),
    (7, Region.TOHOKU),
    (14, Region.KANTO),
    (23, Region.CHUBU),
    (30, Region.KINKI),
    (35, Region.CHUGOKU),
    (39, Region.SHIKOKU),
    (47, Region.KYUSHU_OKINAWA),
)


class Prefecture(models.Model):
    code = models.CharField(
        _("都道府県コード"),
        max_length=2,
        primary_key=True,
        validators=[RegexValidator(r"^(0[1-9]|[1-3][0-9]|4[0-7])$")],
    )
    lg_code = models.CharField(_("全国地方公共団体コード"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=8, unique=True)
    kana = models.CharField(_("よみがな（カナ）"), max_length=16)
    # The official English name: Gifu, Tokyo, Hokkaido (places.romaji.PREFECTURE_ENGLISH).
    romaji = models.CharField(_("ローマ字"), max_length=16, blank=True)
    region = models.CharField(_("地方"), max_length=16, choices=Region.choices)

    class Meta:
        verbose_name = _("都道府県")
        verbose_name_plural = pgettext_lazy("plural", "都道府県")
        ordering = ["code"]
        indexes = [models.Index(fields=["region"], name="places_prefecture_region_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def english_name(self) -> str:
        """Gifu."""
        return self.romaji or self.name


class MunicipalityKind(models.TextChoices):
    CITY = "city", _("市")
    TOWN = "town", _("町")
    VILLAGE = "village", _("村")
    SPECIAL_WARD = "special_ward", _("特別区")


def validate_lg_code(value: str) -> None:
    if not is_valid_code(value):
        raise ValidationError(
            _("%(value)s は正しい全国地方公共団体コードではありません（6桁、検査数字付き）。"),
            params={"value": value},
            code=PlacesCode.INVALID_LG_CODE,
        )


class Municipality(models.Model):
    """One of the 1,741 municipalities (1,718 市町村 and the 23 特別区 of Tokyo)."""

    code = models.CharField(
        _("全国地方公共団体コード"), max_length=6, primary_key=True, validators=[validate_lg_code]
    )
    prefecture = models.ForeignKey(
        Prefecture,
        on_delete=models.PROTECT,
        related_name="municipalities",
        verbose_name=_("都道府県"),
    )
    name = models.CharField(_("名称"), max_length=32)
    kana = models.CharField(_("よみがな（カナ）"), max_length=64)
    kind = models.CharField(_("種別"), max_length=16, choices=MunicipalityKind.choices)
    # Hepburn from the kana with the kind suffix: Hida-shi, Chizu-cho (places.romaji).
    romaji = models.CharField(_("ローマ字"), max_length=64, blank=True)
    latitude = models.FloatField(_("緯度"))
    longitude = models.FloatField(_("経度"))
    # Normalised "code, prefecture+name, kana, romaji" for search by kanji, kana, romaji or
    # code (places.services.municipality_search_text).
    search_text = models.CharField(max_length=240, editable=False)

    class Meta:
        verbose_name = _("市区町村")
        verbose_name_plural = pgettext_lazy("plural", "市区町村")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["prefecture", "name"], name="places_municipality_unique_name"
            ),
            models.CheckConstraint(
                name="places_municipality_coordinate_in_japan",
                condition=models.Q(latitude__range=(20, 46), longitude__range=(122, 154)),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        """岐阜県飛騨市."""
        return f"{self.prefecture.name}{self.name}"

    @property
    def english_name(self) -> str:
        """Hida (from Hida-shi): how English prose names the town."""
        return romaji_display(self.romaji) if self.romaji else self.name


def town_cover_path(page: TownPage, filename: str) -> str:
    return f"towns/{page.municipality_id}/{filename}"


class TownPage(models.Model):
    """What a municipality's own staff say about it on its public page: a description, a
    cover photo and the address of its official site. Apart from ``Municipality``, which
    the loader of the reference data rewrites."""

    municipality = models.OneToOneField(
        Municipality,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="page",
        verbose_name=_("市区町村"),
    )
    description = models.TextField(_("まちの紹介"), max_length=5000, blank=True)
    cover = models.ImageField(_("カバー写真"), upload_to=town_cover_path, blank=True)
    cover_alt = models.CharField(_("カバー写真の説明"), max_length=200, blank=True)
    website = models.URLField(_("公式サイトの URL"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("まちのページ")
        verbose_name_plural = pgettext_lazy("plural", "まちのページ")
        ordering = ["municipality"]
        constraints = [
            models.CheckConstraint(
                name="places_townpage_cover_has_alt",
                condition=models.Q(cover="") | ~models.Q(cover_alt=""),
            )
        ]

    def __str__(self) -> str:
        return str(self.municipality_id)
