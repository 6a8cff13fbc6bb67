"""The registry's web pages, as a person and as municipality staff use them: the whole
flow in Japanese and English, refusals shown on the forms with nothing changed, and what
staff may see (only their town, only consented fields, every read audited)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from registry import services
from registry.models import (
    Activity,
    EventKind,
    Perk,
    PrefectureRegistration,
    PremiumApplication,
    Profile,
    Registration,
    ReviewStatus,
)
from tests.factories import PASSWORD, UserFactory, client_for, person_with_role
from tests.support import AMA, CHIZU, HIDA, SETAGAYA, TAKAYAMA, errors_of, page, register, resident

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

GERO = "212211"  # one more town of 岐阜県 (with 飛騨市 and 高山市) for the premium limit
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)

PROFILE = {
    "family_name": "佐藤",
    "given_name": "美咲",
    "family_name_kana": "さとう",  # hiragana is kept as katakana
    "given_name_kana": "ﾐｻｷ",  # half-width kana is normalised
    "home": SETAGAYA,
    "birth_year": "１９８８",  # full-width digits are normalised
    "gender": "",
    "interests": ["farming", "digital"],
    "skills": ["web", "photo_video"],
    "available_days": ["weekends"],
    "available_months": ["5", "8"],
    "languages": ["ja", "en"],
}


@pytest.fixture(autouse=True)
def evidence_storage(tmp_path, monkeypatch):
    """Uploaded evidence goes to a temporary folder, not the project's var/private."""
    monkeypatch.setattr(
        Activity._meta.get_field("evidence"), "storage", FileSystemStorage(location=tmp_path)
    )


@pytest.fixture
def hida_staff():
    return person_with_role(Role.MUNICIPALITY_ADMIN, HIDA)


@pytest.fixture
def chizu_staff():
    return person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU)


def set_profile(client: Client, **changes) -> object:
    return client.post("/me/profile/", {**PROFILE, **changes})


def register_page(client: Client, code: str, **changes) -> object:
    data = {
        "municipality": code,
        "types": ["participation", "hobby"],
        "origin": "visits",
        **changes,
    }
    return client.post("/registrations/new/", data)


def card_token_on(html: str) -> str:
    found = re.search(r'<p class="token"><code>([^<]+)</code>', html)
    assert found, "no card token on the page"
    return found.group(1)


