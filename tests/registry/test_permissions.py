"""Who may do what in the registry's API (issue 3, Done-when 3).

Every registry endpoint and method is tried by every role, and the expected status of each
pair is written out in ``MATRIX``. A test walks the URL configuration so that an endpoint
added to ``registry.api`` without a row here fails the suite.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from places.models import Municipality
from registry import services
from registry.cards import card_token
from registry.models import Activity, Perk, PremiumApplication, Registration
from tests.factories import PASSWORD, person_with_role
from tests.support import (
    AMA,
    CHIZU,
    HIDA,
    PNG,
    SETAGAYA,
    api_as,
    error_of,
    register,
    resident,
)

ROLES = (
    "anonymous",
    "owner",  # the resident whose registration the URLs name
    "other_resident",
    "host",  # 主催者 of 飛騨市: not staff
    "hida_admin",
    "hida_editor",
    "chizu_admin",  # staff of another town (智頭町)
    "gifu_staff",  # 岐阜県, 飛騨市's prefecture
    "national",
)


@dataclass
class World:
    people: dict[str, User | None]
    registration: Registration  # the owner's 飛騨市 registration, a premium application waiting
    plain: Registration  # the owner's 智頭町 registration, nothing waiting
    application: PremiumApplication
    activity: Activity
    perk: Perk


@pytest.fixture
def world(db) -> World:
    hida = Municipality.objects.get(code=HIDA)
    people: dict[str, User | None] = {
        "anonymous": None,
        "owner": resident(),
        "other_resident": resident(),
        "host": person_with_role(Role.HOST, HIDA),
        "hida_admin": person_with_role(Role.MUNICIPALITY_ADMIN, HIDA),
        "hida_editor": person_with_role(Role.MUNICIPALITY_EDITOR, HIDA),
        "chizu_admin": person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU),
        "gifu_staff": person_with_role(Role.PREFECTURE_STAFF, "21"),
        "national": person_with_role(Role.NATIONAL_ADMIN),
    }
    # Staff are people too: everyone can register for themselves.
    for person in people.values():
        if person is not None and not hasattr(person, "profile"):
            services.profile_update(
                user=person,
                home_municipality=Municipality.objects.get(code=SETAGAYA),
                birth_year=1980,
            )
    owner = people["owner"]
    registration = register(owner, HIDA, share_name=True)
    register(people["other_resident"], HIDA)
    plain = register(owner, CHIZU)
    application = services.premium_apply(registration=registration)
    activity = services.activity_submit(
        registration=registration,
        title="棚田の草刈り",
        occurred_on=timezone.localdate(),
        evidence=SimpleUploadedFile("photo.png", PNG, content_type="image/png"),
    )
    perk = Perk.objects.create(
        municipality=hida, kind="information", title="市報の送付", description="毎月お届けします"
    )
    return World(people, registration, plain, application, activity, perk)


def _evidence() -> dict:
    return {
        "title": "祭りの準備",
        "occurred_on": timezone.localdate().isoformat(),
        "evidence": SimpleUploadedFile("photo.png", PNG, content_type="image/png"),
    }


# (url name, method) → how to call it: path, body, body format.
ENDPOINTS = {
    ("api-me", "get"): lambda w: ("/api/me/", None, None),
    ("api-me", "patch"): lambda w: ("/api/me/", {"given_name": "次郎"}, "json"),
    ("api-me-export", "get"): lambda w: ("/api/me/export/", None, None),
    ("api-me-delete", "post"): lambda w: ("/api/me/delete/", {"password": PASSWORD}, "json"),
    ("registration-list", "get"): lambda w: ("/api/registrations/", None, None),
    ("registration-list", "post"): lambda w: (
        "/api/registrations/",
        {"municipality": AMA, "types": ["hobby"], "origin": "visits"},
        "json",
    ),
    ("registration-detail", "get"): lambda w: (
        f"/api/registrations/{w.registration.pk}/",
        None,
        None,
    ),
    ("registration-detail", "patch"): lambda w: (
        f"/api/registrations/{w.registration.pk}/",
        {"consent": {"share_contact": True}},
        "json",
    ),
    ("registration-withdraw", "post"): lambda w: (
        f"/api/registrations/{w.registration.pk}/withdraw/",
        None,
        None,
    ),
    ("registration-card", "get"): lambda w: (
        f"/api/registrations/{w.registration.pk}/card/",
        None,
        None,
    ),
    ("registration-card-reissue", "post"): lambda w: (
        f"/api/registrations/{w.registration.pk}/card/reissue/",
        None,
        None,
    ),
    ("registration-premium", "post"): lambda w: (
        f"/api/registrations/{w.plain.pk}/premium/",
        {"message": "よろしくお願いします"},
        "json",
    ),
    ("registration-premium", "delete"): lambda w: (
        f"/api/registrations/{w.registration.pk}/premium/",
        None,
        None,
    ),
    ("registration-activities", "get"): lambda w: (
        f"/api/registrations/{w.registration.pk}/activities/",
        None,
        None,
    ),
    ("registration-activities", "post"): lambda w: (
        f"/api/registrations/{w.registration.pk}/activities/",
        _evidence(),
        "multipart",
    ),
    ("api-card-verify", "post"): lambda w: (
        "/api/cards/verify/",
        {"token": card_token(w.registration)},
        "json",
    ),
    ("api-registrants", "get"): lambda w: (f"/api/municipalities/{HIDA}/registrants/", None, None),
    ("api-registrants", "get csv"): lambda w: (
        f"/api/municipalities/{HIDA}/registrants/?format=csv",
        None,
        None,
    ),
    ("api-premium-queue", "get"): lambda w: (
        f"/api/municipalities/{HIDA}/premium-applications/",
        None,
        None,
    ),
    ("api-premium-decide", "post"): lambda w: (
        f"/api/premium-applications/{w.application.pk}/decide/",
        {"approve": True},
        "json",
    ),
    ("api-activity-queue", "get"): lambda w: (
        f"/api/municipalities/{HIDA}/activities/",
        None,
        None,
    ),
    ("api-activity-review", "post"): lambda w: (
        f"/api/activities/{w.activity.pk}/review/",
        {"approve": True},
        "json",
    ),
    ("api-perks", "get"): lambda w: (f"/api/municipalities/{HIDA}/perks/", None, None),
    ("api-perks", "post"): lambda w: (
        f"/api/municipalities/{HIDA}/perks/",
        {"kind": "facility", "title": "温泉の割引", "description": "登録証の提示で1割引"},
        "json",
    ),
    ("api-perk", "patch"): lambda w: (
        f"/api/perks/{w.perk.pk}/",
        {"title": "市報（電子版）"},
        "json",
    ),
    ("api-perk", "delete"): lambda w: (f"/api/perks/{w.perk.pk}/", None, None),
    ("api-announcements", "get"): lambda w: (
        f"/api/municipalities/{HIDA}/announcements/",
        None,
        None,
    ),
    ("api-announcements", "post"): lambda w: (
        f"/api/municipalities/{HIDA}/announcements/",
        {"title": "冬の除雪ボランティア", "body": "今年も募集します。"},
        "json",
    ),
}

# The expected status for each role, in the order of ROLES: anonymous, owner, other_resident,
# host, hida_admin, hida_editor, chizu_admin, gifu_staff, national.
MATRIX = {
    # The person's own account: every signed-in person, for themselves.
    ("api-me", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-me", "patch"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-me-export", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-me-delete", "post"): (401, 204, 204, 204, 204, 204, 204, 204, 204),
    # Registrations are the person's own: anyone else's is 404, staff included.
    ("registration-list", "get"): (401, 200, 200, 200, 200, 200, 200, 200, 200),
    ("registration-list", "post"): (401, 201, 201, 201, 201, 201, 201, 201, 201),
    ("registration-detail", "get"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-detail", "patch"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-withdraw", "post"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-card", "get"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-card-reissue", "post"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-premium", "post"): (401, 201, 404, 404, 404, 404, 404, 404, 404),
    ("registration-premium", "delete"): (401, 204, 404, 404, 404, 404, 404, 404, 404),
    ("registration-activities", "get"): (401, 200, 404, 404, 404, 404, 404, 404, 404),
    ("registration-activities", "post"): (401, 201, 404, 404, 404, 404, 404, 404, 404),
    # Any staff member may check a card (its personal fields only for its own town's staff).
    ("api-card-verify", "post"): (401, 403, 403, 403, 200, 200, 200, 200, 200),
    # The town's registrants and reviews: only 飛騨市's own staff.
    ("api-registrants", "get"): (401, 403, 403, 403, 200, 200, 403, 403, 403),
    ("api-registrants", "get csv"): (401, 403, 403, 403, 200, 200, 403, 403, 403),
    ("api-premium-queue", "get"): (401, 403, 403, 403, 200, 200, 403, 403, 403),
    # Deciding on an object by id: another town's is as unknown as a missing one (404).
    ("api-premium-decide", "post"): (401, 404, 404, 404, 200, 200, 404, 404, 404),
    ("api-activity-queue", "get"): (401, 403, 403, 403, 200, 200, 403, 403, 403),
    ("api-activity-review", "post"): (401, 404, 404, 404, 200, 200, 404, 404, 404),
    # Perks are public to read; only the town's staff change them.
    ("api-perks", "get"): (200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("api-perks", "post"): (401, 403, 403, 403, 201, 201, 403, 403, 403),
    ("api-perk", "patch"): (401, 404, 404, 404, 200, 200, 404, 404, 404),
    ("api-perk", "delete"): (401, 404, 404, 404, 204, 204, 404, 404, 404),
    # Announcements to the town's registrants: written and listed by its own staff only.
    ("api-announcements", "get"): (401, 403, 403, 403, 200, 200, 403, 403, 403),
    ("api-announcements", "post"): (401, 403, 403, 403, 201, 201, 403, 403, 403),
}

# Why a 403 is refused: checking a card is for any staff; the rest for the town's own.
DENIED_CODES = {
    endpoint: "card_check_staff_only" if endpoint[0] == "api-card-verify" else "not_staff_here"
    for endpoint in MATRIX
}

CASES = [
    pytest.param(endpoint, role, expected, id=f"{endpoint[0]}-{endpoint[1]}-{role}")
    for endpoint, statuses in MATRIX.items()
    for role, expected in zip(ROLES, statuses, strict=True)
]


def test_the_matrix_names_every_endpoint_once():
    assert set(MATRIX) == set(ENDPOINTS)


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES)
def test_every_endpoint_for_every_role(world, endpoint, role, expected):
    path, body, body_format = ENDPOINTS[endpoint](world)
    method = endpoint[1].split()[0]
    api = api_as(world.people[role])
    kwargs = {"format": body_format} if body_format else {}
    response = getattr(api, method)(path, body, **kwargs)
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        code = {401: "not_authenticated", 403: DENIED_CODES[endpoint], 404: "not_found"}[expected]
        error_of(response, expected, code)


def _registry_routes() -> set[tuple[str, str]]:
    """(url name, method) of every URL whose view is in registry.api (a package)."""
    routes = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
                continue
            assert isinstance(pattern, URLPattern)
            callback = pattern.callback
            view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            if not (view or callback).__module__.startswith("registry.api."):
                continue
            if getattr(callback, "actions", None):  # a viewset route
                methods = set(callback.actions)
            else:
                methods = {name for name in view.http_method_names if hasattr(view, name)}
            # HEAD follows GET (DRF adds it to a viewset's actions on the first request);
            # OPTIONS is metadata.
            methods -= {"head", "options"}
            routes.update((pattern.name, method) for method in methods)

    walk(get_resolver().url_patterns)
    return routes


def test_every_registry_endpoint_is_in_the_matrix():
    routes = _registry_routes()
    assert len(routes) >= 20  # the walk found the API
    tested = {(name, method.split()[0]) for name, method in MATRIX}
    assert routes - tested == set(), "endpoints without a permission row"
    assert tested - routes == set(), "rows for endpoints that no longer exist"


# --- What 飛騨市's staff see -----------------------------------------------------------------


@pytest.fixture
def registrants(db):
    """Two 飛騨市 registrants (one consented to nothing, one to everything) and a 智頭町 one."""
    silent = resident(family_name="佐藤", given_name="一郎")
    register(silent, HIDA)
    open_ = resident(family_name="鈴木", given_name="花", birth_year=1990)
    services.profile_update(user=open_, skills=0b11, interests=0b1)
    register(
        open_,
        HIDA,
        share_name=True,
        share_contact=True,
        share_age_band=True,
        share_skills=True,
        allow_announcements=True,
    )
    elsewhere = resident(family_name="田中", given_name="三郎")
    register(elsewhere, CHIZU, share_name=True, share_contact=True)
    return silent, open_, elsewhere


def test_hida_staff_see_only_hida_registrants_and_only_consented_fields(registrants):
    silent, open_, elsewhere = registrants
    staff = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    response = api_as(staff).get(f"/api/municipalities/{HIDA}/registrants/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_person = {Registration.objects.get(pk=row["id"]).person_id: row for row in body["results"]}
    assert set(by_person) == {silent.pk, open_.pk}
    hidden = by_person[silent.pk]
    for field in ("name", "name_kana", "email", "age_band", "skills", "interests"):
        assert hidden[field] is None, field
    assert hidden["types"] == ["hobby"] and hidden["tier"] == "basic"
    shown = by_person[open_.pk]
    assert shown["name"] == "鈴木 花"
    assert shown["email"] == open_.email
    assert shown["age_band"]
    assert shown["skills"] == ["physical", "driving"]
    assert shown["interests"] == ["farming"]
    # Nothing of the silent registrant or of 智頭町's anywhere in the answer.
    text = response.content.decode()
    for secret in (silent.email, "佐藤", elsewhere.email, "田中"):
        assert secret not in text


def test_the_csv_export_carries_the_same_consented_fields(registrants):
    silent, open_, elsewhere = registrants
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    response = api_as(staff).get(f"/api/municipalities/{HIDA}/registrants/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 2
    assert {row["name"] for row in table} == {"", "鈴木 花"}
    assert {row["email"] for row in table} == {"", open_.email}
    for secret in (silent.email, "佐藤", elsewhere.email, "田中"):
        assert secret not in text


def test_a_registrant_who_shares_a_name_but_has_none_does_not_leak_the_email(db):
    """``get_full_name`` falls back to the e-mail address: consent to the name is not
    consent to the address."""
    person = resident(family_name="", given_name="")
    registration = register(person, HIDA, share_name=True)
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    response = api_as(staff).get(f"/api/municipalities/{HIDA}/registrants/")
    assert person.email not in response.content.decode()
    result = api_as(staff).post(
        "/api/cards/verify/", {"token": card_token(registration)}, format="json"
    )
    assert result.json()["status"] == "valid"
    assert person.email not in result.content.decode()


@pytest.mark.parametrize(
    "role",
    [(Role.MUNICIPALITY_ADMIN, CHIZU), (Role.PREFECTURE_STAFF, "21"), (Role.NATIONAL_ADMIN, None)],
)
def test_staff_of_elsewhere_read_nothing_and_leave_no_read_in_the_log(registrants, role):
    staff = person_with_role(*role)
    api = api_as(staff)
    for path in (
        f"/api/municipalities/{HIDA}/registrants/",
        f"/api/municipalities/{HIDA}/registrants/?format=csv",
        f"/api/municipalities/{HIDA}/premium-applications/",
        f"/api/municipalities/{HIDA}/activities/",
    ):
        response = api.get(path)
        assert response.status_code == 403
        assert "@" not in response.content.decode()
    assert not AuditEvent.objects.filter(actor=staff).exists()


def test_filters_narrow_the_registrants(registrants):
    _silent, open_, _elsewhere = registrants
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    api = api_as(staff)
    body = api.get(f"/api/municipalities/{HIDA}/registrants/?announcements=true").json()
    assert [row["email"] for row in body["results"]] == [open_.email]
    assert api.get(f"/api/municipalities/{HIDA}/registrants/?tier=premium").json()["count"] == 0
    error = error_of(api.get(f"/api/municipalities/{HIDA}/registrants/?tier=gold"), 400)
    assert list(error["fields"]) == ["tier"]


# --- The audit log -------------------------------------------------------------------------


def _audited(actor, action) -> AuditEvent:
    event = AuditEvent.objects.filter(actor=actor, action=action).get()
    assert event.municipality_id == HIDA
    return event


def test_each_staff_read_of_personal_data_is_audited(registrants):
    silent, _open, _elsewhere = registrants
    staff = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    api = api_as(staff)
    registration = Registration.objects.get(person=silent)

    assert api.get(f"/api/municipalities/{HIDA}/registrants/?tier=basic").status_code == 200
    event = _audited(staff, "registrants.list")
    assert event.detail["filters"]["tier"] == "basic"

    response = api.get(f"/api/municipalities/{HIDA}/registrants/?format=csv")
    b"".join(response.streaming_content)
    _audited(staff, "registrants.export")

    assert api.get(f"/api/municipalities/{HIDA}/premium-applications/").status_code == 200
    _audited(staff, "premium.queue.read")

    assert api.get(f"/api/municipalities/{HIDA}/activities/").status_code == 200
    _audited(staff, "activity.queue.read")

    response = api.post("/api/cards/verify/", {"token": card_token(registration)}, format="json")
    assert response.json()["status"] == "valid"
    event = _audited(staff, "card.verify")
    assert event.target_id == str(registration.pk)
    assert event.detail == {"status": "valid", "revealed": []}

    # A second read is a second row: every read is in the log.
    api.get(f"/api/municipalities/{HIDA}/registrants/")
    assert AuditEvent.objects.filter(actor=staff, action="registrants.list").count() == 2


def test_a_card_check_by_staff_of_another_town_is_audited_and_reveals_nothing(db):
    person = resident()
    registration = register(person, HIDA, share_name=True, share_age_band=True)
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU)
    result = (
        api_as(staff)
        .post("/api/cards/verify/", {"token": card_token(registration)}, format="json")
        .json()
    )
    assert result["status"] == "valid"
    assert "name" not in result and "age_band" not in result
    event = AuditEvent.objects.get(actor=staff, action="card.verify")
    assert event.municipality_id == HIDA
    assert event.detail["revealed"] == []
