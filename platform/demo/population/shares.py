"""The shares of a generated population measured back from the raw rows, in SQL, for the
tests and ``bench/registry_bench.py``: what ``survey`` targets, what ``people`` wrote."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from registry import flags
from registry.models import RelationshipType

from .survey import (
    CAPITAL,
    CAPITAL_POPULATION_SHARE,
    CAPITAL_PREFECTURES,
    EMAIL_DOMAIN,
    OTHER,
    SURVEY_FLOWS,
    SURVEY_PEOPLE_BY_CLASS,
    email_prefix,
    target_class_shares,
    target_flow_shares,
)

# =========================================================================================
# Measuring the shares back from the raw rows
# =========================================================================================


@dataclass(frozen=True)
class Share:
    label: str
    target: float
    generated: float
    count: int

    @property
    def difference_pp(self) -> float:
        return (self.generated - self.target) * 100


@dataclass(frozen=True)
class PopulationShares:
    people: int
    visiting_people: int
    visiting_registrations: int
    mixed_area_people: int  # visiting people tied to both areas (0 by construction)
    classes: list[Share]
    flows_by_person: list[Share]
    flows_by_registration: list[Share]
    non_visiting_home_in_capital: Share

    @property
    def all(self) -> list[Share]:
        return [
            *self.classes,
            *self.flows_by_person,
            *self.flows_by_registration,
            self.non_visiting_home_in_capital,
        ]


_CAPITAL_CODES = "(" + ", ".join(f"'{code}'" for code in sorted(CAPITAL_PREFECTURES)) + ")"
# Portable SQL (PostgreSQL and SQLite): the lowest bit of an OR is the least lowest bit.
_SHARES_SQL = f"""
SELECT deepest, home_capital, tie_capital, tie_other,
       COUNT(*) AS people, SUM(tie_capital) AS reg_capital, SUM(tie_other) AS reg_other
FROM (
    SELECT r.person_id,
           MIN(r.types & -r.types) AS deepest,
           MAX(CASE WHEN home.prefecture_id IN {_CAPITAL_CODES} THEN 1 ELSE 0 END)
               AS home_capital,
           SUM(CASE WHEN place.prefecture_id IN {_CAPITAL_CODES} THEN 1 ELSE 0 END)
               AS tie_capital,
           SUM(CASE WHEN place.prefecture_id IN {_CAPITAL_CODES} THEN 0 ELSE 1 END)
               AS tie_other
    FROM registry_registration r
    JOIN places_municipality place ON place.code = r.municipality_id
    JOIN places_municipality home ON home.code = r.home_municipality_id
    JOIN accounts_user u ON u.id = r.person_id
    WHERE r.status = 'active' AND u.email LIKE %s
    GROUP BY r.person_id
) per_person
GROUP BY deepest, home_capital, tie_capital, tie_other
"""  # noqa: S608  (only the constant codes of 首都圏 are put in)


def population_shares(*, seed: int | None = None) -> PopulationShares:
    """The shares of generated people (of ``seed``, or all), from the registrations alone:
    a person's class is the lowest bit over their registrations' types, their home area is
    the registrations' home municipality, their tie area the registrations' places."""
    pattern = f"{email_prefix(seed) if seed is not None else 'pop-'}%@{EMAIL_DOMAIN}"
    with connection.cursor() as cursor:
        cursor.execute(_SHARES_SQL, [pattern])
        rows = cursor.fetchall()
    by_class: dict[int, int] = {}
    flows = dict.fromkeys(SURVEY_FLOWS, 0)
    reg_flows = dict.fromkeys(SURVEY_FLOWS, 0)
    non_visiting_bit = flags.bit(RelationshipType, RelationshipType.NON_VISITING)
    mixed = nv_people = nv_capital = 0
    for row in rows:
        deepest, home_capital, tie_capital, tie_other, people, reg_capital, reg_other = map(
            int, row
        )
        by_class[deepest] = by_class.get(deepest, 0) + people
        home = CAPITAL if home_capital else OTHER
        if deepest == non_visiting_bit:
            nv_people += people
            nv_capital += people if home_capital else 0
            continue
        if tie_capital and tie_other:
            mixed += people
        else:
            flows[(home, CAPITAL if tie_capital else OTHER)] += people
        reg_flows[(home, CAPITAL)] += reg_capital
        reg_flows[(home, OTHER)] += reg_other
    total = sum(by_class.values())
    visiting = total - nv_people
    visiting_registrations = sum(reg_flows.values())

    def share(label: str, target: float, count: int, of: int) -> Share:
        return Share(label, target, count / of if of else 0.0, count)

    targets = target_class_shares()
    classes = [
        share(
            f"{RelationshipType(kind).label} ({kind})",
            targets[kind],
            by_class.get(flags.bit(RelationshipType, kind), 0),
            total,
        )
        for kind in SURVEY_PEOPLE_BY_CLASS
    ]
    flow_targets = target_flow_shares()
    names = {CAPITAL: "首都圏", OTHER: "other"}
    flow_label = {cell: f"{names[cell[0]]} → {names[cell[1]]}" for cell in SURVEY_FLOWS}
    return PopulationShares(
        people=total,
        visiting_people=visiting,
        visiting_registrations=visiting_registrations,
        mixed_area_people=mixed,
        classes=classes,
        flows_by_person=[
            share(f"{flow_label[cell]} (people)", flow_targets[cell], flows[cell], visiting)
            for cell in SURVEY_FLOWS
        ],
        flows_by_registration=[
            share(
                f"{flow_label[cell]} (registrations)",
                flow_targets[cell],
                reg_flows[cell],
                visiting_registrations,
            )
            for cell in SURVEY_FLOWS
        ],
        non_visiting_home_in_capital=share(
            "非訪問系 living in 首都圏", CAPITAL_POPULATION_SHARE, nv_capital, nv_people
        ),
    )
