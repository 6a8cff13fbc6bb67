"""The registry through its API, as a person and as staff use it (issue 3, Done-when 1 and 2):
the whole flow from a verified account to its deletion, every refusal with its message and
no change, and the limits under concurrent requests on PostgreSQL."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role, User
from registry import services
from registry.models import (
    CONSENT_FIELDS,
    AgeBand,
    PrefectureRegistration,
    PremiumApplication,
    Profile,
    Registration,
    RegistrationEvent,
)
from tests.factories import PASSWORD, UserFactory, person_with_role
from tests.support import (
    AMA,
    CHIZU,
    HIDA,
    SETAGAYA,
    TAKAYAMA,
    api_as,
    error_of,
    register,
    resident,
    this_year,
)

PROFILE = {
    "home_municipality": SETAGAYA,
    "birth_year": 1988,
    "gender": "female",
    "interests": ["farming", "festivals"],
    "skills": ["driving", "web"],
    "available_days": ["weekends"],
    "available_months": ["8", "10"],
    "languages": ["ja", "en"],
}


def registration_body(code, **extra) -> dict:
    return {"municipality": code, "types": ["hobby", "participation"], "origin": "visits", **extra}


def rows() -> dict[str, int]:
    """What a refusal must leave untouched."""
    return {
        "registrations": Registration.objects.count(),
        "prefecture_registrations": PrefectureRegistration.objects.count(),
        "events": RegistrationEvent.objects.count(),
        "premium_applications": PremiumApplication.objects.count(),
        "profiles": Profile.objects.count(),
    }


# --- Done-when 1: the whole flow ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_person_from_profile_to_account_deletion(language):
    user = UserFactory(family_name="", given_name="")
    api = APIClient(HTTP_ACCEPT_LANGUAGE=language)

    # A token for the verified account, then every call with it.
    response = api.post(
        "/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # Registering before the profile is complete is refused.
    error = error_of(
        api.post("/api/registrations/", registration_body(HIDA), format="json"),
        400,
        "profile_incomplete",
    )
    assert list(error["fields"]) == ["non_field_errors"]
    assert not Registration.objects.exists()

    # A malformed profile is refused in the request's language (DRF's own message).
    error = error_of(api.patch("/api/me/", {"profile": {"birth_year": "abc"}}, format="json"), 400)
    assert list(error["fields"]) == ["profile"]
    assert list(error["fields"]["profile"]) == ["birth_year"]
    if language == "en":
        assert "integer" in error["message"].lower()
    else:
        assert "整数" in error["message"]

    # Names and profile.
    response = api.patch(
        "/api/me/",
        {
            "family_name": "山田",
            "given_name": "花子",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "ハナコ",
            "profile": PROFILE,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    me = response.json()
    assert me["email"] == user.email
    assert (me["family_name"], me["given_name"]) == ("山田", "花子")
    profile = me["profile"]
    assert profile["is_complete"] is True
    assert profile["home_municipality"] == SETAGAYA
    assert profile["home_municipality_name"] == "世田谷区"
    assert profile["age_band"] == AgeBand.for_birth_year(1988, timezone.localdate())
    for name in ("gender", "interests", "skills", "available_days", "languages"):
        assert profile[name] == PROFILE[name]
    assert sorted(profile["available_months"]) == sorted(PROFILE["available_months"])
    assert api.get("/api/me/").json() == me

    # Registering with one's own home municipality is refused, naming it.
    error = error_of(
        api.post("/api/registrations/", registration_body(SETAGAYA), format="json"),
        400,
        "home_municipality",
    )
    assert list(error["fields"]) == ["municipality"]
    assert "世田谷区" in error["message"]
    if language == "ja":
        assert "住民票" in error["message"]

    # Three municipalities in three prefectures, with different consent.
    consents = {
        HIDA: {"share_name": True, "share_age_band": True},
        CHIZU: {},
        AMA: {"share_contact": True, "allow_announcements": True},
    }
    ids = {}
    for code, consent in consents.items():
        response = api.post(
            "/api/registrations/", registration_body(code, consent=consent), format="json"
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["municipality"]["code"] == code
        assert body["status"] == "active"
        assert body["tier"] == "basic"
        assert body["types"] == ["participation", "hobby"]
        assert body["consent"] == {name: consent.get(name, False) for name in CONSENT_FIELDS}
        ids[code] = body["id"]
    active_prefectures = PrefectureRegistration.objects.filter(person=user, status="active")
    assert sorted(active_prefectures.values_list("prefecture_id", flat=True)) == ["21", "31", "32"]
    listed = api.get("/api/registrations/").json()["results"]
    assert {row["id"] for row in listed} == set(ids.values())

    # A duplicate is refused: the town is registered with already.
    error = error_of(
        api.post("/api/registrations/", registration_body(HIDA), format="json"),
        409,
        "already_registered",
    )
    assert "飛騨市" in error["message"]

    # The cards.
    tokens = {}
    for code, pk in ids.items():
        response = api.get(f"/api/registrations/{pk}/card/")
        assert response.status_code == 200, response.content
        card = response.json()
        assert card["token"] and card["qr_svg"].startswith("<svg")
        assert card["municipality"]["code"] == code
        assert card["tier"] == "basic"
        query = parse_qs(urlsplit(card["verify_url"]).query)
        assert query["token"] == [card["token"]]
        tokens[code] = card["token"]

    # 飛騨市's staff verify the 飛騨市 card: valid, the tier, and the consented name and age band.
    hida_staff = api_as(person_with_role(Role.MUNICIPALITY_EDITOR, HIDA), language)
    result = hida_staff.post("/api/cards/verify/", {"token": tokens[HIDA]}, format="json").json()
    assert result["status"] == "valid"
    assert result["tier"] == "basic"
    assert result["municipality"]["code"] == HIDA
    assert result["name"] == "山田 花子"
    assert result["age_band"]
    # 智頭町's staff see the 智頭町 card without a name: it was not consented.
    chizu_staff = api_as(person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU), language)
    result = chizu_staff.post("/api/cards/verify/", {"token": tokens[CHIZU]}, format="json").json()
    assert result["status"] == "valid"
    assert "name" not in result and "age_band" not in result

    # Changing consent is recorded with the whole consent, and the card follows it.
    response = api.patch(
        f"/api/registrations/{ids[HIDA]}/",
        {"consent": {"share_name": False, "allow_announcements": True}},
        format="json",
    )
    assert response.status_code == 200, response.content
    expected_consent = {
        "share_name": False,
        "share_contact": False,
        "share_age_band": True,
        "share_skills": False,
        "allow_announcements": True,
    }
    assert response.json()["consent"] == expected_consent
    event = RegistrationEvent.objects.get(registration_id=ids[HIDA], kind="consent_changed")
    assert event.detail["consent"] == expected_consent
    assert event.actor == user
    result = hida_staff.post("/api/cards/verify/", {"token": tokens[HIDA]}, format="json").json()
    assert result["status"] == "valid" and "name" not in result

    # Withdrawing 海士町, the only registration in 島根県.
    response = api.post(f"/api/registrations/{ids[AMA]}/withdraw/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    assert response.json()["withdrawn_at"]
    ama_staff = api_as(person_with_role(Role.MUNICIPALITY_ADMIN, AMA), language)
    result = ama_staff.post("/api/cards/verify/", {"token": tokens[AMA]}, format="json").json()
    assert result["status"] == "revoked"
    assert sorted(active_prefectures.values_list("prefecture_id", flat=True)) == ["21", "31"]
    assert PrefectureRegistration.objects.get(person=user, prefecture_id="32").withdrawn_at
    error = error_of(api.get(f"/api/registrations/{ids[AMA]}/card/"), 409, "registration_withdrawn")
    assert error["fields"]["non_field_errors"]
    listed = api.get("/api/registrations/").json()["results"]
    assert {row["id"] for row in listed} == {ids[HIDA], ids[CHIZU]}
    listed = api.get("/api/registrations/?status=all").json()["results"]
    assert {row["id"] for row in listed} == set(ids.values())

    # The export: account, profile, registrations with their history.
    response = api.get("/api/me/export/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    export = json.loads(response.content)
    assert export["account"]["email"] == user.email
    assert export["account"]["family_name"] == "山田"
    assert export["registry"]["profile"]["home_municipality"] == SETAGAYA
    assert export["registry"]["profile"]["birth_year"] == 1988
    assert export["registry"]["profile"]["skills"] == ["driving", "web"]
    exported = {row["municipality"]["code"]: row for row in export["registry"]["registrations"]}
    assert set(exported) == {HIDA, CHIZU, AMA}
    assert [e["kind"] for e in exported[HIDA]["history"]] == ["registered", "consent_changed"]
    assert exported[HIDA]["consent"] == expected_consent
    assert [e["kind"] for e in exported[AMA]["history"]] == ["registered", "withdrawn"]
    assert exported[AMA]["status"] == "withdrawn"
    assert {row["prefecture"] for row in export["registry"]["prefecture_registrations"]} == {
        "21",
        "31",
        "32",
    }

    # Deleting the account needs the password.
    error = error_of(
        api.post("/api/me/delete/", {"password": "wrong"}, format="json"), 400, "password_incorrect"
    )
    assert list(error["fields"]) == ["password"]
    if language == "ja":
        assert "パスワード" in error["message"]
    error = error_of(api.post("/api/me/delete/", {}, format="json"), 400)
    assert list(error["fields"]) == ["password"]
    if language == "en":
        assert "required" in error["message"].lower()
    else:
        assert "必須" in error["message"]
    assert User.objects.get(pk=user.pk).email == user.email

    response = api.post("/api/me/delete/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204

    # The person can no longer get a token, use the old one, or log in.
    anonymous = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    error = error_of(
        anonymous.post(
            "/api/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
        ),
        400,
        "wrong_credentials",
    )
    assert "non_field_errors" in error["fields"]
    assert not Token.objects.filter(user_id=user.pk).exists()
    assert api.get("/api/me/").status_code == 401
    assert not Client().login(email=user.email, password=PASSWORD)
    assert not EmailAddress.objects.filter(user_id=user.pk).exists()

    # The account row holds nothing personal; the registrations stay, anonymous.
    deleted = User.objects.get(pk=user.pk)
    assert deleted.email == f"deleted-{user.pk}@deleted.invalid"
    assert (deleted.family_name, deleted.given_name) == ("", "")
    assert (deleted.family_name_kana, deleted.given_name_kana) == ("", "")
    assert not deleted.has_usable_password() and not deleted.is_active
    assert deleted.deleted_at is not None
    assert not Profile.objects.filter(user_id=user.pk).exists()
    kept = Registration.objects.filter(person_id=user.pk)
    assert kept.count() == 3
    for registration in kept:
        assert registration.status == "withdrawn"
        assert registration.consent() == dict.fromkeys(CONSENT_FIELDS, False)
        assert registration.guardian_name == ""
    assert not PrefectureRegistration.objects.filter(person_id=user.pk, status="active").exists()
    # Verified before the deletion, valid then; revoked now.
    result = hida_staff.post("/api/cards/verify/", {"token": tokens[HIDA]}, format="json").json()
    assert result["status"] == "revoked" and "name" not in result


@pytest.mark.django_db
def test_a_session_from_the_pages_authenticates_the_api_with_csrf():
    user = resident()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/me/").json()["profile"]["home_municipality"] == SETAGAYA
    # Writes through a session need the CSRF token, as the pages send it.
    response = client.post(
        "/api/registrations/", registration_body(HIDA), content_type="application/json"
    )
    error_of(response, 403, "permission_denied")
    assert not Registration.objects.exists()


# --- Done-when 2: refusals carry a clear message and change nothing -----------------------


@pytest.mark.django_db
def test_own_home_municipality_is_refused():
    person = resident()
    before = rows()
    error = error_of(
        api_as(person).post("/api/registrations/", registration_body(SETAGAYA), format="json"),
        400,
        "home_municipality",
    )
    assert list(error["fields"]) == ["municipality"]
    assert "世田谷区" in error["message"] and "住民票" in error["message"]
    assert rows() == before


@pytest.mark.django_db
def test_moving_home_to_a_town_one_is_registered_with_is_refused():
    person = resident()
    register(person, HIDA)
    before = rows()
    error = error_of(
        api_as(person).patch("/api/me/", {"profile": {"home_municipality": HIDA}}, format="json"),
        400,
        "home_is_registered",
    )
    assert "飛騨市" in error["message"]
    assert rows() == before
    assert Profile.objects.get(user=person).home_municipality_id == SETAGAYA


@pytest.mark.django_db
def test_a_duplicate_active_registration_is_refused():
    person = resident()
    register(person, HIDA)
    before = rows()
    error = error_of(
        api_as(person).post("/api/registrations/", registration_body(HIDA), format="json"),
        409,
        "already_registered",
    )
    assert list(error["fields"]) == ["municipality"]
    assert "飛騨市" in error["message"] and "すでに登録" in error["message"]
    assert rows() == before


@pytest.mark.django_db
def test_registering_again_after_withdrawing_keeps_the_history():
    person = resident()
    first = register(person, HIDA)
    services.registration_withdraw(registration=first, actor=person)
    response = api_as(person).post("/api/registrations/", registration_body(HIDA), format="json")
    assert response.status_code == 201
    assert Registration.objects.filter(person=person, municipality_id=HIDA).count() == 2
    assert PrefectureRegistration.objects.filter(person=person, prefecture_id="21").count() == 2


@pytest.mark.django_db
def test_a_fourth_premium_municipality_is_refused():
    person = resident()
    assert settings.REGISTRY_PREMIUM_LIMIT == 3
    registrations = [register(person, code) for code in (HIDA, CHIZU, AMA, TAKAYAMA)]
    for registration in registrations[:2]:
        application = services.premium_apply(registration=registration)
        services.premium_decide(application=application, actor=None, approve=True)
    services.premium_apply(registration=registrations[2])  # pending counts too
    before = rows()
    error = error_of(
        api_as(person).post(f"/api/registrations/{registrations[3].pk}/premium/"),
        409,
        "premium_limit_reached",
    )
    assert "3" in error["message"] and "プレミアム" in error["message"]
    assert rows() == before
    assert Registration.objects.get(pk=registrations[3].pk).tier == "basic"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "words"),
    [("999999", ["999999"]), ("abc", ["abc"]), (123, ["123"]), (None, [])],
)
def test_an_unknown_municipality_code_is_refused(code, words):
    person = resident()
    before = rows()
    error = error_of(
        api_as(person).post("/api/registrations/", registration_body(code), format="json"), 400
    )
    assert list(error["fields"]) == ["municipality"]
    for word in words:
        assert word in error["message"]
    assert rows() == before


@pytest.mark.django_db
def test_an_unknown_municipality_on_the_staff_endpoints_is_404():
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)
    response = api_as(staff).get("/api/municipalities/999999/registrants/")
    assert error_of(response, 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"types": "hobby"}, "types", ["配列"]),
        ({"types": ["hobby", "gardening"]}, "types", ["gardening"]),
        ({"types": []}, "types", ["1つ以上"]),
        ({"types": [1]}, "types", ["1"]),
        ({"origin": "nowhere"}, "origin", ["nowhere"]),
        ({"consent": {"share_name": "perhaps"}}, "consent", []),
        ({"consent": "all"}, "consent", []),
    ],
)
def test_malformed_registration_input_is_refused(change, field, words):
    person = resident()
    before = rows()
    body = {**registration_body(HIDA), **change}
    error = error_of(api_as(person).post("/api/registrations/", body, format="json"), 400)
    assert list(error["fields"]) == [field]
    for word in words:
        assert word in error["message"]
    assert rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["municipality", "types", "origin"])
def test_a_missing_field_is_refused(missing):
    person = resident()
    before = rows()
    body = registration_body(HIDA)
    del body[missing]
    error = error_of(api_as(person).post("/api/registrations/", body, format="json"), 400)
    assert list(error["fields"]) == [missing]
    assert rows() == before


@pytest.mark.django_db
def test_a_malformed_json_body_is_refused_in_the_requests_language():
    person = resident()
    before = rows()
    messages = {}
    for language in ("ja", "en"):
        response = api_as(person, language).generic(
            "POST",
            "/api/registrations/",
            '{"municipality": "212172", ',
            content_type="application/json",
        )
        error = error_of(response, 400, "parse_error")
        assert "fields" not in error
        assert "JSON" in error["message"]
        messages[language] = error["message"]
    assert messages["en"] != messages["ja"] and messages["en"].isascii()
    assert rows() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("profile", "field", "code"),
    [
        ({"birth_year": "abc"}, "birth_year", "invalid"),
        ({"birth_year": 1800}, "birth_year", "invalid"),
        ({"birth_year": this_year() + 1}, "birth_year", "birth_year_out_of_range"),
        ({"gender": "x"}, "gender", "invalid"),
        ({"interests": ["cooking"]}, "interests", "invalid"),
        ({"skills": "web"}, "skills", "invalid"),
        ({"home_municipality": "000000"}, "home_municipality", "invalid"),
    ],
)
def test_malformed_profile_input_is_refused_and_changes_nothing(profile, field, code):
    person = resident(birth_year=1985)
    before = Profile.objects.filter(user=person).values().get()
    error = error_of(
        api_as(person).patch("/api/me/", {"profile": profile}, format="json"), 400, code
    )
    assert list(error["fields"]) in (["profile"], [field])
    fields = error["fields"].get("profile", error["fields"])
    assert list(fields) == [field]
    assert Profile.objects.filter(user=person).values().get() == before


@pytest.mark.django_db
def test_names_and_profile_change_together_or_not_at_all():
    person = resident()
    given_name = person.given_name
    error_of(
        api_as(person).patch(
            "/api/me/",
            {"given_name": "次郎", "profile": {"birth_year": this_year() + 1}},
            format="json",
        ),
        400,
        "birth_year_out_of_range",
    )
    assert User.objects.get(pk=person.pk).given_name == given_name


@pytest.mark.django_db
def test_registering_before_the_profile_is_complete_is_refused():
    person = UserFactory()
    api = api_as(person)
    api.patch("/api/me/", {"profile": {"home_municipality": SETAGAYA}}, format="json")
    before = rows()
    error = error_of(
        api.post("/api/registrations/", registration_body(HIDA), format="json"),
        400,
        "profile_incomplete",
    )
    assert "プロフィール" in error["message"] and "生まれた年" in error["message"]
    assert rows() == before


@pytest.mark.django_db
def test_a_minor_needs_a_guardians_consent():
    person = resident(birth_year=this_year() - 15)
    api = api_as(person)
    before = rows()
    error = error_of(
        api.post("/api/registrations/", registration_body(HIDA), format="json"),
        400,
        "guardian_consent_required",
    )
    assert list(error["fields"]) == ["guardian_consent"]
    assert "保護者" in error["message"]
    # Consent without the guardian's name is not enough either.
    error = error_of(
        api.post(
            "/api/registrations/", registration_body(HIDA, guardian_consent=True), format="json"
        ),
        400,
        "guardian_consent_required",
    )
    assert list(error["fields"]) == ["guardian_consent"]
    assert rows() == before

    response = api.post(
        "/api/registrations/",
        registration_body(HIDA, guardian_consent=True, guardian_name="山田 太郎"),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["guardian_consented_at"]
    registration = Registration.objects.get(pk=response.json()["id"])
    assert registration.guardian_name == "山田 太郎"
    assert registration.events.get().detail["minor"] is True


@pytest.mark.django_db
def test_an_adult_needs_no_guardian_and_none_is_stored():
    person = resident(birth_year=this_year() - 30)
    response = api_as(person).post(
        "/api/registrations/",
        registration_body(HIDA, guardian_consent=True, guardian_name="誰か"),
        format="json",
    )
    assert response.status_code == 201
    registration = Registration.objects.get(pk=response.json()["id"])
    assert registration.guardian_name == "" and registration.guardian_consented_at is None


@pytest.mark.django_db
def test_withdrawn_registrations_refuse_consent_changes_and_cards():
    person = resident()
    registration = register(person, HIDA)
    api = api_as(person)
    api.post(f"/api/registrations/{registration.pk}/withdraw/")
    before = rows()
    error = error_of(
        api.patch(
            f"/api/registrations/{registration.pk}/",
            {"consent": {"share_name": True}},
            format="json",
        ),
        409,
        "registration_withdrawn",
    )
    assert "取り下げ" in error["message"]
    withdrawn = (409, "registration_withdrawn")
    error_of(api.post(f"/api/registrations/{registration.pk}/card/reissue/"), *withdrawn)
    error_of(api.post(f"/api/registrations/{registration.pk}/premium/"), *withdrawn)
    # Withdrawing again changes nothing.
    assert api.post(f"/api/registrations/{registration.pk}/withdraw/").status_code == 200
    assert rows() == before


@pytest.mark.django_db
def test_withdrawing_keeps_the_prefecture_while_another_town_of_it_remains():
    person = resident()
    hida = register(person, HIDA)
    register(person, TAKAYAMA)
    api_as(person).post(f"/api/registrations/{hida.pk}/withdraw/")
    assert PrefectureRegistration.objects.get(person=person, prefecture_id="21").status == "active"


# --- Concurrency on PostgreSQL --------------------------------------------------------------


def _in_threads(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads released together; each thread has and closes
    its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions on the results
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_registrations_with_one_town_make_one(municipalities):
    person = resident()

    def attempt(_index):
        return api_as(person).post("/api/registrations/", registration_body(HIDA), format="json")

    responses = _in_threads(10, attempt)
    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [201] + [409] * 9, statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "already_registered"
            assert "飛騨市" in response.json()["error"]["message"]
    assert Registration.objects.filter(person=person, municipality_id=HIDA).count() == 1
    assert PrefectureRegistration.objects.filter(person=person, prefecture_id="21").count() == 1
    assert RegistrationEvent.objects.filter(registration__person=person).count() == 1


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_premium_applications_stop_at_the_limit(municipalities):
    person = resident()
    codes = [HIDA, CHIZU, AMA, TAKAYAMA, "011002"]  # the fifth: 札幌市
    registrations = [register(person, code) for code in codes]

    def attempt(index):
        return api_as(person).post(f"/api/registrations/{registrations[index].pk}/premium/")

    responses = _in_threads(5, attempt)
    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [201, 201, 201, 409, 409], statuses
    assert (
        PremiumApplication.objects.filter(registration__person=person, status="pending").count()
        == settings.REGISTRY_PREMIUM_LIMIT
    )
