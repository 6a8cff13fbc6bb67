"""Form pieces every room's pages share: fixed-form input made comparable, free text kept
as typed, and dates people type."""

from __future__ import annotations

from django import forms

from .dates import EARLIEST, LATEST, validate_sane_date
from .text import nfkc_data

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d"]


class FixedFormCharField(forms.CharField):
    """Text whose form is fixed (a code, a postcode, a phone number, a kana reading): on a
    ``NormalisedInputMixin`` form it is NFKC-normalised before it validates, so that ３１３
    and ｶﾅ are 313 and カナ. A plain ``forms.CharField`` is free text, kept as typed."""

    fixed_form = True


def is_fixed_form(field: forms.Field) -> bool:
    """Whether what is typed into ``field`` is folded with NFKC: fields that parse a value
    (numbers, dates, times, choices, e-mail, URLs) and ``FixedFormCharField``; never free
    text (a plain ``CharField``) nor a password."""
    explicit = getattr(field, "fixed_form", None)
    if explicit is not None:
        return bool(explicit)
    if isinstance(field.widget, forms.PasswordInput):
        return False
    return type(field) is not forms.CharField


class NormalisedInputMixin:
    """Unicode NFKC (full-width digits and letters, half-width kana) on the fields whose
    form is fixed (``is_fixed_form``) before they validate, as SPEC 7a asks; free text and
    passwords are left exactly as typed."""

    def full_clean(self):
        # At cleaning, not in __init__: a form may add fields of its own after it (by the
        # person's age, by the task's questions), and they are folded too.
        if self.is_bound:
            only = {
                self.add_prefix(name) for name, field in self.fields.items() if is_fixed_form(field)
            }
            self.data = nfkc_data(self.data, only)
        super().full_clean()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        attrs = {"min": EARLIEST.isoformat(), "max": LATEST.isoformat(), **(attrs or {})}
        super().__init__(attrs, format="%Y-%m-%d")


def date_field(label, **kwargs) -> forms.DateField:
    """A date typed into a page: the formats people use, within the site's range
    (``core.dates``), so a far-off date is a form error and never reaches a query."""
    return forms.DateField(
        label=label,
        input_formats=DATE_INPUT_FORMATS,
        widget=DateInput(),
        validators=[validate_sane_date],
        **kwargs,
    )
