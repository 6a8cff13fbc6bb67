"""Every write of the registry. Each function is one transaction; refusals are
``ValidationError`` (a clear message, nothing changed) or ``PermissionDenied``."""

from __future__ import annotations

import datetime
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.queue import enqueue, send_now
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality

from . import flags
from .cards import card_check
from .models import (
    CONSENT_FIELDS,
    Activity,
    ActivitySource,
    Announcement,
    AnnouncementState,
    AvailableDays,
    Category,
    EventKind,
    Language,
    Month,
    Perk,
    PrefectureRegistration,
    PremiumApplication,
    Profile,
    Registration,
    RegistrationEvent,
    RelationshipType,
    ReviewStatus,
    Skill,
    Status,
    Tier,
    may_be_minor,
)
from .selectors import (
    activity_queue,
    announcement_audience,
    premium_queue,
    premium_slots_used,
    registrants_of,
    shared_name,
)
from .verification import identity_verifier

logger = logging.getLogger(__name__)

EVIDENCE_TYPES = {
    "pdf": b"%PDF",
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG",
}
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


def one_year_after(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _lock_person(person: User) -> User:
    """Serialise a person's registry changes (limits that span registrations)."""
    return User.objects.select_for_update().get(pk=person.pk)


def _event(registration: Registration, kind: str, actor: User | None, **detail) -> None:
    RegistrationEvent.objects.create(
        registration=registration,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        detail=detail,
    )


# --- Profile ----------------------------------------------------------------------------


PROFILE_FIELDS = (
    "home_municipality",
    "birth_year",
    "gender",
    "interests",
    "skills",
    "available_days",
    "available_months",
    "languages",
)


def profile_update(*, user: User, **fields: Any) -> Profile:
    """Set profile fields (any of ``PROFILE_FIELDS``); the rest stay as they are."""
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown profile fields: {sorted(unknown)}")
    with transaction.atomic():
        _lock_person(user)  # against a registration with the new home made meanwhile
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        for name, value in fields.items():
            setattr(profile, name, value)
        home = fields.get("home_municipality")
        if home is not None and (
            Registration.objects.filter(
                person=user, municipality=home, status=Status.ACTIVE
            ).exists()
        ):
            raise ValidationError(
                {
                    "home_municipality": _(
                        "%(name)s にはふるさと住民として登録しています。"
                        "住所をそのまちに移した場合は、先にその登録を取り下げてください。"
                    )
                    % {"name": home.name}
                }
            )
        this_year = timezone.localdate().year
        if profile.birth_year is not None and not (
            this_year - 120 <= profile.birth_year <= this_year
        ):
            raise ValidationError(
                {
                    "birth_year": _("生まれた年は %(low)s〜%(high)s で入力してください。")
                    % {"low": this_year - 120, "high": this_year}
                }
            )
        profile.full_clean(exclude=["user"])
        profile.save()
    return profile


def profile_of(user: User) -> Profile:
    """The person's profile, empty (unsaved) if they have not written one."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user)


# --- Registrations ----------------------------------------------------------------------


def registration_create(
    *,
    person: User,
    municipality: Municipality,
    types: int,
    origin: str,
    consent: dict[str, bool] | None = None,
    guardian_name: str = "",
    guardian_consent: bool = False,
) -> Registration:
    """Register ``person`` as a furusato resident of ``municipality`` (and its prefecture)."""
    consent = {name: bool((consent or {}).get(name, False)) for name in CONSENT_FIELDS}
    now = timezone.now()
    with transaction.atomic():
        _lock_person(person)
        profile = profile_of(person)
        if not profile.is_complete:
            raise ValidationError(
                _("登録の前に、プロフィールで住所の市区町村と生まれた年を設定してください。")
            )
        if municipality.pk == profile.home_municipality_id:
            raise ValidationError(
                {
                    "municipality": _(
                        "%(name)s は住民票のある市区町村なので登録できません。"
                        "ふるさと住民登録は、住んでいるまち以外のまちとの関わりのための制度です。"
                    )
                    % {"name": municipality.name}
                }
            )
        if Registration.objects.filter(
            person=person, municipality=municipality, status=Status.ACTIVE
        ).exists():
            raise ValidationError(
                {
                    "municipality": _("%(name)s にはすでに登録しています。")
                    % {"name": municipality.name}
                }
            )
        guardian_name = guardian_name.strip()
        minor = may_be_minor(profile.birth_year, timezone.localdate())
        if minor and not (guardian_consent and guardian_name):
            raise ValidationError(
                {
                    "guardian_consent": _(
                        "18歳未満の方の登録には、保護者の同意と保護者の氏名が必要です。"
                    )
                }
            )
        registration = Registration(
            person=person,
            municipality=municipality,
            home_municipality_id=profile.home_municipality_id,
            types=types,
            origin=origin,
            registered_at=now,
            guardian_name=guardian_name if minor else "",
            guardian_consented_at=now if minor else None,
            **consent,
        )
        if not types:
            raise ValidationError({"types": _("関わり方を1つ以上選んでください。")})
        registration.full_clean(
            exclude=["person", "municipality", "home_municipality"], validate_constraints=False
        )
        try:
            with transaction.atomic():
                registration.save()
        except IntegrityError as exc:  # a concurrent duplicate
            raise ValidationError(
                {
                    "municipality": _("%(name)s にはすでに登録しています。")
                    % {"name": municipality.name}
                }
            ) from exc
        if not PrefectureRegistration.objects.filter(
            person=person, prefecture_id=municipality.prefecture_id, status=Status.ACTIVE
        ).exists():
            PrefectureRegistration.objects.create(
                person=person, prefecture_id=municipality.prefecture_id, registered_at=now
            )
        _event(
            registration,
            EventKind.REGISTERED,
            person,
            consent=consent,
            types=types,
            origin=origin,
            minor=minor,
        )
    return registration


def consent_change(*, registration: Registration, actor: User, **consent: bool) -> Registration:
    """Change what the municipality may see or send; recorded with the whole consent."""
    unknown = set(consent) - set(CONSENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown consent fields: {sorted(unknown)}")
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if not registration.is_active:
            raise ValidationError(_("取り下げた登録の同意は変更できません。"))
        changed = [name for name, value in consent.items() if getattr(registration, name) != value]
        if not changed:
            return registration
        for name in changed:
            setattr(registration, name, bool(consent[name]))
        registration.save(update_fields=changed)
        _event(
            registration,
            EventKind.CONSENT_CHANGED,
            actor,
            consent=registration.consent(),
            changed=changed,
        )
    return registration


def registration_withdraw(*, registration: Registration, actor: User) -> Registration:
    """Withdraw: the row stays as history; cards stop working; premium and its application end."""
    now = timezone.now()
    with transaction.atomic():
        _lock_person(registration.person)
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if not registration.is_active:
            return registration
        was_premium = registration.is_premium
        registration.status = Status.WITHDRAWN
        registration.withdrawn_at = now
        registration.card_serial = F("card_serial") + 1
        registration.tier = Tier.BASIC
        registration.premium_since = registration.premium_until = None
        registration.save(
            update_fields=[
                "status",
                "withdrawn_at",
                "card_serial",
                "tier",
                "premium_since",
                "premium_until",
            ]
        )
        registration.refresh_from_db(fields=["card_serial"])
        PremiumApplication.objects.filter(
            registration=registration, status=ReviewStatus.PENDING
        ).update(status=ReviewStatus.CANCELLED, decided_at=now)
        if was_premium:
            _event(registration, EventKind.PREMIUM_ENDED, actor, reason="withdrawn")
        _event(registration, EventKind.WITHDRAWN, actor)
        _prefecture_registration_sync(registration.person_id, registration.municipality, now)
    return registration


def _prefecture_registration_sync(person_id: int, municipality: Municipality, now) -> None:
    """End the prefecture registration when no active registration is left in it."""
    still_there = Registration.objects.filter(
        person_id=person_id,
        municipality__prefecture_id=municipality.prefecture_id,
        status=Status.ACTIVE,
    ).exists()
    if not still_there:
        PrefectureRegistration.objects.filter(
            person_id=person_id, prefecture_id=municipality.prefecture_id, status=Status.ACTIVE
        ).update(status=Status.WITHDRAWN, withdrawn_at=now)


def card_reissue(*, registration: Registration, actor: User) -> Registration:
    """A new card: every token shown before (say on a lost phone) is revoked."""
    with transaction.atomic():
        updated = Registration.objects.filter(pk=registration.pk, status=Status.ACTIVE).update(
            card_serial=F("card_serial") + 1
        )
        if not updated:
            raise ValidationError(_("取り下げた登録の登録証は再発行できません。"))
        registration.refresh_from_db()
        _event(registration, EventKind.CARD_REISSUED, actor)
    return registration


def card_verify(*, token: str, viewer: User) -> dict[str, Any]:
    """Check a card as staff: status and tier; the person's consented fields only for the
    staff of the card's own municipality. Every check is written to the audit log."""
    scope = staff_scope(user=viewer)
    if not scope.is_staff:
        raise PermissionDenied(_("登録証を確かめられるのは自治体の職員だけです。"))
    check = card_check(token)
    result: dict[str, Any] = {"status": str(check.status), "status_label": check.status.label}
    registration = check.registration
    revealed: list[str] = []
    if registration is not None and check.status != "invalid":
        municipality = registration.municipality
        result.update(
            municipality={"code": municipality.code, "name": municipality.name},
            tier=registration.tier,
            tier_label=str(registration.get_tier_display()),
            premium_until=registration.premium_until,
            registered_on=timezone.localdate(registration.registered_at),
        )
        if check.status == "valid" and scope.manages_municipality(municipality.code):
            person = registration.person
            if registration.share_name:
                result["name"] = shared_name(registration)
                revealed.append("name")
            if registration.share_age_band:
                band = profile_of(person).age_band()
                result["age_band"] = str(band.label) if band else None
                revealed.append("age_band")
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action="card.verify",
            target=registration,
            municipality=registration.municipality if registration else None,
            detail={"status": str(check.status), "revealed": revealed},
        )
    return result


