"""The profile's town picker keeps what was typed (issue 19): its search and its matches are
buttons of the profile form itself, so a search, a pick or an error shows the form again with
everything the person typed, and nothing is saved until they save."""

from __future__ import annotations

import re

import pytest

from registry.models import Profile
from tests.factories import UserFactory, client_for
from tests.support import CHIZU, HIDA, SETAGAYA, errors_of

pytestmark = pytest.mark.django_db

TYPED = {
    "family_name": "佐藤",
    "given_name": "美咲",
    "family_name_kana": "サトウ",
    "given_name_kana": "ミサキ",
    "home": "",
    "birth_year": "1988",
    "gender": "",
    "interests": ["farming", "digital"],
    "skills": ["web"],
    "available_days": ["weekends"],
    "available_months": ["5"],
    "languages": ["ja"],
    "next": "/me/",
}


def _value_of(html: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if found is None:
        return None
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def _checked(html: str, name: str) -> set[str]:
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return {re.search(r'value="([^"]*)"', tag).group(1) for tag in inputs if " checked" in tag}


def _assert_kept(html: str) -> None:
    assert _value_of(html, "family_name") == "佐藤"
    assert _value_of(html, "given_name_kana") == "ミサキ"
    assert _value_of(html, "birth_year") == "1988"
    assert _checked(html, "interests") == {"farming", "digital"}
    assert _checked(html, "available_days") == {"weekends"}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_search_shows_the_form_again_as_typed_and_saves_nothing(language):
    person = UserFactory(family_name="", given_name="")
    me = client_for(person, language)
    response = me.post("/me/profile/", {**TYPED, "q": "ひだし", "action": "search"})
    assert response.status_code == 200
    html = response.content.decode()
    _assert_kept(html)
    assert _value_of(html, "q") == "ひだし"  # the search box keeps its query
    assert f'name="pick_home" value="{HIDA}"' in html
    assert errors_of(html) == [] and 'class="error-summary"' not in html
    assert not Profile.objects.filter(user=person, home_municipality__isnull=False).exists()


def test_picking_a_match_fills_the_home_and_keeps_the_rest():
    person = UserFactory(family_name="", given_name="")
    me = client_for(person)
    response = me.post("/me/profile/", {**TYPED, "q": "ひだし", "pick_home": HIDA})
    html = response.content.decode()
    assert response.status_code == 200
    _assert_kept(html)
    assert _value_of(html, "home") == HIDA
    assert 'class="error-summary"' not in html
    # Then saving stores all of it.
    response = me.post("/me/profile/", {**TYPED, "home": HIDA, "action": "save"})
    assert response.status_code == 302, errors_of(response.content.decode())
    person.refresh_from_db()
    assert person.family_name == "佐藤"
    assert Profile.objects.get(user=person).home_municipality_id == HIDA


def test_after_an_error_the_form_and_the_search_keep_what_was_typed():
    me = client_for(UserFactory())
    response = me.post("/me/profile/", {**TYPED, "home": "どこにもない町", "q": "ちづ"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in html
    _assert_kept(html)
    assert _value_of(html, "home") == "どこにもない町"
    assert _value_of(html, "q") == "ちづ"
    assert f'name="pick_home" value="{CHIZU}"' in html  # its matches are shown as well


def test_the_enter_key_searches_a_new_query_and_otherwise_saves():
    person = UserFactory()
    me = client_for(person)
    # Enter in the search box with a query not searched yet: a search.
    html = me.post("/me/profile/", {**TYPED, "q": "ちづ", "action": "enter"}).content.decode()
    assert f'name="pick_home" value="{CHIZU}"' in html
    assert _value_of(html, "searched") == "ちづ"
    # Enter again (in any box) with that same query already shown: a save.
    response = me.post(
        "/me/profile/",
        {**TYPED, "home": SETAGAYA, "q": "ちづ", "searched": "ちづ", "action": "enter"},
    )
    assert response.status_code == 302
    assert Profile.objects.get(user=person).home_municipality_id == SETAGAYA


def test_the_query_string_search_and_pick_still_work():
    me = client_for(UserFactory())
    html = me.get("/me/profile/", {"q": "ひだし"}).content.decode()
    assert f'name="pick_home" value="{HIDA}"' in html and _value_of(html, "q") == "ひだし"
    assert _value_of(me.get("/me/profile/", {"home": HIDA}).content.decode(), "home") == HIDA
