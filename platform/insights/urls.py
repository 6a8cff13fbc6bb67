"""The statistics pages. The paths are a contract: the API's areas and the site's menus
link to them."""

from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("stats/", views.national, name="national"),
    path("stats/prefectures/<str:code>/", views.prefecture, name="prefecture"),
    path("stats/municipalities/<str:code>/", views.municipality, name="municipality"),
]
