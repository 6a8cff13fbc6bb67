"""The account's row lock. A change that spans every room (deleting an account) holds the
person's row first; each room then locks its own rows after it, in its own order
(``registry.locks``, ``matching.locks``)."""

from __future__ import annotations

from .models import User


def lock_person(pk: int) -> User:
    return User.objects.select_for_update().get(pk=pk)
