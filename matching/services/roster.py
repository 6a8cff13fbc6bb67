"""The roster: what a participant agrees to give the host for one sign-up (name and
furigana always; a phone number, an emergency contact and a birth date when the task asks,
with its reason), the audited reads of the host and the town's staff, and the deletion of
the details a set time after the session (``MATCHING_ROSTER_RETENTION_DAYS``).

``signup_create`` checks and writes the details in its own transaction
(``signup_details_clean``, ``signup_details_row``); ``roster_read`` is the one door to
them; ``roster_details_purge`` is run by beat."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.text import as_typed, fixed_form
from places.kana import to_katakana

from ..errors import MatchingCode
from ..models import Session, Signup, SignupDetails, Task
from ..roster_export import filename, roster_csv, roster_xlsx
from ..selectors import Roster, check_manage, details_expire_before, roster_of

# What a reading (a kana reading: katakana, the long vowel mark, a middle dot, spaces) is.
FURIGANA_RE = re.compile(r"^[\u30a1-\u30fa\u30fc\u30fb\u30fd\u30fe ]+$")
# A phone number: digits with hyphens, spaces or brackets, optionally a leading +.
PHONE_RE = re.compile(r"^\+?[0-9()\- ]+$")
DETAIL_FIELDS = (
    "full_name",
    "furigana",
    "phone",
    "emergency_name",
    "emergency_phone",
    "birth_date",
)
# The formats a roster is read in (the audit row says which); the files are roster_download's.
ROSTER_FORMATS = ("page", "print", "api")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class RosterFile:
    content: bytes
    content_type: str
    name: str


def asks_anything(task: Task) -> bool:
    """Whether the task asks for more than name and furigana."""
    return bool(task.asks_phone or task.asks_emergency_contact or task.asks_birth_date)


def roster_asks_errors(task: Task) -> dict[str, list[ValidationError]]:
    """A task that asks for more than name and furigana says why (shown at sign-up)."""
    if asks_anything(task) and not (task.asks_reason or "").strip():
        return {
            "asks_reason": [
                ValidationError(
                    _("電話番号・緊急連絡先・生年月日を聞くときは、聞く理由を書いてください。"),
                    code=MatchingCode.ASKS_REASON_REQUIRED,
                )
            ]
        }
    return {}


# Names are free text, kept as typed; furigana and phone numbers have a fixed form.
FIXED_FORM_DETAILS = ("furigana", "phone", "emergency_phone")


def _text(details: dict[str, Any], name: str) -> str:
    value = details.get(name)
    return fixed_form(value) if name in FIXED_FORM_DETAILS else as_typed(value)


def _phone(value: str, field: str, errors: dict) -> str:
    digits = re.sub(r"[^0-9]", "", value)
    if not PHONE_RE.match(value) or not 10 <= len(digits) <= 15:
        errors[field] = ValidationError(
            _("電話番号は数字とハイフンで入力してください（例：090-1234-5678）。"),
            code=MatchingCode.PHONE_INVALID,
        )
    return value


def _required(field: str, message: str, errors: dict) -> None:
    errors[field] = ValidationError(message, code=MatchingCode.DETAILS_REQUIRED)


def signup_details_clean(*, task: Task, details: dict[str, Any]) -> dict[str, Any]:
    """The details a person gives for a sign-up to ``task``, checked; names as typed, the
    fixed-form ones normalised (NFKC, furigana in katakana); only what the task asks is
    kept. Refuses without the person's agreement to pass them to the host."""
    errors: dict[str, ValidationError] = {}
    if details.get("agree") is not True:
        errors["agree"] = ValidationError(
            _(
                "申し込むには「この申込のためにヌシに伝えることに同意します」にチェックしてください。"
            ),
            code=MatchingCode.DETAILS_AGREEMENT_REQUIRED,
        )
    cleaned: dict[str, Any] = {name: _text(details, name) for name in DETAIL_FIELDS[:5]}
    if not cleaned["full_name"]:
        _required("full_name", _("氏名を入力してください。"), errors)
    elif len(cleaned["full_name"]) > 100:
        errors["full_name"] = ValidationError(
            _("氏名は100文字以内にしてください。"), code=MatchingCode.DETAILS_TOO_LONG
        )
    cleaned["furigana"] = to_katakana(cleaned["furigana"])
    if not cleaned["furigana"]:
        _required("furigana", _("フリガナを入力してください。"), errors)
    elif not FURIGANA_RE.match(cleaned["furigana"]) or len(cleaned["furigana"]) > 100:
        errors["furigana"] = ValidationError(
            _("フリガナはカタカナ（またはひらがな）で、100文字以内で入力してください。"),
            code=MatchingCode.FURIGANA_INVALID,
        )
    if task.asks_phone:
        if not cleaned["phone"]:
            _required("phone", _("電話番号を入力してください。"), errors)
        else:
            _phone(cleaned["phone"], "phone", errors)
    else:
        cleaned["phone"] = ""
    if task.asks_emergency_contact:
        if not cleaned["emergency_name"]:
            _required("emergency_name", _("緊急連絡先の氏名と続柄を入力してください。"), errors)
        elif len(cleaned["emergency_name"]) > 100:
            errors["emergency_name"] = ValidationError(
                _("緊急連絡先の氏名・続柄は100文字以内にしてください。"),
                code=MatchingCode.DETAILS_TOO_LONG,
            )
        if not cleaned["emergency_phone"]:
            _required("emergency_phone", _("緊急連絡先の電話番号を入力してください。"), errors)
        else:
            _phone(cleaned["emergency_phone"], "emergency_phone", errors)
    else:
        cleaned["emergency_name"] = cleaned["emergency_phone"] = ""
    cleaned["birth_date"] = None
    if task.asks_birth_date:
        cleaned["birth_date"] = _birth_date(details.get("birth_date"), errors)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _birth_date(value: Any, errors: dict) -> datetime.date | None:
    if value in (None, ""):
        _required("birth_date", _("生年月日を入力してください。"), errors)
        return None
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(fixed_form(value))
        except ValueError:
            value = None
    today = timezone.localdate()
    if (
        not isinstance(value, datetime.date)
        or isinstance(value, datetime.datetime)
        or not datetime.date(1900, 1, 1) <= value <= today
    ):
        errors["birth_date"] = ValidationError(
            _("生年月日を正しく入力してください（例：1990-04-01）。"),
            code=MatchingCode.BIRTH_DATE_INVALID,
        )
        return None
    return value


