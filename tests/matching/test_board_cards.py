"""The board's cards (photo, オカエシ, next date) and its map of Japan (places.maps), through
HTTP in Japanese and English; links made from descriptions safely."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from places import maps
from places.models import Municipality
from tests.factories import client_for
from tests.matching.support import CHIZU, HIDA, in_days, published_task
from tests.support import page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("municipalities")]


def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 140, 90)).save(out, format="JPEG")
    return SimpleUploadedFile("field.jpg", out.getvalue(), "image/jpeg")


def cards_of(html: str) -> list[str]:
    return re.findall(r'<li class="task-card.*?</li>\s*(?=<li class="task-card|</ul>)', html, re.S)


@pytest.mark.parametrize(("language", "label"), [("ja", "オカエシ"), ("en", "Thank-you")])
def test_a_card_shows_the_photo_with_its_alt_text_the_reward_and_the_next_date(language, label):
    published_task(
        HIDA,
        title="古民家の大掃除",
        reward="飛騨牛の昼ごはん",
        photo=photo(),
        photo_alt="土間のある古民家",
        sessions=[
            {"starts_at": in_days(10), "ends_at": in_days(10, 15), "capacity": 5},
            {"starts_at": in_days(20), "ends_at": in_days(20, 15), "capacity": 5},
        ],
    )
    published_task(CHIZU, title="棚田の草刈り", reward="新米 2kg")
    html = page(client_for(None, language), "/tasks/", language)
    cards = cards_of(html)
    assert len(cards) == 2
    with_photo = next(card for card in cards if "古民家の大掃除" in card)
    assert re.search(
        r'<img class="task-card-photo" src="/media/tasks/[^"]+\.jpg" alt="土間のある古民家"',
        with_photo,
    )
    assert label in with_photo and "飛騨牛の昼ごはん" in with_photo
    assert "1" in with_photo and ("次回" in with_photo or "Next" in with_photo)
    # No photo: no empty image and no placeholder, the card is text alone.
    without = next(card for card in cards if "棚田の草刈り" in card)
    assert "<img" not in without
    assert "新米 2kg" in without


def test_a_hostile_description_is_escaped_and_its_addresses_become_safe_links():
    task = published_task(
        CHIZU,
        description=(
            "詳しくは https://www.town.chizu.tottori.jp/kusakari/ を見てください。\n"
            '<script>alert("x")</script> javascript:alert(1) '
            '<a href="javascript:alert(2)">ここ</a> "onmouseover="alert(3)'
        ),
    )
    html = page(Client(), f"/tasks/{task.pk}/")
    prose = html[html.index('<div class="prose">') :]
    prose = prose[: prose.index("</div>")]
    assert (
        '<a href="https://www.town.chizu.tottori.jp/kusakari/" rel="nofollow noopener">'
        "https://www.town.chizu.tottori.jp/kusakari/</a>"
    ) in prose
    assert "<script>" not in prose and "&lt;script&gt;" in prose
    assert 'href="javascript:' not in prose and '<a href="javascript' not in prose
    assert prose.count("<a ") == 1
    assert 'onmouseover="' not in prose


def test_the_map_puts_each_town_with_tasks_on_the_outline_of_japan():
    hida = published_task(HIDA, title="古民家の大掃除")
    published_task(CHIZU, title="棚田の草刈り")
    published_task(CHIZU, title="栗拾い")
    for language, words in (("ja", "件"), ("en", "task")):
        html = page(client_for(None, language), "/tasks/map/", language)
        svg = html[html.index('<svg class="japan-map"') : html.index("</svg>")]
        assert svg.count("<path d=") == 47  # every prefecture's outline, drawn here
        markers = re.findall(
            r'<a class="map-marker[^"]*" href="([^"]+)" aria-label="([^"]+)">', svg
        )
        assert len(markers) == 2
        by_href = dict(markers)
        # One task alone: its marker opens the task; its name begins with what it shows.
        assert by_href[f"/tasks/{hida.pk}/"].startswith("1")
        # Two tasks in one town: the town's list.
        chizu = next(label for href, label in markers if f"municipality={CHIZU}" in href)
        assert chizu.startswith("2") and words in chizu
        # Drawn where the town is.
        town = Municipality.objects.get(code=HIDA)
        x, y = maps.project(town.longitude, town.latitude)
        assert f'cx="{round(x, 1)}" cy="{round(y, 1)}"' in svg
        # The same in words under the map, and no tile left.
        assert "古民家の大掃除" in html[html.index('class="map-places"') :]
        assert "tile-map" not in html


def test_dense_towns_are_clustered_and_the_cluster_links_to_its_list():
    # 高山市 and 飛騨市 are neighbours: one marker on the whole map of Japan.
    published_task(HIDA, title="古民家の大掃除")
    published_task("212032", title="朝市の手伝い")  # 高山市
    html = page(Client(), "/tasks/map/")
    markers = re.findall(
        r'<a class="map-marker map-cluster" href="(#map-place-\d+)" aria-label="([^"]+)">', html
    )
    assert len(markers) == 1
    anchor, label = markers[0]
    assert label.startswith("2 件：")
    entry = re.search(rf'<li id="{anchor[1:]}">(.*?)</li>', html, re.S).group(1)
    assert f"municipality={HIDA}" in entry and "municipality=212032" in entry


def test_the_outline_holds_most_municipalities_in_their_own_prefecture():
    outlines = maps.outlines()
    inside = 0
    towns = list(Municipality.objects.values_list("prefecture_id", "longitude", "latitude"))
    for prefecture, longitude, latitude in towns:
        inside += outlines[prefecture].contains(*maps.project(longitude, latitude))
    assert inside / len(towns) > 0.9
    hida = Municipality.objects.get(code=HIDA)
    assert outlines["21"].contains(*maps.project(hida.longitude, hida.latitude))


def test_clusters_merge_near_points_and_keep_far_ones_apart():
    markers = maps.cluster([(10, 10, 1, "a"), (12, 11, 2, "b"), (100, 100, 1, "c")], radius=14)
    assert [(m.count, sorted(m.items)) for m in markers] == [(3, ["a", "b"]), (1, ["c"])]
    assert markers[0].x == pytest.approx((10 + 24) / 3)