# --- Premium ----------------------------------------------------------------------------


def _premium_limit_error() -> ValidationError:
    return ValidationError(
        _(
            "プレミアム登録は同時に %(limit)s つのまちまでです。"
            "ほかのまちのプレミアム登録を終えるか、申請を取り消してから申請してください。"
        )
        % {"limit": settings.REGISTRY_PREMIUM_LIMIT}
    )


def premium_apply(*, registration: Registration, message: str = "") -> PremiumApplication:
    """Ask for the premium tier; identity is verified by the configured verifier."""
    verifier = identity_verifier()
    with transaction.atomic():
        person = _lock_person(registration.person)
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if not registration.is_active:
            raise ValidationError(_("取り下げた登録ではプレミアムを申請できません。"))
        if registration.is_premium:
            raise ValidationError(_("このまちではすでにプレミアム登録です。"))
        if PremiumApplication.objects.filter(
            registration=registration, status=ReviewStatus.PENDING
        ).exists():
            raise ValidationError(_("このまちへのプレミアム申請はすでに審査待ちです。"))
        if not (person.family_name and person.given_name):
            raise ValidationError(
                _(
                    "本人確認のため、プレミアムの申請の前にアカウントの氏名（姓・名）を登録してください。"
                )
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
            raise ValidationError(_("審査待ちのプレミアム申請はありません。"))


def premium_decide(
    *,
    application: PremiumApplication,
    decided_by: User | None,
    approve: bool,
    note: str = "",
) -> PremiumApplication:
    """Approve or refuse a premium application after checking the person's identity.

    ``decided_by`` must be staff of the registration's municipality (``None`` for an
    automatic verifier). Approval starts a one-year term; it is audited either way.
    """
    municipality = application.registration.municipality
    if decided_by is not None and not staff_scope(user=decided_by).manages_municipality(
        municipality.code
    ):
        raise PermissionDenied(_("この市区町村の申請を審査する権限がありません。"))
    if decided_by is not None and decided_by.pk == application.registration.person_id:
        raise PermissionDenied(_("自分の申請は審査できません。ほかの職員に依頼してください。"))
    note = note.strip()
    if not approve and not note:
        raise ValidationError({"note": _("却下する理由を書いてください。申請者に伝わります。")})
    today = timezone.localdate()
    with transaction.atomic():
        _lock_person(application.registration.person)
        application = PremiumApplication.objects.select_for_update().get(pk=application.pk)
        registration = Registration.objects.select_for_update().get(pk=application.registration_id)
        if application.status != ReviewStatus.PENDING:
            raise ValidationError(_("この申請はすでに決定済みか、取り消されています。"))
        application.status = ReviewStatus.APPROVED if approve else ReviewStatus.REFUSED
        application.decided_at = timezone.now()
        application.decided_by = decided_by
        application.decision_note = note
        application.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        if approve:
            if not registration.is_active:
                raise ValidationError(_("取り下げられた登録は承認できません。"))
            registration.tier = Tier.PREMIUM
            registration.premium_since = today
            registration.premium_until = one_year_after(today)
            registration.save(update_fields=["tier", "premium_since", "premium_until"])
        _event(
            registration,
            EventKind.PREMIUM_APPROVED if approve else EventKind.PREMIUM_REFUSED,
            decided_by,
            application=application.pk,
        )
        audit_record(
            actor=decided_by,
            action="premium.approve" if approve else "premium.refuse",
            target=application,
            municipality=municipality,
            detail={"registration": registration.pk, "verifier": application.verifier},
        )
    return application


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
        registration = (
            Registration.objects.select_for_update()
            .filter(pk=pk, tier=Tier.PREMIUM, premium_until__lt=today)
            .first()
        )
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
        registration = (
            Registration.objects.select_for_update()
            .select_related("person", "municipality")
            .filter(pk=pk, tier=Tier.PREMIUM)
            .exclude(premium_reminded_for=F("premium_until"))
            .first()
        )
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
                "municipality": registration.municipality.name,
                "premium_until": registration.premium_until.isoformat(),
                "done": done,
                "needed": settings.REGISTRY_PREMIUM_MIN_ACTIVITIES,
            },
            url=reverse("registry:registration_detail", args=[registration.pk]),
        )
    return 1


