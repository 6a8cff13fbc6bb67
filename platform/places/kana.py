"""Normalising Japanese text before it is validated or searched.

NFKC folds full-width digits and letters and half-width kana (ﾋﾀﾞｼ → ヒダシ); hiragana is
then folded to katakana so that ひだし, ヒダシ and ﾋﾀﾞｼ all search alike.
"""

import unicodedata

_HIRAGANA_TO_KATAKANA = {cp: cp + 0x60 for cp in range(ord("ぁ"), ord("ゖ") + 1)}


def normalize(text: str) -> str:
    """NFKC, trimmed, inner runs of white space folded to one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def to_katakana(text: str) -> str:
    return text.translate(_HIRAGANA_TO_KATAKANA)


def search_key(text: str) -> str:
    """The form both stored search text and queries take: normalised, katakana, no spaces."""
    return to_katakana(normalize(text)).replace(" ", "").lower()
