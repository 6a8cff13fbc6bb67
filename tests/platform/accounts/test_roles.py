"""Roles as memberships, and the scope that later apps filter by."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.errors import AccountsCode
from accounts.models import AuditEvent, Membership, Role
from accounts.selectors import staff_scope
from accounts.services import membership_grant, membership_revoke
from places.models import Municipality, Prefecture
from tests.factories import UserFactory, person_with_role, sign_in

pytestmark = pytest.mark.django_db

HIDA, TAKAYAMA, CHIZU = "212172", "212032", "313289"


@pytest.fixture
def town_rows():
    """Rows owned by three municipalities (host memberships), to filter by scope."""
    for code in (HIDA, TAKAYAMA, CHIZU):
        person_with_role(Role.HOST, code)
    return Membership.objects.filter(role=Role.HOST)


def visible_towns(scope, rows) -> set[str]:
    return set(scope.filter(rows).values_list("municipality_id", flat=True))


def test_resident_has_no_staff_scope(town_rows):
    scope = staff_scope(user=UserFactory())
    assert not scope.is_staff
    assert not scope.covers_municipality(HIDA)
    assert visible_towns(scope, town_rows) == set()


def test_municipality_staff_covers_only_their_town(town_rows):
    scope = staff_scope(user=person_with_role(Role.MUNICIPALITY_EDITOR, HIDA))
    assert scope.is_staff
    assert scope.covers_municipality(HIDA) and scope.manages_municipality(HIDA)
    assert not scope.covers_municipality(TAKAYAMA)
    assert not scope.administers_municipality(HIDA)  # editor, not admin
    assert visible_towns(scope, town_rows) == {HIDA}


def test_prefecture_staff_covers_every_town_of_the_prefecture(town_rows):
    scope = staff_scope(user=person_with_role(Role.PREFECTURE_STAFF, "21"))
    assert scope.covers_prefecture("21") and not scope.covers_prefecture("31")
    assert scope.covers_municipality(HIDA) and scope.covers_municipality(TAKAYAMA)
    assert not scope.covers_municipality(CHIZU)
    assert not scope.manages_municipality(HIDA)
    assert visible_towns(scope, town_rows) == {HIDA, TAKAYAMA}


def test_national_admin_covers_everything(town_rows):
    scope = staff_scope(user=person_with_role(Role.NATIONAL_ADMIN))
    assert scope.covers_municipality(CHIZU) and scope.covers_prefecture("47")
    assert visible_towns(scope, town_rows) == {HIDA, TAKAYAMA, CHIZU}


def test_host_is_not_staff_but_hosts_for_their_town():
    scope = staff_scope(user=person_with_role(Role.HOST, CHIZU))
    assert scope.hosts_for(CHIZU)
    assert not scope.is_staff and not scope.covers_municipality(CHIZU)


def test_a_person_can_host_for_several_towns():
    user = person_with_role(Role.HOST, CHIZU)
    membership_grant(user=user, role=Role.HOST, municipality=Municipality.objects.get(code=HIDA))
    assert staff_scope(user=user).host_municipality_codes == {CHIZU, HIDA}


@pytest.mark.parametrize(
    ("role", "municipality", "prefecture"),
    [
        (Role.MUNICIPALITY_ADMIN, None, "21"),  # staff role without a municipality
        (Role.PREFECTURE_STAFF, HIDA, None),  # prefecture role with a municipality
        (Role.NATIONAL_ADMIN, HIDA, None),  # national role tied to a town
        (Role.HOST, None, None),
    ],
)
def test_a_role_that_does_not_fit_its_place_is_refused(role, municipality, prefecture):
    user = UserFactory()
    with pytest.raises(ValidationError):
        membership_grant(
            user=user,
            role=role,
            municipality=Municipality.objects.get(code=municipality) if municipality else None,
            prefecture=Prefecture.objects.get(code=prefecture) if prefecture else None,
        )
    assert not Membership.objects.filter(user=user).exists()


def test_municipality_staff_belong_to_one_municipality():
    user = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    with pytest.raises(ValidationError):
        membership_grant(
            user=user,
            role=Role.MUNICIPALITY_EDITOR,
            municipality=Municipality.objects.get(code=CHIZU),
        )
    assert Membership.objects.filter(user=user).count() == 1


def test_grant_and_revoke_are_audited_and_change_the_scope():
    granter = person_with_role(Role.NATIONAL_ADMIN)
    user = UserFactory()
    membership = membership_grant(
        user=user,
        role=Role.MUNICIPALITY_ADMIN,
        municipality=Municipality.objects.get(code=HIDA),
        granted_by=granter,
    )
    assert staff_scope(user=user).manages_municipality(HIDA)
    membership_revoke(membership=membership, revoked_by=granter)
    assert not staff_scope(user=user).is_staff
    actions = list(
        AuditEvent.objects.filter(actor=granter).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["membership.grant", "membership.revoke"]


def test_only_those_with_power_may_grant_roles():
    chizu = Municipality.objects.get(code=CHIZU)
    town_admin = person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU)
    editor = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    resident = UserFactory()
    # A town's admin may make hosts and editors of that town, and its editors approve hosts …
    membership_grant(user=UserFactory(), role=Role.HOST, municipality=chizu, granted_by=town_admin)
    hida = Municipality.objects.get(code=HIDA)
    membership_grant(user=UserFactory(), role=Role.HOST, municipality=hida, granted_by=editor)
    # … but not admins, not in another town; editors make no editors; residents grant nothing.
    refused = [
        (town_admin, Role.MUNICIPALITY_ADMIN, chizu),
        (town_admin, Role.HOST, hida),
        (editor, Role.HOST, chizu),
        (editor, Role.MUNICIPALITY_EDITOR, hida),
        (resident, Role.HOST, chizu),
    ]
    for actor, role, municipality in refused:
        target = UserFactory()
        with pytest.raises(PermissionDenied) as refusal:
            membership_grant(user=target, role=role, municipality=municipality, granted_by=actor)
        assert refusal.value.code == AccountsCode.ROLE_GRANT_NOT_ALLOWED
        assert not Membership.objects.filter(user=target).exists()


def test_admin_site_grants_roles_through_the_audited_service(client):
    admin = person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)
    target = UserFactory()
    sign_in(client, admin)
    response = client.post(
        "/admin/accounts/membership/add/",
        {"user": target.pk, "role": Role.MUNICIPALITY_EDITOR, "municipality": HIDA},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get(user=target)
    assert membership.granted_by == admin
    assert AuditEvent.objects.filter(action="membership.grant", actor=admin).exists()
    response = client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user=target).exists()
    assert AuditEvent.objects.filter(action="membership.revoke", actor=admin).exists()
