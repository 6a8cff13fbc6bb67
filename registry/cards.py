"""The digital furusato resident card: a signed, expiring token and its check.

The token carries only the registration's id and card serial, signed with the site's
secret and a timestamp; it reveals nothing by itself. Raising the registration's
``card_serial`` (re-issue, withdrawal, account deletion) revokes every earlier token.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Registration, Status

SALT = "registry.card"


class CardStatus(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INVALID = "invalid"

    @property
    def label(self) -> str:
        return str(CARD_STATUS_LABELS[self])


CARD_STATUSES = [status.value for status in CardStatus]

CARD_STATUS_LABELS = {
    CardStatus.VALID: _("有効"),
    CardStatus.EXPIRED: _("期限切れ（新しい登録証を表示してもらってください）"),
    CardStatus.REVOKED: _("失効（登録が取り下げられたか、登録証が再発行されています）"),
    CardStatus.INVALID: _("無効（改ざんされたか、登録証ではありません）"),
}


@dataclass(frozen=True)
class CardCheck:
    status: CardStatus
    registration: Registration | None = None
    issued_at: datetime.datetime | None = None


def card_token(registration: Registration) -> str:
    return signing.dumps({"r": registration.pk, "s": registration.card_serial}, salt=SALT)


def card_token_expires_at(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) + datetime.timedelta(seconds=settings.REGISTRY_CARD_TOKEN_TTL)


def card_verify_url(request, token: str) -> str:
    """The address a card's QR code opens: the staff verification page with the token."""
    return (
        request.build_absolute_uri(reverse("registry:card_verify"))
        + "?"
        + urlencode({"token": token})
    )


def card_qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG (segno), dark on white with a quiet zone."""
    return segno.make(url, error="m").svg_inline(scale=5, dark="#111", light="#fff", omitsize=True)


def card_check(token: str) -> CardCheck:
    """What a token says: valid, expired, revoked or invalid (tampered or not a card)."""
    token = (token or "").strip()
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.REGISTRY_CARD_TOKEN_TTL)
        expired = False
    except signing.SignatureExpired:
        payload = signing.loads(token, salt=SALT)  # genuine, only old
        expired = True
    except (signing.BadSignature, ValueError, TypeError):
        return CardCheck(CardStatus.INVALID)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int):
        return CardCheck(CardStatus.INVALID)
    registration = (
        Registration.objects.select_related("municipality__prefecture", "person")
        .filter(pk=payload["r"])
        .first()
    )
    if registration is None:
        return CardCheck(CardStatus.INVALID)
    if registration.status != Status.ACTIVE or payload.get("s") != registration.card_serial:
        return CardCheck(CardStatus.REVOKED, registration)
    if expired:
        return CardCheck(CardStatus.EXPIRED, registration)
    return CardCheck(CardStatus.VALID, registration)