# --- The whole flow, as a person and a member of staff ------------------------------------


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_person_registers_shows_cards_and_exercises_their_rights(language, hida_staff):
    person = UserFactory(family_name="", given_name="")
    email = person.email
    me = client_for(person, language)

    # Before a profile, the registration page sends the person to fill it in.
    page(me, "/me/", language)
    response = me.get("/registrations/new/?municipality=212172")
    assert response.status_code == 302
    assert response["Location"].startswith("/me/profile/?next=")

    # The profile: names, home, birth year (full-width), interests and availability.
    page(me, "/me/profile/", language)
    assert "世田谷区" in page(me, "/me/profile/", language, q="せたがや")
    response = set_profile(me)
    assert response.status_code == 302, errors_of(response.content.decode())
    person.refresh_from_db()
    profile = Profile.objects.get(user=person)
    assert (person.family_name, person.given_name) == ("佐藤", "美咲")
    assert (person.family_name_kana, person.given_name_kana) == ("サトウ", "ミサキ")
    assert (profile.home_municipality_id, profile.birth_year) == (SETAGAYA, 1988)
    assert profile.languages and profile.available_months and profile.interests

    # Three municipalities in three prefectures, found with the picker.
    assert "飛騨市" in page(me, "/registrations/new/", language, q="ひだし")
    assert "飛騨市" in page(me, "/registrations/new/", language, municipality=HIDA)
    response = register_page(
        me, HIDA, share_name="on", share_age_band="on", allow_announcements="on"
    )
    assert response.status_code == 302, errors_of(response.content.decode())
    response = register_page(me, CHIZU, types=["telework"], origin="family")
    assert response.status_code == 302
    response = register_page(me, AMA, types=["non_visiting"], origin="furusato_nozei")
    assert response.status_code == 302
    registrations = {
        r.municipality_id: r for r in Registration.objects.filter(person=person, status="active")
    }
    assert set(registrations) == {HIDA, CHIZU, AMA}
    assert set(
        PrefectureRegistration.objects.filter(person=person, status="active").values_list(
            "prefecture_id", flat=True
        )
    ) == {"21", "31", "32"}
    hida = registrations[HIDA]
    assert (hida.share_name, hida.share_contact, hida.share_age_band) == (True, False, True)
    assert hida.type_values() == ["participation", "hobby"]

    my_page = page(me, "/me/", language)
    for name in ("飛騨市", "智頭町", "海士町", "岐阜県", "鳥取県", "島根県"):
        assert name in my_page

    # Each card: a QR code (inline SVG) of a signed token.
    tokens = {}
    for code, registration in registrations.items():
        assert registration.municipality.name in page(
            me, f"/registrations/{registration.pk}/", language
        )
        html = page(me, f"/registrations/{registration.pk}/card/", language)
        assert "<svg" in html
        # The name is on the screen staff read only when the person agreed to share it.
        assert ("佐藤 美咲" in html) == registration.share_name
        tokens[code] = card_token_on(html)

    # 飛騨市's staff check the 飛騨市 card: valid, the tier, the consented fields only.
    staff = client_for(hida_staff, language)
    html = page(staff, "/cards/verify/", language, token=tokens[HIDA])
    assert "verify-valid" in html and "tier-basic" in html
    assert "佐藤 美咲" in html
    assert email not in html  # contact not consented
    if language == "ja":
        assert "30代" in html  # born in 1988: 37 or 38 on the frozen clock's day
    # …and a card of another town: valid, but nothing about the person.
    html = page(staff, "/cards/verify/", language, token=tokens[CHIZU])
    assert "verify-valid" in html and "佐藤" not in html
    assert AuditEvent.objects.filter(actor=hida_staff, action="card.verify").count() == 2

    # Change the consent: contact on, age band off; the change is in the history.
    response = me.post(
        f"/registrations/{hida.pk}/consent/", {"share_name": "on", "share_contact": "on"}
    )
    assert response.status_code == 302
    hida.refresh_from_db()
    assert (hida.share_name, hida.share_contact, hida.share_age_band) == (True, True, False)
    assert hida.allow_announcements is False
    event = hida.events.get(kind=EventKind.CONSENT_CHANGED)
    assert set(event.detail["changed"]) == {
        "share_contact",
        "share_age_band",
        "allow_announcements",
    }
    html = page(me, f"/registrations/{hida.pk}/", language)
    assert html.count('<li class="history-item">') == 2  # registered, then the change
    html = page(staff, "/cards/verify/", language, token=tokens[HIDA])
    assert "佐藤 美咲" in html and email not in html  # a card check never shows contacts
    if language == "ja":
        assert "30代" not in html and "40代" not in html  # age band no longer consented

    # Withdraw 海士町: its card is gone, its old code is revoked, 島根県 ends too.
    ama = registrations[AMA]
    page(me, f"/registrations/{ama.pk}/withdraw/", language)
    response = me.post(f"/registrations/{ama.pk}/withdraw/")
    assert response.status_code == 302
    ama.refresh_from_db()
    assert ama.status == "withdrawn"
    assert "<svg" not in page(me, f"/registrations/{ama.pk}/card/", language)
    assert "verify-revoked" in page(staff, "/cards/verify/", language, token=tokens[AMA])
    assert not PrefectureRegistration.objects.filter(
        person=person, prefecture_id="32", status="active"
    ).exists()
    assert "海士町" in page(me, "/me/", language)  # in the list of withdrawn ones

    # Export: a JSON attachment with every registration, withdrawn included.
    page(me, "/me/export/", language)
    response = me.get("/me/export.json")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "飛騨市" in response.content.decode()  # not \u-escaped
    data = json.loads(response.content)
    exported = {r["municipality"]["code"]: r for r in data["registry"]["registrations"]}
    assert set(exported) == {HIDA, CHIZU, AMA}
    assert exported[AMA]["status"] == "withdrawn"
    assert exported[HIDA]["consent"]["share_contact"] is True
    assert data["account"]["email"] == email

    # Delete the account: a wrong password changes nothing; the right one deletes.
    page(me, "/me/delete/", language)
    response = me.post("/me/delete/", {"password": "not-my-password"})
    assert response.status_code == 200 and errors_of(response.content.decode())
    assert User.objects.get(pk=person.pk).deleted_at is None
    response = me.post("/me/delete/", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    person.refresh_from_db()
    assert person.deleted_at is not None and person.email != email
    assert not Registration.objects.filter(person=person, status="active").exists()
    assert not Registration.objects.filter(person=person, share_name=True).exists()
    assert me.get("/me/").status_code == 302  # logged out
    assert "verify-revoked" in page(staff, "/cards/verify/", language, token=tokens[HIDA])
    fresh = client_for(None, language)
    fresh.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert "_auth_user_id" not in fresh.session


# --- Refusals: a clear message on the form, nothing changed ------------------------------


def test_registering_with_ones_own_home_municipality_is_refused():
    person = resident(home=HIDA)
    response = register_page(client_for(person), HIDA)
    assert response.status_code == 200
    assert any("住民票のある市区町村" in error for error in errors_of(response.content.decode()))
    assert not Registration.objects.filter(person=person).exists()


def test_registering_twice_with_the_same_town_is_refused():
    person = resident()
    me = client_for(person)
    assert register_page(me, HIDA).status_code == 302
    response = register_page(me, HIDA, types=["direct"])
    assert response.status_code == 200
    assert any("すでに登録しています" in e for e in errors_of(response.content.decode()))
    assert Registration.objects.filter(person=person).count() == 1
    assert Registration.objects.get(person=person).type_values() != ["direct"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999999", "見つかりません"),
        ("000000", "見つかりません"),
        ("abc", "6桁の数字"),
        ("21217", "6桁の数字"),
        ("", "必須"),
    ],
)
def test_an_unknown_or_malformed_municipality_code_is_a_form_error(code, message):
    person = resident()
    response = register_page(client_for(person), code)
    assert response.status_code == 200
    assert any(message in error for error in errors_of(response.content.decode()))
    assert not Registration.objects.exists()


