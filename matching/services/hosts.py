"""Hosts (ヌシ): a person asks to host for a town; the name a host's tasks show."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import staff_scope
from accounts.services import audit_record
from core.errors import Conflict
from notifications.models import Topic
from notifications.services import notification_send
from places.models import Municipality
from places.names import place_name, place_ref

from ..errors import MatchingCode
from ..models import (
    HostApplication,
    HostApplicationStatus,
)
from ._common import _staff_of


def host_apply(
    *, person: User, municipality: Municipality, organisation: str = "", message: str
) -> HostApplication:
    """A person asks to host (ヌシ) for ``municipality``."""
    message = message.strip()
    if not message:
        raise ValidationError(
            {
                "message": ValidationError(
                    _("どんなお手伝いを募集したいか、困りごとを書いてください。"),
                    code=MatchingCode.MESSAGE_REQUIRED,
                )
            }
        )
    if staff_scope(user=person).hosts_for(municipality.code):
        raise Conflict(
            {
                "municipality": ValidationError(
                    _("%(name)s のヌシとしてすでに承認されています。")
                    % {"name": place_name(municipality)},
                    code=MatchingCode.ALREADY_HOST,
                )
            }
        )
    application = HostApplication(
        person=person,
        municipality=municipality,
        organisation=organisation.strip(),
        message=message,
    )
    application.full_clean(exclude=["person", "municipality"], validate_constraints=False)
    try:
        with transaction.atomic():
            application.save()
            audit_record(
                actor=person, action="host.apply", target=application, municipality=municipality
            )
            notification_send(
                recipients=_staff_of(municipality.code),
                kind="host_applied",
                topic=Topic.HOSTING,
                key=f"host_application:{application.pk}:applied",
                context={
                    "municipality": place_ref(municipality),
                    "organisation": application.organisation,
                },
                url=reverse("matching:host_applications", args=[municipality.code]),
                author=person,
                author_keys=["organisation"],
            )
    except IntegrityError as exc:
        raise Conflict(
            {
                "municipality": ValidationError(
                    _("%(name)s へのヌシの申請はすでに審査中です。")
                    % {"name": place_name(municipality)},
                    code=MatchingCode.APPLICATION_PENDING,
                )
            }
        ) from exc
    return application


def host_name_of(person: User, municipality: Municipality) -> str:
    """The name a host's tasks show: the organisation the town's staff approved in the
    person's host application, else the person's own name (never their e-mail address)."""
    organisation = (
        HostApplication.objects.filter(
            person=person, municipality=municipality, status=HostApplicationStatus.APPROVED
        )
        .exclude(organisation="")
        .order_by("-decided_at", "-id")
        .values_list("organisation", flat=True)
        .first()
    )
    return organisation or person.public_name


def _host_name_errors(actor: User, municipality: Municipality, wanted: str | None) -> dict:
    """A host does not choose the name shown: it is the one the town approved."""
    approved = host_name_of(actor, municipality)
    if wanted and wanted != approved:
        return {
            "host_name": [
                ValidationError(
                    _(
                        "ヌシの表示名は、市区町村が承認したヌシの申請の団体名（なければあなたの名前）"
                        "です。変えたいときは市区町村に連絡してください。"
                    ),
                    code=MatchingCode.HOST_NAME_FIXED,
                )
            ]
        }
    if not approved:
        return {
            "host_name": [
                ValidationError(
                    _("表示する名前がありません。アカウントの設定で名前を登録してください。"),
                    code=MatchingCode.HOST_NAME_MISSING,
                )
            ]
        }
    return {}
