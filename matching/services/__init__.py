"""Every write of the board. Each function is one transaction.

One module per topic; the public names are all here, so callers say
``from matching.services import task_create`` or ``services.task_create``. The row locks
they take, and their order, are in ``matching.locks``.
"""

from __future__ import annotations

from ..selectors import may_manage_task
from ._common import _task_dates_refresh
from .attendance import (
    UNMARKED,
    attendance_deadline,
    attendance_mark,
    attendance_mark_all,
    attendance_open,
)
from .briefings import (
    BRIEFING_FIELDS,
    briefing_set,
)
from .conversations import (
    task_message_send,
    thread_post,
)
from .feeds import (
    calendar_feed_get,
    calendar_feed_revoke,
)
from .hosting import requests_remind
from .hosts import host_apply, host_name_of
from .periodic import (
    matches_sweep,
    offers_expire,
    person_refresh_sweep,
    reminders_send,
    sessions_understaffed,
    tasks_advance,
)
from .reviews import (
    HOST_APPLICATIONS,
    TASK_REVISIONS,
    host_application_decide,
    host_queue_read,
    task_revision_decide,
)
from .revisions import (
    revision_session_changes,
    revision_values,
    task_revision_submit,
    task_revision_withdraw,
)
from .rights import board_anonymise, board_data_of
from .roster import roster_details_purge, roster_download, roster_read
from .sessions import session_add, session_cancel, session_update
from .signups import signup_cancel, signup_confirm, signup_create, signup_decide, signup_thank
from .tasks import (
    TASK_FIELDS,
    TOLD_FIELDS,
    _search_text,
    changes_held,
    participants_read,
    task_cancel,
    task_close,
    task_complete,
    task_create,
    task_publish,
    task_report_publish,
    task_return,
    task_submit,
    task_update,
)
from .watching import (
    person_recommendations_refresh,
    person_refresh_request,
    task_match,
    task_unwatch,
    task_watch,
)

__all__ = [
    "BRIEFING_FIELDS",
    "HOST_APPLICATIONS",
    "TASK_FIELDS",
    "TASK_REVISIONS",
    "TOLD_FIELDS",
    "UNMARKED",
    "_search_text",
    "_task_dates_refresh",
    "attendance_deadline",
    "attendance_mark",
    "attendance_mark_all",
    "attendance_open",
    "board_anonymise",
    "board_data_of",
    "briefing_set",
    "calendar_feed_get",
    "calendar_feed_revoke",
    "changes_held",
    "host_application_decide",
    "host_apply",
    "host_name_of",
    "host_queue_read",
    "matches_sweep",
    "may_manage_task",
    "offers_expire",
    "participants_read",
    "person_recommendations_refresh",
    "person_refresh_request",
    "person_refresh_sweep",
    "reminders_send",
    "requests_remind",
    "revision_session_changes",
    "revision_values",
    "roster_details_purge",
    "roster_download",
    "roster_read",
    "session_add",
    "session_cancel",
    "session_update",
    "sessions_understaffed",
    "signup_cancel",
    "signup_confirm",
    "signup_create",
    "signup_decide",
    "signup_thank",
    "task_cancel",
    "task_close",
    "task_complete",
    "task_create",
    "task_match",
    "task_message_send",
    "task_publish",
    "task_report_publish",
    "task_return",
    "task_revision_decide",
    "task_revision_submit",
    "task_revision_withdraw",
    "task_submit",
    "task_unwatch",
    "task_update",
    "task_watch",
    "tasks_advance",
    "thread_post",
]