def test_choosing_an_unknown_code_in_the_picker_says_so():
    html = page(client_for(resident()), "/registrations/new/", municipality="abc")
    assert "6桁の数字" in html


def test_registration_form_needs_a_type_and_an_origin():
    person = resident()
    response = register_page(client_for(person), HIDA, types=[], origin="")
    html = response.content.decode()
    assert response.status_code == 200
    assert "関わり方を1つ以上選んでください。" in html
    assert "関わりのきっかけを1つ選んでください。" in html
    response = register_page(client_for(person), HIDA, types=["spaceflight"], origin="mars")
    assert response.status_code == 200 and len(errors_of(response.content.decode())) == 2
    assert not Registration.objects.exists()


def test_a_minor_needs_a_guardians_consent():
    this_year = timezone.localdate().year
    person = resident(birth_year=this_year - 15)
    me = client_for(person)
    assert "保護者の氏名" in page(me, "/registrations/new/", municipality=HIDA)
    response = register_page(me, HIDA)
    assert response.status_code == 200
    assert "保護者の同意が必要です。" in response.content.decode()
    assert not Registration.objects.exists()
    response = register_page(me, HIDA, guardian_name="佐藤 一郎", guardian_consent="on")
    assert response.status_code == 302
    registration = Registration.objects.get(person=person)
    assert registration.guardian_name == "佐藤 一郎" and registration.guardian_consented_at