# --- Activities (engagement and premium evidence) ----------------------------------------


def activity_record(
    *,
    person: User,
    municipality: Municipality,
    title: str,
    occurred_on: datetime.date,
    designated: bool,
    reference: str,
    review: bool = False,
    recorded_by: User | None = None,
) -> Activity | None:
    """Record, accepted, what the board saw the person do in the municipality (attendance at
    a task). ``reference`` (say ``"signup:123"``) makes it idempotent. Returns ``None`` when
    the person is not registered with the municipality: there is nothing to count it for.

    ``review=True`` (the person hosts the task, or is staff of the town that runs it: they
    could mark themselves) records it pending instead, for another staff member's review in
    the activity queue, like uploaded evidence; it counts only once accepted, by someone
    other than the person and than ``recorded_by``, who marked the attendance."""
    if not reference:
        raise ValueError("activity_record needs a reference, to be idempotent.")
    with transaction.atomic():
        existing = Activity.objects.filter(reference=reference).first()
        if existing is not None:
            return existing
        registration = Registration.objects.filter(
            person=person, municipality=municipality, status=Status.ACTIVE
        ).first()
        if registration is None:
            return None
        activity = Activity(
            registration=registration,
            title=title[:120],
            occurred_on=occurred_on,
            designated=designated,
            source=ActivitySource.BOARD,
            status=ReviewStatus.PENDING if review else ReviewStatus.APPROVED,
            reference=reference,
            reviewed_at=None if review else timezone.now(),
            recorded_by=recorded_by,
        )
        try:
            with transaction.atomic():
                activity.save()
        except IntegrityError:  # recorded by a concurrent call
            return Activity.objects.get(reference=reference)
        if not review:
            _engagement_touch(registration.pk, occurred_on)
    return activity


