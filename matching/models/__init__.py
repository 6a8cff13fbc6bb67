"""The board's tables, by topic: the board itself (hosts, tasks, sessions, revisions,
sign-ups), what the matcher keeps, what is private to a task's people, the words between
host and participants, and calendar feeds. Import them from here."""

from .board import (
    EDITABLE_STATUSES,
    HOLDING_STATUSES,
    LIVE_STATUSES,
    PUBLIC_STATUSES,
    Attendance,
    HostApplication,
    HostApplicationStatus,
    RevisionStatus,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskRevision,
    TaskStatus,
    task_photo_path,
)
from .conversations import Audience, TaskMessage, Thread, ThreadPost
from .feeds import CalendarFeed, new_feed_token
from .matcher import Match, Reason, RecommendationRequest, TaskWatch
from .private import SignupDetails, TaskBriefing

__all__ = [
    "EDITABLE_STATUSES",
    "HOLDING_STATUSES",
    "LIVE_STATUSES",
    "PUBLIC_STATUSES",
    "Attendance",
    "Audience",
    "CalendarFeed",
    "HostApplication",
    "HostApplicationStatus",
    "Match",
    "Reason",
    "RecommendationRequest",
    "RevisionStatus",
    "Session",
    "SessionStatus",
    "Signup",
    "SignupDetails",
    "SignupMode",
    "SignupStatus",
    "Task",
    "TaskBriefing",
    "TaskMessage",
    "TaskRevision",
    "TaskStatus",
    "TaskWatch",
    "Thread",
    "ThreadPost",
    "new_feed_token",
    "task_photo_path",
]
