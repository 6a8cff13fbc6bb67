"""Fields and small serializers the registry's endpoints share."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import flags


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class FlagsField(serializers.Field):
    """A set of choice values in JSON (``["hobby", "direct"]``), an integer in the model."""

    default_error_messages = {
        "not_a_list": gettext_lazy("値の一覧（配列）で指定してください。"),
        "invalid_choice": gettext_lazy("「{value}」は選べる値ではありません。選べる値: {choices}"),
        "empty": gettext_lazy("1つ以上選んでください。"),
    }

    def __init__(self, *, flag_choices, allow_empty_set: bool = True, **kwargs):
        self.flag_choices = flag_choices
        self.allow_empty_set = allow_empty_set
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> list[str]:
        return flags.values_of(self.flag_choices, value or 0)

    def to_internal_value(self, data) -> int:
        if not isinstance(data, list | tuple):
            self.fail("not_a_list")
        known = set(self.flag_choices.values)
        for value in data:
            if not isinstance(value, str) or value not in known:
                self.fail(
                    "invalid_choice",
                    value=str(value)[:40],
                    choices=", ".join(self.flag_choices.values),
                )
        if not data and not self.allow_empty_set:
            self.fail("empty")
        return flags.mask_of(self.flag_choices, data)
