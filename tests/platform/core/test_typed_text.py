"""The floor's text pieces (issue 19): free text is kept as typed and only fixed-form fields
are folded (``core.forms``), search keys fold every way Japanese is typed and add readings
(``core.search``), and days off include Japan's public holidays (``core.holidays``)."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.http import QueryDict

from core.forms import FixedFormCharField, NormalisedInputMixin, is_fixed_form
from core.holidays import holiday_name, is_day_off, is_holiday
from core.search import document_key, fold, query_key, reading
from core.text import as_typed, fixed_form


class Sample(NormalisedInputMixin, forms.Form):
    title = forms.CharField()
    body = forms.CharField(widget=forms.Textarea)
    code = FixedFormCharField()
    count = forms.IntegerField()
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kana"] = FixedFormCharField()  # added after the mixin's __init__
        self.fields["late_note"] = forms.CharField()


TYPED = {
    "title": "草刈り（テスト）！",
    "body": "集合／8:30\nＤＩＹ　ｶﾅ",
    "code": "３１３２８９",
    "count": "１２",
    "email": "ｈａｎａ@example.jp",
    "password": "ＰＡＳＳ（ｗｏｒｄ）",
    "kana": "ﾀｶﾊｼ",
    "late_note": "（あとから）",
}


@pytest.mark.parametrize("data", [TYPED, QueryDict(mutable=True)])
def test_free_text_is_kept_as_typed_and_fixed_forms_are_folded(data):
    if isinstance(data, QueryDict):
        data.update(TYPED)
    form = Sample(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "title": "草刈り（テスト）！",
        "body": "集合／8:30\nＤＩＹ　ｶﾅ",
        "code": "313289",
        "count": 12,
        "email": "hana@example.jp",
        "password": "ＰＡＳＳ（ｗｏｒｄ）",
        "kana": "タカハシ",
        "late_note": "（あとから）",
    }


def test_a_prefixed_form_folds_its_own_fields():
    form = Sample({f"p-{key}": value for key, value in TYPED.items()}, prefix="p")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["code"] == "313289" and form.cleaned_data["title"] == TYPED["title"]


def test_which_fields_are_of_a_fixed_form():
    assert not is_fixed_form(forms.CharField())
    assert not is_fixed_form(forms.CharField(widget=forms.Textarea))
    assert not is_fixed_form(forms.CharField(widget=forms.PasswordInput))
    for field in (
        FixedFormCharField(),
        forms.IntegerField(),
        forms.DateField(),
        forms.EmailField(),
        forms.ChoiceField(),
        forms.URLField(assume_scheme="https"),
    ):
        assert is_fixed_form(field), field


def test_the_text_helpers():
    assert as_typed("  草刈り（テスト）！ \n") == "草刈り（テスト）！"
    assert fixed_form(" ０９０－１２３４　５６７８ ") == "090-1234 5678"
    assert as_typed(None) == fixed_form(None) == ""


def test_a_query_is_folded_every_way_japanese_is_typed():
    assert {query_key(q) for q in ("くさかり", "クサカリ", "ｸｻｶﾘ", " く さ か り ")} == {"くさかり"}
    assert query_key("ＤＩＹ") == query_key("diy") == "diy"
    assert fold("（テスト）！") == "(てすと)!"


def test_a_documents_key_holds_its_text_the_reading_of_its_kanji_and_given_readings():
    key = document_key(["草刈り（テスト）！", "集合／8:30"], readings=["ヒダシ"])
    pieces = key.split("\n")
    assert pieces == ["草刈り(てすと)!集合/8:30", "くさかり(てすと)!しゅうごう/8:30", "ひだし"]
    for query in ("くさかり", "ｸｻｶﾘ", "草刈", "ひだ", "しゅうごう", "8:30"):
        assert query_key(query) in key, query
    assert "\n" not in query_key("草刈り\nひだ")  # a query never spans two pieces
    assert document_key(["ひらがなだけ"]) == "ひらがなだけ"  # nothing to read, nothing added
    assert reading("かな") == "" and reading("飛騨") == "ひだ"


def test_public_holidays_are_days_off():
    coming_of_age = datetime.date(2027, 1, 11)  # 成人の日, a Monday
    assert is_holiday(coming_of_age) and is_day_off(coming_of_age)
    assert holiday_name(coming_of_age) == "成人の日"
    assert is_day_off(datetime.date(2027, 1, 16))  # a Saturday
    assert not is_day_off(datetime.date(2027, 1, 18))  # an ordinary Monday
    assert holiday_name(datetime.date(2027, 1, 18)) is None
    assert is_holiday(datetime.date(2026, 5, 6))  # 振替休日 (5月3日 was a Sunday)
