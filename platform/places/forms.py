from django import forms
from django.utils.translation import gettext_lazy as _

from .kana import normalize
from .models import Prefecture


class MunicipalitySearchForm(forms.Form):
    q = forms.CharField(
        label=_("市区町村名・よみがな・コード"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("例：飛騨、ひだし、ﾋﾀﾞｼ、212172"),
    )
    prefecture = forms.ModelChoiceField(
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
