"""Identity verification for the premium tier, pluggable.

The national scheme verifies identity with the マイナンバーカード; until such a verifier is
connected, the first verifier puts the application in the review queue of the
municipality's staff, who confirm the person's identity and decide (``premium_decide``,
audited). ``REGISTRY_IDENTITY_VERIFIER`` names the class to use.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from .models import PremiumApplication


class IdentityVerifier(Protocol):
    key: str
    label: str

    def submitted(self, application: PremiumApplication) -> None:
        """Start verifying: called in the transaction that created the application."""


class StaffReviewVerifier:
    """The municipality's staff confirm who the person is and approve or refuse."""

    key = "staff_review"
    label = _("自治体職員による本人確認")

    def submitted(self, application: PremiumApplication) -> None:
        # The application now waits in the municipality's review queue; nothing else to do.
        return None


@cache
def identity_verifier() -> IdentityVerifier:
    return import_string(settings.REGISTRY_IDENTITY_VERIFIER)()
