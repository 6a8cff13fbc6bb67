"""Free-text search of the board: which tasks' search keys hold a query.

A task's key is ``Task.search_text``, kept by the services (``task_search_key``): the
``core.search`` key of its title, description, host's message, host name and address, with
the hiragana reading of their kanji, and its municipality's name and official reading. The
query is ``core.search.query_key`` of what was typed (NFKC, katakana folded to hiragana,
lower case, no spaces): a task matches when the query is a substring of its key, whatever
the length of the query. So くさかり, ｸｻｶﾘ and 草刈 find 草刈り, and ひだ a 飛騨市 task.

On PostgreSQL, each task's 1- and 2-grams are kept in the generated column ``search_grams``
with a GIN index (migration ``0009_task_search_grams``). For a key of one or two characters,
the key is among the text's grams exactly when it is a substring; for a longer key, every
bigram of it must be among them, and the substring test decides. So the answer is always
the plain substring scan's. SQLite has neither the column nor the index and tests the
substring alone.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.fields.array import ArrayContains
from django.db import connection
from django.db.models import BooleanField, F, Q, TextField, Value
from django.db.models.expressions import Col, Expression
from django.db.models.functions import StrIndex
from django.db.models.lookups import Exact

from core.search import document_key

GRAMS_COLUMN = "search_grams"  # matching_task's, generated; the model does not declare it

# The column as an expression, for the lookups; never a field of the model.
_grams_field = ArrayField(TextField())
_grams_field.set_attributes_from_name(GRAMS_COLUMN)


class _HasGrams(Expression):
    """``search_grams @> grams`` of the row that ``search_text`` is read from, whatever its
    alias (the lookup is made once the column is known)."""

    output_field = BooleanField()

    def __init__(self, wanted: list[str]):
        super().__init__()
        self.wanted = wanted

    def resolve_expression(self, *args, **kwargs):
        text = F("search_text").resolve_expression(*args, **kwargs)
        return ArrayContains(Col(text.alias, _grams_field), self.wanted)


def task_search_key(
    *,
    title: str,
    description: str = "",
    host_message: str = "",
    host_name: str = "",
    address: str = "",
    municipality_name: str = "",
    municipality_kana: str = "",
) -> str:
    """A task's ``search_text``: what the services store and migration 0010 rebuilt."""
    return document_key(
        [title, description, host_message, host_name, address, municipality_name],
        readings=[municipality_kana],
    )


def grams(key: str) -> list[str]:
    """The grams of ``key`` that the index is asked for: the key itself if it is one or two
    characters long, else its distinct bigrams in order of appearance."""
    if len(key) <= 2:
        return [key] if key else []
    return list(dict.fromkeys(key[i : i + 2] for i in range(len(key) - 1)))


def text_holds(key: str) -> Q:
    """Tasks whose ``search_text`` holds ``key`` (already a search key, not empty)."""
    if connection.vendor != "postgresql":
        return Q(search_text__contains=key)
    # The substring test decides for three characters or more, and comes first wherever rows
    # are filtered one by one (the board walked by date): it reads the text, where the grams
    # test would unpack the row's array first. strpos(…) <> 0 rather than LIKE: the same
    # test, but one the planner takes to hold for nearly every row, so that its estimate is
    # the grams' alone (LIKE's, multiplied in, made it expect a few rows among thousands).
    substring = ~Q(Exact(StrIndex(F("search_text"), Value(key)), 0))
    return substring & Q(_HasGrams(grams(key)))
