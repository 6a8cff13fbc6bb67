"""Every write of the statistics: the counts kept up to date from the registry's change feed,
the full rebuild, the recount of the board, and the published (suppressed) figures.

The registry appends a ``RegistrationEvent`` for every change of a registration, and a
profile's ``updated_at`` moves when the person's age or gender may have. ``counts_update``
reads both feeds from where it stopped, compares each registration now with its ``Tally``
row (what was counted) and applies the difference to the cells. Reading an event twice
changes nothing, so the feed is read with an overlap (``SETTLE``): an event written by a
transaction that commits late is still seen. The nightly rebuild recounts everything (one
rebuild at a time: ``locks``).

The counts hold everything (national administrators see them). What is published counts
less: registrations INSIGHTS_SETTLE_DAYS old of people with a verified e-mail address
(``_published_basis``). A registration settles by the passage of time and a person is
verified in allauth's table, and neither is in the feed, so that basis is not kept up to
date: each publication (at most daily) counts it whole from the ledger.
"""

from .board import board_fingerprint, board_recount
from .publication import publication_due, publication_refresh
from .rebuild import counts_rebuild
from .sql import REGISTRATION_MEASURES, SETTLE
from .update import counts_update

__all__ = [
    "REGISTRATION_MEASURES",
    "SETTLE",
    "board_fingerprint",
    "board_recount",
    "counts_rebuild",
    "counts_update",
    "publication_due",
    "publication_refresh",
]
