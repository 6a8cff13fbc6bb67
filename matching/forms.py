"""Forms of the board. They parse what people type (fixed-form fields normalised, free text
kept as typed); the rules live in ``services`` and its refusals come back as errors of these
forms.

``TaskFilterForm`` is the one parser of the board's filters: the pages and ``/api/tasks/``
both use it, so a filter means the same thing everywhere."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.dates import EARLIEST, LATEST
from core.forms import DATE_INPUT_FORMATS, FixedFormCharField, NormalisedInputMixin, date_field
from places.forms import municipality_by_code_or_name
from places.models import Municipality, Prefecture
from registry import flags
from registry.models import Category, Skill
from registry.services import profile_of

from .errors import MatchingCode
from .models import Task
from .selectors import Sort, TaskQuery

SORT_CHOICES = [
    (Sort.DATE, _("開催日が近い順")),
    (Sort.NEW, _("新着順")),
    (Sort.DISTANCE, _("近い順（距離）")),
]
ONLINE_CHOICES = [("", _("すべて")), ("false", _("現地で")), ("true", _("オンライン"))]
WITHIN_CHOICES = [
    ("", _("距離を問わない")),
    *((str(km), f"{km} km") for km in (10, 30, 50, 100, 200)),
]


class TaskFilterForm(NormalisedInputMixin, forms.Form):
    """The board's filters, from a query string. ``near`` is a municipality code, or
    ``home`` for the signed-in person's home municipality."""

    search = FixedFormCharField(label=_("キーワード"), max_length=100, required=False)
    prefecture = FixedFormCharField(label=_("都道府県"), max_length=2, required=False)
    municipality = FixedFormCharField(label=_("市区町村コード"), max_length=6, required=False)
    category = forms.ChoiceField(
        label=_("カテゴリ"), choices=[("", _("すべて")), *Category.choices], required=False
    )
    date_from = date_field(_("この日から"), required=False)
    date_to = date_field(_("この日まで"), required=False)
    online = forms.ChoiceField(label=_("場所"), choices=ONLINE_CHOICES, required=False)
    open = forms.BooleanField(label=_("空きのある回だけ"), required=False)
    near = FixedFormCharField(label=_("距離の基準"), max_length=6, required=False)
    within_km = forms.FloatField(
        label=_("距離（km 以内）"), min_value=1, max_value=3000, required=False
    )
    include_past = forms.BooleanField(label=_("終わったお手伝いも表示"), required=False)
    sort = forms.ChoiceField(label=_("並び順"), choices=SORT_CHOICES, required=False)

    def __init__(self, data=None, *args, viewer=None, **kwargs):
        self.viewer = viewer
        super().__init__(data, *args, **kwargs)

    def clean_prefecture(self):
        code = self.cleaned_data["prefecture"].strip()
        if code and len(code) == 1 and code.isdigit():
            code = f"0{code}"
        if code and not Prefecture.objects.filter(code=code).exists():
            raise ValidationError(
                _("都道府県コード「%(code)s」は見つかりません。"),
                params={"code": code},
                code=MatchingCode.FILTER_PREFECTURE_UNKNOWN,
            )
        return code

    def clean_municipality(self):
        code = self.cleaned_data["municipality"].strip()
        if code and not Municipality.objects.filter(code=code).exists():
            raise ValidationError(
                _("市区町村コード「%(code)s」は見つかりません。"),
                params={"code": code},
                code=MatchingCode.FILTER_MUNICIPALITY_UNKNOWN,
            )
        return code

    def clean_near(self):
        near = self.cleaned_data["near"].strip()
        if near == "home":
            user = self.viewer
            home = (
                profile_of(user).home_municipality_id
                if user is not None and user.is_authenticated
                else None
            )
            if home is None:
                raise ValidationError(
                    _(
                        "「自宅から」の距離には、ログインしてプロフィールに住所の市区町村を設定してください。"
                    ),
                    code=MatchingCode.FILTER_HOME_MISSING,
                )
            return home
        if near and not Municipality.objects.filter(code=near).exists():
            raise ValidationError(
                _("市区町村コード「%(code)s」は見つかりません。"),
                params={"code": near},
                code=MatchingCode.FILTER_MUNICIPALITY_UNKNOWN,
            )
        return near

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error(
                "date_to",
                ValidationError(
                    _("終わりの日は始まりの日より後にしてください。"),
                    code=MatchingCode.FILTER_DATES_REVERSED,
                ),
            )
        if data.get("within_km") is not None and not data.get("near"):
            self.add_error(
                "near",
                ValidationError(
                    _("距離で絞り込むには、基準の市区町村を選んでください。"),
                    code=MatchingCode.FILTER_NEAR_REQUIRED,
                ),
            )
        if data.get("sort") == Sort.DISTANCE and not data.get("near"):
            self.add_error(
                "sort",
                ValidationError(
                    _("近い順に並べるには、基準の市区町村を選んでください。"),
                    code=MatchingCode.FILTER_NEAR_REQUIRED,
                ),
            )
        return data

    def query(self) -> TaskQuery:
        """The filters as the selector takes them (call after ``is_valid()``)."""
        data = self.cleaned_data
        online = {"true": True, "false": False}.get(data.get("online") or "")
        return TaskQuery(
            search=data.get("search") or "",
            prefecture=data.get("prefecture") or "",
            municipality=data.get("municipality") or "",
            category=data.get("category") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            online=online,
            open_only=bool(data.get("open")),
            near=data.get("near") or "",
            within_km=data.get("within_km"),
            include_past=bool(data.get("include_past")),
            sort=data.get("sort") or Sort.DATE,
        )


