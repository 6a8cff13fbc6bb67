"""Free-text search of the board: which tasks' normalised text holds a query.

The text is ``Task.search_text``, and the query ``places.kana.search_key`` of what was typed
(NFKC, hiragana folded to katakana, lower case, no spaces): a task matches when the key is a
substring of its text, whatever the length of the key.

On PostgreSQL, a GIN index on ``matching_search_grams(search_text)`` (migration
``0009_task_search_grams``: the text's characters and overlapping pairs of characters) finds
the candidates: for a key of one or two characters the key itself is one of the text's grams
exactly when it is a substring; for a longer key, every bigram of it must be among the text's.
The substring test then decides, so the answer is always the plain substring scan's; it also
comes first in a row-by-row filter, so that the costly function runs only on rows that match.
SQLite has neither the function nor the index and tests the substring alone.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.fields.array import ArrayContains
from django.db import connection
from django.db.models import F, Func, Q, TextField

GRAMS_FUNCTION = "matching_search_grams"  # created by migration 0009, IMMUTABLE


def grams(key: str) -> list[str]:
    """The grams of ``key`` that the index is asked for: the key itself if it is one or two
    characters long, else its distinct bigrams in order of appearance."""
    if len(key) <= 2:
        return [key] if key else []
    return list(dict.fromkeys(key[i : i + 2] for i in range(len(key) - 1)))


def text_holds(key: str, *, field: str = "search_text") -> Q:
    """Rows whose ``field`` holds ``key`` (already a search key, not empty) as a substring."""
    substring = Q(**{f"{field}__contains": key})
    if connection.vendor != "postgresql":
        return substring
    text_grams = Func(F(field), function=GRAMS_FUNCTION, output_field=ArrayField(TextField()))
    return Q(ArrayContains(text_grams, grams(key))) & substring