def test_the_fourth_premium_town_is_refused():
    person = resident()
    me = client_for(person)
    towns = [HIDA, TAKAYAMA, CHIZU, GERO]
    registrations = [register(person, code) for code in towns]
    for registration in registrations[:3]:
        html = page(me, f"/registrations/{registration.pk}/premium/")
        assert "本人確認" in html
        response = me.post(
            f"/registrations/{registration.pk}/premium/", {"message": "窓口に行けます"}
        )
        assert response.status_code == 302
    response = me.post(f"/registrations/{registrations[3].pk}/premium/", {"message": ""})
    assert response.status_code == 200
    assert "3 つのまちまで" in response.content.decode()
    assert PremiumApplication.objects.filter(registration__person=person).count() == 3
    assert not registrations[3].premium_applications.exists()

    # Cancelling a pending application frees a slot.
    response = me.post(f"/registrations/{registrations[0].pk}/premium/cancel/")
    assert response.status_code == 302
    assert registrations[0].premium_applications.get().status == ReviewStatus.CANCELLED
    response = me.post(f"/registrations/{registrations[3].pk}/premium/", {"message": ""})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"birth_year": "abc"}, "整数"),
        ({"birth_year": "1800"}, "生まれた年は"),
        ({"birth_year": str(timezone.localdate().year + 1)}, "生まれた年は"),
        ({"home": "999999"}, "見つかりません"),
        ({"home": "ふるさと村"}, "見つかりません"),
        ({"home": "府中市"}, "複数あります"),
        ({"home": "1311"}, "6桁の数字"),
        ({"family_name_kana": "Sato"}, "カタカナ"),
        ({"interests": ["astrology"]}, "選択"),
    ],
)
def test_malformed_profile_input_is_refused_next_to_the_field(changes, field_message):
    person = UserFactory()
    response = set_profile(client_for(person), **changes)
    assert response.status_code == 200
    assert any(field_message in error for error in errors_of(response.content.decode()))
    assert not Profile.objects.filter(user=person).exists()
    person.refresh_from_db()
    assert person.family_name_kana == ""


def test_the_profile_accepts_a_name_a_prefixed_name_or_kana_for_the_home():
    person = UserFactory()
    me = client_for(person)
    assert set_profile(me, home="岐阜県飛騨市").status_code == 302
    assert Profile.objects.get(user=person).home_municipality_id == HIDA
    assert set_profile(me, home="智頭町").status_code == 302
    assert Profile.objects.get(user=person).home_municipality_id == CHIZU
    assert set_profile(me, home="あまちょう").status_code == 302
    assert Profile.objects.get(user=person).home_municipality_id == AMA
    # The picker's link fills the field in.
    assert f'value="{AMA}"' in page(me, "/me/profile/", home=AMA)


def test_moving_home_to_a_registered_town_is_refused_on_the_profile_form():
    person = resident()
    register(person, HIDA)
    response = set_profile(client_for(person), home=HIDA)
    assert response.status_code == 200
    assert any("取り下げてください" in e for e in errors_of(response.content.decode()))
    assert Profile.objects.get(user=person).home_municipality_id == SETAGAYA
    person.refresh_from_db()
    assert person.family_name_kana == ""  # the names of the same form were not saved either


@pytest.mark.parametrize(
    ("occurred_on", "message"),
    [
        ("2026-13-45", "日付"),
        ("yesterday", "日付"),
        ("2099-01-01", "未来の日付"),
        ("2999-01-01", "2100-12-31"),  # outside the site's range of dates (core.dates)
    ],
)
def test_a_malformed_activity_date_is_refused(occurred_on, message):
    person = resident()
    registration = register(person, HIDA)
    me = client_for(person)
    page(me, f"/registrations/{registration.pk}/activities/new/")
    evidence = _upload("photo.png", PNG)
    response = me.post(
        f"/registrations/{registration.pk}/activities/new/",
        {"title": "棚田の草刈り", "occurred_on": occurred_on, "evidence": evidence},
    )
    assert response.status_code == 200
    assert any(message in e for e in errors_of(response.content.decode()))
    assert not Activity.objects.exists()


def test_evidence_that_is_not_what_it_says_is_refused():
    person = resident()
    registration = register(person, HIDA)
    response = client_for(person).post(
        f"/registrations/{registration.pk}/activities/new/",
        {
            "title": "棚田の草刈り",
            "occurred_on": timezone.localdate().isoformat(),
            "evidence": _upload("photo.png", b"MZ not a picture"),
        },
    )
    assert response.status_code == 200
    assert any("拡張子と合いません" in e for e in errors_of(response.content.decode()))
    assert not Activity.objects.exists()


