"""The matcher: which people a task suits, how well, and why.

One scorer serves both directions. ``task_rank`` scores the people around a task (run when
it is published or changed, and wider once a session is understaffed); ``person_rank``
scores the live tasks around a person (their recommendations, refreshed when their profile
or registrations change). Each direction first draws candidates on indexes, then scores
them in one SQL statement that also stores the best as ``Match`` rows (an upsert): no
Python loop over the population, on PostgreSQL and on the embedded SQLite alike.

Candidates of a task: people registered with its town; people living within the radius
(in a dense area, where they far outnumber the matches kept, only those whose interests or
skills fit); people living in its prefecture (and, in the wide net, the neighbouring
prefectures) who are interested in its category; in the wide net also everyone registered
with a town of its prefecture. People who signed up already, are too young, or are its host
are left out.

The score adds, per ``Reason``: registered with the town 40, returning to the town 15,
registered in its prefecture 10, living in its prefecture 12 or next to it 6, nearness up
to 20 (falling linearly to 0 at the radius), interest 20, a useful skill 10, free on its
days 5 and in its months 5. A match needs 25 (15 in the wide net).

A task's candidates are scored in two steps (``two_step``), so that the densest town is
bounded: first, for everyone, what their profile, their home and the town's own sets
(its registrants, its past participants, the task's sign-ups) tell; then the probes of
other tables, only for the people who can still reach the top. A person's few tasks are
scored in one step (``one_step``), which is also the reference the two steps equal
(``task_rank_exhaustive``).

- ``sql``: the scorer's pieces, shared by both statements (weights, reasons, distance).
- ``one_step``: every candidate scored in full; ``person_rank``.
- ``two_step``: ``task_rank``.
- ``reasons``: the reasons of a match in codes and in words.
"""

from .one_step import person_rank, task_rank_exhaustive
from .reasons import reason_codes, reason_texts
from .sql import DENSE_FACTOR, MIN_SCORE, NEAR_WEIGHT, WEIGHTS, Net
from .two_step import task_rank

__all__ = [
    "DENSE_FACTOR",
    "MIN_SCORE",
    "NEAR_WEIGHT",
    "WEIGHTS",
    "Net",
    "person_rank",
    "reason_codes",
    "reason_texts",
    "task_rank",
    "task_rank_exhaustive",
]
