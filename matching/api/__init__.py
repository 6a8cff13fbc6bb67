"""The board's API: ``/api/tasks/``, ``/api/sessions/{id}/``, ``/api/sessions/{id}/signups/``,
``/api/signups/`` and the host applications. Thin: parse, call a service or a selector,
serialise. The filters of ``GET /api/tasks/`` are the pages' (``TaskFilterForm``).

One module per resource (serializers in ``serializers``; the staff's decisions in
``reviews``); the views the URLs route to are all here."""

from __future__ import annotations

from .attendance import SessionAttendanceView
from .briefings import CalendarFeedRevokeView, CalendarFeedView, TaskBriefingView
from .conversations import (
    TaskMessagesView,
    TaskQuestionView,
    TaskThreadsView,
    ThreadPostsView,
    ThreadView,
    conversation_urls,
)
from .hosts import HostApplicationViewSet
from .recommendations import RecommendationsView
from .reviews import HostApplicationQueueView
from .roster import RosterView
from .sessions import SessionViewSet
from .signups import SignupViewSet
from .tasks import TaskViewSet

__all__ = [
    "CalendarFeedRevokeView",
    "CalendarFeedView",
    "HostApplicationQueueView",
    "HostApplicationViewSet",
    "RecommendationsView",
    "RosterView",
    "SessionAttendanceView",
    "SessionViewSet",
    "SignupViewSet",
    "TaskBriefingView",
    "TaskMessagesView",
    "TaskQuestionView",
    "TaskThreadsView",
    "TaskViewSet",
    "ThreadPostsView",
    "ThreadView",
    "conversation_urls",
]
