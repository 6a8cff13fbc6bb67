"""A sign-up written in one statement.

``signup_create`` holds the session's and the person's locks; what is left is the row, the
place it takes and the roster's details. On PostgreSQL they are one statement: an
``INSERT … SELECT … WHERE NOT EXISTS`` whose guard is the duplicate and overlap check (read
by the statement itself, after the locks were granted, so it sees every sign-up committed
before), with the place and the details written by data-modifying ``WITH`` clauses of the
same statement. Elsewhere (SQLite, the embedded mode) the same steps run one by one.

The columns and values come from the models' own fields (``get_db_prep_save``), so a field
added to ``Signup`` or ``SignupDetails`` is written here without a change.
"""

# ruff: noqa: S608  (the SQL names only our tables and columns; every value is a parameter)

from __future__ import annotations

from django.db import connection
from django.db.models import F, Model, Q, QuerySet
from django.db.models.fields import AutoFieldMixin

from ..models import (
    HOLDING_STATUSES,
    LIVE_STATUSES,
    Session,
    Signup,
    SignupDetails,
    SignupStatus,
)
from ..statements import prepared_cursor


def _columns(row: Model, *, skip: str | None = None) -> tuple[list[str], list]:
    """The quoted columns of ``row``'s table and their values, but the auto id and ``skip``."""
    quote = connection.ops.quote_name
    columns, values = [], []
    for field in row._meta.concrete_fields:
        if field.attname == skip or isinstance(field, AutoFieldMixin):
            continue
        columns.append(quote(field.column))
        values.append(field.get_db_prep_save(field.pre_save(row, add=True), connection))
    return columns, values


def _blocking(signup: Signup, *, overlap: bool) -> QuerySet[Signup]:
    """The person's sign-ups that stop ``signup``: a live one for its session, and
    (``overlap``) a held one overlapping it. ``_BLOCKING`` is the same in SQL."""
    stops = Q(session_id=signup.session_id, status__in=LIVE_STATUSES)
    if overlap:
        stops |= Q(
            status__in=HOLDING_STATUSES, starts_at__lt=signup.ends_at, ends_at__gt=signup.starts_at
        )
    return Signup.objects.filter(stops, person_id=signup.person_id)


def _in(statuses) -> str:
    return ", ".join(f"'{status}'" for status in statuses)


# Parameters: the person, the session, whether overlaps count, the session's end and start.
_BLOCKING = (
    f"SELECT 1 FROM {Signup._meta.db_table} b WHERE b.person_id = %s AND ("
    f"(b.session_id = %s AND b.status IN ({_in(LIVE_STATUSES)})) OR (%s "
    f"AND b.status IN ({_in(HOLDING_STATUSES)}) AND b.starts_at < %s AND b.ends_at > %s))"
)


def signup_write(*, signup: Signup, details: SignupDetails | None, overlap: bool) -> bool:
    """Write ``signup`` (and, confirmed, its place in the session's ``taken``; and
    ``details``, its roster row) unless the person has a live sign-up for its session or
    (``overlap``) holds one overlapping it. Returns whether it was written (``signup.pk``
    set). Call under the session's and the person's locks."""
    takes_place = signup.status == SignupStatus.CONFIRMED
    if connection.vendor != "postgresql":
        if _blocking(signup, overlap=overlap).exists():
            return False
        signup.save(force_insert=True)
        if takes_place:
            Session.objects.filter(pk=signup.session_id).update(taken=F("taken") + 1)
        if details is not None:
            details.signup = signup
            details.save(force_insert=True)
        return True
    quote = connection.ops.quote_name
    guard = _BLOCKING
    guard_params = [signup.person_id, signup.session_id, overlap, signup.ends_at, signup.starts_at]
    columns, values = _columns(signup)
    sql = [
        f"WITH new AS (INSERT INTO {quote(Signup._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(['%s'] * len(values))} WHERE NOT EXISTS ({guard}) RETURNING id)"
    ]
    params = [*values, *guard_params]
    if takes_place:
        sql.append(
            f", place AS (UPDATE {quote(Session._meta.db_table)} SET taken = taken + 1 "
            "WHERE id = %s AND EXISTS (SELECT 1 FROM new))"
        )
        params.append(signup.session_id)
    if details is not None:
        columns, values = _columns(details, skip="signup_id")
        sql.append(
            f", details AS (INSERT INTO {quote(SignupDetails._meta.db_table)} "
            f"(signup_id, {', '.join(columns)}) "
            f"SELECT id, {', '.join(['%s'] * len(values))} FROM new)"
        )
        params.extend(values)
    sql.append(" SELECT id FROM new")
    with prepared_cursor() as cursor:
        cursor.execute("".join(sql), params)
        row = cursor.fetchone()
    if row is None:
        return False
    signup.pk = row[0]
    signup._state.adding = False
    signup._state.db = connection.alias
    if details is not None:
        details.signup = signup
        details._state.adding = False
        details._state.db = connection.alias
    return True
