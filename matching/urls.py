"""The board's pages. The names are a contract: notifications and e-mails link to them."""

from django.urls import path

from . import views

app_name = "matching"

urlpatterns = [
    # Finding tasks (everyone)
    path("tasks/", views.task_list, name="task_list"),
    path("tasks/for-you/", views.for_you, name="for_you"),
    path("tasks/calendar/", views.task_calendar, name="task_calendar"),
    path("tasks/map/", views.task_map, name="task_map"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/watch/", views.task_watch, name="task_watch"),
    path("tasks/<int:pk>/unwatch/", views.task_unwatch, name="task_unwatch"),
    # Signing up (residents)
    path("sessions/<int:pk>/signup/", views.signup_new, name="signup_new"),
    path("me/signups/", views.my_signups, name="my_signups"),
    path("me/signups/<int:pk>/cancel/", views.signup_cancel, name="signup_cancel"),
    path("me/signups/<int:pk>/confirm/", views.signup_confirm, name="signup_confirm"),
    path("me/signups/<int:pk>/thanks/", views.signup_thanks, name="signup_thanks"),
    path("me/signups/<int:pk>/calendar.ics", views.signup_ical, name="signup_ical"),
    # A person's calendar feed (the token is the key: no sign-in)
    path("me/calendar-feed/", views.calendar_feed_create, name="calendar_feed_create"),
    path("me/calendar-feed/revoke/", views.calendar_feed_revoke, name="calendar_feed_revoke"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    # Hosts (ヌシ) and staff: tasks they manage
    path("host/", views.host_home, name="host_home"),
    path("host/apply/", views.host_apply, name="host_apply"),
    path("tasks/new/<str:code>/", views.task_new, name="task_new"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/sessions/", views.task_sessions, name="task_sessions"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/cancel/", views.session_cancel, name="session_cancel"),
    path("tasks/<int:pk>/status/<str:action>/", views.task_transition, name="task_transition"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/report/", views.task_report, name="task_report"),
    path("tasks/<int:pk>/briefing/", views.briefing_edit, name="briefing_edit"),
    path("tasks/<int:pk>/participants/", views.participants, name="participants"),
    path("signups/<int:pk>/attendance/", views.attendance, name="attendance"),
    path("sessions/<int:pk>/attendance/", views.attendance_all, name="attendance_all"),
    path("signups/<int:pk>/decide/", views.signup_decide, name="signup_decide"),
    # Messages to participants and questions to the host
    path("tasks/<int:pk>/messages/", views.task_messages, name="task_messages"),
    path("tasks/<int:pk>/question/", views.thread_mine, name="thread_mine"),
    path("tasks/<int:pk>/questions/", views.thread_list, name="thread_list"),
    path("threads/<int:pk>/", views.thread_detail, name="thread_detail"),
    path("sessions/<int:pk>/roster/", views.roster, name="roster"),
    path("sessions/<int:pk>/roster/print/", views.roster_print, name="roster_print"),
    path("sessions/<int:pk>/roster.csv", views.roster_csv, name="roster_csv"),
    path("sessions/<int:pk>/roster.xlsx", views.roster_xlsx, name="roster_xlsx"),
    # A host's change to a published task, held for the town's staff
    path("revisions/<int:pk>/", views.revision_detail, name="revision_detail"),
    path("revisions/<int:pk>/decide/", views.revision_decide, name="revision_decide"),
    path("revisions/<int:pk>/withdraw/", views.revision_withdraw, name="revision_withdraw"),
    # Municipality staff
    path("staff/<str:code>/tasks/", views.staff_tasks, name="staff_tasks"),
    path("staff/<str:code>/hosts/", views.host_applications, name="host_applications"),
    path(
        "staff/host-applications/<int:pk>/decide/",
        views.host_application_decide,
        name="host_application_decide",
    ),
]
