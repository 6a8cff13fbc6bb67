"""The survey a generated population follows, and every assumption made where it is
silent: ALL the target figures of ``people`` live here (``shares`` measures them back)."""

from __future__ import annotations

from places.models import MunicipalityKind
from registry import flags
from registry.models import (
    AGE_OF_MAJORITY,
    AvailableDays,
    Gender,
    RelationshipType,
    TieOrigin,
)

# =========================================================================================
# The survey, and every assumption made where it is silent: ALL target figures live here.
# =========================================================================================
#
# Source: 国土交通省「関係人口の実態把握」令和5年度（2023年度）調査, as issue 3 quotes it.
# People (実人数) in 万人, each counted once, by the deepest type of tie they have
# (the survey's categories are ordered deepest first, as RelationshipType is).
#
#   visiting (訪問系)      1,884 万
#   non-visiting (非訪問系)  379 万
#   total                 2,263 万
#
# Visiting people by their deepest tie (given): 直接寄与型 437, テレワーク 145,
# 参加・交流型 485, 趣味・消費型 711. 就労型（現地） is NOT given: it is derived here as the
# residual of the visiting total, 1,884 − 437 − 145 − 485 − 711 = 106 万.
SURVEY_VISITING = 1884
SURVEY_NON_VISITING = 379
SURVEY_TOTAL = SURVEY_VISITING + SURVEY_NON_VISITING  # 2,263 万
SURVEY_PEOPLE_BY_CLASS: dict[str, int] = {
    RelationshipType.DIRECT: 437,
    RelationshipType.WORK_ON_SITE: SURVEY_VISITING - 437 - 145 - 485 - 711,  # 106, derived
    RelationshipType.TELEWORK: 145,
    RelationshipType.PARTICIPATION: 485,
    RelationshipType.HOBBY: 711,
    RelationshipType.NON_VISITING: SURVEY_NON_VISITING,
}

# 首都圏 as the survey uses it: 埼玉県, 千葉県, 東京都, 神奈川県.
CAPITAL_PREFECTURES = frozenset({"11", "12", "13", "14"})
CAPITAL, OTHER = "capital", "other"

# Flows of visiting people, home area → area of the tie, in 万人. Given: 首都圏 → other areas
# 293, other → other 763. The survey does not give the other two cells; ASSUMPTION: visiting
# people live in 首都圏 as often as everybody does. 2020 census: 36,914,000 of 126,146,000
# people live in the four prefectures (29.26 %), so 29.26 % of 1,884 = 551 万 visiting people
# live there: 首都圏 → 首都圏 = 551 − 293 = 258, other → 首都圏 = 1,884 − 551 − 763 = 570.
CAPITAL_POPULATION_SHARE = 36_914_000 / 126_146_000
_VISITING_FROM_CAPITAL = round(SURVEY_VISITING * CAPITAL_POPULATION_SHARE)  # 551
SURVEY_FLOWS: dict[tuple[str, str], int] = {
    (CAPITAL, CAPITAL): _VISITING_FROM_CAPITAL - 293,  # 258, derived
    (CAPITAL, OTHER): 293,
    (OTHER, CAPITAL): SURVEY_VISITING - _VISITING_FROM_CAPITAL - 763,  # 570, derived
    (OTHER, OTHER): 763,
}
# Non-visiting people: home in 首都圏 with the same 29.26 % (assumed); ties anywhere.
# Every registration of a visiting person goes to the tie area of their flow cell, so the
# flow shares hold per person and per registration alike.

# STAND-IN: we have no population per municipality, so places are weighted by kind, both as
# homes and as ties (a 特別区 or 市 is six times as likely as a 村).
KIND_WEIGHTS: dict[str, int] = {
    MunicipalityKind.SPECIAL_WARD: 6,
    MunicipalityKind.CITY: 6,
    MunicipalityKind.TOWN: 2,
    MunicipalityKind.VILLAGE: 1,
}

# Registrations per person: 1 + Poisson(mean − 1), at most REGISTRATIONS_CAP. The survey
# does not say how many places a person is tied to; the national target (1,000万 people,
# 1億 registrations) means 10 延べ per 実人数 — the mean is an option for that reason.
DEFAULT_REGISTRATIONS_PER_PERSON = 2.5
REGISTRATIONS_CAP = 12

# --- Assumed (plausible, not from the survey) --------------------------------------------

