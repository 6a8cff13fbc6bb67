"""The registry's pages. The names are a contract: e-mails and the API link to them."""

from django.urls import path

from . import views

app_name = "registry"

urlpatterns = [
    # The person's own
    path("me/", views.my_page, name="my_page"),
    path("me/profile/", views.profile_edit, name="profile_edit"),
    path("me/export/", views.export, name="export"),
    path("me/export.json", views.export_download, name="export_download"),
    path("me/delete/", views.account_delete, name="account_delete"),
    path("registrations/new/", views.registration_new, name="registration_new"),
    path("registrations/<int:pk>/", views.registration_detail, name="registration_detail"),
    path("registrations/<int:pk>/consent/", views.consent, name="consent"),
    path("registrations/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("registrations/<int:pk>/premium/", views.premium_apply, name="premium_apply"),
    path("registrations/<int:pk>/premium/cancel/", views.premium_cancel, name="premium_cancel"),
    path("registrations/<int:pk>/activities/new/", views.activity_new, name="activity_new"),
    path("registrations/<int:pk>/card/", views.card, name="card"),
    path("registrations/<int:pk>/card/reissue/", views.card_reissue, name="card_reissue"),
    # Staff
    path("cards/verify/", views.card_verify, name="card_verify"),
    path("staff/", views.staff_home, name="staff_home"),
    path("staff/<str:code>/registrants/", views.registrants, name="registrants"),
    path("staff/<str:code>/registrants.csv", views.registrants_csv, name="registrants_csv"),
    path("staff/<str:code>/premium/", views.premium_queue, name="premium_queue"),
    path("staff/premium/<int:pk>/decide/", views.premium_decide, name="premium_decide"),
    path("staff/<str:code>/activities/", views.activity_queue, name="activity_queue"),
    path("staff/activities/<int:pk>/review/", views.activity_review, name="activity_review"),
    path(
        "staff/activities/<int:pk>/evidence/",
        views.activity_evidence,
        name="activity_evidence",
    ),
    path("staff/<str:code>/perks/", views.perks, name="perks"),
    path("staff/<str:code>/page/", views.town_page_edit, name="town_page_edit"),
    path("staff/<str:code>/announcements/", views.announcements, name="announcements"),
    path("staff/perks/<int:pk>/edit/", views.perk_edit, name="perk_edit"),
    path("staff/perks/<int:pk>/delete/", views.perk_delete, name="perk_delete"),
]
