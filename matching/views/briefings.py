"""The briefing for participants: its page for the task's host and staff.

The form is here rather than in ``forms.py``: it is only this page's, and only parses (the
service checks lengths and the coordinate, with codes)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import NormalisedInputMixin
from core.pages import get_or_post, personal, put_errors

from .. import selectors, services
from ..models import TaskBriefing
from ._common import _managed_task, _task_url


def _coordinate(label, help_text) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


class BriefingForm(NormalisedInputMixin, forms.ModelForm):
    latitude = _coordinate(gettext_lazy("集合場所の緯度（任意）"), gettext_lazy("例：35.2650"))
    longitude = _coordinate(gettext_lazy("集合場所の経度（任意）"), gettext_lazy("例：134.2270"))

    class Meta:
        model = TaskBriefing
        fields = list(services.BRIEFING_FIELDS)
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 6}),
            "meeting_point": forms.TextInput(attrs={"autocomplete": "off"}),
            "address": forms.TextInput(attrs={"autocomplete": "off"}),
        }
        help_texts = {
            "meeting_point": gettext_lazy("例：智頭駅の改札前、○○公民館の駐車場"),
            "instructions": gettext_lazy(
                "当日の流れ、集合してから解散まで、雨のときの連絡の仕方など"
            ),
            "contact": gettext_lazy("当日つながる電話番号など（参加が決まった方だけに伝わります）"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("meeting_point", "address", "instructions", "contact"):
            # The service says how long is too long, in its own words and with a code.
            self.fields[name].max_length = None
            self.fields[name].validators = []
            self.fields[name].widget.attrs.pop("maxlength", None)

    def _post_clean(self):
        """The instance is left as it was: the service validates and saves."""


@personal
@get_or_post
def briefing_edit(request, pk: int):
    task = _managed_task(request, pk)
    current = selectors.briefing_of(task) or TaskBriefing(task=task)
    if request.method == "POST":
        form = BriefingForm(request.POST, instance=current)
        if form.is_valid():
            try:
                services.briefing_set(task=task, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                put_errors(error, form)
            else:
                messages.success(request, _("参加者向けの案内を保存しました。"))
                return redirect(_task_url(task) + "#briefing")
    else:
        form = BriefingForm(instance=current)
    return render(request, "matching/briefing_edit.html", {"task": task, "form": form})
