"""Every place's names by code, read once per process (as ``distances`` reads coordinates):
for pages that name a place they hold only as a code and a name (statistics' areas)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .models import Municipality, Prefecture


@dataclass(frozen=True)
class PlaceNames:
    name: str  # 飛騨市, 岐阜県
    english: str  # Hida, Gifu
    prefecture_name: str = ""  # 岐阜県 (a municipality's)
    prefecture_english: str = ""  # Gifu


@lru_cache(maxsize=1)
def _table() -> dict[str, PlaceNames]:
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    table = {code: PlaceNames(p.name, p.english_name) for code, p in prefectures.items()}
    for m in Municipality.objects.only("code", "name", "romaji", "prefecture_id"):
        prefecture = prefectures[m.prefecture_id]
        table[m.code] = PlaceNames(m.name, m.english_name, prefecture.name, prefecture.english_name)
    return table


def forget() -> None:
    """Drop what was read, after the places were (re)loaded."""
    _table.cache_clear()


def names_of(code: str) -> PlaceNames | None:
    """The names of the prefecture (2 digits) or municipality (6 digits) ``code``."""
    if not code:
        return None
    table = _table()
    if code not in table and len(table) < 47 + 1741:  # read before the load
        forget()
        table = _table()
    return table.get(code)
