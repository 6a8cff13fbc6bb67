"""The registry's API: ``/api/me/``, ``/api/registrations/``, ``/api/cards/verify/`` and the
staff endpoints under ``/api/municipalities/{code}/``, by topic. Thin: parse, call a service
or a selector, serialise. ``config.urls`` and other rooms import from here."""

from .announcements import AnnouncementSerializer, AnnouncementsView
from .cards import CardVerifyRequestSerializer, CardVerifyResultSerializer, CardVerifyView
from .fields import FlagsField
from .me import (
    MeDeleteView,
    MeExportView,
    MeSerializer,
    MeView,
    PasswordSerializer,
    ProfileSerializer,
)
from .registrations import (
    ActivitySerializer,
    ActivitySubmitSerializer,
    CardSerializer,
    ConsentSerializer,
    PerkSerializer,
    PremiumApplicationSerializer,
    PremiumApplySerializer,
    RegistrationCreateSerializer,
    RegistrationSerializer,
    RegistrationUpdateSerializer,
    RegistrationViewSet,
)
from .reviews import (
    ActivityQueueView,
    ActivityReviewView,
    DecisionSerializer,
    PremiumDecideView,
    PremiumQueueView,
    ReviewActivitySerializer,
    ReviewApplicationSerializer,
)
from .staff import (
    CSV_COLUMNS,
    CSVRenderer,
    MunicipalityPerksView,
    PerkDetailView,
    PerkWriteSerializer,
    RegistrantFilterSerializer,
    RegistrantSerializer,
    RegistrantsView,
    registrants_csv_response,
)

__all__ = [
    "CSV_COLUMNS",
    "ActivityQueueView",
    "ActivityReviewView",
    "ActivitySerializer",
    "ActivitySubmitSerializer",
    "AnnouncementSerializer",
    "AnnouncementsView",
    "CSVRenderer",
    "CardSerializer",
    "CardVerifyRequestSerializer",
    "CardVerifyResultSerializer",
    "CardVerifyView",
    "ConsentSerializer",
    "DecisionSerializer",
    "FlagsField",
    "MeDeleteView",
    "MeExportView",
    "MeSerializer",
    "MeView",
    "MunicipalityPerksView",
    "PasswordSerializer",
    "PerkDetailView",
    "PerkSerializer",
    "PerkWriteSerializer",
    "PremiumApplicationSerializer",
    "PremiumApplySerializer",
    "PremiumDecideView",
    "PremiumQueueView",
    "ProfileSerializer",
    "RegistrantFilterSerializer",
    "RegistrantSerializer",
    "RegistrantsView",
    "RegistrationCreateSerializer",
    "RegistrationSerializer",
    "RegistrationUpdateSerializer",
    "RegistrationViewSet",
    "ReviewActivitySerializer",
    "ReviewApplicationSerializer",
    "registrants_csv_response",
]
