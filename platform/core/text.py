"""Text as people type it, made comparable.

SPEC 7a: full-width digits and letters and half-width kana are the same text as their
ordinary forms, so everything typed is Unicode NFKC-normalised before it is checked,
searched for or stored. Pages do it in ``core.forms.NormalisedInputMixin``, the API in its
fields, searches on the query.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping


def nfkc(value):
    """``value`` in Unicode NFKC if it is text; anything else as it is."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


def nfkc_data(data: Mapping, keep: set[str]):
    """Submitted form data (a ``QueryDict`` or a dict) with every value NFKC-normalised,
    except those under the keys in ``keep`` (passwords, exactly as typed)."""
    if hasattr(data, "lists"):  # a QueryDict
        copy = data.copy()
        for key, values in data.lists():
            if key not in keep:
                copy.setlist(key, [nfkc(value) for value in values])
        return copy
    return {key: value if key in keep else nfkc(value) for key, value in data.items()}
