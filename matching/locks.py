"""Every row lock the board's services take, one named function each.

A service that locks more than one row takes them in one order, so that two
transactions never wait on each other in a circle:

    task → task revision
    task → session → person(s)

- A **task** is locked first: its state changes (publish, close, cancel), a host's
  revision (the task's row serialises its revisions), and a change to one of its sessions
  (``session_update``, ``session_cancel``), which writes the task's dates afterwards.
- A **session** is the lock of its places: every sign-up that takes, gives back or offers
  a place holds it (``signup_create``, ``signup_cancel``, ``signup_confirm``,
  ``signup_decide``, ``offers_expire``). Several sessions are locked in id order
  (``task_cancel``).
- A **person** is locked after the session, to keep their confirmed sessions from
  overlapping; several people at once in id order (a promotion of the waiting list, a
  session moved). A sign-up takes the session's row and the person's in one statement
  (``lock_session_and_person``: ``FOR UPDATE OF`` locks them in the order it names them).
- A **sign-up** alone (attendance) and a **host application** alone (its decision) are
  locked with nothing else; "everyone present" (``attendance_mark_all``) locks the session,
  then its unmarked sign-ups in id order. Attendance then writes the registry's activity
  (``registry.locks``: activity → registration) under the sign-up's lock.

Every lock of a task, a session or a sign-up also moves the board's version once the
transaction commits (``board_version``): what public pages cache is keyed on it.

One exception, known and kept: ``board_anonymise`` runs inside ``account_delete``, which
holds the person's row, and locks sessions after it. A deadlock with a promotion of this
very person is detected by PostgreSQL and rolls the deletion back; the person tries again.

The staff decisions (``services.reviews``, through ``accounts.review``) take theirs here
too: the task, then its revision; a host application alone.

Messages and questions (``services.conversations``): a message to participants locks its
task (one message at a time per task: a form sent twice is caught); a post to a question
thread locks the thread alone (its count of questions waiting for an answer).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping

from django.db import connection
from django.db.models import Model

from accounts.models import User
from places.models import Municipality, Prefecture

from .board_version import board_changed
from .models import (
    HostApplication,
    RevisionStatus,
    Session,
    Signup,
    SignupStatus,
    Task,
    TaskRevision,
    Thread,
)
from .statements import prepared_cursor


def lock_task(pk: int, *, related: tuple[str, ...] = ()) -> Task:
    """The task's row (and the rows of ``related``, joined and locked with it)."""
    board_changed()
    rows = Task.objects.select_for_update()
    if related:
        rows = rows.select_related(*related)
    return rows.get(pk=pk)


def lock_sessions_of(task: Task) -> list[Session]:
    """All the task's sessions, in the fixed order: by id."""
    board_changed()
    return list(Session.objects.select_for_update().filter(task=task).order_by("pk"))


def lock_session(pk: int) -> Session:
    """One session's row (its places), with its task and town read alongside."""
    board_changed()
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("task__municipality")
        .get(pk=pk)
    )


def lock_session_and_person(
    pk: int, person_pk: int, *, read: Mapping[str, str] | None = None
) -> Session:
    """``lock_session`` then ``lock_person``, in that order, in one statement (PostgreSQL
    locks the rows of ``FOR UPDATE OF`` in the order it names them): the session's row, with
    its task, town and prefecture read alongside, and the person's. ``read``: SQL
    expressions over the session (alias ``s``) and its task (``t``) read by the same
    statement, set on the session by name. Written by hand, not by the ORM: this is the
    hottest lock of the board, taken by every sign-up (``signup_create``). On a database
    without ``FOR UPDATE OF`` (SQLite), the two locks one after the other, and ``read`` is
    left to the caller (nothing is set)."""
    read = dict(read or {})
    if not connection.features.has_select_for_update_of:
        session = lock_session(pk)
        lock_person(person_pk)
        return session
    board_changed()
    with prepared_cursor() as cursor:
        cursor.execute(_session_and_person_sql(tuple(read.items())), [pk, person_pk])
        row = cursor.fetchone()
    if row is None:
        raise Session.DoesNotExist(f"No session {pk} (or person {person_pk}) to lock")
    values = iter(row)
    session, task, town, prefecture = (
        _from_db(model, values) for model in (Session, Task, Municipality, Prefecture)
    )
    town.prefecture = prefecture
    task.municipality = town
    session.task = task
    for name in read:
        setattr(session, name, next(values))
    return session


@functools.cache
def _session_and_person_sql(read: tuple[tuple[str, str], ...]) -> str:
    quote = connection.ops.quote_name
    columns = [
        f"{alias}.{quote(field.column)}"
        for model, alias in ((Session, "s"), (Task, "t"), (Municipality, "m"), (Prefecture, "p"))
        for field in model._meta.concrete_fields
    ]
    columns += [f"({sql}) AS {quote(name)}" for name, sql in read]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(Session._meta.db_table)} s "  # noqa: S608
        f"JOIN {quote(Task._meta.db_table)} t ON t.id = s.task_id "
        f"JOIN {quote(Municipality._meta.db_table)} m ON m.code = t.municipality_id "
        f"JOIN {quote(Prefecture._meta.db_table)} p ON p.code = m.prefecture_id, "
        f"{quote(User._meta.db_table)} u WHERE s.id = %s AND u.id = %s FOR UPDATE OF s, u"
    )


def _from_db(model: type[Model], values: Iterator) -> Model:
    fields = model._meta.concrete_fields
    row = []
    for field in fields:
        value = next(values)
        if value is not None and hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        row.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], row)


def lock_person(pk: int) -> None:
    """One person's row, to check their overlapping sessions under it."""
    User.objects.select_for_update().filter(pk=pk).exists()


def lock_people(pks: Iterable[int]) -> None:
    """Several people's rows at once, in id order: two transactions locking the same people
    never wait on each other in a circle."""
    list(
        User.objects.select_for_update()
        .filter(pk__in=list(pks))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def lock_pending_revision_of(task: Task) -> TaskRevision | None:
    """The task's revision still waiting for review, if any (call with the task locked)."""
    return (
        TaskRevision.objects.select_for_update()
        .filter(task=task, status=RevisionStatus.PENDING)
        .first()
    )


def lock_revision(pk: int) -> TaskRevision:
    return TaskRevision.objects.select_for_update().get(pk=pk)


def lock_signup(pk: int) -> Signup:
    """One sign-up's row, with its session read alongside (not locked)."""
    board_changed()
    return Signup.objects.select_for_update(of=("self",)).select_related("session").get(pk=pk)


def lock_host_application(pk: int) -> HostApplication:
    return HostApplication.objects.select_for_update().get(pk=pk)


def lock_thread(pk: int) -> Thread:
    """One question thread's row, alone: its posts are counted under it."""
    return Thread.objects.select_for_update().get(pk=pk)


def lock_unmarked_signups_of(session: Session, *, exclude_person: int) -> list[Signup]:
    """The session's confirmed sign-ups with no attendance yet (but ``exclude_person``'s),
    locked in id order; call with the session locked. A mark made meanwhile by another
    transaction takes its sign-up out of the list (PostgreSQL checks the rows again once
    their locks are free)."""
    board_changed()
    return list(
        Signup.objects.select_for_update(of=("self",))
        .select_related("session", "person")
        .filter(session=session, status=SignupStatus.CONFIRMED, attendance="")
        .exclude(person_id=exclude_person)
        .order_by("pk")
    )