def signup_details_row(*, signup: Signup, details: dict[str, Any]) -> SignupDetails:
    """The row of the details (from ``signup_details_clean``) for the sign-up, unsaved:
    ``signup_create`` writes it in the sign-up's own statement where it can."""
    return SignupDetails(
        signup=signup,
        created_at=signup.created_at,
        **{name: details[name] for name in DETAIL_FIELDS},
    )


def signup_details_write(*, signup: Signup, details: dict[str, Any]) -> SignupDetails:
    """Store the details (from ``signup_details_clean``) with the sign-up. Call inside the
    sign-up's transaction."""
    row = signup_details_row(signup=signup, details=details)
    row.save(force_insert=True)
    return row


def _audit(viewer: User, roster: Roster, fmt: str, detail: dict[str, Any]) -> None:
    audit_record(
        actor=viewer,
        action="roster.read",
        target=roster.session,
        municipality=roster.task.municipality,
        detail={
            "task": roster.task.pk,
            "session": roster.session.pk,
            "format": fmt,
            "rows": len(roster.rows),
            **detail,
        },
    )


def roster_read(*, viewer: User, session: Session, fmt: str) -> Roster:
    """A session's roster for the task's host or the town's staff; each read (the page,
    the print view, the API) is written to the audit log with its format."""
    if fmt not in ROSTER_FORMATS:
        raise ValueError(f"Unknown roster format: {fmt}")
    check_manage(viewer, session.task)
    with transaction.atomic():
        roster = roster_of(session)
        _audit(viewer, roster, fmt, {})
    return roster


def roster_download(
    *, viewer: User, session: Session, fmt: str, encoding: str = "utf-8"
) -> RosterFile:
    """The roster as a file (``csv`` in ``utf-8`` with a BOM or ``cp932``, or ``xlsx``),
    audited. A Shift_JIS roster that cannot hold a name is refused before anything is read
    out (``roster_export``)."""
    check_manage(viewer, session.task)
    with transaction.atomic():
        roster = roster_of(session)
        if fmt == "csv":
            content = roster_csv(roster, encoding)
            charset = "utf-8" if encoding == "utf-8" else "shift_jis"
            content_type = f"text/csv; charset={charset}"
        elif fmt == "xlsx":
            content = roster_xlsx(roster)
            content_type = XLSX_TYPE
        else:
            raise ValueError(f"Unknown roster file format: {fmt}")
        _audit(viewer, roster, fmt, {"encoding": encoding} if fmt == "csv" else {})
    return RosterFile(content=content, content_type=content_type, name=filename(roster, fmt))


def roster_details_purge(*, now: datetime.datetime | None = None, batch_size: int = 500) -> int:
    """Delete the details of sign-ups whose session ended more than the retention period
    ago, in batches of short transactions (run by beat). Idempotent."""
    before = details_expire_before(now)
    deleted = 0
    while True:
        batch = list(
            SignupDetails.objects.filter(signup__session__ends_at__lt=before)
            .order_by("signup_id")
            .values_list("signup_id", flat=True)[:batch_size]
        )
        if not batch:
            return deleted
        with transaction.atomic():
            count, _by_model = SignupDetails.objects.filter(signup_id__in=batch).delete()
        deleted += count
