"""The premium tier: applying, cancelling, and the yearly end, renewal and reminder of a term."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import Conflict
from notifications.models import Topic
from notifications.services import notification_send
from places.names import place_ref

from .. import locks
from ..errors import RegistryCode
from ..models import Activity, EventKind, PremiumApplication, Registration, ReviewStatus, Tier
from ..selectors import premium_slots_used
from ..verification import identity_verifier
from .common import _event, one_year_after

logger = logging.getLogger(__name__)


def _premium_limit_error() -> Conflict:
    return Conflict(
        _(
            "プレミアム登録は同時に %(limit)s つのまちまでです。"
            "ほかのまちのプレミアム登録を終えるか、申請を取り消してから申請してください。"
        )
        % {"limit": settings.REGISTRY_PREMIUM_LIMIT},
        code=RegistryCode.PREMIUM_LIMIT_REACHED,
    )


def premium_apply(*, registration: Registration, message: str = "") -> PremiumApplication:
    """Ask for the premium tier; identity is verified by the configured verifier."""
    verifier = identity_verifier()
    with transaction.atomic():
        person = locks.person_lock(registration.person)
        registration = locks.registration_lock(registration.pk)
        if not registration.is_active:
            raise Conflict(
                _("取り下げた登録ではプレミアムを申請できません。"),
                code=RegistryCode.REGISTRATION_WITHDRAWN,
            )
        if registration.is_premium:
            raise Conflict(
                _("このまちではすでにプレミアム登録です。"), code=RegistryCode.ALREADY_PREMIUM
            )
        if PremiumApplication.objects.filter(
            registration=registration, status=ReviewStatus.PENDING
        ).exists():
            raise Conflict(
                _("このまちへのプレミアム申請はすでに審査待ちです。"),
                code=RegistryCode.PREMIUM_ALREADY_PENDING,
            )
        if not (person.family_name and person.given_name):
            raise ValidationError(
                _(
                    "本人確認のため、プレミアムの申請の前にアカウントの氏名（姓・名）を登録してください。"
                ),
                code=RegistryCode.NAMES_REQUIRED,
            )
        if premium_slots_used(person=person) >= settings.REGISTRY_PREMIUM_LIMIT:
            raise _premium_limit_error()
        application = PremiumApplication(
            registration=registration, verifier=verifier.key, message=message.strip()
        )
        application.full_clean(exclude=["registration"])
        application.save()
        _event(registration, EventKind.PREMIUM_APPLIED, person, application=application.pk)
        verifier.submitted(application)
    return application


def premium_application_cancel(*, registration: Registration, actor: User) -> None:
    """The person withdraws the registration's pending premium application."""
    with transaction.atomic():
        updated = PremiumApplication.objects.filter(
            registration=registration, status=ReviewStatus.PENDING
        ).update(status=ReviewStatus.CANCELLED, decided_at=timezone.now())
        if not updated:
            raise Conflict(
                _("審査待ちのプレミアム申請はありません。"),
                code=RegistryCode.NO_PENDING_APPLICATION,
            )


# How long an ended term waits for staff to review evidence uploaded in it.
PREMIUM_REVIEW_GRACE_DAYS = 30


