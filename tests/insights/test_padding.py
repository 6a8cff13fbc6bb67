"""Padding a town of one registrant (Done-when 5 of issue 14), the published basis, and one
rebuild at a time.

白川村 had one registrant; nine made-up accounts registered there showed 10 registrations and
the breakdowns gave that person away. Published figures now count only registrations
INSIGHTS_SETTLE_DAYS old of people whose e-mail address is verified, and under a hidden total
every part is hidden, zeros included. Here the town is padded with nine accounts of each kind
the rule leaves out — verified ones registered today, and old registrations of accounts
never verified — and everything 岐阜県's staff may read (the national, prefecture and town
pages, as JSON, CSV and HTML) is compared with what it showed before the padding, and proved
by exact elimination (``test_disclosure``'s reader) to fix none of the hidden figures.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import threading

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from demo.population import population_generate
from insights import services
from insights.locks import REBUILD_KEY
from insights.models import Count, Published, State
from insights.tasks import counts_rebuild_task
from places.models import Municipality, Prefecture
from registry import services as registry
from registry.models import Registration
from tests.factories import client_for, person_with_role
from tests.insights.test_disclosure import Reader, leaks, pages
from tests.support import HIDA, api_as, register, resident

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.xdist_group("insights-padding"), pytest.mark.usefixtures("clock")]

GIFU = "21"
SAPPORO = "011002"  # 札幌市 (北海道): where the lone registrant lives, far from everyone else
BREAKDOWNS = ("tiers", "visiting", "types", "home_regions", "origins", "genders", "age_bands")
SETTLE_DAYS = 7
LONG_AGO = datetime.timedelta(days=30)


def aged(registration: Registration, by: datetime.timedelta = LONG_AGO) -> None:
    """Made ``by`` before now (the rebuild counts the registry's rows as they are)."""
    Registration.objects.filter(pk=registration.pk).update(
        registered_at=registration.registered_at - by
    )


def published(api, town: str) -> dict[str, object]:
    """Everything the reader may fetch of the town, its prefecture and the nation: every
    dashboard as JSON (the nation by day and by month) and every table as CSV."""
    found: dict[str, object] = {}
    for path in (
        "/api/stats/national/?period=day",
        "/api/stats/national/",
        f"/api/stats/prefectures/{GIFU}/",
        f"/api/stats/municipalities/{town}/",
    ):
        response = api.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        body = response.json()
        body.pop("as_of")  # when it was published: the one thing a publication always moves
        found[path] = body
        if "period=" in path:
            continue
        for table in body["tables"]:
            csv_path = f"{path}{table['name']}/?format=csv"
            response = api.get(csv_path)
            assert response.status_code == 200, csv_path
            found[csv_path] = response.content.decode("utf-8-sig")
    return found


def town_page_cells(client, town: str) -> dict[str, list[str]]:
    """The figures of the town's HTML page, by table: each cell's text ("x" where hidden)."""
    response = client.get(f"/stats/municipalities/{town}/")
    assert response.status_code == 200
    html = response.content.decode()
    found = {}
    for name in (*BREAKDOWNS, "series", "funnel"):
        section = html.split(f'id="table-{name}"', 1)[1].split("</section>", 1)[0]
        found[name] = re.findall(r'<td class="num">(.*?)</td>', section, flags=re.S)
    # The summary is a list: the town's registrations and people.
    found["summary"] = [
        re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", html, flags=re.S).group(1)
        for label in ("登録数（延べ）", "登録者数（実人数）")
    ]
    return {
        name: [re.sub(r"<[^>]+>|（秘匿）", "", cell).strip() for cell in cells]
        for name, cells in found.items()
    }


@pytest.fixture
def gifu_world(settings):
    """Two thousand generated people (their addresses verified, their registrations over
    three years), and one real registrant in a town of 岐阜県 nobody else registered with: she
    lives in 札幌市, says her gender is "other", registered a month ago."""
    settings.DEMO_CONTENT_ALLOWED = True
    settings.INSIGHTS_SETTLE_DAYS = SETTLE_DAYS
    settings.INSIGHTS_MIN_CELL = 10
    population_generate(people=2000, seed=61)
    towns = Municipality.objects.filter(prefecture_id=GIFU).exclude(
        code__in=Registration.objects.values("municipality_id")
    )
    town = towns.filter(name="白川村").first() or towns.order_by("code").first()
    lone = resident(home=SAPPORO, birth_year=1950)
    registry.profile_update(user=lone, gender="other")
    registration = register(lone, town.code)
    aged(registration)
    call_command("stats_rebuild", "--publish")
    staff = person_with_role(Role.PREFECTURE_STAFF, GIFU)
    return town.code, staff


def assert_nothing_of_the_town_shows(api, client, town: str) -> None:
    found = published(api, town)
    tables = {t["name"]: t for t in found[f"/api/stats/municipalities/{town}/"]["tables"]}
    # A breakdown under a hidden total shows no zero: every part is hidden, on every page.
    for name in (*BREAKDOWNS, "series", "funnel"):
        values = [v for row in tables[name]["rows"] for v in row["values"].values()]
        assert values and all(v is None for v in values), (name, tables[name]["rows"])
        text = found[f"/api/stats/municipalities/{town}/{name}/?format=csv"]
        rows = list(csv.reader(io.StringIO(text)))[1:]  # key, label, the figures
        assert rows and all(cell == "x" for row in rows for cell in row[2:]), (name, rows)
    summary = {row["key"]: row["values"]["value"] for row in tables["summary"]["rows"]}
    assert summary["registrations"] is None and summary["people"] is None
    for name, cells in town_page_cells(client, town).items():
        assert cells and set(cells) == {"x"}, (name, cells)


def assert_no_hidden_figure_is_determined(api) -> None:
    """Exact elimination over every relation a reader of 岐阜県's pages knows."""
    national, prefecture, towns = pages(api, GIFU)
    reader = Reader(
        national,
        prefecture,
        towns,
        region_of=dict(Prefecture.objects.values_list("code", "region")),
    )
    admin = api_as(person_with_role(Role.NATIONAL_ADMIN))
    truth = Reader(
        *pages(admin, GIFU), region_of=dict(Prefecture.objects.values_list("code", "region"))
    ).unknowns_solved()
    found = leaks(reader, truth)
    assert not found, f"{len(found)} suppressed figures can be worked out: {found[:20]}"


@pytest.mark.slow  # a rebuild of Gifu and its towns, twice: over 30 s each
@pytest.mark.django_db
@pytest.mark.parametrize("padding", ["verified, registered today", "old, never verified"])
def test_nine_padding_accounts_tell_nothing_of_a_towns_lone_registrant(gifu_world, padding):
    town, staff = gifu_world
    api, client = api_as(staff), client_for(staff)
    # Before the padding: her town's total is hidden, and so is every part of it — no zero
    # beside it tells her gender, tier, type or home region.
    assert_nothing_of_the_town_shows(api, client, town)
    before = published(api, town)

    for n in range(9):  # men of 岐阜市, basic, unlike her
        if padding.startswith("verified"):
            fake = resident(home="212016")
            assert EmailAddress.objects.filter(user=fake, verified=True).exists()
            register(fake, town)
        else:
            fake = resident(home="212016", verified=False)
            aged(register(fake, town), LONG_AGO + datetime.timedelta(days=n))
        registry.profile_update(user=fake, gender="male")
    services.counts_update()
    call_command("stats_rebuild", "--publish")

    # Counted for the national administrator (everything, live): ten in the town.
    assert Count.objects.get(area=f"M{town}", measure="reg", key="").value == 10
    # Published: nothing moved, on any page, table, JSON or CSV; the town's figures are
    # all hidden; and no hidden figure can be worked out from all that is shown.
    assert published(api, town) == before
    assert_nothing_of_the_town_shows(api, client, town)
    assert_no_hidden_figure_is_determined(api)


@pytest.mark.django_db
def test_the_published_figures_follow_settling_and_verification_without_any_event(settings):
    """A registration settles by the passage of time and a person is verified in allauth's
    table; neither is in the registry's change feed. The next publication (daily, even with
    no count changed) counts them; the administrator's counts never left them out."""
    settings.INSIGHTS_SETTLE_DAYS = SETTLE_DAYS
    settings.INSIGHTS_PUBLISH_SECONDS = 24 * 60 * 60
    unverified = [resident(verified=False) for _n in range(12)]
    for person in unverified:
        aged(register(person, HIDA))
    recent = [resident() for _n in range(12)]
    for person in recent:
        aged(register(person, "212032"), datetime.timedelta(days=SETTLE_DAYS - 1))
    services.counts_rebuild(publish=True)

    def figure(area: str) -> int | None:
        row = Published.objects.filter(area=area, measure="reg", key="").first()
        return 0 if row is None else row.value

    assert Count.objects.get(area=f"M{HIDA}", measure="reg", key="").value == 12
    assert Count.objects.get(area="M212032", measure="reg", key="").value == 12
    assert figure(f"M{HIDA}") == 0 and figure("M212032") == 0 and figure("JP") == 0

    # They confirm their addresses (allauth marks them verified); a day passes, so the six-day
    # old registrations are seven days old (the period shortened by a day is the same cut).
    EmailAddress.objects.bulk_create(
        EmailAddress(user=p, email=p.email, verified=True, primary=True) for p in unverified
    )
    settings.INSIGHTS_SETTLE_DAYS = SETTLE_DAYS - 1
    assert services.counts_update() == {"registrations": 0, "board": 0, "published": False}
    State.objects.update(published_as_of=timezone.now() - datetime.timedelta(days=1))
    assert services.counts_update()["published"] is True
    assert figure(f"M{HIDA}") == 12 and figure("M212032") == 12 and figure("JP") == 24
    # The rebuild publishes the same.
    services.counts_rebuild(publish=True)
    assert figure(f"M{HIDA}") == 12 and figure("JP") == 24


@pytest.mark.django_db(transaction=True)
def test_two_rebuilds_at_once_the_second_is_told_one_is_running(municipalities):
    """One rebuild runs (held inside its lock by a transaction keeping the state row); the
    command and the nightly task started meanwhile are refused at once, count nothing and say
    why; once it has finished, the next rebuild runs."""
    register(resident(), HIDA)
    services.counts_rebuild()
    register(resident(), HIDA)  # counted by the rebuild only
    held, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def hold_the_state_row() -> None:
        try:
            with transaction.atomic():
                State.objects.select_for_update().get(id=1)
                held.set()
                release.wait(60)
        finally:
            connection.close()

    def first_rebuild() -> None:
        try:
            results["first"] = services.counts_rebuild()
        except Exception as error:  # reported by the assertion below
            results["first"] = error
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_state_row)
    holder.start()
    first = threading.Thread(target=first_rebuild)
    try:
        assert held.wait(30)
        first.start()
        # Wait until the first rebuild holds the rebuild's lock (and waits for the row).
        for _attempt in range(600):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = 0 AND objid = %s AND database = ("
                    "SELECT oid FROM pg_database WHERE datname = current_database())",
                    [REBUILD_KEY],
                )
                if cursor.fetchone()[0]:
                    break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the first rebuild never took its lock")
        with pytest.raises(CommandError, match="Another rebuild of the statistics is running"):
            call_command("stats_rebuild")
        assert counts_rebuild_task.apply().get() == {"skipped": "another rebuild is running"}
        assert Count.objects.get(area=f"M{HIDA}", measure="reg", key="").value == 1
    finally:
        release.set()
        holder.join(60)
        first.join(120)
    assert isinstance(results["first"], dict), results["first"]
    assert Count.objects.get(area=f"M{HIDA}", measure="reg", key="").value == 2
    out = io.StringIO()
    call_command("stats_rebuild", stdout=out)  # the lock was let go
    assert "2 registrations counted" in out.getvalue()