def _engagement_touch(registration_id: int, occurred_on: datetime.date) -> None:
    """Move the registration's last activity forward (never back)."""
    Registration.objects.filter(
        Q(last_activity_on__isnull=True) | Q(last_activity_on__lt=occurred_on),
        pk=registration_id,
    ).update(last_activity_on=occurred_on)


def activity_submit(
    *,
    registration: Registration,
    title: str,
    occurred_on: datetime.date,
    evidence=None,
    note: str = "",
) -> Activity:
    """The person reports a designated activity with evidence; staff review it."""
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if occurred_on > today:
        errors["occurred_on"] = _("活動日に未来の日付は入れられません。")
    elif occurred_on < today - datetime.timedelta(days=366):
        errors["occurred_on"] = _("1年以上前の活動は申告できません。")
    if evidence is None:
        errors["evidence"] = _("証拠の書類か写真（PDF・JPEG・PNG、5MB まで）を添付してください。")
    else:
        problem = _evidence_problem(evidence)
        if problem:
            errors["evidence"] = problem
    if not title.strip():
        errors["title"] = _("活動の内容を書いてください。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if not registration.is_active:
            raise ValidationError(_("取り下げた登録には活動を申告できません。"))
        activity = Activity(
            registration=registration,
            title=title.strip(),
            occurred_on=occurred_on,
            designated=True,
            source=ActivitySource.UPLOAD,
            status=ReviewStatus.PENDING,
            note=note.strip(),
        )
        activity.full_clean(exclude=["registration", "evidence"])
        suffix = evidence.name.rsplit(".", 1)[-1].lower()
        activity.evidence.save(f"{uuid.uuid4().hex}.{suffix}", evidence, save=False)
        activity.save()
    return activity


def _evidence_problem(upload) -> str | None:
    name = getattr(upload, "name", "") or ""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in EVIDENCE_TYPES:
        return _("証拠として添付できるのは PDF・JPEG・PNG のファイルです。")
    if upload.size > EVIDENCE_MAX_BYTES:
        return _("ファイルが大きすぎます。5MB までにしてください。")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head.startswith(EVIDENCE_TYPES[suffix]):
        return _(
            "ファイルの中身が拡張子と合いません。PDF・JPEG・PNG のファイルを添付してください。"
        )
    return None


def activity_review(
    *, activity: Activity, reviewer: User, accept: bool, note: str = ""
) -> Activity:
    municipality = activity.registration.municipality
    if not staff_scope(user=reviewer).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の活動を審査する権限がありません。"))
    if reviewer.pk == activity.registration.person_id:
        raise PermissionDenied(_("自分の申告は審査できません。ほかの職員に依頼してください。"))
    if activity.recorded_by_id is not None and reviewer.pk == activity.recorded_by_id:
        raise PermissionDenied(
            _("自分で記録した出席は審査できません。ほかの職員に依頼してください。")
        )
    if not accept and not note.strip():
        raise ValidationError({"note": _("認めない理由を書いてください。申告した人に伝わります。")})
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        if activity.status != ReviewStatus.PENDING:
            raise ValidationError(_("この活動はすでに審査済みです。"))
        activity.status = ReviewStatus.APPROVED if accept else ReviewStatus.REFUSED
        activity.reviewed_at = timezone.now()
        activity.reviewed_by = reviewer
        activity.review_note = note.strip()
        activity.save(update_fields=["status", "reviewed_at", "reviewed_by", "review_note"])
        if accept:
            _engagement_touch(activity.registration_id, activity.occurred_on)
        audit_record(
            actor=reviewer,
            action="activity.accept" if accept else "activity.refuse",
            target=activity,
            municipality=municipality,
            detail={"registration": activity.registration_id},
        )
    return activity


# --- Staff reads of personal data --------------------------------------------------------


def registrants_read(
    *, viewer: User, municipality: Municipality, action: str, detail: dict | None = None
):
    """Open the municipality's registrants to its own staff, and write the read to the audit
    log. Staff of other towns, prefectures and the country see statistics, not people."""
    if not staff_scope(user=viewer).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の登録者を見る権限がありません。"))
    with transaction.atomic():
        audit_record(
            actor=viewer,
            action=action,
            target=municipality,
            municipality=municipality,
            detail=detail or {},
        )
    return registrants_of(municipality=municipality)


def premium_queue_read(*, viewer: User, municipality: Municipality):
    """The premium applications waiting for this town's staff (names, for the identity
    check): for its own staff only, and every read audited."""
    _staff_read(viewer, municipality, "premium.queue.read")
    return premium_queue(municipality=municipality)


def activity_queue_read(*, viewer: User, municipality: Municipality):
    """Reported activities waiting for this town's staff; audited like every staff read."""
    _staff_read(viewer, municipality, "activity.queue.read")
    return activity_queue(municipality=municipality)


def _staff_read(viewer: User, municipality: Municipality, action: str) -> None:
    if not staff_scope(user=viewer).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の職員だけが見られます。"))
    with transaction.atomic():
        audit_record(actor=viewer, action=action, target=municipality, municipality=municipality)


# --- Perks -------------------------------------------------------------------------------


def _perk_check(actor: User, municipality: Municipality) -> None:
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の特典を編集する権限がありません。"))


def perk_save(*, perk: Perk, actor: User) -> Perk:
    """Create or change a perk of the actor's municipality."""
    _perk_check(actor, perk.municipality)
    created = perk.pk is None
    with transaction.atomic():
        perk.full_clean()
        perk.save()
        audit_record(
            actor=actor,
            action="perk.create" if created else "perk.change",
            target=perk,
            municipality=perk.municipality,
        )
    return perk


def perk_delete(*, perk: Perk, actor: User) -> None:
    _perk_check(actor, perk.municipality)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="perk.delete",
            target=perk,
            municipality=perk.municipality,
            detail={"title": perk.title},
        )
        perk.delete()