def test_other_peoples_registrations_are_not_found():
    owner = resident()
    registration = register(owner, HIDA)
    stranger = client_for(resident())
    for path in ("", "card/", "premium/", "withdraw/", "activities/new/"):
        assert stranger.get(f"/registrations/{registration.pk}/{path}").status_code == 404
    assert stranger.post(f"/registrations/{registration.pk}/withdraw/").status_code == 404
    assert stranger.post(f"/registrations/{registration.pk}/consent/", {}).status_code == 404
    registration.refresh_from_db()
    assert registration.is_active


def test_pages_need_a_login():
    anonymous = Client()
    for path in ("/me/", "/me/profile/", "/registrations/new/", "/cards/verify/", "/staff/"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def _upload(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


# --- Staff --------------------------------------------------------------------------------


@pytest.fixture
def registrants():
    """Two 飛騨市 registrants (one shares everything, one nothing) and a 智頭町 one."""
    open_ = resident(family_name="鈴木", given_name="花", birth_year=1990)
    services.profile_update(user=open_, skills=0b11)
    register(
        open_,
        HIDA,
        share_name=True,
        share_contact=True,
        share_age_band=True,
        share_skills=True,
        allow_announcements=True,
    )
    silent = resident(family_name="佐藤", given_name="一郎")
    register(silent, HIDA)
    elsewhere = resident(family_name="田中", given_name="三郎")
    register(elsewhere, CHIZU, share_name=True, share_contact=True)
    return open_, silent, elsewhere


def test_hida_staff_see_only_hida_registrants_and_only_consented_fields(registrants, hida_staff):
    open_, silent, elsewhere = registrants
    staff = client_for(hida_staff)
    html = page(staff, "/staff/")
    assert "/staff/212172/registrants/" in html
    html = page(staff, "/staff/212172/registrants/")
    assert "鈴木 花" in html and open_.email in html and "30代" in html
    assert "力仕事" in html  # skills, consented
    assert "佐藤" not in html and silent.email not in html
    assert "非公開" in html
    assert "田中" not in html and elsewhere.email not in html
    read = AuditEvent.objects.get(actor=hida_staff, action="registrants.list")
    assert read.municipality_id == HIDA

    # Filters narrow the list (and each read is audited again).
    html = page(staff, "/staff/212172/registrants/", announcements="yes")
    assert "鈴木 花" in html and "1 人" in html
    html = page(staff, "/staff/212172/registrants/", type="direct")
    assert "鈴木 花" not in html and "0 人" in html
    assert AuditEvent.objects.filter(actor=hida_staff, action="registrants.list").count() == 3


def test_malformed_filters_are_shown_on_the_form_and_read_nothing(registrants, hida_staff):
    staff = client_for(hida_staff)
    response = staff.get(
        "/staff/212172/registrants/",
        {"registered_from": "2026-02-30", "active_within_days": "many", "tier": "gold"},
    )
    assert response.status_code == 200
    assert len(errors_of(response.content.decode())) == 3
    assert "鈴木" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="registrants.list").exists()
    response = staff.get("/staff/212172/registrants.csv", {"registered_to": "昨日"})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="registrants.export").exists()


