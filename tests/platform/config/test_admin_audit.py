"""Every read of personal data in the Django admin writes an audit row, for our admins and
those of other packages alike; reference data about no one is read unaudited."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin

from accounts.admin import AuditedReadsMixin
from accounts.models import AuditEvent, Role
from tests.factories import UserFactory, client_for, person_with_role
from tests.support import HIDA, register, resident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("municipalities")]


@pytest.fixture
def operator():
    return person_with_role(Role.NATIONAL_ADMIN, is_staff=True, is_superuser=True)


def reads(operator) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(actor=operator, action__startswith="admin.").order_by("id")
    )


def test_a_list_and_an_object_read_in_the_admin_are_audited(operator):
    person = resident(email="sato@example.jp")
    registration = register(person, HIDA)
    browser = client_for(operator)

    listing = browser.get("/admin/registry/registration/", {"status": "active"})
    assert listing.status_code == 200
    assert "sato@example.jp" in listing.content.decode()
    detail = browser.get(f"/admin/registry/registration/{registration.pk}/change/")
    assert detail.status_code == 200

    first, second = reads(operator)
    assert first.action == "admin.changelist.read"
    assert first.detail == {"model": "registry.registration", "query": "status=active"}
    assert (first.target_type, first.target_id) == ("", "")
    assert second.action == "admin.change.read"
    assert (second.target_type, second.target_id) == ("registry.registration", str(registration.pk))
    assert second.detail["model"] == "registry.registration"


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/admin/accounts/user/{user}/change/", "accounts.user"),
        ("/admin/account/emailaddress/{address}/change/", "account.emailaddress"),  # allauth's
    ],
)
def test_people_and_other_packages_admins_are_audited_too(operator, path, model):
    person = UserFactory(email="someone@example.jp")
    address = EmailAddress.objects.get(user=person)
    browser = client_for(operator)
    url = path.format(user=person.pk, address=address.pk)
    assert browser.get(url).status_code == 200
    assert browser.get(url.removesuffix(f"{url.split('/')[-3]}/change/")).status_code == 200
    change, listing = reads(operator)
    assert change.action == "admin.change.read" and change.target_type == model
    assert listing.action == "admin.changelist.read" and listing.detail["model"] == model


def test_writes_refusals_and_reference_data_write_no_read_row(operator):
    browser = client_for(operator)
    assert browser.get("/admin/places/municipality/").status_code == 200
    assert browser.get("/admin/registry/registration/999999/change/").status_code == 302
    assert reads(operator) == []
    # Someone without admin rights is sent to the login page before anything is read.
    outsider = client_for(UserFactory())
    assert outsider.get("/admin/registry/registration/").status_code == 302
    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()


def test_every_registered_admin_audits_its_reads_or_says_why_not():
    unaudited = set()
    for model, model_admin in admin.site._registry.items():
        if not getattr(model_admin, "audit_reads", True):
            unaudited.add(model._meta.label_lower)
        else:
            assert isinstance(model_admin, AuditedReadsMixin), model._meta.label
    assert unaudited == {"places.prefecture", "places.municipality"}
