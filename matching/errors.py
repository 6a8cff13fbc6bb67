"""The board's refusal codes (``core.errors``): one per reason a service, a form of the API
or an API view says no. The codes every room shares (``already_decided``, ``note_required``,
``own_item``, ``not_staff_here`` …) are ``core.errors.Code``'s."""

from __future__ import annotations

from core.errors import ErrorCode


class MatchingCode(ErrorCode):
    # Who may act (403).
    NOT_TASK_MANAGER = "not_task_manager"  # not the task's host or its town's staff
    NOT_HOST_HERE = "not_host_here"  # neither staff nor an approved host of the town
    CHANGE_NEEDS_REVIEW = "change_needs_review"  # a host's change to a public task
    NOT_OWN_SIGNUP = "not_own_signup"
    NOT_OWN_REVISION = "not_own_revision"
    # Hosts.
    MESSAGE_REQUIRED = "message_required"
    MESSAGE_TOO_LONG = "message_too_long"
    ALREADY_HOST = "already_host"
    APPLICATION_PENDING = "application_pending"
    HOST_NAME_FIXED = "host_name_fixed"  # the name shown is the one the town approved
    HOST_NAME_MISSING = "host_name_missing"
    # Tasks and their steps.
    TASK_NOT_EDITABLE = "task_not_editable"
    SIGNUP_MODE_LOCKED = "signup_mode_locked"  # while people are signed up
    DESIGNATED_STAFF_ONLY = "designated_staff_only"
    TASK_NOT_DRAFT = "task_not_draft"
    TASK_NOT_PUBLISHABLE = "task_not_publishable"
    HOST_DRAFT_NOT_SUBMITTED = "host_draft_not_submitted"
    TASK_NOT_IN_REVIEW = "task_not_in_review"
    TASK_NOT_PUBLISHED = "task_not_published"
    TASK_NOT_RUNNING = "task_not_running"  # neither published nor closed
    TASK_OVER = "task_over"  # completed or cancelled
    NO_FUTURE_SESSION = "no_future_session"
    SESSIONS_TO_COME = "sessions_to_come"
    REASON_REQUIRED = "reason_required"
    REPORT_REQUIRED = "report_required"
    REPORT_TOO_LONG = "report_too_long"
    REPORT_TOO_EARLY = "report_too_early"
    # The briefing for participants (``services.briefings``).
    BRIEFING_TOO_LONG = "briefing_too_long"
    BRIEFING_COORDINATE_PAIR = "briefing_coordinate_pair"  # latitude without longitude
    BRIEFING_OUTSIDE_JAPAN = "briefing_outside_japan"
    # Revisions.
    CHANGE_NOT_HELD = "change_not_held"  # no review needed: save it as it is
    NO_CHANGES = "no_changes"
    NOT_TASK_SESSION = "not_task_session"
    # Sessions.
    SESSION_NOT_EDITABLE = "session_not_editable"
    SESSION_STARTED = "session_started"
    SESSION_NOT_STARTED = "session_not_started"
    SESSION_ALREADY_CANCELLED = "session_already_cancelled"
    CAPACITY_BELOW_SIGNUPS = "capacity_below_signups"
    OVERLAPPING_SESSION = "overlapping_session"
    # Sign-ups.
    SESSION_CANCELLED = "session_cancelled"
    SIGNUP_CLOSED = "signup_closed"
    CANCEL_CLOSED = "cancel_closed"
    BIRTH_YEAR_REQUIRED = "birth_year_required"
    BELOW_MINIMUM_AGE = "below_minimum_age"
    ALREADY_SIGNED_UP = "already_signed_up"
    SESSION_FULL = "session_full"
    SIGNUP_OVER = "signup_over"  # cancelled, declined, expired
    NOT_OFFERED = "not_offered"
    OFFER_EXPIRED = "offer_expired"
    SIGNUP_NOT_PENDING = "signup_not_pending"
    SIGNUP_NOT_CONFIRMED = "signup_not_confirmed"
    NOT_ATTENDED = "not_attended"
    ATTENDANCE_INVALID = "attendance_invalid"
    ATTENDANCE_CLOSED = "attendance_closed"  # the correction window after the session ended
    ATTENDANCE_RECORDED = "attendance_recorded"  # counted in the registry: stays
    # Sign-up care (issue 17: hosting).
    OVERLAP_NOT_CONFIRMED = "overlap_not_confirmed"  # a waiting list over a held session
    CANCEL_REASON_TOO_LONG = "cancel_reason_too_long"
    WATCH_PLACES_LEFT = "watch_places_left"  # watching is for full sessions only
    WATCH_NOTHING_TO_COME = "watch_nothing_to_come"  # no session still takes sign-ups
    # The API's own checks.
    STATUS_INVALID = "status_invalid"
    MUNICIPALITY_CODE_INVALID = "municipality_code_invalid"
    # The filters of the task list (``TaskFilterForm``, the API's too).
    FILTER_PREFECTURE_UNKNOWN = "filter_prefecture_unknown"
    FILTER_MUNICIPALITY_UNKNOWN = "filter_municipality_unknown"
    FILTER_HOME_MISSING = "filter_home_missing"
    FILTER_DATES_REVERSED = "filter_dates_reversed"
    FILTER_NEAR_REQUIRED = "filter_near_required"
    # Messages to participants and questions to the host (``services.conversations``).
    MESSAGE_SUBJECT_REQUIRED = "message_subject_required"
    MESSAGE_SUBJECT_TOO_LONG = "message_subject_too_long"
    MESSAGE_BODY_REQUIRED = "message_body_required"
    MESSAGE_BODY_TOO_LONG = "message_body_too_long"
    MESSAGE_AUDIENCE_INVALID = "message_audience_invalid"
    MESSAGE_NO_RECIPIENTS = "message_no_recipients"  # nobody in that audience (409)
    MESSAGE_DUPLICATE = "message_duplicate"  # the same message just sent (409)
    QUESTION_REQUIRED = "question_required"
    QUESTION_TOO_LONG = "question_too_long"
    QUESTION_OWN_TASK = "question_own_task"  # its managers answer, they do not ask (403)
    QUESTION_TASK_NOT_OPEN = "question_task_not_open"  # not public: nobody to ask (409)
    QUESTIONS_UNANSWERED = "questions_unanswered"  # too many waiting for an answer (409)
    # The roster (issue 17): what a task asks at sign-up, the details given, the downloads.
    ASKS_REASON_REQUIRED = "asks_reason_required"  # asks a phone, contact or birth date
    DETAILS_AGREEMENT_REQUIRED = "details_agreement_required"
    DETAILS_REQUIRED = "details_required"  # a detail the roster needs is missing
    DETAILS_TOO_LONG = "details_too_long"
    FURIGANA_INVALID = "furigana_invalid"
    PHONE_INVALID = "phone_invalid"
    BIRTH_DATE_INVALID = "birth_date_invalid"
    ROSTER_ENCODING_UNKNOWN = "roster_encoding_unknown"
    ROSTER_NOT_SHIFT_JIS = "roster_not_shift_jis"  # a name Shift_JIS cannot hold
