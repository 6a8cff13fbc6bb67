"""What several services share: the registration's history and the length of a term."""

from __future__ import annotations

import datetime

from accounts.models import User

from ..models import Registration, RegistrationEvent


def one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _event(registration: Registration, kind: str, actor: User | None, **detail) -> None:
    RegistrationEvent.objects.create(
        registration=registration,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        detail=detail,
    )
