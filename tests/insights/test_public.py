"""Published statistics answered from the cache of the publication (issue 18): the nation's
page and the public API read the page the publication wrote, carry the publication's
version as their ETag, answer 304 to a repeat, and show a new publication on the very next
request; signed-in viewers are answered live and never from a shared cache."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from accounts.models import Role
from insights import services
from insights.models import Page, State
from tests.factories import client_for, person_with_role
from tests.support import HIDA, api_as, register, resident

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _cache():
    cache.clear()


def nation_registrations(client: Client) -> int:
    data = client.get("/api/stats/national/").json()
    summary = next(t for t in data["tables"] if t["name"] == "summary")
    return next(r for r in summary["rows"] if r["key"] == "registrations")["values"]["value"]


def test_a_new_publication_is_on_the_very_next_request_and_a_repeat_is_not_modified(settings):
    settings.INSIGHTS_MIN_CELL = 1  # small figures shown: the test reads them
    for _ in range(3):
        register(resident(), HIDA)
    services.counts_rebuild(publish=True)
    assert Page.objects.filter(key="JP:month").exists()
    version = State.now().published_version

    client = Client()
    first = client.get("/stats/")
    etag = first["ETag"]
    assert first.status_code == 200 and str(version) in etag
    assert first["Cache-Control"] == "private, no-cache"
    assert "3" in first.content.decode()
    repeat = client.get("/stats/", HTTP_IF_NONE_MATCH=etag)
    assert repeat.status_code == 304 and repeat["ETag"] == etag
    # Another visitor (another form token): the same figures, their own token, no 304 on
    # someone else's validator.
    other = Client()
    again = other.get("/stats/", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200
    assert TOKEN.search(again.content.decode()).group(1) != "insights-csrf-token-placeholder"

    api = api_as(None)
    answered = api.get("/api/stats/national/")
    assert answered["Cache-Control"] == "public, no-cache"
    assert nation_registrations(api) == 3
    assert api.get("/api/stats/national/", HTTP_IF_NONE_MATCH=answered["ETag"]).status_code == 304

    register(resident(), HIDA)
    with override_settings(INSIGHTS_PUBLISH_SECONDS=24 * 60 * 60):
        services.counts_update()  # counted, not yet published: the same version and page
    assert nation_registrations(api) == 3
    assert client.get("/stats/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.counts_update()  # published (the tests publish at every update)
    assert State.now().published_version != version
    fresh = client.get("/stats/", HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    assert nation_registrations(api) == 4
    assert api.get("/api/stats/national/", HTTP_IF_NONE_MATCH=answered["ETag"]).status_code == 200


def test_the_language_switch_of_a_cached_page_works_for_each_visitor():
    register(resident(), HIDA)
    services.counts_rebuild(publish=True)
    for _ in range(2):
        client = Client(enforce_csrf_checks=True)
        page = client.get("/stats/")
        token = TOKEN.search(page.content.decode()).group(1)
        switched = client.post("/i18n/setlang/", {"language": "en", "csrfmiddlewaretoken": token})
        assert switched.status_code == 302
        english = client.get("/stats/")
        assert english["Content-Language"] == "en" and english["ETag"] != page["ETag"]
        assert 'lang="en"' in english.content.decode()


def test_signed_in_viewers_are_answered_live_and_kept_by_no_cache(settings):
    register(resident(), HIDA)
    services.counts_rebuild(publish=True)
    admin = client_for(person_with_role(Role.NATIONAL_ADMIN))
    for client in (admin, client_for(resident())):
        response = client.get("/stats/")
        assert "ETag" not in response
        assert "no-store" in response["Cache-Control"]
    api = api_as(person_with_role(Role.NATIONAL_ADMIN))
    answered = api.get("/api/stats/national/")
    assert "ETag" not in answered and "no-store" in answered["Cache-Control"]
    # The administrator's counts move at the update, before any publication.
    register(resident(), HIDA)
    services.counts_update()
    assert nation_registrations(api) == 2
