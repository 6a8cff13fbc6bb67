"""Sets of choices stored as one integer (a bit per choice).

A registration's relationship types, a profile's interests, skills, availability and
languages are small sets. At 100 million registrations a bitmask keeps each set in two to
four bytes, needs no join table, and filters in SQL with ``&`` (``F("types").bitand(bit)``).
The bit of a choice is its position in its ``TextChoices``: never reorder, only append.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.db.models import TextChoices


def bit(choices: type[TextChoices], value: str) -> int:
    """The bit of one choice."""
    return 1 << list(choices.values).index(value)


def mask_of(choices: type[TextChoices], values: Iterable[str]) -> int:
    """The integer for a set of choice values; unknown values raise ValueError."""
    mask = 0
    known = list(choices.values)
    for value in values:
        mask |= 1 << known.index(value)
    return mask


def values_of(choices: type[TextChoices], mask: int) -> list[str]:
    """The choice values whose bits are set, in the order of the choices."""
    return [value for index, value in enumerate(choices.values) if mask >> index & 1]


def labels_of(choices: type[TextChoices], mask: int) -> list[str]:
    return [str(label) for index, label in enumerate(choices.labels) if mask >> index & 1]


def full_mask(choices: type[TextChoices]) -> int:
    return (1 << len(choices.values)) - 1


class FlagsFormField(forms.MultipleChoiceField):
    """Checkboxes in the form, an integer in ``cleaned_data``."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, *, flag_choices: type[TextChoices], **kwargs):
        self.flag_choices = flag_choices
        super().__init__(choices=flag_choices.choices, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return values_of(self.flag_choices, value)
        return value

    def clean(self, value) -> int:
        return mask_of(self.flag_choices, super().clean(value))

    def has_changed(self, initial, data) -> bool:
        initial_values = self.prepare_value(initial) or []
        return set(initial_values) != set(data or [])
