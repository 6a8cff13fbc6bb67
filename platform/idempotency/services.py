"""Claiming a key, keeping the first answer, forgetting expired keys.

``key_claim`` runs inside the transaction of the request it guards (the middleware opens
it): the claim is an INSERT under a unique constraint, so a second request with the same
key waits on PostgreSQL's unique index until the first commits (then it is answered from
the first's record) or rolls back (then it does the work itself). It waits at most
``IDEMPOTENCY_WAIT_SECONDS``, then is refused with 409 ``idempotency_in_progress``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from .models import IdempotencyKey

BATCH = 5000
FORM_FIELD = "form_token"  # the hidden field of {% form_token %}
# The headers of an answer that belong to it (the rest — cookies, caching, security
# headers — are set afresh on the replay by the middleware of the site).
KEPT_HEADERS = ("Content-Type", "Content-Language", "Location", "ETag", "Last-Modified")


class KeyReused(Exception):
    """The key was first sent with another request (method, path or body)."""


class KeyInProgress(Exception):
    """A request with this key is still being worked on."""


def key_claim(*, caller: str, key: str, fingerprint: str) -> IdempotencyKey:
    """The row for ``(caller, key)``: a new claim (``status`` 0) that the caller's request
    now fulfils, or the committed record of an earlier request with the same fingerprint.
    Must run inside the request's transaction."""
    assert connection.in_atomic_block, "key_claim runs in the request's transaction"
    now = timezone.now()
    found = IdempotencyKey.objects.filter(caller=caller, key=key).first()
    if found is not None and found.expires_at <= now:
        found.delete()  # lazily: the key's time is over, it is anyone's again
        found = None
    if found is None:
        try:
            with transaction.atomic():
                _wait_at_most(settings.IDEMPOTENCY_WAIT_SECONDS)
                claim = IdempotencyKey.objects.create(
                    caller=caller,
                    key=key,
                    fingerprint=fingerprint,
                    created_at=now,
                    expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS),
                )
                _wait_at_most(None)
                return claim
        except IntegrityError:
            # Another request with this key committed while this one waited.
            found = IdempotencyKey.objects.get(caller=caller, key=key)
        except OperationalError as exc:
            if connection.vendor == "postgresql" and _lock_timeout(exc):
                raise KeyInProgress from exc
            raise
    if found.fingerprint != fingerprint:
        raise KeyReused
    return found


def key_record(*, claim: IdempotencyKey, status: int, headers: dict, body: bytes) -> None:
    """Keep the answer of the claim's request (in the same transaction as its change)."""
    claim.status = status
    claim.headers = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    claim.body = body
    claim.save(update_fields=["status", "headers", "body"])


def key_release(*, claim: IdempotencyKey) -> None:
    """Give the key back: the request made no change worth answering again."""
    claim.delete()


def keys_sweep() -> int:
    """Delete expired keys in bounded batches; safe to run any number of times."""
    deleted = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).values_list(
                "pk", flat=True
            )[:BATCH]
        )
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]


def _wait_at_most(seconds: float | None) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's writes are one at a time: nothing to wait on
    with connection.cursor() as cursor:
        if seconds is None:
            cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
        else:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{int(seconds * 1000)}ms"]
            )


def _lock_timeout(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "55P03"
