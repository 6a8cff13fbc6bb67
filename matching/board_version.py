"""The board's version (``core.versions``): moved by every task, session or sign-up write.

Two doors catch every write: the row locks of ``matching.locks`` (taken by nearly every
write, and the only cover of the bulk ``UPDATE``s made under them: a task cancelled, a
session moved) and the models' own ``post_save`` (a task or a session created, a task
changed by its staff without a lock). Each asks for one bump after the commit; several in
one transaction make one. No ``post_delete``: a receiver would turn Django's one-statement
cascades (an account deleted) into row-by-row ones, and the board's rows are never deleted
but with an account, whose sign-ups ``board_anonymise`` cancels under their sessions'
locks first.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from core.versions import version_bump

from .models import Session, Signup, Task

BOARD = "board"


def board_changed() -> None:
    """The board's public pages change once the current transaction commits."""
    version_bump(BOARD)


def _changed(sender, **kwargs) -> None:
    board_changed()


for _model in (Task, Session, Signup):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"board_version:{_model.__name__}")
