"""Forms of places, and the municipality fields other rooms' forms use: a municipality by
its code or name, and the picker that searches for one."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import NormalisedInputMixin
from core.language import list_join

from .kana import normalize, to_katakana
from .models import Municipality, Prefecture
from .names import place_name
from .selectors import municipality_search

CODE_RE = re.compile(r"^[0-9]{6}$")


class PrefectureChoiceField(forms.ModelChoiceField):
    """A prefecture by its code, each option named in the page's language (Gifu (岐阜県))."""

    def label_from_instance(self, obj) -> str:
        return place_name(obj)


class MunicipalitySearchForm(forms.Form):
    q = forms.CharField(
        label=_("市区町村名・よみがな・ローマ字・コード"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("例：飛騨、ひだし、ﾋﾀﾞｼ、hida、212172"),
    )
    prefecture = PrefectureChoiceField(
        label=_("都道府県"),
        queryset=Prefecture.objects.order_by("code"),
        required=False,
        empty_label=_("すべて"),
        to_field_name="code",
    )

    def clean_q(self) -> str:
        return normalize(self.cleaned_data["q"])

    def has_criteria(self) -> bool:
        return bool(self.cleaned_data.get("q") or self.cleaned_data.get("prefecture"))


# --- Municipality fields of other rooms' forms ---------------------------------------


def municipality_by_code(code: str) -> Municipality:
    """The municipality of a 6-digit code; a clear error for anything else."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationError(
            _("市区町村コードは6桁の数字で入力してください（例：212172）。"), code="invalid"
        )
    municipality = Municipality.objects.select_related("prefecture").filter(code=code).first()
    if municipality is None:
        raise ValidationError(
            _("市区町村コード「%(code)s」の市区町村は見つかりません。"),
            code="not_found",
            params={"code": code},
        )
    return municipality


def municipality_by_code_or_name(value: str) -> Municipality:
    """A 6-digit code, or the exact name (飛騨市, 岐阜県飛騨市, ひだし) of one municipality."""
    value = "".join((value or "").split())
    if re.fullmatch(r"[0-9]+", value):
        return municipality_by_code(value)
    municipalities = Municipality.objects.select_related("prefecture").order_by("code")
    matches = list(municipalities.filter(name=value)[:10]) or list(
        municipalities.filter(kana=to_katakana(value))[:10]
    )
    if not matches:
        for candidate in municipalities.filter(name__in=_name_tails(value)):
            if candidate.full_name == value:
                matches = [candidate]
                break
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValidationError(
            _(
                "「%(value)s」という市区町村は見つかりません。"
                "下の検索で探すか、6桁の市区町村コードを入力してください。"
            ),
            code="not_found",
            params={"value": value[:40]},
        )
    raise ValidationError(
        _("「%(value)s」は複数あります（%(choices)s）。市区町村コードで入力してください。"),
        code="ambiguous",
        params={
            "value": value[:40],
            "choices": list_join(f"{m.full_name} {m.code}" for m in matches),
        },
    )


def _name_tails(value: str) -> list[str]:
    """The possible municipality names at the end of 都道府県名+市区町村名."""
    return [value[index:] for index in range(2, min(len(value), 5))]


class MunicipalityPickerForm(NormalisedInputMixin, forms.Form):
    """The search of ``municipality_picker``, on another room's form."""

    q = forms.CharField(
        label=_("市区町村名・よみがな・ローマ字・コード"),
        max_length=100,
        required=False,
        help_text=_("例：飛騨、ちづ、ｱﾏﾁｮｳ、325252"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


PICKER_LIMIT = 20


def municipality_picker(request) -> tuple[MunicipalityPickerForm, list | None]:
    """The search that helps a person pick a municipality on a form: the search form from
    ``q`` and its first matches (``None`` when nothing was searched). ``q`` comes from the
    query string, or from the POST of a form that holds the search itself (the profile's),
    so that a search keeps everything else typed on that form."""
    source = request.POST if request.method == "POST" else request.GET
    search = MunicipalityPickerForm(source if "q" in source else None)
    matches = None
    if search.is_bound and search.is_valid() and search.cleaned_data["q"]:
        matches = list(
            municipality_search(query=search.cleaned_data["q"], prefecture_code="")[:PICKER_LIMIT]
        )
    return search, matches