# --- The person's rights (receivers of accounts' signals) --------------------------------


def registry_data_of(*, user: User) -> dict[str, Any]:
    """The registry's part of the person's data export."""
    profile = profile_of(user)
    registrations = []
    for registration in (
        Registration.objects.filter(person=user)
        .select_related("municipality")
        .prefetch_related("events", "activities", "premium_applications")
        .order_by("registered_at", "id")
    ):
        registrations.append(
            {
                "id": registration.pk,
                "municipality": {
                    "code": registration.municipality_id,
                    "name": registration.municipality.name,
                },
                "home_municipality": registration.home_municipality_id,
                "types": registration.type_values(),
                "origin": registration.origin,
                "status": registration.status,
                "registered_at": _iso(registration.registered_at),
                "withdrawn_at": _iso(registration.withdrawn_at),
                "tier": registration.tier,
                "premium_since": _iso(registration.premium_since),
                "premium_until": _iso(registration.premium_until),
                "consent": registration.consent(),
                "guardian_name": registration.guardian_name,
                "guardian_consented_at": _iso(registration.guardian_consented_at),
                "last_activity_on": _iso(registration.last_activity_on),
                "history": [
                    {"kind": event.kind, "at": _iso(event.at), "detail": _readable(event.detail)}
                    for event in registration.events.all()
                ],
                "activities": [
                    {
                        "title": activity.title,
                        "occurred_on": activity.occurred_on.isoformat(),
                        "designated": activity.designated,
                        "source": activity.source,
                        "status": activity.status,
                        "note": activity.note,
                        "evidence": activity.evidence.name or None,
                    }
                    for activity in registration.activities.all()
                ],
                "premium_applications": [
                    {
                        "status": application.status,
                        "applied_at": _iso(application.applied_at),
                        "message": application.message,
                        "decided_at": _iso(application.decided_at),
                        "decision_note": application.decision_note,
                    }
                    for application in registration.premium_applications.all()
                ],
            }
        )
    return {
        "profile": {
            "home_municipality": profile.home_municipality_id,
            "birth_year": profile.birth_year,
            "gender": profile.gender or None,
            "interests": flags.values_of(Category, profile.interests),
            "skills": flags.values_of(Skill, profile.skills),
            "available_days": flags.values_of(AvailableDays, profile.available_days),
            "available_months": flags.values_of(Month, profile.available_months),
            "languages": flags.values_of(Language, profile.languages),
        },
        "registrations": registrations,
        "prefecture_registrations": [
            {
                "prefecture": row.prefecture_id,
                "status": row.status,
                "registered_at": _iso(row.registered_at),
                "withdrawn_at": _iso(row.withdrawn_at),
            }
            for row in PrefectureRegistration.objects.filter(person=user).order_by("id")
        ],
    }


