"""The reasons of a match as people read them: codes with their details (a notification's
context, the API), and the same worded in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from core.language import list_join
from registry import flags
from registry.models import AvailableDays, Category, Month, Profile, Skill

from ..models import Match, Reason, Task


def reason_codes(match: Match, task: Task, profile: Profile | None) -> list[list[Any]]:
    """The reasons of ``match`` as JSON (code and detail), for a notification's context or
    the API; ``reason_texts`` words them in the reader's language."""
    reasons = Reason(match.reasons)
    municipality = task.municipality
    prefecture_name = task.prefecture.name
    codes: list[list[Any]] = []
    if Reason.REGISTERED in reasons:
        codes.append(["registered", municipality.name])
    if Reason.RETURNING in reasons:
        codes.append(["returning", municipality.name])
    if Reason.PREFECTURE_REGISTERED in reasons:
        codes.append(["prefecture_registered", prefecture_name])
    if match.distance_km is not None and Reason.NEAR in reasons:
        codes.append(["near", round(match.distance_km)])
    if Reason.SAME_PREFECTURE in reasons:
        codes.append(["same_prefecture", prefecture_name])
    elif Reason.NEIGHBOUR_PREFECTURE in reasons:
        codes.append(["neighbour_prefecture", prefecture_name])
    if Reason.INTEREST in reasons:
        codes.append(["interest", task.category])
    if Reason.SKILL in reasons and profile is not None:
        codes.append(["skill", flags.values_of(Skill, task.skills & profile.skills)])
    if Reason.DAYS in reasons and profile is not None:
        codes.append(
            ["days", flags.values_of(AvailableDays, task.session_days & profile.available_days)]
        )
    if Reason.MONTH in reasons and profile is not None:
        codes.append(
            ["month", flags.values_of(Month, task.session_months & profile.available_months)]
        )
    return codes


def reason_texts(codes: Iterable[Iterable[Any]]) -> list[str]:
    """Reason codes worded in the active language: "registered with 飛騨市", …"""
    labels = {
        "interest": dict(Category.choices),
        "skill": dict(Skill.choices),
        "days": dict(AvailableDays.choices),
        "month": dict(Month.choices),
    }
    texts = []
    for code, detail in codes:
        if code == "registered":
            texts.append(_("%(name)sにふるさと住民登録しています") % {"name": detail})
        elif code == "returning":
            texts.append(_("%(name)sのお手伝いに参加したことがあります") % {"name": detail})
        elif code == "prefecture_registered":
            texts.append(_("%(name)sの市町村に登録しています") % {"name": detail})
        elif code == "near":
            texts.append(_("ご自宅から約%(km)s km") % {"km": detail})
        elif code == "same_prefecture":
            texts.append(_("お住まいの%(name)sのお手伝いです") % {"name": detail})
        elif code == "neighbour_prefecture":
            texts.append(_("お住まいのとなりの%(name)sのお手伝いです") % {"name": detail})
        elif code in labels:
            values = detail if isinstance(detail, list) else [detail]
            # Translators: what separates the items of a list ("、" in Japanese).
            words = list_join(str(labels[code].get(value, value)) for value in values)
            texts.append(
                {
                    "interest": _("関心のある分野: %(labels)s"),
                    "skill": _("できることが活かせます: %(labels)s"),
                    "days": _("参加しやすい日です: %(labels)s"),
                    "month": _("参加しやすい月です: %(labels)s"),
                }[code]
                % {"labels": words}
            )
    return texts
