"""The board's API: ``/api/tasks/``, ``/api/sessions/{id}/``, ``/api/sessions/{id}/signups/``,
``/api/signups/`` and the host applications. Thin: parse, call a service or a selector,
serialise. The filters of ``GET /api/tasks/`` are the pages' (``TaskFilterForm``).

One module per resource (serializers in ``serializers``; the staff's decisions in
``reviews``); the views the URLs route to are all here."""

from __future__ import annotations

from .attendance import SessionAttendanceView
from .hosts import HostApplicationViewSet
from .recommendations import RecommendationsView
from .reviews import HostApplicationQueueView
from .sessions import SessionViewSet
from .signups import SignupViewSet
from .tasks import TaskViewSet

__all__ = [
    "HostApplicationQueueView",
    "HostApplicationViewSet",
    "RecommendationsView",
    "SessionAttendanceView",
    "SessionViewSet",
    "SignupViewSet",
    "TaskViewSet",
]
