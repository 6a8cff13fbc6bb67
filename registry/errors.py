"""The registry's refusal codes (``core.errors``): stable, machine-readable, in the API's
error body as ``"code"``. Shared meanings (already decided, a note needed, one's own item,
not staff of this town) use ``core.errors.Code``."""

from core.errors import ErrorCode


class RegistryCode(ErrorCode):
    # The profile
    PROFILE_INCOMPLETE = "profile_incomplete"
    HOME_IS_REGISTERED = "home_is_registered"  # the new home is a town one is registered with
    BIRTH_YEAR_OUT_OF_RANGE = "birth_year_out_of_range"
    KANA_INVALID = "kana_invalid"
    # Registering
    HOME_MUNICIPALITY = "home_municipality"  # one's own home town cannot be registered with
    ALREADY_REGISTERED = "already_registered"
    GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required"
    TYPES_REQUIRED = "types_required"
    REGISTRATION_WITHDRAWN = "registration_withdrawn"
    # The card
    CARD_CHECK_STAFF_ONLY = "card_check_staff_only"
    # Premium
    ALREADY_PREMIUM = "already_premium"
    PREMIUM_ALREADY_PENDING = "premium_already_pending"
    NAMES_REQUIRED = "names_required"
    PREMIUM_LIMIT_REACHED = "premium_limit_reached"
    NO_PENDING_APPLICATION = "no_pending_application"
    # Activities
    ACTIVITY_IN_FUTURE = "activity_in_future"
    ACTIVITY_TOO_OLD = "activity_too_old"
    EVIDENCE_REQUIRED = "evidence_required"
    EVIDENCE_TYPE = "evidence_type"
    EVIDENCE_TOO_LARGE = "evidence_too_large"
    EVIDENCE_MISMATCH = "evidence_mismatch"
    TITLE_REQUIRED = "title_required"
    # Announcements
    BODY_REQUIRED = "body_required"
    ANNOUNCEMENT_DUPLICATE = "announcement_duplicate"
    # Staff pages and the person's rights
    STAFF_ONLY = "staff_only"
    PASSWORD_INCORRECT = "password_incorrect"  # noqa: S105 (a code, not a password)