# --- Signing up --------------------------------------------------------------------------


class SignupForm(NormalisedInputMixin, forms.Form):
    message = forms.CharField(
        label=_("ヌシへのひとこと（任意）"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("参加のきっかけや、当日について伝えておきたいことなど。"),
    )

    def __init__(self, *args, task: Task | None = None, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        if task is not None:  # the roster's details: what the host is told, with consent
            fields = roster_fields(task, person, bound=self.is_bound)
            agree = fields.pop("agree")
            self.fields = {**fields, **self.fields, "agree": agree}

    def details(self) -> dict:
        """The roster's details as ``services.signup_create`` takes them."""
        return {name: self.cleaned_data.get(name) for name in ROSTER_FIELDS if name in self.fields}


class ThanksForm(NormalisedInputMixin, forms.Form):
    message = forms.CharField(
        label=_("ヌシへのありがとうメッセージ"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- Hosts -------------------------------------------------------------------------------


class HostApplyForm(NormalisedInputMixin, forms.Form):
    municipality = FixedFormCharField(
        label=_("ヌシとして活動する市区町村"),
        max_length=40,
        help_text=_(
            "市区町村名か6桁の市区町村コード（例：智頭町、313289）。上の検索で選ぶと入ります。"
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    organisation = forms.CharField(
        label=_("団体名・屋号（任意）"),
        max_length=100,
        required=False,
        help_text=_("個人で募集するときは空欄でかまいません。"),
    )
    message = forms.CharField(
        label=_("困りごと・やりたいこと"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("どんなお手伝いを、いつごろ、どのくらいの人に頼みたいかを書いてください。"),
    )

    def clean_municipality(self) -> Municipality:
        return municipality_by_code_or_name(self.cleaned_data["municipality"])


# --- Tasks and sessions ------------------------------------------------------------------

# The task form in groups, as the page shows it.
TASK_FIELDSETS = [
    (
        _("お手伝いの内容"),
        [
            "title",
            "category",
            "description",
            "host_message",
            "host_name",
            "schedule",
            "skills",
        ],
    ),
    (_("場所"), ["is_online", "address", "latitude", "longitude"]),
    (
        _("参加する人へ"),
        [
            "minimum_age",
            "what_to_bring",
            "reward",
            "conditions",
            "participant_costs",
            "weather_policy",
        ],
    ),
    (
        _("申し込みとキャンセル"),
        [
            "signup_mode",
            "signup_close_hours",
            "cancel_close_hours",
            "confirm_window_hours",
            "designated",
        ],
    ),
    (
        _("参加者に聞くこと（名簿）"),
        ["asks_phone", "asks_emergency_contact", "asks_birth_date", "asks_reason"],
    ),
    (_("写真（任意）"), ["photo", "photo_alt"]),
]
HOURS_MAX = 24 * 90  # a deadline at most 90 days before a session


def _rows(n: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": n})


class TaskForm(NormalisedInputMixin, forms.ModelForm):
    """Every field of a task a host or staff member writes. The form only parses: the
    service checks the task as a whole, and its refusals come back as errors here."""

    host_name = forms.CharField(
        label=_("ヌシの名前（表示名）"),
        max_length=100,
        required=False,
        help_text=_("団体名や屋号など。空欄ならあなたの名前（職員なら市区町村名）になります。"),
    )
    skills = flags.FlagsFormField(flag_choices=Skill, label=_("あると助かる技能"), required=False)
    latitude = forms.FloatField(
        label=_("緯度（任意）"),
        min_value=20,
        max_value=46,
        required=False,
        help_text=_("空欄なら市区町村の代表点を使います。例：35.2650"),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    longitude = forms.FloatField(
        label=_("経度（任意）"),
        min_value=122,
        max_value=154,
        required=False,
        help_text=_("例：134.2270"),
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    minimum_age = forms.IntegerField(
        label=_("参加できる年齢（何歳以上・任意）"),
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    signup_close_hours = forms.IntegerField(
        label=_("申込締切（各回の開始の何時間前）"),
        initial=Task._meta.get_field("signup_close_hours").default,
        min_value=0,
        max_value=HOURS_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cancel_close_hours = forms.IntegerField(
        label=_("キャンセル締切（各回の開始の何時間前）"),
        initial=Task._meta.get_field("cancel_close_hours").default,
        min_value=0,
        max_value=HOURS_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    confirm_window_hours = forms.IntegerField(
        label=_("繰り上げ後の確認期限（時間・任意）"),
        min_value=1,
        max_value=24 * 14,
        required=False,
        help_text=Task._meta.get_field("confirm_window_hours").help_text,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    photo = forms.FileField(
        label=_("写真"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    class Meta:
        model = Task
        fields = [name for _legend, names in TASK_FIELDSETS for name in names if name != "photo"]
        widgets = {
            "description": _rows(6),
            "host_message": _rows(4),
            "schedule": _rows(3),
            "what_to_bring": _rows(2),
            "reward": _rows(2),
            "conditions": _rows(2),
            "participant_costs": _rows(2),
            "weather_policy": _rows(2),
            "address": forms.TextInput(attrs={"autocomplete": "off"}),
            "signup_mode": forms.RadioSelect,
        }
        # The task's place is public; the exact meeting point goes in the briefing, which
        # only the people holding a place see (``views.briefings``).
        labels = {"address": _("場所（公開）")}
        help_texts = {
            "address": _(
                "お手伝いのページで誰でも見られます。地区名までにして、詳しい集合場所・当日の"
                "連絡先は、保存後に「参加者向けの案内」に書いてください（参加が決まった方だけに"
                "伝わります）。"
            )
        }

    def __init__(self, *args, designated_locked: bool = False, for_host: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if for_host:
            # A host's tasks show the name the town approved (their host application's
            # organisation, else their own name): not theirs to type.
            del self.fields["host_name"]
        if designated_locked:
            self.fields["designated"].disabled = True
            self.fields["designated"].help_text = _(
                "公開後の担い手活動の指定は、自治体職員だけが変えられます。"
            )
        megabytes = settings.MATCHING_PHOTO_MAX_BYTES // (1024 * 1024)
        self.fields["photo"].help_text = _(
            "JPEG・PNG・WebP、%(mb)dMB まで。撮影場所などの情報は取り除いて保存します。"
        ) % {"mb": megabytes}
        if self.instance.pk and "host_name" in self.fields:
            # A saved task keeps a name: the default applies when it is drafted.
            self.fields["host_name"].required = True
            self.fields["host_name"].help_text = ""
            if self.instance.photo:
                self.fields["photo"].label = _("写真を差し替える")

    def _post_clean(self):
        """The instance is left as it was: the service validates and saves the task."""

    def fieldsets(self):
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in TASK_FIELDSETS
        ]

    def task_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.fields}


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%H時%M分", "%H時"]


class SessionForm(NormalisedInputMixin, forms.Form):
    """One session as people think of it: a day, a start and an end time, a capacity."""

    date = date_field(_("開催日"))
    start_time = forms.TimeField(
        label=_("開始時刻"), input_formats=TIME_INPUT_FORMATS, widget=TimeInput()
    )
    end_time = forms.TimeField(
        label=_("終了時刻"), input_formats=TIME_INPUT_FORMATS, widget=TimeInput()
    )
    capacity = forms.IntegerField(
        label=_("定員（人）"),
        min_value=1,
        max_value=10000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    # A service's refusal names the session's times; these fields show it.
    aliases = {"starts_at": "date", "ends_at": "end_time"}

    @classmethod
    def initial_for(cls, session) -> dict:
        starts, ends = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
        return {
            "date": starts.date(),
            "start_time": starts.time().replace(second=0, microsecond=0),
            "end_time": ends.time().replace(second=0, microsecond=0),
            "capacity": session.capacity,
        }

    def clean(self):
        data = super().clean()
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day and not EARLIEST <= day <= LATEST:
            self.add_error("date", _("開催日を確かめてください。"))
            return data
        if day and start:
            starts_at = timezone.make_aware(datetime.datetime.combine(day, start))
            if starts_at <= timezone.now():
                self.add_error("date", _("開始日時は未来の日時にしてください。"))
            if end and end <= start:
                self.add_error("end_time", _("終了は開始より後の時刻にしてください。"))
        return data

    def session(self) -> dict:
        """The session as the services take it."""
        data = self.cleaned_data
        return {
            "starts_at": timezone.make_aware(
                datetime.datetime.combine(data["date"], data["start_time"])
            ),
            "ends_at": timezone.make_aware(
                datetime.datetime.combine(data["date"], data["end_time"])
            ),
            "capacity": data["capacity"],
        }


class BaseSessionFormSet(forms.BaseFormSet):
    def sessions(self) -> list[dict]:
        """The rows filled in (call after ``is_valid()``)."""
        return [form.session() for form in self.forms if form.has_changed()]


SessionFormSet = forms.formset_factory(
    SessionForm,
    formset=BaseSessionFormSet,
    extra=2,
    min_num=1,
    max_num=100,
    absolute_max=100,
    validate_max=True,
)


class ReasonForm(NormalisedInputMixin, forms.Form):
    reason = forms.CharField(
        label=_("中止の理由"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("申し込んだ人に、このままお知らせとして伝わります。"),
    )


class ReturnForm(NormalisedInputMixin, forms.Form):
    note = forms.CharField(
        label=_("差し戻しの理由（ヌシに伝わります）"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReportForm(NormalisedInputMixin, forms.Form):
    report = forms.CharField(
        label=_("活動レポート"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("当日の様子、参加した人の数、まちにとっての成果など。公開されます。"),
    )
    photo = forms.FileField(
        label=_("写真（任意）"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


# --- The roster's details at sign-up (issue 17: roster) ---------------------------------

ROSTER_FIELDS = (
    "full_name",
    "furigana",
    "phone",
    "emergency_name",
    "emergency_phone",
    "birth_date",
    "agree",
)


def _tel(autocomplete: str) -> forms.TextInput:
    return forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": autocomplete})


def roster_fields(task: Task, person, *, bound: bool) -> dict[str, forms.Field]:
    """The sign-up form's fields for the roster: name and furigana always (from the
    person's profile when it has them), what the task asks, and the agreement. They only
    parse: ``services.signup_create`` checks them, with its codes."""
    fields: dict[str, forms.Field] = {
        "full_name": forms.CharField(
            label=_("氏名"),
            max_length=100,
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "name"}),
        ),
        "furigana": FixedFormCharField(
            label=_("フリガナ"),
            max_length=100,
            required=False,
            help_text=_("カタカナで（ひらがなで入力してもカタカナにします）。例：ヤマダ ハナコ"),
        ),
    }
    if not bound and person is not None:
        fields["full_name"].initial = person.public_name
        fields["furigana"].initial = f"{person.family_name_kana} {person.given_name_kana}".strip()
    if task.asks_phone:
        fields["phone"] = FixedFormCharField(
            label=_("電話番号"), max_length=30, required=False, widget=_tel("tel")
        )
    if task.asks_emergency_contact:
        fields["emergency_name"] = forms.CharField(
            label=_("緊急連絡先（氏名・続柄）"),
            max_length=100,
            required=False,
            help_text=_("例：山田太郎（父）"),
        )
        fields["emergency_phone"] = FixedFormCharField(
            label=_("緊急連絡先（電話番号）"), max_length=30, required=False, widget=_tel("off")
        )
    if task.asks_birth_date:
        # Not ``date_field``: its range is the board's dates, and people are born before it.
        fields["birth_date"] = forms.DateField(
            label=_("生年月日"),
            required=False,
            input_formats=DATE_INPUT_FORMATS,
            widget=forms.DateInput(
                attrs={"type": "date", "min": "1900-01-01", "autocomplete": "bday"},
                format="%Y-%m-%d",
            ),
        )
    fields["agree"] = forms.BooleanField(
        label=_("この申込のためにヌシに伝えることに同意します"), required=False
    )
    return fields
