"""Template tags about a person's power: whether to show the staff links, and the site's
menu (``menu_for``), built here in one place for the header of every page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.selectors import StaffScope, staff_scope
from places.models import Municipality, Prefecture

register = template.Library()


@register.filter
def is_staff_member(user) -> bool:
    """Staff of a municipality or prefecture, or a national administrator."""
    return staff_scope(user=user).is_staff


# --- The site's menu -----------------------------------------------------------------------


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    # "link", "button" (a link drawn as a button) or "logout" (a POST form with its token).
    kind: str = "link"


@dataclass(frozen=True)
class Menu:
    """What the header shows: at most six items at the top (the public links, then the
    inbox, the staff menu and the person menu for those signed in; log in and sign up for
    the others). The staff and person menus are disclosures holding their own links."""

    public: list[MenuItem]
    signed_in: bool
    staff: list[MenuItem] = field(default_factory=list)
    person: list[MenuItem] = field(default_factory=list)
    guest: list[MenuItem] = field(default_factory=list)

    @property
    def top_level_count(self) -> int:
        if not self.signed_in:
            return len(self.public) + len(self.guest)
        return len(self.public) + 1 + bool(self.staff) + 1  # the inbox, staff, person menus


def _statistics_items(scope: StaffScope) -> list[MenuItem]:
    """A link to the figures the staff member may see: national administrators the
    country's, prefecture staff their prefecture's, municipality staff their town's. With
    more than one area each link is named after its area (the names read then only)."""
    if scope.national:
        return [MenuItem(_("全国の統計"), reverse("insights:national"))]
    prefectures = sorted(scope.prefecture_codes)
    municipalities = sorted(scope.staff_municipality_codes)
    if len(prefectures) + len(municipalities) == 1:
        if prefectures:
            return [
                MenuItem(
                    _("担当の都道府県の統計"), reverse("insights:prefecture", args=[prefectures[0]])
                )
            ]
        return [
            MenuItem(
                _("担当のまちの統計"), reverse("insights:municipality", args=[municipalities[0]])
            )
        ]
    prefecture_names = dict(
        Prefecture.objects.filter(code__in=prefectures).values_list("code", "name")
    )
    municipality_names = dict(
        Municipality.objects.filter(code__in=municipalities).values_list("code", "name")
    )
    return [
        *(
            MenuItem(
                _("%(name)s の統計") % {"name": prefecture_names.get(code, code)},
                reverse("insights:prefecture", args=[code]),
            )
            for code in prefectures
        ),
        *(
            MenuItem(
                _("%(name)s の統計") % {"name": municipality_names.get(code, code)},
                reverse("insights:municipality", args=[code]),
            )
            for code in municipalities
        ),
    ]


def menu_for(user) -> Menu:
    """The menu of this person. Anonymous visitors all get the same one: their pages are
    cached whole (``core.public_cache``), so nothing personal may enter it."""
    public = [
        MenuItem(_("お手伝いをさがす"), reverse("matching:task_list")),
        MenuItem(_("市区町村をさがす"), reverse("places:municipality_index")),
        MenuItem(_("統計"), reverse("insights:national")),
    ]
    if user is None or not user.is_authenticated:
        return Menu(
            public=public,
            signed_in=False,
            guest=[
                MenuItem(_("ログイン"), reverse("account_login")),
                MenuItem(_("新規登録"), reverse("account_signup"), kind="button"),
            ],
        )
    scope = staff_scope(user=user)
    staff = []
    if scope.is_staff:
        staff = [MenuItem(_("職員のページ"), reverse("registry:staff_home"))]
        staff += _statistics_items(scope)
    person = [
        MenuItem(_("マイページ"), reverse("registry:my_page")),
        MenuItem(_("おすすめ"), reverse("matching:for_you")),
        # "My sign-ups" in English, apart from the "Sign up" button.
        MenuItem(pgettext("menu", "申込"), reverse("matching:my_signups")),
        MenuItem(_("お知らせの設定"), reverse("notifications:settings")),
        MenuItem(_("メールアドレス"), reverse("account_email")),
        MenuItem(_("パスワード変更"), reverse("account_change_password")),
        MenuItem(_("二段階認証"), reverse("mfa_index")),
        MenuItem(_("ログアウト"), reverse("account_logout"), kind="logout"),
    ]
    return Menu(public=public, signed_in=True, staff=staff, person=person)


@register.simple_tag(takes_context=True)
def site_menu(context) -> Menu:
    """``{% site_menu as menu %}``: the menu of the person viewing the page."""
    return menu_for(context.get("user"))
