"""Every write of the registry, by topic. Each function is one transaction; refusals are
``ValidationError`` (a clear message, nothing changed), ``Conflict`` or ``Denied``, each with
a code (``registry.errors``). Callers import from here: ``from registry.services import x``."""

from .activities import (
    EVIDENCE_MAX_BYTES,
    EVIDENCE_TYPES,
    activity_record,
    activity_submit,
    activity_withdraw,
)
from .announcements import announcement_create, announcement_fan_out, announcements_resume
from .common import one_year_after
from .perks import perk_delete, perk_save
from .premium import (
    PREMIUM_REVIEW_GRACE_DAYS,
    premium_application_cancel,
    premium_apply,
    premium_expire_and_renew,
    premium_remind,
)
from .profile import PROFILE_FIELDS, profile_of, profile_update
from .registrations import (
    card_reissue,
    card_verify,
    consent_change,
    registration_create,
    registration_withdraw,
)
from .reviews import ACTIVITIES, PREMIUM_APPLICATIONS, activity_decide, premium_decide
from .rights import registry_anonymise, registry_data_of
from .staff_reads import activity_queue_read, premium_queue_read, registrants_read
from .town_page import may_edit_town_page, town_page_update

__all__ = [
    "ACTIVITIES",
    "EVIDENCE_MAX_BYTES",
    "EVIDENCE_TYPES",
    "PREMIUM_APPLICATIONS",
    "PREMIUM_REVIEW_GRACE_DAYS",
    "PROFILE_FIELDS",
    "activity_decide",
    "activity_queue_read",
    "activity_record",
    "activity_submit",
    "activity_withdraw",
    "announcement_create",
    "announcement_fan_out",
    "announcements_resume",
    "card_reissue",
    "card_verify",
    "consent_change",
    "may_edit_town_page",
    "one_year_after",
    "perk_delete",
    "perk_save",
    "premium_application_cancel",
    "premium_apply",
    "premium_decide",
    "premium_expire_and_renew",
    "premium_queue_read",
    "premium_remind",
    "profile_of",
    "profile_update",
    "registrants_read",
    "registration_create",
    "registration_withdraw",
    "registry_anonymise",
    "registry_data_of",
    "town_page_update",
]
