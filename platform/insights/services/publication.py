"""The published (suppressed) figures: when they are due, the basis they are counted
from, and the disclosure check over every figure shown without row-level rights."""

# The SQL here is built from our own table names and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import datetime
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .. import cells, disclosure, locks
from ..models import Count, Published, State, Tally, Took
from .board import funnel_registered_sql, tie_bits, took_level_cells
from .pages import pages_write
from .sql import _chunks, _registration_cells


def publication_due() -> bool:
    """Whether the published figures should follow the counts now: never published, or
    the last publication is INSIGHTS_PUBLISH_SECONDS old. The figures are published on
    that cadence, not at every change, so that comparing two publications shows many
    people's changes, not one person's; and then even if no count changed, because what is
    published changes without a change of the counts: registrations settle with time and
    people confirm their e-mail addresses (``_published_basis``)."""
    state = State.now()
    if state.published_as_of is None:
        return True
    return _seconds_since(state.published_as_of) >= settings.INSIGHTS_PUBLISH_SECONDS


def _new_version() -> int:
    """A publication's version: drawn, not counted, so that it names this publication only
    (a database restored or made afresh starts no old version again under a kept cache)."""
    return secrets.randbits(62) + 1


def _seconds_since(moment: datetime.datetime | None) -> float:
    return float("inf") if moment is None else (timezone.now() - moment).total_seconds()


def publication_refresh() -> int:
    """Work out, over every figure any page or the API shows, which must be suppressed for
    viewers without row-level rights, and write the published figures (changes only) in one
    transaction. Returns how many published cells changed."""
    started = timezone.now()
    problem = disclosure.problem_from(_figures_for_publication())
    with transaction.atomic():
        locks.lock_state()
        existing = {
            (a, m, k): (pk, v, shown)
            for pk, a, m, k, v, shown in Published.objects.values_list(
                "pk", "area", "measure", "key", "value", "shown"
            )
        }
        # What anyone may have kept of earlier publications: a small change from it is
        # protected like a small figure.
        last_shown = {cell: row[2] for cell, row in existing.items() if row[2] is not None}
        hidden = disclosure.suppress(
            problem, threshold=settings.INSIGHTS_MIN_CELL, last_shown=last_shown
        )
        # Under a hidden total every part is hidden too, zeros included (they are shown
        # where the total is: a figure of nobody names no one when the whole is known).
        hidden |= disclosure.parts_of_hidden_totals(problem, hidden)
        published = {}
        for cell in problem.shown | hidden:
            value = None if cell in hidden else problem.values[cell]
            published[cell] = (value, last_shown.get(cell) if value is None else value)
        gone = [row[0] for cell, row in existing.items() if cell not in published]
        Published.objects.filter(pk__in=gone).delete()
        changed = [
            Published(area=a, measure=m, key=k, value=value, shown=shown)
            for (a, m, k), (value, shown) in published.items()
            if (a, m, k) not in existing or existing[(a, m, k)][1:] != (value, shown)
        ]
        for page in _chunks(changed, 5000):
            Published.objects.bulk_create(
                page,
                update_conflicts=True,
                unique_fields=["area", "measure", "key"],
                update_fields=["value", "shown"],
            )
        State.objects.filter(id=1).update(
            published_at=timezone.now(),
            published_as_of=started,
            published_version=_new_version(),
        )
        # The pages, from the same figures, in the same transaction: a page never shows
        # figures of another publication than its version says.
        pages_write(
            {cell: value for cell, (value, _shown) in published.items()},
            version=State.objects.values_list("published_version", flat=True).get(id=1),
            as_of=started,
        )
    return len(gone) + len(changed)


# The published basis, counted at each publication into a table of the session, from its
# rows copied into another.
PUBLISHED_BASIS = "insights_published_basis"

PUBLISHED_ROWS = "insights_published_rows"

PUBLISHED_TOOK = "insights_published_took"


def _published_basis(today: datetime.date) -> str:
    """The part of the ledger that is published, as SQL: registrations at least
    INSIGHTS_SETTLE_DAYS old of people with a verified e-mail address (allauth's). Padding a
    town's figures with made-up people then takes accounts that received mail and waited;
    administrators' counts (``Count``) keep everything."""
    settled = today - datetime.timedelta(days=settings.INSIGHTS_SETTLE_DAYS)
    return f"""(SELECT * FROM {Tally._meta.db_table} s
        WHERE s.registered_on <= '{settled.isoformat()}' AND EXISTS (
            SELECT 1 FROM {EmailAddress._meta.db_table} e
            WHERE e.user_id = s.person_id AND e.verified))"""


def _figures_for_publication() -> dict[tuple[str, str, str], int]:
    """The cells the disclosure check starts from: the registration cells and the funnel
    counted over the published basis (``_published_basis``: a registration settles by the
    passage of time and a person is verified in allauth's table, neither of which the
    change feed tells, so the basis is counted whole at each publication, at most once a
    day), with the board's cells as counted; every area's but the nation's days summed by
    month."""
    basis, count = PUBLISHED_BASIS, Count._meta.db_table
    month = "substr(key, 1, 7)"
    with transaction.atomic(), connection.cursor() as cursor:
        # A temporary table: the session's own, so two publications never share it.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {basis} (area VARCHAR(16) NOT NULL,
                measure VARCHAR(12) NOT NULL, key VARCHAR(16) NOT NULL, value BIGINT NOT NULL)"""
        )
        # The basis's rows once (one pass over the ledger with its semi-join on the verified
        # addresses), then counted like the ledger: every measure scans them again.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {PUBLISHED_ROWS} AS "
            f"SELECT * FROM {_published_basis(timezone.localdate())} b"
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PUBLISHED_ROWS}")
        _registration_cells(cursor, source=PUBLISHED_ROWS, table=basis)
        # The funnel over the basis: the board's ledger rows tied to anything (no other can
        # be tied to the basis, a part of the ledger), their ties looked up in the basis.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {PUBLISHED_TOOK} AS
            SELECT k.person_id, k.municipality, k.prefecture, k.attended,
                {tie_bits(PUBLISHED_ROWS, "k")} AS tied
            FROM (SELECT person_id, municipality AS m, prefecture AS pf, municipality,
                    prefecture, attended FROM {Took._meta.db_table} WHERE tied <> 0) k
            JOIN places_prefecture p ON p.code = k.pf"""
        )
        took_level_cells(cursor, source=PUBLISHED_TOOK, table=basis, participants=False)
        cursor.execute(funnel_registered_sql(basis))
        cursor.execute(
            f"""SELECT area, measure, key, value FROM {basis}
            WHERE area = 'JP' OR measure NOT IN ('new', 'gone')
            UNION ALL
            SELECT area, measure, {month}, SUM(value) FROM {basis}
            WHERE area <> 'JP' AND measure IN ('new', 'gone') GROUP BY area, measure, {month}
            UNION ALL
            SELECT area, measure, key, value FROM {count} WHERE measure = '{cells.BOARD}'"""
        )
        figures = {(a, m, k): v for a, m, k, v in cursor.fetchall()}
        cursor.execute(f"DROP TABLE {basis}")
        cursor.execute(f"DROP TABLE {PUBLISHED_ROWS}")
        cursor.execute(f"DROP TABLE {PUBLISHED_TOOK}")
    return figures
