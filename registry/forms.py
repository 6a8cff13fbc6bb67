"""Forms of the registry's pages. They parse what people type (fixed-form fields normalised,
free text kept as typed); the rules live in ``services`` and its refusals come back as
errors of these forms."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import FixedFormCharField, NormalisedInputMixin, date_field
from places.forms import municipality_by_code, municipality_by_code_or_name
from places.kana import to_katakana
from places.models import Municipality

from . import flags
from .errors import RegistryCode
from .models import (
    AvailableDays,
    Category,
    Gender,
    Language,
    Month,
    Perk,
    RelationshipType,
    Skill,
    TieOrigin,
    Tier,
)

KANA_RE = re.compile(r"^[\u30a0-\u30ffー・ ]*$")


# --- The person's profile ----------------------------------------------------------------


class NamesForm(NormalisedInputMixin, forms.Form):
    family_name = forms.CharField(label=_("姓"), max_length=50, required=False)
    given_name = forms.CharField(label=_("名"), max_length=50, required=False)
    family_name_kana = FixedFormCharField(
        label=_("セイ（フリガナ）"), max_length=50, required=False
    )
    given_name_kana = FixedFormCharField(label=_("メイ（フリガナ）"), max_length=50, required=False)

    def _clean_kana(self, name: str) -> str:
        value = to_katakana(self.cleaned_data[name])
        if not KANA_RE.match(value):
            raise ValidationError(
                _("フリガナはカタカナかひらがなで入力してください。"),
                code=RegistryCode.KANA_INVALID,
            )
        return value

    def clean_family_name_kana(self) -> str:
        return self._clean_kana("family_name_kana")

    def clean_given_name_kana(self) -> str:
        return self._clean_kana("given_name_kana")


class ProfileForm(NormalisedInputMixin, forms.Form):
    home = FixedFormCharField(
        label=_("住所の市区町村（住民票のあるまち）"),
        max_length=40,
        help_text=_("市区町村名か6桁の市区町村コード（例：世田谷区、131121）"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    birth_year = forms.IntegerField(
        label=_("生まれた年（西暦）"),
        help_text=_("例：1988。自治体に伝わるのは、同意した場合の「30代」のような年代だけです。"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )
    gender = forms.ChoiceField(
        label=_("性別（任意）"),
        choices=[("", _("答えない")), *Gender.choices],
        required=False,
    )
    interests = flags.FlagsFormField(
        flag_choices=Category, label=_("関心のある分野"), required=False
    )
    skills = flags.FlagsFormField(flag_choices=Skill, label=_("できること・技能"), required=False)
    available_days = flags.FlagsFormField(
        flag_choices=AvailableDays, label=_("参加しやすい日"), required=False
    )
    available_months = flags.FlagsFormField(
        flag_choices=Month, label=_("参加しやすい月"), required=False
    )
    languages = flags.FlagsFormField(flag_choices=Language, label=_("使える言語"), required=False)

    def clean_home(self) -> Municipality:
        return municipality_by_code_or_name(self.cleaned_data["home"])

    def clean_birth_year(self) -> int:
        value = self.cleaned_data["birth_year"]
        this_year = timezone.localdate().year
        if not this_year - 120 <= value <= this_year:
            raise ValidationError(
                _("生まれた年は %(low)s〜%(high)s の西暦で入力してください。"),
                params={"low": this_year - 120, "high": this_year},
                code=RegistryCode.BIRTH_YEAR_OUT_OF_RANGE,
            )
        return value

    def profile_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["home_municipality"] = data.pop("home")
        return data


# --- Registrations -----------------------------------------------------------------------

CONSENT_HELP = {
    "share_name": _(
        "このまちの職員が、登録者の一覧であなたの氏名（姓・名とフリガナ）を見られるようにします。"
    ),
    "share_contact": _(
        "職員があなたのメールアドレスを見られるようにします。まちから直接連絡が来ることがあります。"
    ),
    "share_age_band": _(
        "生まれた年そのものではなく、「30代」のような年代だけが伝わります。統計やお手伝いの案内に使われます。"
    ),
    "share_skills": _(
        "プロフィールの「できること・技能」と「関心のある分野」が伝わります。まちがお手伝いをお願いするときの参考になります。"
    ),
    "allow_announcements": _(
        "イベントや募集など、このまちからのお知らせをこのサイトで受け取ります。メールアドレスを伝えなくても届きます。"
    ),
}


class ConsentForm(forms.Form):
    share_name = forms.BooleanField(
        label=_("氏名を伝える"), required=False, help_text=CONSENT_HELP["share_name"]
    )
    share_contact = forms.BooleanField(
        label=_("メールアドレスを伝える"), required=False, help_text=CONSENT_HELP["share_contact"]
    )
    share_age_band = forms.BooleanField(
        label=_("年代を伝える"), required=False, help_text=CONSENT_HELP["share_age_band"]
    )
    share_skills = forms.BooleanField(
        label=_("技能・関心を伝える"), required=False, help_text=CONSENT_HELP["share_skills"]
    )
    allow_announcements = forms.BooleanField(
        label=_("まちからのお知らせを受け取る"),
        required=False,
        help_text=CONSENT_HELP["allow_announcements"],
    )

    def consent(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name in ConsentForm.base_fields}


class RegistrationForm(NormalisedInputMixin, ConsentForm):
    municipality = FixedFormCharField(
        label=_("登録するまちの市区町村コード（6桁）"),
        max_length=20,
        help_text=_("上の検索でまちを選ぶと入ります。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    types = flags.FlagsFormField(
        flag_choices=RelationshipType,
        label=_("関わり方（いくつでも）"),
        help_text=_(
            "例：祭りや農作業に参加する → 参加・交流型、特産品を買う・ふるさと納税 → 非訪問系"
        ),
        error_messages={"required": _("関わり方を1つ以上選んでください。")},
    )
    origin = forms.ChoiceField(
        label=_("関わりのきっかけ"),
        choices=TieOrigin.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("関わりのきっかけを1つ選んでください。")},
    )
    field_order = ["municipality", "types", "origin"]

    def __init__(self, *args, minor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.minor = minor
        if minor:
            self.fields["guardian_name"] = forms.CharField(label=_("保護者の氏名"), max_length=100)
            self.fields["guardian_consent"] = forms.BooleanField(
                label=_("保護者として、この登録に同意します"),
                help_text=_(
                    "18歳未満の方（今年18歳になる方を含みます）の登録には、保護者の同意が必要です。"
                ),
                error_messages={"required": _("保護者の同意が必要です。")},
            )

    def clean_municipality(self) -> Municipality:
        return municipality_by_code(self.cleaned_data["municipality"])


class PremiumApplyForm(NormalisedInputMixin, forms.Form):
    message = forms.CharField(
        label=_("職員へのメッセージ（任意）"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("本人確認の方法の希望（窓口に行ける日など）があれば書いてください。"),
    )


class ActivityForm(NormalisedInputMixin, forms.Form):
    title = forms.CharField(label=_("活動の内容"), max_length=120)
    occurred_on = date_field(_("活動日"))
    evidence = forms.FileField(
        label=_("証拠の書類・写真"),
        help_text=_("参加証明書や活動の写真など。PDF・JPEG・PNG、5MB まで。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    note = forms.CharField(
        label=_("補足（任意）"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CardVerifyForm(forms.Form):
    token = forms.CharField(
        label=_("登録証のコード"),
        max_length=500,
        help_text=_("QR コードを読み取ると自動で入ります。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("いまのパスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(
                _("パスワードが正しくありません。"), code=RegistryCode.PASSWORD_INCORRECT
            )
        return password


# --- Staff -------------------------------------------------------------------------------

YES_NO = [("", _("すべて")), ("yes", _("受け取る")), ("no", _("受け取らない"))]


class RegistrantFilterForm(NormalisedInputMixin, forms.Form):
    tier = forms.ChoiceField(
        label=_("区分"), choices=[("", _("すべて")), *Tier.choices], required=False
    )
    type = forms.ChoiceField(
        label=_("関わり方"), choices=[("", _("すべて")), *RelationshipType.choices], required=False
    )
    origin = forms.ChoiceField(
        label=_("関わりのきっかけ"), choices=[("", _("すべて")), *TieOrigin.choices], required=False
    )
    registered_from = date_field(_("登録日（から）"), required=False)
    registered_to = date_field(_("登録日（まで）"), required=False)
    active_within_days = forms.IntegerField(
        label=_("最近の活動（日以内）"),
        min_value=1,
        max_value=3660,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    announcements = forms.ChoiceField(label=_("お知らせ"), choices=YES_NO, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("registered_from"), data.get("registered_to")
        if start and end and start > end:
            self.add_error("registered_to", _("「から」より後の日付にしてください。"))
        return data

    def criteria(self) -> dict:
        data = self.cleaned_data
        criteria = {
            "tier": data.get("tier") or None,
            "type_bit": flags.bit(RelationshipType, data["type"]) if data.get("type") else None,
            "origin": data.get("origin") or None,
            "registered_from": data.get("registered_from"),
            "registered_to": data.get("registered_to"),
            "active_within_days": data.get("active_within_days"),
            "announcements": {"yes": True, "no": False}.get(data.get("announcements") or ""),
        }
        return {key: value for key, value in criteria.items() if value is not None}


class PerkForm(NormalisedInputMixin, forms.ModelForm):
    url = forms.URLField(
        label=Perk._meta.get_field("url").verbose_name,
        max_length=200,
        required=False,
        assume_scheme="https",
        # A text input: the browser would refuse "www.city…" that the server completes.
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url"}),
    )

    class Meta:
        model = Perk
        fields = ["tier", "kind", "title", "description", "url", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class TownPageForm(forms.Form):
    """A town's own page, as its staff write it (kept as typed: no normalisation)."""

    description = forms.CharField(
        label=_("まちの紹介"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("URL を書くと、リンクになります。"),
    )
    website = forms.URLField(
        label=_("公式サイトの URL"),
        max_length=300,
        required=False,
        assume_scheme="https",
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url"}),
    )
    cover = forms.ImageField(
        label=_("カバー写真"),
        required=False,
        help_text=_("JPEG、PNG、WebP。位置情報などは取り除いて保存します。"),
    )
    cover_alt = forms.CharField(
        label=_("カバー写真の説明"),
        max_length=200,
        required=False,
        help_text=_("写真が見えない人のために、写っているものを短く書いてください。"),
    )
    remove_cover = forms.BooleanField(label=_("カバー写真を外す"), required=False)

    def __init__(self, *args, has_cover: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_cover = has_cover
        if not has_cover:
            del self.fields["remove_cover"]

    def clean_website(self) -> str:
        value = self.cleaned_data["website"]
        if value and not value.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(
                _("公式サイトの URL は https:// で始まるものにしてください。")
            )
        return value

    def clean(self):
        data = super().clean()
        keeps_cover = (self.has_cover and not data.get("remove_cover")) or data.get("cover")
        if keeps_cover and not (data.get("cover_alt") or "").strip():
            self.add_error("cover_alt", _("カバー写真の説明を書いてください。"))
        return data
