"""Which figures viewers without row-level rights may see (統計の秘匿).

Primary suppression hides every figure that counts between 1 and ``threshold − 1`` people.
Secondary suppression hides more, so that none of them can be worked out from what is
shown: every published figure takes part in linear relations an outsider knows (a total is
the sum of its parts; a prefecture's cell is the sum of its municipalities'; a cumulative
count moves by the new less the withdrawn). For each relation we require that it holds no
hidden figure, or at least two whose sum is at least the threshold, so that subtracting the
shown figures from the total leaves a sum shared by several unknowns and wide enough that
none is pinned down. A worklist re-checks the relations of every newly hidden figure until
all hold. Complements are the smallest non-zero shown figures (least information lost).

All figures any page or the API shows are decided together, once, so that no two pages
disagree and no combination of pages gives away what one hides.
"""

from __future__ import annotations

import datetime
import itertools
import logging
from collections import defaultdict, deque
from dataclasses import dataclass, field

from django.utils import timezone

from . import cells

logger = logging.getLogger(__name__)

Cell = tuple[str, str, str]

CUMULATIVE = "cum"
# Figures never shown, only known to an outsider through a relation (who signed up but has
# no attendance recorded; who took part once; who dropped out at each step of the funnel).
HELPERS = {
    (cells.BOARD, "unmarked"),
    (cells.BOARD, "once"),
    (cells.FUNNEL, "no_signup"),
    (cells.FUNNEL, "no_show_up"),
    (cells.FUNNEL, "once"),
}


@dataclass
class Problem:
    values: dict[Cell, int] = field(default_factory=dict)
    shown: set[Cell] = field(default_factory=set)
    sensitive: set[Cell] = field(default_factory=set)
    # Figures everyone knows from elsewhere (the public board's): never hidden, so never a
    # complement either (hiding them would pretend a secret and protect nobody).
    public: set[Cell] = field(default_factory=set)
    equations: list[list[tuple[Cell, int]]] = field(default_factory=list)
    # The series' periods shown: "month" (every area) and "day" (the nation), first to today.
    periods: dict[str, list[str]] = field(default_factory=dict)

    def cell(
        self,
        cell: Cell,
        value: int,
        *,
        shown: bool = True,
        people: bool = True,
        public: bool = False,
    ) -> Cell:
        self.values[cell] = value
        if shown:
            self.shown.add(cell)
        if people and not public:
            self.sensitive.add(cell)
        if public:
            self.public.add(cell)
        return cell

    def relation(self, terms: list[tuple[Cell | None, int]]) -> None:
        """A linear relation between figures; zeros (``None``: not among the figures) are
        known to everyone and drop out."""
        kept = [(c, k) for c, k in terms if c is not None]
        if len(kept) >= 2:
            self.equations.append(kept)


