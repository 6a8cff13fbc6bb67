"""Generated populations for tests, benchmarks and the demo: people with their registrations
whose shares follow the MLIT 2023 survey (``people``, targets in ``survey``, measured back
by ``shares``), and a board of tasks, sessions and sign-ups of those people (``board``,
texts and shares in ``board_content``). Both write in bulk (``core.bulk``)."""

from .board import BoardRefused, BoardResult, board_generate
from .board_content import generated_mark
from .people import PopulationRefused, PopulationResult, population_generate, population_present
from .shares import PopulationShares, Share, population_shares
from .survey import DEFAULT_REGISTRATIONS_PER_PERSON, EMAIL_DOMAIN, email_prefix

__all__ = [
    "DEFAULT_REGISTRATIONS_PER_PERSON",
    "EMAIL_DOMAIN",
    "BoardRefused",
    "BoardResult",
    "PopulationRefused",
    "PopulationResult",
    "PopulationShares",
    "Share",
    "board_generate",
    "email_prefix",
    "generated_mark",
    "population_generate",
    "population_present",
    "population_shares",
]