# How a tie began, by whether the person visits (非訪問系 lean on ふるさと納税).
ORIGIN_WEIGHTS: dict[bool, dict[str, float]] = {
    True: {  # visiting
        TieOrigin.BIRTHPLACE: 0.20,
        TieOrigin.LIVED: 0.12,
        TieOrigin.STUDIED_WORKED: 0.08,
        TieOrigin.FAMILY: 0.15,
        TieOrigin.FURUSATO_NOZEI: 0.10,
        TieOrigin.VISITS: 0.30,
        TieOrigin.OTHER: 0.05,
    },
    False: {  # non-visiting
        TieOrigin.BIRTHPLACE: 0.15,
        TieOrigin.LIVED: 0.08,
        TieOrigin.STUDIED_WORKED: 0.04,
        TieOrigin.FAMILY: 0.10,
        TieOrigin.FURUSATO_NOZEI: 0.45,
        TieOrigin.VISITS: 0.10,
        TieOrigin.OTHER: 0.08,
    },
}
# Chance that each consent is given, per registration.
CONSENT_RATES: dict[str, float] = {
    "share_name": 0.55,
    "share_contact": 0.45,
    "share_age_band": 0.70,
    "share_skills": 0.50,
    "allow_announcements": 0.60,
}
# A visiting person's registration types ("multiple types allowed"): one registration
# carries the person's class; each carries one type drawn evenly from the class and the
# shallower visiting types, each visiting type shallower than that one with a chance of
# 1/8 (three random bits ANDed), and 非訪問系 as well with NON_VISITING_TOO. So the deepest
# type over a person's registrations is their class. A non-visiting person's carry 非訪問系
# only.
NON_VISITING_TOO = 0.10
# Registrations spread over this many days before the reference day.
SPREAD_DAYS = 3 * 365
# Chance that a registration has a last activity, by the person's class.
ACTIVITY_RATES: dict[str, float] = {
    RelationshipType.DIRECT: 0.60,
    RelationshipType.WORK_ON_SITE: 0.50,
    RelationshipType.TELEWORK: 0.40,
    RelationshipType.PARTICIPATION: 0.45,
    RelationshipType.HOBBY: 0.25,
    RelationshipType.NON_VISITING: 0.05,
}
# Premium: this share of adult people, on 1 to REGISTRY_PREMIUM_LIMIT (3) of their
# registrations, with a term that is running on the reference day.
PREMIUM_SHARE = 0.02
# Age (years reached this year): (lowest, highest, weight). Ages up to AGE_OF_MAJORITY may
# be minors (only the year of birth is known) and register with a guardian's consent.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (15, AGE_OF_MAJORITY, 0.03),
    (AGE_OF_MAJORITY + 1, 29, 0.16),
    (30, 39, 0.20),
    (40, 49, 0.20),
    (50, 59, 0.18),
    (60, 69, 0.15),
    (70, 85, 0.08),
)
GENDER_WEIGHTS: dict[str, float] = {
    Gender.FEMALE: 0.48,
    Gender.MALE: 0.47,
    Gender.OTHER: 0.01,
    "": 0.04,  # not given
}
AVAILABLE_DAYS_WEIGHTS: dict[int, float] = {
    flags.mask_of(AvailableDays, ["weekdays"]): 0.15,
    flags.mask_of(AvailableDays, ["weekends"]): 0.50,
    flags.full_mask(AvailableDays): 0.35,
}
ENGLISH_SHARE = 0.25
OTHER_LANGUAGE_SHARE = 0.03

# Common names (with kana), for display only.
FAMILY_NAMES = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
)
GIVEN_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    Gender.FEMALE: (
        ("陽葵", "ヒマリ"),
        ("結衣", "ユイ"),
        ("葵", "アオイ"),
        ("美咲", "ミサキ"),
        ("陽菜", "ヒナ"),
        ("さくら", "サクラ"),
        ("花子", "ハナコ"),
        ("恵子", "ケイコ"),
        ("裕子", "ユウコ"),
        ("真由美", "マユミ"),
    ),
    Gender.MALE: (
        ("陽翔", "ハルト"),
        ("蓮", "レン"),
        ("大翔", "ヒロト"),
        ("湊", "ミナト"),
        ("悠真", "ユウマ"),
        ("健太", "ケンタ"),
        ("翔太", "ショウタ"),
        ("誠", "マコト"),
        ("浩", "ヒロシ"),
        ("隆", "タカシ"),
    ),
}
GIVEN_NAMES[Gender.OTHER] = GIVEN_NAMES[""] = GIVEN_NAMES[Gender.FEMALE] + GIVEN_NAMES[Gender.MALE]

EMAIL_DOMAIN = "population.invalid"


def email_prefix(seed: int) -> str:
    return f"pop-{seed}-"


def target_class_shares() -> dict[str, float]:
    """Share of people by their deepest type of tie."""
    return {kind: people / SURVEY_TOTAL for kind, people in SURVEY_PEOPLE_BY_CLASS.items()}


def target_flow_shares() -> dict[tuple[str, str], float]:
    """Share of visiting people by (home area, tie area)."""
    return {cell: people / SURVEY_VISITING for cell, people in SURVEY_FLOWS.items()}
