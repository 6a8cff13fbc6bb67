"""The small words between words, in the reader's language: a list is 「A、B」 in Japanese
and "A, B" in English, an aside is 「（A）」 and " (A)", a label 「A：」 and "A: ". One place,
so that no page or e-mail joins English with Japanese punctuation."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import get_language


def japanese() -> bool:
    """Whether the active language is Japanese (the site's own)."""
    return (get_language() or "ja").startswith("ja")


def list_join(values: Iterable) -> str:
    """The items as a list: 「田植え、雪かき」; "Rice planting, Snow clearing"."""
    return ("、" if japanese() else ", ").join(str(value) for value in values or [])


def aside(value) -> str:
    """An aside after what it qualifies: 「（2026年）」; " (2026)"."""
    return f"（{value}）" if japanese() else f" ({value})"


def separator() -> str:
    """Between the parts of a line of details: 「・」; "·"."""
    return "・" if japanese() else "·"


def colon() -> str:
    """After a label: 「：」; ": "."""
    return "：" if japanese() else ": "
