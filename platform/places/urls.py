from django.urls import path

from . import views

app_name = "places"

urlpatterns = [
    path("municipalities/", views.municipality_index, name="municipality_index"),
    path(
        "municipalities/<str:code>/",
        views.municipality_detail,
        name="municipality_detail",
    ),
    path("prefectures/<str:code>/", views.prefecture_detail, name="prefecture_detail"),
]
