"""The registry's pages, by topic: the person's own (profile, registrations, consent, card,
premium, activities, export, deletion) and the staff's (registrants, reviews, perks, card
checks, announcements). ``urls.py`` names them from here.

Thin, like the API: a form parses, one service writes or one selector reads, and a
service's refusal (``ValidationError``) comes back as an error of the form."""

from .announcements import ANNOUNCEMENTS_PER_PAGE, AnnouncementForm, announcements
from .card import card, card_reissue, card_verify
from .profile import my_page, profile_edit
from .registering import registration_new
from .registration import (
    CONSENT_LABELS,
    activity_new,
    consent,
    premium_apply,
    premium_cancel,
    registration_detail,
    withdraw,
)
from .reviews import (
    activity_evidence,
    activity_queue,
    activity_review,
    premium_decide,
    premium_queue,
)
from .rights import account_delete, export, export_download
from .staff import (
    REGISTRANTS_PER_PAGE,
    perk_delete,
    perk_edit,
    perks,
    registrants,
    registrants_csv,
    staff_home,
    staff_page,
)
from .town_page import town_page_edit

__all__ = [
    "ANNOUNCEMENTS_PER_PAGE",
    "CONSENT_LABELS",
    "REGISTRANTS_PER_PAGE",
    "AnnouncementForm",
    "account_delete",
    "activity_evidence",
    "activity_new",
    "activity_queue",
    "activity_review",
    "announcements",
    "card",
    "card_reissue",
    "card_verify",
    "consent",
    "export",
    "export_download",
    "my_page",
    "perk_delete",
    "perk_edit",
    "perks",
    "premium_apply",
    "premium_cancel",
    "premium_decide",
    "premium_queue",
    "profile_edit",
    "registrants",
    "registrants_csv",
    "registration_detail",
    "registration_new",
    "staff_home",
    "staff_page",
    "town_page_edit",
    "withdraw",
]
