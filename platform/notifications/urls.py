from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/read-all/", views.read_all, name="read_all"),
    path("notifications/<int:pk>/read/", views.read, name="read"),
    path("notifications/settings/", views.preferences, name="settings"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