def premium_expire_and_renew(
    *, today: datetime.date | None = None, batch_size: int = 500, max_rows: int = 20_000
) -> dict:
    """Apply every premium term that has ended (``premium_until`` is its last day): renew it
    for a year when the registrant did
    at least ``REGISTRY_PREMIUM_MIN_ACTIVITIES`` designated activities in it, else return the
    registration to basic. Idempotent: a second run finds nothing due. One run looks at no
    more than ``max_rows`` terms, well inside a task's time limit; beat's next run goes on."""
    today = today or timezone.localdate()
    counts = {"renewed": 0, "ended": 0}
    last_id = 0
    seen = 0
    while seen < max_rows:
        due = list(
            Registration.objects.filter(tier=Tier.PREMIUM, premium_until__lt=today, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            return counts
        last_id = due[-1]
        seen += len(due)
        for pk in due:
            outcome = _premium_term_end(pk, today)
            if outcome:
                counts[outcome] += 1
    return counts


def _premium_term_end(pk: int, today: datetime.date) -> str | None:
    with transaction.atomic():
        registration = locks.premium_term_lock(pk, today)
        if registration is None:
            return None  # done by another run meanwhile
        in_term = Activity.objects.filter(
            registration=registration,
            designated=True,
            occurred_on__gte=registration.premium_since,
            occurred_on__lte=registration.premium_until,
        )
        done = in_term.filter(status=ReviewStatus.APPROVED).count()
        waiting = in_term.filter(status=ReviewStatus.PENDING).count()
        needed = settings.REGISTRY_PREMIUM_MIN_ACTIVITIES
        grace_ends = registration.premium_until + datetime.timedelta(days=PREMIUM_REVIEW_GRACE_DAYS)
        if done < needed <= done + waiting and today <= grace_ends:
            return None  # evidence under review decides it; premium stays meanwhile
        if done >= needed:
            previous = registration.premium_until
            registration.premium_since = previous + datetime.timedelta(days=1)
            registration.premium_until = one_year_after(previous)
            registration.save(update_fields=["premium_since", "premium_until"])
            _event(
                registration,
                EventKind.PREMIUM_RENEWED,
                None,
                activities=done,
                until=registration.premium_until.isoformat(),
            )
            return "renewed"
        registration.tier = Tier.BASIC
        registration.premium_since = registration.premium_until = None
        registration.save(update_fields=["tier", "premium_since", "premium_until"])
        _event(registration, EventKind.PREMIUM_ENDED, None, reason="expired", activities=done)
        return "ended"


def premium_remind(
    *, today: datetime.date | None = None, batch_size: int = 500, max_rows: int = 5_000
) -> int:
    """E-mail each premium registrant once per term, ``REGISTRY_PREMIUM_REMIND_DAYS`` before
    it ends, with how many designated activities count so far. Idempotent per term; one run
    sends at most ``max_rows`` (beat's next run goes on)."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.REGISTRY_PREMIUM_REMIND_DAYS)
    sent = 0
    last_id = 0
    while sent < max_rows:
        due = list(
            Registration.objects.filter(
                tier=Tier.PREMIUM,
                premium_until__gte=today,  # the last day of a term is still in it
                premium_until__lte=horizon,
                pk__gt=last_id,
            )
            .exclude(premium_reminded_for=F("premium_until"))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not due:
            return sent
        last_id = due[-1]
        for pk in due:
            try:
                sent += _premium_remind_one(pk, today)
            except Exception:  # one failed mail must not stop the others
                logger.exception(
                    "Premium reminder for registration %s failed; retried next run", pk
                )
    return sent


def _premium_remind_one(pk: int, today: datetime.date) -> int:
    with transaction.atomic():
        registration = locks.premium_reminder_lock(pk)
        if registration is None:
            return 0
        done = Activity.objects.filter(
            registration=registration,
            designated=True,
            status=ReviewStatus.APPROVED,
            occurred_on__gte=registration.premium_since,
        ).count()
        registration.premium_reminded_for = registration.premium_until
        registration.save(update_fields=["premium_reminded_for"])
        # Into the inbox and the outbox with the marker, in one transaction: the relay
        # delivers the e-mail once, whatever happens to this run.
        notification_send(
            recipients=[registration.person_id],
            kind="premium_reminder",
            topic=Topic.REGISTRY,
            key=f"registration:{registration.pk}:premium-reminder:{registration.premium_until}",
            context={
                "municipality": place_ref(registration.municipality),
                "premium_until": registration.premium_until.isoformat(),
                "done": done,
                "needed": settings.REGISTRY_PREMIUM_MIN_ACTIVITIES,
            },
            url=reverse("registry:registration_detail", args=[registration.pk]),
        )
    return 1
