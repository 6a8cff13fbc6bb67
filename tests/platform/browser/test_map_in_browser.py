"""The board's map of Japan and a prefecture's map in a real browser: drawn from the bundled
outlines with no request leaving the machine, its markers links to the tasks, on a 390 px
phone and at 1280 px. Screenshots are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS
from tests.matching.support import CHIZU, HIDA, published_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("municipalities")]

TAKAYAMA, SAPPORO, NAHA = "212032", "011002", "472018"


@pytest.fixture
def tasks():
    return {
        "hida": published_task(HIDA, title="古民家の大掃除"),
        "takayama": published_task(TAKAYAMA, title="朝市の手伝い"),
        "chizu": published_task(CHIZU, title="棚田の草刈り"),
        "sapporo": published_task(SAPPORO, title="雪まつりの片付け"),
        "naha": published_task(NAHA, title="海岸の清掃"),
    }


def test_the_task_map_is_drawn_offline_with_markers_that_open_the_tasks(live_server, phone, tasks):
    response = phone.page.goto(f"{live_server.url}/tasks/map/")
    assert response.status == 200
    svg = phone.page.locator("svg.japan-map")
    assert svg.locator(".map-land path").count() == 47
    box = svg.bounding_box()
    assert box["width"] > 300 and box["height"] > 300  # drawn, and at a readable size
    markers = svg.locator("a.map-marker")
    # 飛騨市 and 高山市 are one cluster; 智頭町, 札幌市 and 那覇市 each a marker.
    assert markers.count() == 4
    names = [markers.nth(i).get_attribute("aria-label") for i in range(markers.count())]
    texts = [markers.nth(i).locator("text").text_content() for i in range(markers.count())]
    assert all(name.startswith(text) for name, text in zip(names, texts, strict=True))
    assert sorted(texts) == ["1", "1", "1", "2"]
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot("task-map-phone")

    # A marker of one task opens it.
    phone.page.locator("a.map-marker", has_text="1").filter(
        has=phone.page.locator("text")
    ).first.click()
    phone.page.wait_for_load_state()
    assert "/tasks/" in phone.page.url and phone.page.url.rstrip("/").split("/")[-1].isdigit()

    wide = phone.page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        desktop = wide.new_page()
        seen: list[str] = []
        desktop.on("request", lambda request: seen.append(request.url))
        desktop.goto(f"{live_server.url}/tasks/map/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desktop.screenshot(path=str(ARTIFACTS / "task-map-desktop.png"), full_page=True)
        assert [url for url in seen if not url.startswith(live_server.url)] == []
    finally:
        wide.close()
    assert phone.external_requests() == []


def test_a_prefecture_page_shows_its_towns_on_the_map_with_labels(live_server, phone):
    response = phone.page.goto(f"{live_server.url}/prefectures/21/")
    assert response.status == 200
    svg = phone.page.locator("svg.prefecture-map")
    assert svg.locator("path.map-here").count() == 1
    towns = svg.locator("a.map-town")
    assert towns.count() == 42  # 岐阜県's municipalities
    assert svg.locator("a.map-town text", has_text="飛騨市").count() == 1
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot("prefecture-map-gifu")
    assert phone.external_requests() == []


def test_a_town_page_shows_its_tasks_on_a_phone(live_server, phone, tasks):
    response = phone.page.goto(f"{live_server.url}/municipalities/21217/")
    assert response.status == 200 and phone.page.url.endswith(f"/municipalities/{HIDA}/")
    assert phone.page.locator("#town-tasks-heading").count() == 1
    assert phone.page.locator(".task-card", has_text="古民家の大掃除").count() == 1
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot("town-page-hida")
    assert phone.external_requests() == []
