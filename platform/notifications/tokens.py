"""The signed token of an e-mail's one-click unsubscribe link.

Its own module, below both services.py (which reads it back) and emails.py (which puts it in
every message), so that neither has to import the other to reach it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import User

from .errors import NotificationsCode
from .models import Topic

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def unsubscribe_token(*, person_id: int, topics: Iterable[str]) -> str:
    """The token in an e-mail's one-click unsubscribe link (RFC 8058): who, and which
    topics' e-mail it stops. Signed, and valid as long as the e-mail is kept."""
    return signing.dumps({"p": person_id, "t": sorted(set(topics))}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[User, list[str]]:
    """The person and topics of a token; ValidationError if it is not one of ours."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        person = User.objects.get(pk=data["p"], is_active=True)
        topics = [t for t in data["t"] if t in Topic.values]
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError):
        raise ValidationError(
            _("この配信停止のリンクは正しくありません。メールのリンクをそのまま開いてください。"),
            code=NotificationsCode.UNSUBSCRIBE_LINK_INVALID,
        ) from None
    return person, topics
