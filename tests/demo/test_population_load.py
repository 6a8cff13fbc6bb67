"""The generators' load into a new database: in one transaction, with the empty tables'
indexes and foreign keys dropped and built again afterwards. The schema is the same as the
migrations made it, the rows are the same as a load into tables that hold rows already (a
transaction per batch, every index and foreign key in place), and a failure leaves neither
rows nor a changed schema behind.

Committed, as on a real database: transactional tests (the flush empties the tables after
each one).
"""

from __future__ import annotations

import datetime

import pytest

from core.bulk import schema_of
from demo.population import board_generate, email_prefix, population_generate
from demo.population.people import TABLES
from matching.models import Session, Signup, Task
from registry.models import Registration
from tests.demo.test_population import _digest, _set_aside

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("population")]

AS_OF = datetime.date(2026, 11, 23)
NAMES = [model._meta.db_table for model in TABLES]


def test_a_load_into_empty_tables_keeps_the_schema_and_gives_the_same_rows(municipalities):
    before = schema_of(NAMES)
    assert any(row[1] == "registry_reg_person_idx" for row in before)

    fresh = population_generate(people=2_500, seed=21, batch=1_000, as_of=AS_OF)
    assert fresh.index_seconds > 0  # the tables were empty: indexes built after the load
    assert schema_of(NAMES) == before
    digest = _digest(21)

    _set_aside(21, 1)  # the tables hold rows now: a transaction per batch, indexes kept
    again = population_generate(people=2_500, seed=21, batch=700, as_of=AS_OF)
    assert again.index_seconds == 0
    assert (again.registrations, _digest(21)) == (fresh.registrations, digest)
    assert schema_of(NAMES) == before


def test_a_failed_load_leaves_no_rows_and_the_schema_as_it_was(municipalities):
    before = schema_of(NAMES)
    calls = []

    def progress(count: int) -> None:
        calls.append(count)
        if len(calls) == 2:
            raise RuntimeError("stopped in the middle")

    with pytest.raises(RuntimeError, match="stopped in the middle"):
        population_generate(people=3_000, seed=22, batch=1_000, as_of=AS_OF, progress=progress)
    assert not Registration.objects.exists()
    assert not Registration.objects.filter(person__email__startswith=email_prefix(22)).exists()
    assert schema_of(NAMES) == before


def test_a_board_loaded_into_empty_tables_keeps_the_schema(municipalities):
    board_tables = [model._meta.db_table for model in (Task, Session, Signup)]
    population_generate(people=1_000, seed=23, batch=1_000, as_of=AS_OF)
    before = schema_of(board_tables)
    result = board_generate(tasks=300, signups=1_500, seed=23, batch=100, as_of=AS_OF)
    assert result.tasks == 300 and result.signups > 0
    assert schema_of(board_tables) == before
    assert Signup.objects.count() == result.signups
