"""Place names in English: prefectures by their official names, municipalities in Hepburn.

A municipality's romaji is made from its kana (never from the kanji, whose readings vary) by
``pykakasi``, passport style: no macrons (おお, おう → o; うう → u) and no apostrophes
(Shinonsen), っち → tchi. The kind
suffix is split off by its reading and joined with a hyphen, as the towns write it
themselves: 飛騨市 ヒダシ → ``Hida-shi``, 智頭町 チヅチョウ → ``Chizu-cho``, 白川村 シラカワムラ →
``Shirakawa-mura``, 千代田区 チヨダク → ``Chiyoda-ku``. A ward of a designated city
(札幌市中央区 サッポロシチュウオウク) is the ward first, then its city: ``Chuo-ku, Sapporo-shi``.

On an English page a place reads "Hida (飛騨市), Gifu": the romaji without its suffix
(``display``), then the name as written (``places.templatetags.place_names``).
"""

from __future__ import annotations

import re
from functools import lru_cache

import pykakasi

from .kana import search_key, to_katakana

# The 47 prefectures' official English names (JIS X 0401 order), as the prefectures and the
# national government write them.
PREFECTURE_ENGLISH = {
    "01": "Hokkaido",
    "02": "Aomori",
    "03": "Iwate",
    "04": "Miyagi",
    "05": "Akita",
    "06": "Yamagata",
    "07": "Fukushima",
    "08": "Ibaraki",
    "09": "Tochigi",
    "10": "Gunma",
    "11": "Saitama",
    "12": "Chiba",
    "13": "Tokyo",
    "14": "Kanagawa",
    "15": "Niigata",
    "16": "Toyama",
    "17": "Ishikawa",
    "18": "Fukui",
    "19": "Yamanashi",
    "20": "Nagano",
    "21": "Gifu",
    "22": "Shizuoka",
    "23": "Aichi",
    "24": "Mie",
    "25": "Shiga",
    "26": "Kyoto",
    "27": "Osaka",
    "28": "Hyogo",
    "29": "Nara",
    "30": "Wakayama",
    "31": "Tottori",
    "32": "Shimane",
    "33": "Okayama",
    "34": "Hiroshima",
    "35": "Yamaguchi",
    "36": "Tokushima",
    "37": "Kagawa",
    "38": "Ehime",
    "39": "Kochi",
    "40": "Fukuoka",
    "41": "Saga",
    "42": "Nagasaki",
    "43": "Kumamoto",
    "44": "Oita",
    "45": "Miyazaki",
    "46": "Kagoshima",
    "47": "Okinawa",
}

# Kind suffix -> its readings (katakana) and their romaji. 町 and 村 are read either way;
# the kana says which.
_SUFFIXES = {
    "市": (("シ", "shi"),),
    "区": (("ク", "ku"),),
    "町": (("チョウ", "cho"), ("マチ", "machi")),
    "村": (("ソン", "son"), ("ムラ", "mura")),
}
SUFFIX_ROMAJI = frozenset(r for readings in _SUFFIXES.values() for _k, r in readings)

_LONG_VOWELS = ((re.compile("ou"), "o"), (re.compile("oo"), "o"), (re.compile("uu"), "u"))
_MACRONS = str.maketrans("āīūēōâîûêôĀĪŪĒŌÂÎÛÊÔ", "aiueoaiueoAIUEOAIUEO")
_NOT_ALNUM = re.compile(r"[-'’.,・\s]")


@lru_cache(maxsize=1)
def _kakasi() -> pykakasi.kakasi:
    return pykakasi.kakasi()


def hepburn(kana: str) -> str:
    """Lower-case passport Hepburn of a reading in kana: トウキョウ → tokyo."""
    text = "".join(part["hepburn"] for part in _kakasi().convert(to_katakana(kana)))
    text = text.lower().replace("cch", "tch").replace("'", "")
    for pattern, short in _LONG_VOWELS:
        text = pattern.sub(short, text)
    return text


def _split_suffix(name: str, kana: str) -> tuple[str, str]:
    """(reading of the stem, romaji of the suffix) of a name ending in 市・区・町・村."""
    for reading, romaji in _SUFFIXES.get(name[-1:], ()):
        if kana.endswith(reading) and len(kana) > len(reading):
            return kana[: -len(reading)], romaji
    return kana, ""


def _one(name: str, kana: str) -> str:
    stem, suffix = _split_suffix(name, kana)
    romaji = hepburn(stem).capitalize()
    return f"{romaji}-{suffix}" if suffix else romaji


def municipality_romaji(name: str, kana: str, *, city: tuple[str, str] | None = None) -> str:
    """The stored romaji: ``Hida-shi``; a ward of a designated city with ``city`` (its city's
    name and kana, 札幌市 サッポロシ): ``Chuo-ku, Sapporo-shi``."""
    kana = to_katakana(kana)
    if city is not None:
        city_name, city_kana = city
        city_kana = to_katakana(city_kana)
        if name.startswith(city_name) and kana.startswith(city_kana):
            ward = _one(name[len(city_name) :], kana[len(city_kana) :])
            return f"{ward}, {_one(city_name, city_kana)}"
    return _one(name, kana)


def display(romaji: str) -> str:
    """The romaji as English prose names the place: without the kind suffix (Hida-shi →
    Hida; Chuo-ku, Sapporo-shi → Chuo, Sapporo)."""
    parts = []
    for part in romaji.split(", "):
        stem, _, suffix = part.rpartition("-")
        parts.append(stem if stem and suffix in SUFFIX_ROMAJI else part)
    return ", ".join(parts)


def place_key(text: str) -> str:
    """The search key of a place name in any script: ``search_key`` with romaji folded too —
    no macrons, hyphens, apostrophes or spaces (Hida-shi, HIDA SHI, hidashi alike)."""
    return _NOT_ALNUM.sub("", search_key(text.translate(_MACRONS)))
