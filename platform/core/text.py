"""Text as people type it, and the forms in which it is compared.

Free text (titles, descriptions, schedules, messages, names, reviews: everything people
write for other people to read) is stored as it was typed: "草刈り（テスト）！" stays
"草刈り（テスト）！", "集合／8:30" stays "集合／8:30". Only its ends are trimmed.

Unicode NFKC is for the two places where the form does not matter and the content does
(SPEC 7a): fields whose form is fixed (codes, numbers, dates, postcodes, phone numbers,
e-mail addresses, kana readings), where full-width digits and letters and half-width kana
are the same text as their ordinary forms, and search keys (``core.search``). Pages fold
fixed-form fields in ``core.forms.NormalisedInputMixin``, the API in
``core.api.NormalisedCharField``, services with ``fixed_form``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping


def nfkc(value):
    """``value`` in Unicode NFKC if it is text; anything else as it is."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def fixed_form(value) -> str:
    """Text of a field whose form is fixed (a code, a number, a phone number, a kana
    reading): NFKC, trimmed, inner runs of white space folded to one space."""
    if not isinstance(value, str):
        return ""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def as_typed(value) -> str:
    """Free text as it was typed, only trimmed at both ends."""
    return value.strip() if isinstance(value, str) else ""


def nfkc_data(data: Mapping, only: set[str]):
    """Submitted form data (a ``QueryDict`` or a dict) with the values under the keys in
    ``only`` (the fixed-form fields) NFKC-normalised, and every other value as typed."""
    if hasattr(data, "lists"):  # a QueryDict
        copy = data.copy()
        for key, values in data.lists():
            if key in only:
                copy.setlist(key, [nfkc(value) for value in values])
        return copy
    return {key: nfkc(value) if key in only else value for key, value in data.items()}