def test_the_csv_export_carries_only_consented_fields(registrants, hida_staff):
    open_, silent, _elsewhere = registrants
    response = client_for(hida_staff).get("/staff/212172/registrants.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel opens UTF-8 with a BOM
    lines = body.strip().splitlines()
    assert len(lines) == 3  # header and two 飛騨市 registrants
    assert "鈴木 花" in body and open_.email in body
    assert "佐藤" not in body and silent.email not in body and "田中" not in body
    assert AuditEvent.objects.filter(actor=hida_staff, action="registrants.export").count() == 1


def test_csv_cells_cannot_become_formulas(hida_staff):
    person = resident(family_name="=HYPERLINK(1)", given_name="x")
    register(person, HIDA, share_name=True)
    body = b"".join(client_for(hida_staff).get("/staff/212172/registrants.csv").streaming_content)
    assert "'=HYPERLINK(1) x" in body.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/staff/212172/registrants/",
        "/staff/212172/registrants.csv",
        "/staff/212172/premium/",
        "/staff/212172/activities/",
        "/staff/212172/perks/",
    ],
)
def test_staff_of_another_town_are_refused_and_nothing_is_read(registrants, chizu_staff, path):
    response = client_for(chizu_staff).get(path)
    assert response.status_code == 403
    assert "権限" in response.content.decode() or "職員だけ" in response.content.decode()
    assert not AuditEvent.objects.filter(actor=chizu_staff).exists()


def test_residents_are_refused_staff_pages_and_unknown_towns_are_404(registrants, hida_staff):
    open_, _silent, _elsewhere = registrants
    person = client_for(open_)
    for path in ("/staff/", "/staff/212172/registrants/", "/cards/verify/"):
        assert person.get(path).status_code == 403
    staff = client_for(hida_staff)
    assert staff.get("/staff/999999/registrants/").status_code == 404
    assert staff.get("/staff/abc/perks/").status_code == 404


def test_premium_review_through_the_queue(hida_staff, chizu_staff):
    person = resident(family_name="鈴木", given_name="花")
    registration = register(person, HIDA)
    assert client_for(person).post(f"/registrations/{registration.pk}/premium/").status_code == 302
    application = PremiumApplication.objects.get(registration=registration)
    staff = client_for(hida_staff)

    html = page(staff, "/staff/212172/premium/")
    # The name for the identity check; the address only with consent to share contact.
    assert "鈴木 花" in html and person.email not in html
    assert AuditEvent.objects.filter(actor=hida_staff, action="premium.queue.read").exists()

    prefix = f"application-{application.pk}"
    decide = f"/staff/premium/{application.pk}/decide/"
    response = staff.post(decide, {f"{prefix}-decision": "refuse", f"{prefix}-note": ""})
    assert response.status_code == 200
    assert any("理由" in e for e in errors_of(response.content.decode()))
    application.refresh_from_db()
    assert application.status == ReviewStatus.PENDING

    other = client_for(chizu_staff).post(decide, {f"{prefix}-decision": "approve"})
    assert other.status_code == 404  # another town's application is not even named

    response = staff.post(decide, {f"{prefix}-decision": "approve", f"{prefix}-note": "窓口で確認"})
    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.is_premium and registration.premium_until
    assert AuditEvent.objects.filter(actor=hida_staff, action="premium.approve").exists()
    # Deciding again is refused with a message, not an error page.
    response = staff.post(decide, {f"{prefix}-decision": "refuse", f"{prefix}-note": "x"})
    assert response.status_code == 200 and "決定済み" in response.content.decode()

    html = page(client_for(person), f"/registrations/{registration.pk}/card/")
    assert "tier-premium" in html


