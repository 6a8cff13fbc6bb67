"""The board's pages: finding tasks (list, calendar, map, one task), signing up and one's
own sign-ups; the pages of hosts and staff for tasks, sessions, participants and hosts.

Thin, like the API: a form parses, one service writes or one selector reads, and a
service's refusal (``ValidationError``, and ``Conflict`` which is one) comes back as an
error of the form or as a message. ``PermissionDenied`` is the site's 403 page; a task one
may not see is a 404, so that drafts cannot be probed.

One module per topic; the views the URLs route to are all here."""

from __future__ import annotations

from .attendance import attendance_all
from .briefings import briefing_edit
from .conversations import task_messages, thread_detail, thread_list, thread_mine
from .feeds import calendar_feed, calendar_feed_create, calendar_feed_revoke
from .finding import for_you, task_calendar, task_list, task_map
from .hosting import signup_cancel
from .hosts import host_apply, host_home
from .participants import attendance, participants, signup_decide
from .reviews import (
    host_application_decide,
    host_applications,
    revision_decide,
    revision_detail,
    revision_withdraw,
)
from .roster import roster, roster_csv, roster_print, roster_xlsx
from .signups import (
    my_signups,
    signup_confirm,
    signup_ical,
    signup_new,
    signup_thanks,
)
from .staff import staff_tasks
from .task import task_detail, task_unwatch, task_watch
from .writing import (
    session_cancel,
    session_edit,
    task_cancel,
    task_edit,
    task_new,
    task_report,
    task_sessions,
    task_transition,
)

__all__ = [
    "attendance",
    "attendance_all",
    "briefing_edit",
    "calendar_feed",
    "calendar_feed_create",
    "calendar_feed_revoke",
    "for_you",
    "host_application_decide",
    "host_applications",
    "host_apply",
    "host_home",
    "my_signups",
    "participants",
    "revision_decide",
    "revision_detail",
    "revision_withdraw",
    "roster",
    "roster_csv",
    "roster_print",
    "roster_xlsx",
    "session_cancel",
    "session_edit",
    "signup_cancel",
    "signup_confirm",
    "signup_decide",
    "signup_ical",
    "signup_new",
    "signup_thanks",
    "staff_tasks",
    "task_calendar",
    "task_cancel",
    "task_detail",
    "task_edit",
    "task_list",
    "task_map",
    "task_messages",
    "task_new",
    "task_report",
    "task_sessions",
    "task_transition",
    "task_unwatch",
    "task_watch",
    "thread_detail",
    "thread_list",
    "thread_mine",
]
