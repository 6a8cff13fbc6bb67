"""The site's menu (issue 19): at most six top-level items, a person menu and a staff menu
as disclosures, the staff's link to their own figures, the same header for every anonymous
visitor, and the framework's messages as a list inside a status region."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import Role
from accounts.services import membership_grant
from accounts.templatetags.accounts_tags import menu_for
from places.models import Prefecture
from tests.factories import UserFactory, client_for, person_with_role
from tests.support import CHIZU, HIDA, messages_of, page

pytestmark = pytest.mark.django_db

PERSON_MENU = [
    "/me/",
    "/tasks/for-you/",
    "/me/signups/",
    "/notifications/settings/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/2fa/",
    "/accounts/logout/",
]


def header_of(html: str) -> str:
    return html.split("<header", 1)[1].split("</header>", 1)[0]


def wide_row(html: str) -> str:
    """The top-level list of wide screens (the phone's list holds the same links)."""
    return re.search(r'<ul class="nav nav-wide">.*?\n  </ul>', header_of(html), re.S).group(0)


def top_level_items(html: str) -> int:
    """Items of the wide row, not counting those inside its disclosures."""
    row = re.sub(r'<ul class="menu-panel">.*?</ul>', "", wide_row(html), flags=re.S)
    return row.count("<li>")


def test_the_person_menu_holds_the_account_links():
    menu = menu_for(UserFactory())
    assert [item.url for item in menu.person] == PERSON_MENU
    assert menu.staff == [] and menu.top_level_count == 5
    assert [item.kind for item in menu.person][-1] == "logout"


@pytest.mark.parametrize(
    ("role", "where", "statistics"),
    [
        (Role.MUNICIPALITY_EDITOR, HIDA, f"/stats/municipalities/{HIDA}/"),
        (Role.MUNICIPALITY_ADMIN, CHIZU, f"/stats/municipalities/{CHIZU}/"),
        (Role.PREFECTURE_STAFF, "21", "/stats/prefectures/21/"),
        (Role.NATIONAL_ADMIN, None, "/stats/"),
    ],
)
def test_the_staff_menu_links_to_the_staff_members_own_figures(role, where, statistics):
    staff = person_with_role(role, where)
    menu = menu_for(staff)
    assert [item.url for item in menu.staff] == ["/staff/", statistics]
    assert menu.top_level_count == 6
    html = page(client_for(staff), "/")
    assert top_level_items(html) == 6
    assert f'href="{statistics}"' in wide_row(html)
    assert 'href="/staff/"' in wide_row(html)
    assert html.count('<details class="menu">') == 3  # staff and person; the phone's one
    english = page(client_for(staff, "en"), "/", "en")
    assert "Staff menu" in english and "Account" in english


def test_staff_of_two_areas_see_each_areas_figures_by_name():
    staff = person_with_role(Role.MUNICIPALITY_EDITOR, HIDA)
    membership_grant(
        user=staff, role=Role.PREFECTURE_STAFF, prefecture=Prefecture.objects.get(code="31")
    )
    labels = {item.url: item.label for item in menu_for(staff).staff}
    assert labels == {
        "/staff/": "職員のページ",
        "/stats/prefectures/31/": "鳥取県 の統計",
        f"/stats/municipalities/{HIDA}/": "飛騨市 の統計",
    }


def test_hosts_and_residents_get_no_staff_menu():
    host = person_with_role(Role.HOST, HIDA)
    html = page(client_for(host), "/")
    assert 'href="/staff/"' not in html and top_level_items(html) == 5
    for path in PERSON_MENU:
        assert f'"{path}"' in header_of(html), path


def test_my_sign_ups_and_sign_up_read_apart_in_english():
    html = page(client_for(UserFactory(), "en"), "/", "en")
    assert re.search(r'href="/me/signups/">My sign-ups<', header_of(html))
    anonymous = page(client_for(None, "en"), "/", "en")
    assert re.search(r'href="/accounts/signup/">Sign up<', header_of(anonymous))
    assert "My sign-ups" not in anonymous


def test_every_anonymous_visitor_gets_the_same_header():
    """Anonymous pages are cached whole (core.public_cache): nothing personal in the header."""
    first = header_of(page(Client(), "/tasks/"))
    second = header_of(page(Client(), "/tasks/"))
    assert first == second
    assert "/me/" not in first and "logout" not in first and "csrfmiddlewaretoken" not in first
    row = wide_row(page(Client(), "/"))
    assert top_level_items(page(Client(), "/")) == 5
    assert 'href="/accounts/login/"' in row and 'href="/accounts/signup/"' in row


def test_the_messages_are_a_list_inside_a_status_region():
    me = client_for(UserFactory())
    response = me.post(
        "/me/profile/",
        {"family_name": "佐藤", "given_name": "美咲", "home": HIDA, "birth_year": "1988"},
        follow=True,
    )
    html = response.content.decode()
    region = re.search(
        r'<div role="status">\s*<ul class="messages">(.*?)</ul>\s*</div>', html, re.S
    )
    assert region, "the messages are not a list inside the status region"
    assert messages_of(region.group(0)) == ["プロフィールを保存しました。"]
    assert 'role="status"><li' not in html and '<ul class="messages" role="status">' not in html
