"""Form pieces every room's pages share: normalised input and dates people type."""

from __future__ import annotations

from django import forms

from .dates import EARLIEST, LATEST, validate_sane_date
from .text import nfkc_data

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d"]


class NormalisedInputMixin:
    """Unicode NFKC on everything typed (full-width digits and letters, half-width kana)
    before any field validates it, as SPEC 7a asks. Passwords are left exactly as typed."""

    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            prefix = kwargs.get("prefix") or getattr(self, "prefix", None)
            keep = {
                f"{prefix}-{name}" if prefix else name
                for name, field in self.base_fields.items()
                if isinstance(field.widget, forms.PasswordInput)
            }
            data = nfkc_data(data, keep)
        super().__init__(data, *args, **kwargs)


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