def _iso(value) -> str | None:
    """ISO 8601; times in Asia/Tokyo, as the API gives them."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value)
    return value.isoformat() if value else None


def _readable(detail: dict) -> dict:
    """An event's detail for the person: relationship types by name, not as a bitmask."""
    if isinstance(detail.get("types"), int):
        return {**detail, "types": flags.values_of(RelationshipType, detail["types"])}
    return detail


def registry_anonymise(*, user: User) -> None:
    """On account deletion: registrations stay for statistics, withdrawn and stripped of
    everything personal; evidence files and the profile are deleted."""
    now = timezone.now()
    storage = storages["private"]
    files = list(
        Activity.objects.filter(registration__person=user)
        .exclude(evidence="")
        .values_list("evidence", flat=True)
    )
    # Files go once the deletion has committed: a rollback must not leave rows without files.
    for name in files:
        transaction.on_commit(lambda name=name: storage.delete(name))
    Activity.objects.filter(registration__person=user).update(
        title="-", evidence="", note="", review_note=""
    )
    PremiumApplication.objects.filter(registration__person=user).update(
        message="", decision_note=""
    )
    PremiumApplication.objects.filter(
        registration__person=user, status=ReviewStatus.PENDING
    ).update(status=ReviewStatus.CANCELLED, decided_at=now)
    active_ids = list(
        Registration.objects.filter(person=user, status=Status.ACTIVE).values_list("pk", flat=True)
    )
    Registration.objects.filter(person=user).update(
        guardian_name="",
        share_name=False,
        share_contact=False,
        share_age_band=False,
        share_skills=False,
        allow_announcements=False,
        card_serial=F("card_serial") + 1,
    )
    Registration.objects.filter(pk__in=active_ids).update(
        status=Status.WITHDRAWN,
        withdrawn_at=now,
        tier=Tier.BASIC,
        premium_since=None,
        premium_until=None,
    )
    RegistrationEvent.objects.filter(registration__person=user).update(detail={})
    RegistrationEvent.objects.bulk_create(
        RegistrationEvent(registration_id=pk, kind=EventKind.ANONYMISED, at=now)
        for pk in active_ids
    )
    PrefectureRegistration.objects.filter(person=user, status=Status.ACTIVE).update(
        status=Status.WITHDRAWN, withdrawn_at=now
    )
    Profile.objects.filter(user=user).delete()


