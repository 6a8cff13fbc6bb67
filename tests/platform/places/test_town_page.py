"""Living town pages: what the town's staff write (description, cover photo, official site),
its current tasks, perks and published residents; who may edit; the 5-digit address; the
anonymous cached page moving with the board and the town's own edits. Through HTTP, in
Japanese and English."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.models import Role
from core.public_cache import routes_forget
from insights import services as insights_services
from insights.models import Published
from places.models import TownPage
from registry.models import Perk
from tests.factories import client_for, person_with_role
from tests.matching.support import CHIZU, HIDA, host_of, published_task, register, resident
from tests.support import errors_of, page

GIFU = "21"
PAGE = f"/municipalities/{HIDA}/"
EDIT = f"/staff/{HIDA}/page/"


def camera_jpeg() -> bytes:
    image = Image.new("RGB", (1200, 900), (120, 160, 200))
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def edit(client, **data):
    fields = {"description": "", "website": "", "cover_alt": "", **data}
    return client.post(EDIT, fields)


@pytest.mark.django_db
@pytest.mark.usefixtures("municipalities")
class TestTheTownPage:
    @pytest.mark.parametrize("language", ["ja", "en"])
    def test_the_5_digit_code_redirects_and_a_bad_code_is_a_404_page(self, language):
        client = client_for(None, language)
        response = client.get("/municipalities/21217/")
        assert response.status_code == 301
        assert response["Location"] == PAGE
        for bad in ("99999", "21218x", "2121720", "abc", "000000", "21217" * 40):
            page(client, f"/municipalities/{bad}/", language, status=404)

    @pytest.mark.parametrize(
        ("language", "words"),
        [
            ("ja", ("いま募集中のお手伝い", "ふるさと住民の特典", "飛騨市の公式サイト")),
            ("en", ("Help wanted now", "Perks for furusato residents", "Official site of")),
        ],
    )
    def test_staff_write_the_page_and_it_shows_with_tasks_and_perks(self, language, words):
        staff = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
        client = client_for(staff, language)
        form = client.get(EDIT)
        assert form.status_code == 200
        response = client.post(
            EDIT,
            {
                "description": "古い町並みと朝市のまち（飛騨）！\n"
                "詳しくは https://www.city.hida.gifu.jp/ へ。"
                '<img src=x onerror="alert(1)">',
                "website": "https://www.city.hida.gifu.jp/",
                "cover_alt": "白壁土蔵街と瀬戸川",
                "cover": SimpleUploadedFile("IMG_1.JPG", camera_jpeg(), "image/jpeg"),
            },
        )
        assert response.status_code == 302 and response["Location"] == PAGE
        saved = TownPage.objects.get(municipality_id=HIDA)
        with Image.open(saved.cover.path) as cover:
            assert cover.format == "JPEG" and len(cover.getexif()) == 0
        published_task(HIDA, title="古民家の大掃除", reward="飛騨牛の昼ごはん")
        Perk.objects.create(
            municipality_id=HIDA, kind="facility", title="市営温泉の割引", description="半額です。"
        )
        html = page(client_for(None, language), PAGE, language)
        # As typed, its address a link, the hostile part escaped.
        assert "古い町並みと朝市のまち（飛騨）！" in html
        assert (
            '<a href="https://www.city.hida.gifu.jp/" rel="nofollow noopener">'
            "https://www.city.hida.gifu.jp/</a>"
        ) in html
        assert "<img src=x" not in html and "&lt;img src=x" in html
        assert re.search(
            r'<img class="town-cover" src="/media/towns/212172/[^"]+\.jpg" '
            r'alt="白壁土蔵街と瀬戸川"',
            html,
        )
        for word in words:
            assert word in html
        assert "古民家の大掃除" in html and "飛騨牛の昼ごはん" in html
        assert "市営温泉の割引" in html
        # Anonymous visitors get no edit link; the staff do.
        assert EDIT not in html
        assert EDIT in page(client, PAGE, language)

    @pytest.mark.parametrize("who", ["host", "resident", "other_clerk"])
    def test_only_the_towns_staff_and_higher_scopes_may_edit(self, who):
        person = {
            "host": lambda: host_of(HIDA),
            "resident": lambda: register(resident(), HIDA).person,
            "other_clerk": lambda: person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU),
        }[who]()
        client = client_for(person)
        assert client.get(EDIT).status_code == 403
        assert edit(client, description="乗っ取り").status_code == 403
        assert not TownPage.objects.filter(municipality_id=HIDA).exists()
        assert "乗っ取り" not in page(Client(), PAGE)
        # Not signed in: to the sign-in page.
        assert Client().get(EDIT).status_code == 302

    @pytest.mark.parametrize("role", [Role.PREFECTURE_STAFF, Role.NATIONAL_ADMIN])
    def test_prefecture_staff_and_national_administrators_may_edit(self, role):
        person = person_with_role(role, GIFU if role == Role.PREFECTURE_STAFF else None)
        response = edit(client_for(person), description="県から見た飛騨市")
        assert response.status_code == 302
        assert "県から見た飛騨市" in page(Client(), PAGE)

    @pytest.mark.parametrize(
        ("language", "site", "alt"),
        [
            ("ja", "https:// で始まるもの", "カバー写真の説明を書いてください。"),
            ("en", "must start with https://", "Describe the cover photo."),
        ],
    )
    def test_a_bad_site_or_a_photo_without_its_description_is_refused(self, language, site, alt):
        client = client_for(person_with_role(Role.MUNICIPALITY_EDITOR, HIDA), language)
        response = edit(client, website="javascript:alert(1)")
        assert response.status_code == 200
        assert any(
            site in error or "URL" in error for error in errors_of(response.content.decode())
        )
        response = edit(
            client, cover=SimpleUploadedFile("a.jpg", camera_jpeg(), "image/jpeg"), cover_alt=""
        )
        assert response.status_code == 200
        assert alt in errors_of(response.content.decode())
        bad_photo = SimpleUploadedFile("a.jpg", b"not an image", "image/jpeg")
        response = edit(client, cover=bad_photo, cover_alt="写真")
        assert response.status_code == 200 and errors_of(response.content.decode())
        assert not TownPage.objects.filter(municipality_id=HIDA).exists()

    @pytest.mark.parametrize("language", ["ja", "en"])
    def test_the_published_residents_are_shown_and_small_numbers_suppressed(
        self, language, settings
    ):
        settings.INSIGHTS_SETTLE_DAYS = 0
        heading = "ふるさと住民の数" if language == "ja" else "Furusato residents"
        # Nothing published yet: no figure at all.
        assert heading not in page(client_for(None, language), PAGE, language)
        for _ in range(12):
            register(resident(), HIDA)
        insights_services.counts_rebuild(publish=True)
        assert Published.objects.get(area=f"M{HIDA}", measure="reg", key="").value == 12
        html = page(client_for(None, language), PAGE, language)
        section = html[html.index(heading) :][:600]
        assert ("12 人" if language == "ja" else "12 people") in section
        assert f"/stats/municipalities/{HIDA}/" in section
        # Three people are too few to publish: said, not shown.
        for _ in range(3):
            register(resident(), CHIZU)
        insights_services.counts_rebuild(publish=True)
        assert Published.objects.get(area=f"M{CHIZU}", measure="reg", key="").value is None
        other = page(client_for(None, language), f"/municipalities/{CHIZU}/", language)
        hidden = "10 人未満のため公表していません" if language == "ja" else "fewer than 10 people"
        assert hidden in other and " 3 " not in other[other.index(heading) :][:600]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("municipalities")
def test_the_cached_town_page_shows_a_new_task_and_the_towns_edit_on_the_next_request(settings):
    settings.PUBLIC_CACHE = True
    routes_forget()
    visitor = Client()
    visitor.get(PAGE)  # the CSRF cookie set: a page's ETag includes it
    first = visitor.get(PAGE)
    assert first.status_code == 200 and first.has_header("ETag")
    assert visitor.get(PAGE, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert "いま募集中のお手伝いはありません。" in visitor.get(PAGE).content.decode()

    published_task(HIDA, title="古民家の大掃除")
    html = visitor.get(PAGE).content.decode()
    assert "古民家の大掃除" in html
    assert visitor.get(PAGE, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200

    staff = client_for(person_with_role(Role.MUNICIPALITY_EDITOR, HIDA))
    assert edit(staff, description="朝市は毎朝 7 時から").status_code == 302
    assert "朝市は毎朝 7 時から" in visitor.get(PAGE).content.decode()

    perk = Perk.objects.create(
        municipality_id=HIDA, kind="facility", title="市営温泉の割引", description="半額です。"
    )
    assert "市営温泉の割引" in visitor.get(PAGE).content.decode()
    perk.delete()
    assert "市営温泉の割引" not in visitor.get(PAGE).content.decode()
    # Another town's edit leaves this page's entry alone (and shows on its own).
    other = client_for(person_with_role(Role.MUNICIPALITY_EDITOR, CHIZU))
    assert (
        other.post(
            f"/staff/{CHIZU}/page/", {"description": "智頭の杉", "website": "", "cover_alt": ""}
        ).status_code
        == 302
    )
    assert "智頭の杉" in visitor.get(f"/municipalities/{CHIZU}/").content.decode()
