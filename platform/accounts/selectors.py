"""Reads about people and their power. The scope is what later apps filter by.

Every query that shows municipality-owned data takes a ``StaffScope`` (or a user, from which
it is computed), so that no view can forget to limit what staff see::

    scope = staff_scope(user=request.user)
    registrants = scope.filter(Registration.objects.all(), municipality_field="municipality")
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.mfa.adapter import get_adapter
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from core.errors import Code, Denied
from places.models import Municipality

from .models import MUNICIPALITY_STAFF_ROLES, Membership, Role

_CACHE_ATTR = "_furusato_staff_scope"


@dataclass(frozen=True)
class StaffScope:
    """The municipalities and prefectures a person has power over, by kind of power."""

    national: bool = False
    prefecture_codes: frozenset[str] = field(default_factory=frozenset)
    staff_municipality_codes: frozenset[str] = field(default_factory=frozenset)
    admin_municipality_codes: frozenset[str] = field(default_factory=frozenset)
    host_municipality_codes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_staff(self) -> bool:
        """Staff of a municipality or prefecture, or a national administrator."""
        return self.national or bool(self.prefecture_codes or self.staff_municipality_codes)

    def covers_municipality(self, code: str) -> bool:
        """Whether this person may see staff data of the municipality with this code."""
        return (
            self.national
            or code in self.staff_municipality_codes
            or code[:2] in self.prefecture_codes
        )

    def manages_municipality(self, code: str) -> bool:
        """Whether this person is staff of this very municipality (may change its data)."""
        return code in self.staff_municipality_codes

    def administers_municipality(self, code: str) -> bool:
        return code in self.admin_municipality_codes

    def hosts_for(self, code: str) -> bool:
        return code in self.host_municipality_codes

    def covers_prefecture(self, code: str) -> bool:
        return self.national or code in self.prefecture_codes

    def municipality_q(self, municipality_field: str = "municipality") -> Q:
        """A filter on a municipality foreign key that keeps only what this scope covers."""
        if self.national:
            return Q()
        q = Q(pk__in=[])
        if self.staff_municipality_codes:
            q |= Q(**{f"{municipality_field}__in": sorted(self.staff_municipality_codes)})
        if self.prefecture_codes:
            q |= Q(**{f"{municipality_field}__prefecture__in": sorted(self.prefecture_codes)})
        return q

    def filter(self, queryset: QuerySet, *, municipality_field: str = "municipality") -> QuerySet:
        """Limit ``queryset`` to the rows of municipalities this scope covers."""
        if not self.is_staff:
            return queryset.none()
        return queryset.filter(self.municipality_q(municipality_field))


NO_SCOPE = StaffScope()


def staff_scope(*, user) -> StaffScope:
    """The person's scope, computed once per user object (one query)."""
    if user is None or not user.is_authenticated:
        return NO_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(user=user).values_list(
        "role", "municipality_id", "prefecture_id"
    )
    national = False
    prefectures, staff, admin, host = set(), set(), set(), set()
    for role, municipality_code, prefecture_code in rows:
        if role == Role.NATIONAL_ADMIN:
            national = True
        elif role == Role.PREFECTURE_STAFF:
            prefectures.add(prefecture_code)
        elif role == Role.HOST:
            host.add(municipality_code)
        elif role in MUNICIPALITY_STAFF_ROLES:
            staff.add(municipality_code)
            if role == Role.MUNICIPALITY_ADMIN:
                admin.add(municipality_code)
    scope = StaffScope(
        national=national,
        prefecture_codes=frozenset(prefectures),
        staff_municipality_codes=frozenset(staff),
        admin_municipality_codes=frozenset(admin),
        host_municipality_codes=frozenset(host),
    )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def staff_scope_forget(*, user) -> None:
    """Drop the cached scope after the person's roles changed."""
    with suppress(AttributeError):
        delattr(user, _CACHE_ATTR)  # also through request.user's lazy wrapper


def memberships_of(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related(
        "municipality__prefecture", "prefecture"
    )


def must_use_second_factor(*, user) -> bool:
    """Staff (municipality, prefecture, national) and whoever may enter the Django admin
    must have a second factor before they see personal data or statistics. Hosts and
    residents need none."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or staff_scope(user=user).is_staff


def has_second_factor(*, user) -> bool:
    """Whether the person set up a second factor (a TOTP app or a security key; allauth
    deletes the recovery codes with the last of them)."""
    return get_adapter().is_mfa_enabled(user)


def lacks_required_second_factor(*, user) -> bool:
    return must_use_second_factor(user=user) and not has_second_factor(user=user)


def unverified_address_of(*, user) -> str:
    """An address of the person still waiting for its confirmation link, or ""."""
    address = EmailAddress.objects.filter(user=user, verified=False).first()
    return address.email if address else ""


def managed_object(queryset: QuerySet, *, user, pk: int, municipality_field: str):
    """One object of a town ``user`` is staff of. Another town's is a 404 like a missing
    one, so ids cannot be probed."""
    codes = sorted(staff_scope(user=user).staff_municipality_codes)
    return get_object_or_404(queryset.filter(**{f"{municipality_field}__in": codes}), pk=pk)


def managed_municipality(*, user, code: str) -> Municipality:
    """The municipality of ``code`` for its own staff: 404 when unknown, 403 for anyone else."""
    municipality = get_object_or_404(Municipality.objects.select_related("prefecture"), code=code)
    if not staff_scope(user=user).manages_municipality(municipality.code):
        raise Denied(_("この市区町村の職員だけが見られます。"), code=Code.NOT_STAFF_HERE)
    return municipality
