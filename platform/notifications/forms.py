"""The preferences form: a frequency per topic and channel, and the language of e-mail."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Language
from core.language import aside

from .models import CHANNEL_FREQUENCIES, Channel, Frequency, Topic


def field_name(topic: str, channel: str) -> str:
    return f"{topic}__{channel}"


class LanguageSelect(forms.Select):
    """Each language named in itself, marked so (「日本語」 is Japanese on an English page)."""

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        if option["value"]:
            option["attrs"]["lang"] = option["value"]
        return option


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("メールの言語"), choices=Language.choices, widget=LanguageSelect
    )

    def __init__(self, *args, preferences: dict[str, dict[str, str]], language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = language
        labels = dict(Frequency.choices)
        self.rows = []
        for topic, topic_label in Topic.choices:
            row = {"topic": topic, "label": topic_label, "fields": []}
            for channel, channel_label in Channel.choices:
                name = field_name(topic, channel)
                self.fields[name] = forms.ChoiceField(
                    label=f"{topic_label}{aside(channel_label)}",
                    choices=[(f, labels[f]) for f in CHANNEL_FREQUENCIES[channel]],
                    initial=preferences[topic][channel],
                )
                row["fields"].append(name)
            self.rows.append(row)

    def changes(self) -> list[tuple[str, str, str]]:
        return [
            (topic, channel, self.cleaned_data[field_name(topic, channel)])
            for topic in Topic.values
            for channel in Channel.values
        ]