# --- Announcements -----------------------------------------------------------------------


def announcement_create(
    *, municipality: Municipality, actor: User, title: str, body: str
) -> Announcement:
    """The municipality's staff write to the registrants who agreed to hear from it. The
    fan-out starts after the commit and goes on in batches (``announcement_fan_out``)."""
    if not staff_scope(user=actor).manages_municipality(municipality.code):
        raise PermissionDenied(_("この市区町村の職員だけがお知らせを送れます。"))
    announcement = Announcement(
        municipality=municipality, author=actor, title=title.strip(), body=body.strip()
    )
    errors: dict[str, list[str]] = {}
    if not announcement.title:
        errors["title"] = [_("件名を書いてください。")]
    if not announcement.body:
        errors["body"] = [_("本文を書いてください。")]
    if errors:
        raise ValidationError(errors)
    announcement.full_clean()
    with transaction.atomic():
        # One at a time per town, so that a form sent twice is caught below.
        Municipality.objects.select_for_update().filter(pk=municipality.pk).exists()
        if Announcement.objects.filter(
            municipality=municipality,
            title=announcement.title,
            body=announcement.body,
            created_at__gte=timezone.now() - datetime.timedelta(minutes=10),
        ).exists():
            raise ValidationError(
                _(
                    "同じ件名と本文のお知らせを、10分以内にすでに送っています。二重に送られないよう止めました。"
                )
            )
        announcement.save()
        audit_record(
            actor=actor,
            action="announcement.create",
            target=announcement,
            municipality=municipality,
            detail={"title": announcement.title},
        )
        enqueue("registry.announcement_fan_out", announcement.pk)
    return announcement


