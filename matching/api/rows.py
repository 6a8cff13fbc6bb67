"""The board's hot list, row by row from the columns it shows (``TaskBriefSerializer``'s
shape, which the schema documents, without a serializer per field).

The labels (categories, states) are looked up once per request in the request's language;
the town and its prefecture come joined in the same query; dates are written as DRF
writes them. ``tests/matching/test_public_cache.py`` checks the rows equal the
serializer's.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from rest_framework import serializers

from registry.models import Category

from ..models import Task, TaskStatus

COLUMNS = (
    "id",
    "title",
    "municipality_id",
    "municipality__name",
    "municipality__romaji",
    "municipality__prefecture__name",
    "municipality__prefecture__romaji",
    "host_name",
    "category",
    "is_online",
    "status",
    "starts_at",
    "ends_at",
    "signup_closes_at",
    "reward",
    "designated",
    "signup_mode",
    "published_at",
    "photo",
)


def brief_values(tasks: QuerySet[Task]) -> QuerySet:
    """``tasks`` (a selector's queryset, in its order) as the columns of a brief row."""
    columns = COLUMNS
    if "distance_km" in tasks.query.annotations:
        columns = (*columns, "distance_km")
    return tasks.values(*columns)


class BriefRows:
    """Turns ``brief_values`` rows into the API's rows; make one per request."""

    def __init__(self) -> None:
        self.category_labels = {value: str(label) for value, label in Category.choices}
        self.status_labels = {value: str(label) for value, label in TaskStatus.choices}
        self.when = serializers.DateTimeField().to_representation
        self.storage = Task._meta.get_field("photo").storage
        self.base = reverse("matching:task_list")

    def _date(self, value):
        return None if value is None else self.when(value)

    def row(self, values: dict) -> dict:
        distance = values.get("distance_km")
        photo = values["photo"]
        return {
            "id": values["id"],
            "title": values["title"],
            "municipality": {
                "code": values["municipality_id"],
                "name": values["municipality__name"],
                "romaji": values["municipality__romaji"],
                "prefecture": values["municipality__prefecture__name"],
                "prefecture_romaji": values["municipality__prefecture__romaji"],
            },
            "host_name": values["host_name"],
            "category": values["category"],
            "category_label": self.category_labels.get(values["category"], values["category"]),
            "is_online": values["is_online"],
            "status": values["status"],
            "status_label": self.status_labels.get(values["status"], values["status"]),
            "starts_at": self._date(values["starts_at"]),
            "ends_at": self._date(values["ends_at"]),
            "signup_closes_at": self._date(values["signup_closes_at"]),
            "reward": values["reward"],
            "designated": values["designated"],
            "signup_mode": values["signup_mode"],
            "published_at": self._date(values["published_at"]),
            "photo": self.storage.url(photo) if photo else None,
            "distance_km": None if distance is None or values["is_online"] else round(distance, 1),
            "url": f"{self.base}{values['id']}/",
        }

    def rows(self, page) -> list[dict]:
        return [self.row(values) for values in page]