def suppress(
    problem: Problem, *, threshold: int, last_shown: dict[Cell, int] | None = None
) -> set[Cell]:
    """The shown cells to hide: primary, then complementary until every relation is safe,
    and then until no hidden figure can be worked out by combining relations.

    Figures never shown are unknown to an outsider; they need protecting only when small.
    A relation is safe when the unknowns it holds that need protecting are none, or are
    two or more unknowns together worth at least ``threshold`` (and, when they all count
    the same way, more than their number: a hidden figure is at least 1). Relations checked
    one at a time can still be chained (a week's total less a month's, through their
    cumulative counts): an exact elimination finds what a chain gives away, and each such
    figure gets one more complement, until there is none.

    ``last_shown`` holds each figure's value when it was last published, which anyone may
    have kept: a figure whose change since is 1 to ``threshold`` − 1 people is protected like
    a small one, and so is a relation's hidden figures' change together, where all of them
    were shown before (else that change is unknown)."""
    values = problem.values
    last = last_shown or {}

    def small_change(cells, coefficient=lambda _c: 1) -> bool:
        change = sum(coefficient(c) * (values[c] - last[c]) for c in cells)
        return 0 < abs(change) < threshold

    small = {
        c
        for c in problem.sensitive
        if 0 < values[c] < threshold or (c in last and small_change([c]))
    }
    unknown = small | (set(values) - problem.shown)
    protect = set(small)
    relations_of: dict[Cell, list[int]] = defaultdict(list)
    for index, terms in enumerate(problem.equations):
        for cell, _coefficient in terms:
            relations_of[cell].append(index)
    queued = [False] * len(problem.equations)
    queue: deque[int] = deque()

    def enqueue(indexes) -> None:
        for index in indexes:
            if not queued[index]:
                queued[index] = True
                queue.append(index)

    def hide(cell: Cell) -> None:
        unknown.add(cell)
        protect.add(cell)
        enqueue(relations_of[cell])

    def complement(terms) -> Cell | None:
        candidates = [c for c, _ in terms if c not in unknown and c not in problem.public]
        return min(candidates, key=lambda c: (values[c] == 0, values[c], c), default=None)

    def nearest(cell: Cell) -> Cell | None:
        """One more complement for a figure a chain of relations gives away: in its own
        relations if one has a shown figure (the one with the fewest unknowns first), else
        in the relations of the unknowns those hold, and so on outwards."""
        seen, layer = {cell}, [cell]
        while layer:
            options = sorted(
                {i for c in layer for i in relations_of[c]},
                key=lambda i: (sum(1 for c, _ in problem.equations[i] if c in unknown), i),
            )
            for index in options:
                pick = complement(problem.equations[index])
                if pick is not None:
                    return pick
            layer = [
                c
                for i in options
                for c, _ in problem.equations[i]
                if c in unknown and c not in seen
            ]
            seen.update(layer)
        return None

    enqueue(range(len(problem.equations)))
    while True:
        while queue:
            index = queue.popleft()
            queued[index] = False
            terms = problem.equations[index]
            secret = [c for c, _ in terms if c in unknown]
            if not any(c in protect for c in secret):
                continue
            total = sum(values[c] for c in secret)
            if len(secret) >= 2 and total >= threshold:
                # A suppressed figure is at least 1 (a zero is shown): hidden figures that
                # count the same way and sum to their number are all 1s.
                one_way = len({k > 0 for c, k in terms if c in unknown}) == 1
                coefficients: dict[Cell, int] = defaultdict(int)
                for c, k in terms:
                    coefficients[c] += k
                changed_together = all(c in last for c in secret) and small_change(
                    secret, coefficients.__getitem__
                )
                if (
                    not one_way or total > sum(1 for c in secret if c in problem.shown)
                ) and not changed_together:
                    continue
            pick = complement(terms)
            if pick is not None:
                hide(pick)
                enqueue([index])
        exposed = sorted(determined(problem.equations, unknown) & protect)
        picks = {pick for cell in exposed if (pick := nearest(cell)) is not None}
        if not picks:
            if exposed:
                logger.error("Suppression left %s figures determined: %s", len(exposed), exposed)
            return unknown & problem.shown
        for pick in sorted(picks):
            hide(pick)


# A prime near 2**61: rank over the rationals, computed exactly modulo it (the relations'
# coefficients are ±1; a rank that differs modulo this prime is vanishingly unlikely).
_PRIME = (1 << 61) - 1


def determined(equations: list[list[tuple[Cell, int]]], unknown: set[Cell]) -> set[Cell]:
    """The unknowns whose value the relations fix, whatever the other unknowns are: those
    whose unit vector lies in the row space of the relations restricted to the unknowns
    (reduced row echelon form, sparse, modulo a large prime)."""
    columns: dict[Cell, int] = {}
    pivots: dict[int, dict[int, int]] = {}  # pivot column → its reduced row
    holders: dict[int, set[int]] = defaultdict(set)  # free column → pivots whose rows hold it
    for terms in equations:
        row: dict[int, int] = {}
        for cell, coefficient in terms:
            if cell in unknown:
                column = columns.setdefault(cell, len(columns))
                row[column] = (row.get(column, 0) + coefficient) % _PRIME
        row = {c: v for c, v in row.items() if v}
        for pivot in [c for c in row if c in pivots]:
            factor = row.get(pivot)
            if not factor:
                continue
            for c, v in pivots[pivot].items():
                value = (row.get(c, 0) - factor * v) % _PRIME
                if value:
                    row[c] = value
                else:
                    row.pop(c, None)
        if not row:
            continue
        pivot = min(row, key=lambda c: (len(holders[c]), c))
        inverse = pow(row[pivot], _PRIME - 2, _PRIME)
        row = {c: v * inverse % _PRIME for c, v in row.items()}
        for other in list(holders.pop(pivot, ())):
            target = pivots[other]
            factor = target.pop(pivot)
            for c, v in row.items():
                if c == pivot:
                    continue
                value = (target.get(c, 0) - factor * v) % _PRIME
                if value:
                    if c not in target:
                        holders[c].add(other)
                    target[c] = value
                elif c in target:
                    del target[c]
                    holders[c].discard(other)
        pivots[pivot] = row
        for c in row:
            if c != pivot:
                holders[c].add(pivot)
    return {cell for cell, column in columns.items() if len(pivots.get(column, ())) == 1}


# --- The figures and their relations ------------------------------------------------------


def month_of(day: str) -> str:
    return day[:7]