def announcement_fan_out(*, announcement_id: int, batch_size: int | None = None) -> int:
    """Put the announcement in each consenting registrant's inbox (and outbox), a batch per
    transaction: the batch's notifications and the cursor past it commit together, so a
    worker killed mid-way loses nothing and, resumed, repeats nothing. Runs at once are
    serialised on the announcement's row. Returns how many people it reached now."""
    batch_size = batch_size or settings.REGISTRY_ANNOUNCEMENT_BATCH
    reached = 0
    while True:
        with transaction.atomic():
            # Another run has it: let that one go on (a sweep's extra job returns at once).
            announcement = (
                Announcement.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("municipality")
                .filter(pk=announcement_id)
                .first()
            )
            if announcement is None or announcement.state == AnnouncementState.SENT:
                return reached
            people = list(
                announcement_audience(municipality=announcement.municipality)
                .filter(person_id__gt=announcement.cursor)
                .order_by("person_id")
                .values_list("person_id", flat=True)[:batch_size]
            )
            told = notification_send(
                recipients=people,
                kind="announcement",
                topic=Topic.ANNOUNCEMENTS,
                key=f"announcement:{announcement.pk}",
                context={
                    "municipality": announcement.municipality.name,
                    "title": announcement.title,
                    "body": announcement.body,
                },
                url=reverse("places:municipality_detail", args=[announcement.municipality_id]),
            )
            announcement.recipients += len(told)
            reached += len(told)
            fields = ["recipients", "cursor"]
            if people:
                announcement.cursor = people[-1]
            if len(people) < batch_size:
                announcement.state = AnnouncementState.SENT
                announcement.sent_at = timezone.now()
                fields += ["state", "sent_at"]
            announcement.save(update_fields=fields)
            if announcement.state == AnnouncementState.SENT:
                return reached


def announcements_resume(*, max_rows: int = 100) -> int:
    """Announcements still fanning out whose worker stopped (or never got the job): queue
    them again. A run that is still going simply waits for the row and finds it done."""
    started_before = timezone.now() - datetime.timedelta(seconds=settings.SWEEP_SECONDS / 2)
    pending = list(
        Announcement.objects.filter(state=AnnouncementState.SENDING, created_at__lt=started_before)
        .order_by("created_at")
        .values_list("pk", flat=True)[:max_rows]
    )
    for pk in pending:
        send_now("registry.announcement_fan_out", pk)
    return len(pending)
