from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import AuthTokenView
from core import views as core_views
from insights import api as insights_api
from matching import api as matching_api
from notifications.api import NotificationPreferencesView, NotificationViewSet
from places import views as places_views
from places.api import MunicipalityViewSet, PrefectureViewSet
from registry import api as registry_api

# The admin logs in through allauth: verified e-mail and the same rate limits as the site.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = admin.site.site_title = "Furusato 運営管理"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("prefectures", PrefectureViewSet, basename="prefecture")
router.register("municipalities", MunicipalityViewSet, basename="municipality")
router.register("registrations", registry_api.RegistrationViewSet, basename="registration")
router.register("tasks", matching_api.TaskViewSet, basename="task")
router.register("sessions", matching_api.SessionViewSet, basename="session")
router.register("signups", matching_api.SignupViewSet, basename="signup")
router.register(
    "host-applications", matching_api.HostApplicationViewSet, basename="host-application"
)
router.register("notifications", NotificationViewSet, basename="notification")

api_urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split: Swagger UI's start-up script comes from docs/?script, not inline (the CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", AuthTokenView.as_view(), name="api-auth-token"),
    path("me/", registry_api.MeView.as_view(), name="api-me"),
    path("me/export/", registry_api.MeExportView.as_view(), name="api-me-export"),
    path("me/delete/", registry_api.MeDeleteView.as_view(), name="api-me-delete"),
    path("cards/verify/", registry_api.CardVerifyView.as_view(), name="api-card-verify"),
    path(
        "municipalities/<str:code>/registrants/",
        registry_api.RegistrantsView.as_view(),
        name="api-registrants",
    ),
    path(
        "municipalities/<str:code>/premium-applications/",
        registry_api.PremiumQueueView.as_view(),
        name="api-premium-queue",
    ),
    path(
        "premium-applications/<int:pk>/decide/",
        registry_api.PremiumDecideView.as_view(),
        name="api-premium-decide",
    ),
    path(
        "municipalities/<str:code>/activities/",
        registry_api.ActivityQueueView.as_view(),
        name="api-activity-queue",
    ),
    path(
        "activities/<int:pk>/review/",
        registry_api.ActivityReviewView.as_view(),
        name="api-activity-review",
    ),
    path(
        "municipalities/<str:code>/perks/",
        registry_api.MunicipalityPerksView.as_view(),
        name="api-perks",
    ),
    path("perks/<int:pk>/", registry_api.PerkDetailView.as_view(), name="api-perk"),
    path(
        "municipalities/<str:code>/host-applications/",
        matching_api.HostApplicationQueueView.as_view(),
        name="api-host-application-queue",
    ),
    path("sessions/<int:pk>/roster/", matching_api.RosterView.as_view(), name="api-roster"),
    path(
        "notification-preferences/",
        NotificationPreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "recommendations/", matching_api.RecommendationsView.as_view(), name="api-recommendations"
    ),
    path(
        "municipalities/<str:code>/announcements/",
        registry_api.AnnouncementsView.as_view(),
        name="api-announcements",
    ),
    path(
        "tasks/<int:pk>/briefing/",
        matching_api.TaskBriefingView.as_view(),
        name="api-task-briefing",
    ),
    path("me/calendar-feed/", matching_api.CalendarFeedView.as_view(), name="api-calendar-feed"),
    path(
        "me/calendar-feed/revoke/",
        matching_api.CalendarFeedRevokeView.as_view(),
        name="api-calendar-feed-revoke",
    ),
    path(
        "sessions/<int:pk>/attendance/",
        matching_api.SessionAttendanceView.as_view(),
        name="api-session-attendance",
    ),
    *insights_api.urls(),
    *matching_api.conversation_urls(),
    *router.urls,
]

urlpatterns = [
    path("", places_views.home, name="home"),
    path("health/", core_views.health, name="health"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include(api_urlpatterns)),
    path("admin/", admin.site.urls),
    path("", include("places.urls")),
    path("", include("registry.urls")),
    path("", include("matching.urls")),
    path("", include("notifications.urls")),
    path("", include("insights.urls")),
]

if settings.DEBUG or settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