def week_of(day: str) -> str:
    year, week, _weekday = datetime.date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def days_between(first: datetime.date, last: datetime.date) -> list[str]:
    return [
        (first + datetime.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
    ]


def problem_from(figures: dict[Cell, int], *, today: datetime.date | None = None) -> Problem:
    """Every figure shown to viewers without row-level rights, with its relations.

    ``figures`` are the counted cells: for the nation, new and withdrawn registrations by
    day; for every other area, by month (YYYY-MM)."""
    today = today or timezone.localdate()
    geo = cells.geography()
    problem = Problem()
    value = figures.get
    areas = {a for a, _m, _k in figures}
    if not areas:
        return problem
    municipalities = sorted(a for a in areas if a.startswith("M"))
    children: dict[str, list[str]] = defaultdict(list)
    for area in municipalities:
        _m, prefecture, region, nation = geo.areas_of(area[1:])
        children[prefecture].append(area)
        if prefecture not in children[region]:
            children[region].append(prefecture)
        if region not in children[nation]:
            children[nation].append(region)
    uppers = [a for a in children if a != cells.NATION] + [cells.NATION]
    everywhere = municipalities + uppers

    def add(area: str, measure: str, key: str, **kwargs) -> Cell | None:
        """The figure, if it is not zero (a zero is shown, and it gives nothing away)."""
        cell = (area, measure, key)
        if cell not in problem.values:
            if not value(cell, 0):
                return None
            problem.cell(cell, value(cell), **kwargs)
        return cell

    # Registrations and their breakdowns.
    for area in everywhere:
        total = add(area, cells.REGISTRATIONS, "")
        if area == cells.NATION or not area.startswith("M"):
            add(area, cells.PEOPLE, "")
        for measure in cells.PARTITIONS:
            parts = [add(area, measure, key) for key in cells.BREAKDOWN_KEYS[measure]]
            problem.relation([(total, 1), *((p, -1) for p in parts)])
        for key in cells.BREAKDOWN_KEYS[cells.TYPE]:
            add(area, cells.TYPE, key)
    # From home to tie by 三大都市圏 (the nation's flow table): sums of prefectures' figures.
    flows: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for area in uppers:
        if area.startswith("P"):
            for origin in cells.METRO_KEYS:
                cell = (area, cells.ORIGIN, origin)
                if cell in problem.values:
                    flows[(cells.metro_area(area[1:]), origin)].append(cell)
    by_origin: dict[str, list[Cell]] = defaultdict(list)
    for (destination, origin), parts in sorted(flows.items()):
        flow = problem.cell(
            (cells.NATION, cells.FLOW, f"{destination}:{origin}"),
            sum(problem.values[p] for p in parts),
        )
        by_origin[origin].append(flow)
        problem.relation([(flow, 1), *((p, -1) for p in parts)])
    for origin, parts in by_origin.items():
        total = (cells.NATION, cells.ORIGIN, origin)
        problem.relation(
            [(total if total in problem.values else None, 1), *((p, -1) for p in parts)]
        )
    # Registrations over time: months everywhere, and days for the nation. Not weeks: a week
    # crosses the end of a month, and a week's total less a month's gives away the few
    # registrations of the day between them (weeks are for row-level viewers only).
    days = sorted(k for a, m, k in figures if a == cells.NATION and m in (cells.NEW, cells.GONE))
    if days:
        first = datetime.date.fromisoformat(days[0])
        all_days = days_between(first, max(today, datetime.date.fromisoformat(days[-1])))
        months = sorted({month_of(d) for d in all_days})
        problem.periods = {"month": months, "day": all_days}
        # The nation's months are the sums of its days.
        for measure in (cells.NEW, cells.GONE):
            by_month = defaultdict(list)
            for day in all_days:
                cell = add(cells.NATION, measure, day)
                if cell is not None:
                    by_month[month_of(day)].append(cell)
            for key, parts in by_month.items():
                total = problem.cell(
                    (cells.NATION, measure, key), sum(problem.values[p] for p in parts)
                )
                problem.relation([(total, 1), *((p, -1) for p in parts)])
        for area in everywhere[:-1]:
            for month in months:
                add(area, cells.NEW, month)
                add(area, cells.GONE, month)
        # Counts at the end of each month; each day's is not shown (a day's few new
        # registrations would hide the running count of every day), but it is known to end
        # each month with the month's.
        _cumulate(problem, cells.NATION, months)
        _cumulate(problem, cells.NATION, all_days, shown=False)
        last_day = {month_of(day): day for day in all_days}
        for month, day in last_day.items():
            ends = [(cells.NATION, CUMULATIVE, key) for key in (month, day)]
            end, last = (c if c in problem.values else None for c in ends)
            problem.relation([(end, 1), (last, -1)])
        for area in everywhere[:-1]:
            _cumulate(problem, area, months)
    # The board and the funnel.
    for area in everywhere:
        board = {
            key: add(area, cells.BOARD, key, public=key in cells.BOARD_PUBLIC)
            for key in cells.BOARD_KEYS
        }
        # Places taken whose attendance is not marked (yet): mostly those of sessions still
        # to come, which the public board shows; no figure of people to protect.
        unmarked = _helper(
            problem,
            (area, cells.BOARD, "unmarked"),
            board["signups"],
            board["attended"],
            board["no_show"],
            public=True,
        )
        problem.relation(
            [(board["signups"], 1), (board["attended"], -1), (board["no_show"], -1), (unmarked, -1)]
        )
        once = _helper(
            problem, (area, cells.BOARD, "once"), board["participants"], board["repeaters"]
        )
        problem.relation([(board["participants"], 1), (board["repeaters"], -1), (once, -1)])
        stages = [add(area, cells.FUNNEL, key) for key in cells.FUNNEL_KEYS]
        registered = (area, cells.REGISTRATIONS if area.startswith("M") else cells.PEOPLE, "")
        registered = registered if registered in problem.values else None
        problem.relation([(stages[0], 1), (registered, -1)])
        for name, (upper, lower) in zip(
            ("no_signup", "no_show_up", "once"), itertools.pairwise(stages), strict=True
        ):
            rest = _helper(problem, (area, cells.FUNNEL, name), upper, lower)
            problem.relation([(upper, 1), (lower, -1), (rest, -1)])
    # Each upper area's additive cells are the sums of its children's.
    additive = [
        (m, k)
        for (a, m, k) in list(problem.values)
        if a == cells.NATION
        and m not in (cells.PEOPLE, cells.FUNNEL, cells.FLOW)
        and (m, k) not in HELPERS
        and not (m == cells.BOARD and k in ("participants", "repeaters"))
        and not (m in (cells.NEW, cells.GONE, CUMULATIVE) and len(k) != 7)
    ]
    for parent, kids in children.items():
        for measure, key in additive:
            parts = [add(kid, measure, key) for kid in kids]
            total = (parent, measure, key)
            problem.relation(
                [(total if total in problem.values else None, 1), *((p, -1) for p in parts)]
            )
    return problem


def parts_of_hidden_totals(problem: Problem, hidden: set[Cell]) -> set[Cell]:
    """The parts to publish as suppressed, zeros among them, of every total that is: where
    an area's registrations are hidden, each of its breakdowns and its series; where its
    funnel's first stage is hidden, the other stages. A zero beside a hidden total would
    tell what the few people counted in it are not, and with one group left, what they
    are (a town of one registrant: their gender, tier, home region …)."""
    found: set[Cell] = set()
    months, days = problem.periods.get("month", []), problem.periods.get("day", [])
    areas = {a for a, _m, _k in problem.values}
    for area in areas:
        if (area, cells.REGISTRATIONS, "") in hidden:
            for measure, keys in cells.BREAKDOWN_KEYS.items():
                found.update((area, measure, key) for key in keys)
            for period in months:
                found.update((area, m, period) for m in (cells.NEW, cells.GONE, CUMULATIVE))
            if area == cells.NATION:
                found.update((area, m, day) for day in days for m in (cells.NEW, cells.GONE))
        registered = (area, cells.FUNNEL, cells.FUNNEL_KEYS[0])
        if registered in hidden or (
            area.startswith("M") and (area, cells.REGISTRATIONS, "") in hidden
        ):
            found.update((area, cells.FUNNEL, key) for key in cells.FUNNEL_KEYS)
    return found


def _cumulate(problem: Problem, area: str, periods: list[str], *, shown: bool = True) -> None:
    """Registrations at the end of each period: the last equals the area's registrations."""
    values = problem.values
    running = 0
    previous = None
    for period in periods:
        new, gone = (area, cells.NEW, period), (area, cells.GONE, period)
        new, gone = (new if new in values else None), (gone if gone in values else None)
        if new is None and gone is None and previous is None:
            continue  # before the area's first registration
        running += values.get(new, 0) - values.get(gone, 0)
        cumulative = (
            problem.cell((area, CUMULATIVE, period), running, shown=shown) if running else None
        )
        problem.relation([(cumulative, 1), (new, -1), (gone, 1), (previous, -1)])
        previous = cumulative
    total = (area, cells.REGISTRATIONS, "")
    problem.relation([(previous, 1), (total if total in values else None, -1)])


def _helper(
    problem: Problem, cell: Cell, total: Cell | None, *parts: Cell | None, public: bool = False
) -> Cell | None:
    values = problem.values
    rest = values.get(total, 0) - sum(values.get(p, 0) for p in parts)
    return problem.cell(cell, rest, shown=False, public=public) if rest else None
