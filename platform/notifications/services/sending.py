"""Telling people: the inbox rows and their outbox e-mails, written with the change that
causes them.

On PostgreSQL a call is one ``INSERT … SELECT`` (a writable CTE): the recipients come in as
an array, their preferences are joined (defaults where a person chose nothing), the weekly
cap is counted in SQL, people who already have the key are skipped by the unique
constraint (``ON CONFLICT DO NOTHING``), and the e-mails are inserted from the
notifications the statement wrote (``RETURNING``). No savepoint: the statement runs in the
caller's transaction, or in one of its own. Elsewhere (SQLite) the ORM does the same in a
few statements.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.queue import enqueue

from .. import locks
from ..models import (
    DIGEST_FREQUENCIES,
    Channel,
    Email,
    Frequency,
    Notification,
    Preference,
    default_frequency,
)


@dataclass
class Send:
    """One notification to tell some people, for ``notification_send_many``: the keyword
    arguments of ``notification_send``, as a value."""

    recipients: Iterable[Any]
    kind: str
    topic: str
    key: str
    context: dict[str, Any]
    url: str = ""
    weekly_cap: int | None = None
    personal: Mapping[int, dict[str, Any]] | None = None
    author: Any = None
    author_keys: Iterable[str] = ()
    # Filled in by ``_prepared``: the recipient ids (sorted, unique) and the author's id.
    ids: list[int] = field(default_factory=list, init=False)
    author_id: int | None = field(default=None, init=False)


def notification_send(
    *,
    recipients: Iterable[Any],
    kind: str,
    topic: str,
    key: str,
    context: dict[str, Any],
    url: str = "",
    weekly_cap: int | None = None,
    personal: Mapping[int, dict[str, Any]] | None = None,
    author: Any = None,
    author_keys: Iterable[str] = (),
) -> list[int]:
    """Tell each recipient (users or user ids) of ``kind``, as each chose for ``topic``:
    an inbox row, and an outbox e-mail now or a place in their next digest.

    Idempotent: a recipient who already has ``key`` gets nothing new. With ``weekly_cap``,
    people who already had that many notifications of the topic in the last seven days are
    passed over. ``personal`` adds to the context per recipient id (the matcher's reasons).
    ``author`` (a user or id) is the person whose own words or name the context carries
    under ``author_keys``: they are scrubbed when that person deletes their account.
    Returns the ids of the people told. ``context`` must be JSON."""
    send = Send(
        recipients=recipients,
        kind=kind,
        topic=topic,
        key=key,
        context=context,
        url=url,
        weekly_cap=weekly_cap,
        personal=personal,
        author=author,
        author_keys=author_keys,
    )
    return notification_send_many([send])[0]


def notification_send_many(sends: Iterable[Send | Mapping[str, Any]]) -> list[list[int]]:
    """Several different notifications at once (say, a sign-up's to the person and to the
    task's host), each a ``Send`` or a mapping of ``notification_send``'s keyword arguments
    and each written as ``notification_send`` would; on PostgreSQL all of them in one
    statement (none when nobody is to be told). Returns, per send, the ids told."""
    sends = [_prepared(send if isinstance(send, Send) else Send(**send)) for send in sends]
    if not any(send.ids for send in sends):
        return [[] for _send in sends]
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        capped = sorted({pk for send in sends if send.weekly_cap is not None for pk in send.ids})
        if capped:
            # The recipients' rows, in id order, so that two matchers cannot both see room
            # under the cap for the same person. A statement of its own: the count below
            # must see what the run we waited for committed.
            locks.lock_people(capped)
        if connection.vendor == "postgresql":
            told, mailed = _send_sql(sends, now)
        else:
            told, mailed = _send_orm(sends, now)
        if mailed:
            _relay_soon()
    return told


def _prepared(send: Send) -> Send:
    send = dataclasses.replace(send)  # the caller's stays as it was
    send.ids = sorted({getattr(r, "pk", r) for r in send.recipients if r is not None})
    send.author_id = getattr(send.author, "pk", send.author)
    send.author_keys = sorted(set(send.author_keys)) if send.author_id is not None else []
    if not set(send.author_keys) <= set(send.context):
        missing = sorted(set(send.author_keys) - set(send.context))
        raise ValueError(f"author_keys not in the context: {missing}")
    return send


def _relay_soon() -> None:
    enqueue("notifications.relay")


# --- PostgreSQL: one statement -------------------------------------------------------------

# What each send shares (one JSON array of objects, read with jsonb_to_recordset) and who
# receives it (two parallel arrays: the person, the send's number), with what is personal
# to a recipient in one JSON object keyed "<send>:<person>". The notifications that are
# mailed now and the others are two inserts, so that the e-mails come straight from the
# first one's RETURNING (no join of what was written with what was chosen). The people told
# come back as one sorted array per key.
_SEND_SQL = """
WITH send AS (
    SELECT * FROM jsonb_to_recordset(%(sends)s::jsonb) AS s(
        s integer, kind text, topic text, key text, context jsonb, url text,
        author_id bigint, author_keys jsonb, inbox text, email text, cap integer,
        since timestamptz)
),
chosen AS NOT MATERIALIZED (
    SELECT r.id, r.s,
        COALESCE(pi.frequency, s.inbox) AS inbox_now,
        COALESCE(pe.frequency, s.email) AS email_now
    FROM unnest(%(ids)s::bigint[], %(numbers)s::integer[]) AS r(id, s)
    JOIN send s ON s.s = r.s
    LEFT JOIN notifications_preference pi
        ON pi.person_id = r.id AND pi.topic = s.topic AND pi.channel = 'inbox'
    LEFT JOIN notifications_preference pe
        ON pe.person_id = r.id AND pe.topic = s.topic AND pe.channel = 'email'
    WHERE s.cap IS NULL OR (
        SELECT COUNT(*) FROM notifications_notification n
        WHERE n.recipient_id = r.id AND n.topic = s.topic AND n.created_at >= s.since
    ) < s.cap
),
mailing AS (
    INSERT INTO notifications_notification ({columns})
    SELECT {values}
    FROM chosen c JOIN send s ON s.s = c.s
    WHERE c.email_now = 'immediately'
    ORDER BY c.s, c.id
    ON CONFLICT (recipient_id, key) DO NOTHING
    RETURNING recipient_id, key, topic
),
quiet AS (
    INSERT INTO notifications_notification ({columns})
    SELECT {values}
    FROM chosen c JOIN send s ON s.s = c.s
    WHERE c.email_now <> 'immediately' AND (c.inbox_now <> 'never' OR c.email_now <> 'never')
    ORDER BY c.s, c.id
    ON CONFLICT (recipient_id, key) DO NOTHING
    RETURNING recipient_id, key
),
mailed AS (
    INSERT INTO notifications_email (
        recipient_id, key, digest, topic, message_id, state, attempts, resends,
        next_attempt_at, claimed_until, claimed_at, sending_since, sent_at, last_error,
        created_at)
    SELECT m.recipient_id, m.key, '', m.topic,
        '<' || replace(gen_random_uuid()::text, '-', '') || %(domain)s, 'pending', 0, 0,
        %(now)s, NULL, NULL, NULL, NULL, '', %(now)s
    FROM mailing m
    ORDER BY m.recipient_id
    ON CONFLICT (recipient_id, key) DO NOTHING
    RETURNING 1
)
SELECT t.key, array_agg(t.recipient_id ORDER BY t.recipient_id), (SELECT COUNT(*) FROM mailed)
FROM (SELECT recipient_id, key FROM mailing UNION ALL SELECT recipient_id, key FROM quiet) t
GROUP BY t.key
"""

_COLUMNS = (
    "recipient_id, kind, topic, key, context, url, created_at, read_at, in_inbox, digest, "
    "digest_key, author_id, author_keys, author_deleted"
)
_VALUES = (
    "c.id, s.kind, s.topic, s.key, {context}, s.url, %(now)s, NULL, c.inbox_now <> 'never', "
    "CASE WHEN c.email_now IN ('daily', 'weekly') THEN c.email_now ELSE '' END, "
    "'', s.author_id, s.author_keys, false"
)
_CONTEXT = "s.context"
_CONTEXT_PERSONAL = (
    "s.context || COALESCE(%(personal)s::jsonb -> (c.s || ':' || c.id), '{}'::jsonb)"
)


def _message_id_domain() -> str:
    """What follows the random part of a Message-ID (as ``models.new_message_id``)."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "furusato.localhost"
    return f"@{domain}>"


def _send_sql(sends: list[Send], now: datetime.datetime) -> tuple[list[list[int]], int]:
    since = (now - datetime.timedelta(days=7)).isoformat()
    shared, ids, numbers, personal = [], [], [], {}
    for number, send in enumerate(sends):
        shared.append(
            {
                "s": number,
                "kind": send.kind,
                "topic": send.topic,
                "key": send.key,
                "context": send.context,
                "url": send.url,
                "author_id": send.author_id,
                "author_keys": list(send.author_keys),
                "inbox": default_frequency(send.topic, Channel.INBOX),
                "email": default_frequency(send.topic, Channel.EMAIL),
                "cap": send.weekly_cap,
                "since": since,
            }
        )
        ids += send.ids
        numbers += [number] * len(send.ids)
        if send.personal:
            wanted = set(send.ids)
            personal.update(
                (f"{number}:{pk}", extra) for pk, extra in send.personal.items() if pk in wanted
            )
    params = {
        "sends": json.dumps(shared),
        "ids": ids,
        "numbers": numbers,
        "now": now,
        "domain": _message_id_domain(),
    }
    context = _CONTEXT
    if personal:
        params["personal"] = json.dumps(personal)
        context = _CONTEXT_PERSONAL
    statement = _SEND_SQL.format(columns=_COLUMNS, values=_VALUES.format(context=context))
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    told = {key: ids for key, ids, _mailed in rows}
    answer = []
    for send in sends:
        ids = told.get(send.key, [])
        if sum(1 for other in sends if other.key == send.key) > 1:
            # Two sends of one key share its rows: each is answered with its own people.
            mine = set(send.ids)
            ids = [pk for pk in ids if pk in mine]
        answer.append(ids)
    return answer, rows[0][2] if rows else 0


# --- Elsewhere: the ORM ----------------------------------------------------------------------


def _chunks(ids: list[int], size: int = 5000):
    """``ids`` in slices small enough for one ``IN`` list."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def frequencies_of(*, person_ids: Iterable[int], topic: str) -> dict[int, tuple[str, str]]:
    """{person: (inbox frequency, e-mail frequency)} for ``topic``, defaults filled in."""
    ids = list(person_ids)
    chosen: dict[tuple[int, str], str] = {}
    for chunk in _chunks(ids):
        for person, channel, frequency in Preference.objects.filter(
            person_id__in=chunk, topic=topic
        ).values_list("person_id", "channel", "frequency"):
            chosen[(person, channel)] = frequency
    return {
        pk: (
            chosen.get((pk, Channel.INBOX), default_frequency(topic, Channel.INBOX)),
            chosen.get((pk, Channel.EMAIL), default_frequency(topic, Channel.EMAIL)),
        )
        for pk in ids
    }


def _over_weekly_cap(ids: list[int], topic: str, cap: int, now: datetime.datetime) -> set[int]:
    since = now - datetime.timedelta(days=7)
    over: set[int] = set()
    for chunk in _chunks(ids):
        rows = (
            Notification.objects.filter(recipient_id__in=chunk, topic=topic, created_at__gte=since)
            .values("recipient_id")
            .annotate(n=Count("id"))
            .filter(n__gte=cap)
            .values_list("recipient_id", flat=True)
        )
        over.update(rows)
    return over


def _send_orm(sends: list[Send], now: datetime.datetime) -> tuple[list[list[int]], int]:
    answer, mailed = [], 0
    for send in sends:
        told, emails = _send_one_orm(send, now)
        answer.append(told)
        mailed += emails
    return answer, mailed


def _send_one_orm(send: Send, now: datetime.datetime) -> tuple[list[int], int]:
    ids = send.ids
    if send.weekly_cap is not None:
        over = _over_weekly_cap(ids, send.topic, send.weekly_cap, now)
        ids = [pk for pk in ids if pk not in over]
    # Who has this key already gets nothing again: no second inbox row, and no e-mail for a
    # notification that was (or will be) mailed already.
    known: set[int] = set()
    for chunk in _chunks(ids):
        known.update(
            Notification.objects.filter(recipient_id__in=chunk, key=send.key).values_list(
                "recipient_id", flat=True
            )
        )
    ids = [pk for pk in ids if pk not in known]
    personal = send.personal
    notifications: list[Notification] = []
    emails: list[Email] = []
    told: list[int] = []
    for pk, (inbox, email) in frequencies_of(person_ids=ids, topic=send.topic).items():
        if inbox == Frequency.NEVER and email == Frequency.NEVER:
            continue
        told.append(pk)
        notifications.append(
            Notification(
                recipient_id=pk,
                kind=send.kind,
                topic=send.topic,
                key=send.key,
                context={**send.context, **personal[pk]}
                if personal and pk in personal
                else send.context,
                url=send.url,
                created_at=now,
                in_inbox=inbox != Frequency.NEVER,
                digest=email if email in DIGEST_FREQUENCIES else "",
                author_id=send.author_id,
                author_keys=list(send.author_keys),
            )
        )
        if email == Frequency.IMMEDIATELY:
            emails.append(Email(recipient_id=pk, key=send.key, topic=send.topic, created_at=now))
    Notification.objects.bulk_create(notifications, batch_size=1000, ignore_conflicts=True)
    if emails:
        Email.objects.bulk_create(emails, batch_size=1000, ignore_conflicts=True)
    return told, len(emails)
