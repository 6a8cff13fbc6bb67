"""Search keys: the one form in which stored text and what people search for are compared.

A key is the text in Unicode NFKC (full-width letters and digits, half-width kana folded),
katakana folded to hiragana, in lower case and without white space, so that くさかり,
クサカリ and ｸｻｶﾘ are one query. A document's key adds the hiragana reading of its kanji
(pykakasi's dictionary), so that a query in kana finds text written in kanji (くさかり finds
草刈り), and readings it is given (a municipality's official kana), each piece on a line of
its own. Queries never hold a line break, so a query never matches across two pieces.

The text people typed is not changed: only its key is (``core.text``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import pykakasi

_KATAKANA_TO_HIRAGANA = {cp: cp - 0x60 for cp in range(ord("ァ"), ord("ヶ") + 1)}
# Kanji (with 々 and 〆), the only text whose reading differs from its folded form.
_KANJI = "\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANJI_RE = re.compile(f"[{_KANJI}]")
# A word to read: a run of kanji and the hiragana after it (送り仮名: 刈り, 手伝って).
_WORD_RE = re.compile(f"[{_KANJI}]+[\u3041-\u3096]*")


def fold(text: str) -> str:
    """``text`` as a key: NFKC, katakana as hiragana, lower case, no white space."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(text.translate(_KATAKANA_TO_HIRAGANA).lower().split())


@functools.cache
def _kakasi() -> pykakasi.kakasi:
    return pykakasi.kakasi()


@functools.lru_cache(maxsize=65536)
def _word_reading(word: str) -> str:
    return "".join(item["hira"] for item in _kakasi().convert(word))


def reading(text: str) -> str:
    """The hiragana reading of ``text``: each word of kanji read by pykakasi (with the
    hiragana after it, which it reads by), everything else as it is. Empty when there is
    no kanji to read. Word by word, and each word's reading kept: the same words recur
    across tasks, and pykakasi costs tens of microseconds a character."""
    if not text or not _KANJI_RE.search(text):
        return ""
    return _WORD_RE.sub(lambda word: _word_reading(word.group()), text)


def document_key(parts: Iterable[str], readings: Iterable[str] = ()) -> str:
    """The key of a document made of ``parts`` (its texts) and ``readings`` (kana given for
    it): the folded text, the folded reading of its kanji, and each folded reading given."""
    parts = [part for part in parts if part]
    pieces = [fold(" ".join(parts)), fold(" ".join(reading(part) or part for part in parts))]
    if pieces[1] == pieces[0]:
        pieces.pop()  # nothing to read: no kanji
    pieces.extend(fold(given) for given in readings)
    return "\n".join(dict.fromkeys(piece for piece in pieces if piece))


def query_key(text: str) -> str:
    """What was typed into a search box, as a key to look for in documents' keys."""
    return fold(text)