def test_activity_evidence_review_and_who_may_open_it(hida_staff, chizu_staff):
    person = resident(family_name="鈴木", given_name="花")
    registration = register(person, HIDA)
    me = client_for(person)
    occurred = timezone.localdate()
    response = me.post(
        f"/registrations/{registration.pk}/activities/new/",
        {
            "title": "棚田の草刈り",
            "occurred_on": occurred.strftime("%Y/%m/%d"),
            "evidence": _upload("photo.png", PNG),
            "note": "区長さんの確認つき",
        },
    )
    assert response.status_code == 302
    activity = Activity.objects.get(registration=registration)
    assert activity.status == ReviewStatus.PENDING and activity.occurred_on == occurred

    staff = client_for(hida_staff)
    html = page(staff, "/staff/212172/activities/")
    assert "棚田の草刈り" in html and "鈴木" not in html  # name not consented
    evidence = f"/staff/activities/{activity.pk}/evidence/"
    assert b"".join(staff.get(evidence).streaming_content) == PNG
    assert AuditEvent.objects.filter(actor=hida_staff, action="activity.evidence.read").exists()
    assert me.get(evidence).status_code == 200  # the owner
    assert client_for(chizu_staff).get(evidence).status_code == 404
    assert client_for(resident()).get(evidence).status_code == 404

    prefix = f"activity-{activity.pk}"
    response = staff.post(
        f"/staff/activities/{activity.pk}/review/", {f"{prefix}-decision": "approve"}
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    registration.refresh_from_db()
    assert activity.status == ReviewStatus.APPROVED
    assert registration.last_activity_on == occurred


def test_perks_are_managed_by_the_towns_staff_and_shown_to_registrants(hida_staff, chizu_staff):
    staff = client_for(hida_staff)
    response = staff.post(
        "/staff/212172/perks/",
        {
            "tier": "basic",
            "kind": "facility",
            "title": "資料館の割引",
            "description": "登録証を示すと入館料が1割引",
            "url": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    perk = Perk.objects.get(municipality_id=HIDA)
    assert AuditEvent.objects.filter(actor=hida_staff, action="perk.create").exists()

    # Refusals on the form: a missing title, a bad URL.
    response = staff.post(
        "/staff/212172/perks/",
        {"tier": "basic", "kind": "facility", "title": "", "description": "x", "url": "nope"},
    )
    assert response.status_code == 200 and len(errors_of(response.content.decode())) == 2
    assert Perk.objects.count() == 1

    person = resident()
    registration = register(person, HIDA)
    assert "資料館の割引" in page(client_for(person), f"/registrations/{registration.pk}/")

    other = client_for(chizu_staff)
    # Another town's perk is as unknown as a missing one.
    assert other.get(f"/staff/perks/{perk.pk}/edit/").status_code == 404
    assert other.post(f"/staff/perks/{perk.pk}/delete/").status_code == 404
    page(staff, f"/staff/perks/{perk.pk}/edit/")
    response = staff.post(
        f"/staff/perks/{perk.pk}/edit/",
        {"tier": "premium", "kind": "facility", "title": "資料館の割引", "description": "2割引"},
    )
    assert response.status_code == 302
    perk.refresh_from_db()
    assert (perk.tier, perk.is_active) == ("premium", False)
    assert "資料館の割引" not in page(client_for(person), f"/registrations/{registration.pk}/")
    assert staff.post(f"/staff/perks/{perk.pk}/delete/").status_code == 302
    assert not Perk.objects.exists()


def test_card_reissue_revokes_the_earlier_code(hida_staff):
    person = resident()
    registration = register(person, HIDA)
    me = client_for(person)
    old = card_token_on(page(me, f"/registrations/{registration.pk}/card/"))
    response = me.post(f"/registrations/{registration.pk}/card/reissue/")
    assert response.status_code == 302
    new = card_token_on(page(me, f"/registrations/{registration.pk}/card/"))
    staff = client_for(hida_staff)
    assert "verify-revoked" in page(staff, "/cards/verify/", token=old)
    assert "verify-valid" in page(staff, "/cards/verify/", token=new)
    html = staff.post("/cards/verify/", {"token": new[:-3] + "abc"}).content.decode()
    assert "verify-invalid" in html


def test_the_municipality_page_links_to_registering():
    html = page(Client(), "/municipalities/313289/")
    assert "/registrations/new/?municipality=313289" in html


def test_navigation_shows_my_page_and_the_staff_menu(hida_staff):
    assert 'href="/me/"' in page(client_for(hida_staff), "/")
    assert 'href="/staff/"' in page(client_for(hida_staff), "/")
    html = page(client_for(UserFactory()), "/")
    assert 'href="/me/"' in html and 'href="/staff/"' not in html


def test_the_registrants_page_costs_the_same_queries_for_more_people(hida_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        staff = client_for(hida_staff)
        with CaptureQueriesContext(connection) as captured:
            page(staff, "/staff/212172/registrants/")
        return len(captured)

    for _ in range(3):
        register(resident(), HIDA, share_name=True, share_skills=True)
    few = queries()
    for _ in range(12):
        register(resident(), HIDA, share_name=True, share_age_band=True)
    assert queries() == few
