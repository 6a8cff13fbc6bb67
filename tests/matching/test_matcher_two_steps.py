"""The two-step ranking of a task's people (``matcher.task_rank``) stores the same matches
as scoring every candidate in full (``matcher.task_rank_exhaustive``, the matcher as it
was): the same people in the same order, with the same scores, reasons and distances,
ties included, whatever the number of matches kept.

On a population made by the project's own generator (people with registrations with towns
and prefectures, a board with past sign-ups and attendance), plus people made to sit on the
bar: accounts closed among the best, people signed up already, the host, the too young,
and people alike in everything but their id.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.test import override_settings

from accounts.models import User
from matching import services
from matching.matcher import task_rank, task_rank_exhaustive
from matching.models import Match, Reason
from places.models import Municipality
from registry import flags
from registry import services as registry_services
from registry.models import AvailableDays, Category, Month, Profile, Skill
from tests.matching.support import (
    CHIZU,
    HIDA,
    host_of,
    make_task,
    published_task,
    register,
    resident,
    staff_of,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("clock"),
    pytest.mark.xdist_group("population"),
]

TOTTORI = "312011"  # 鳥取市, 26 km from 智頭町


def stored(task) -> list[tuple]:
    return list(
        Match.objects.filter(task=task)
        .order_by("-score", "person_id")
        .values_list("person_id", "score", "reasons", "distance_km")
    )


def both(task, wave: int = 1) -> tuple[list[tuple], list[tuple]]:
    """The matches each ranking stores for ``task`` from none: scoring everyone, then in
    two steps. (The clock stands still, so a ranking would not replace its own earlier
    matches: each starts from none.)"""
    results = []
    for rank in (task_rank_exhaustive, task_rank):
        Match.objects.filter(task=task).delete()
        count = rank(task, wave=wave)
        results.append(stored(task))
        assert count == len(results[-1])
    return results[0], results[1]


@pytest.fixture
def generated() -> None:
    """1,500 generated people and a board of 200 tasks with their sign-ups."""
    with override_settings(DEMO_CONTENT_ALLOWED=True):
        out = io.StringIO()
        call_command("generate_population", people=1_500, seed=7, verbosity=0, stdout=out)
        call_command("generate_board", tasks=200, signups=2_500, seed=7, verbosity=0, stdout=out)


def most_populous() -> str:
    """The municipality most generated people live in."""
    return (
        Profile.objects.values("home_municipality_id")
        .annotate(n=Count("user_id"))
        .order_by("-n", "home_municipality_id")[0]["home_municipality_id"]
    )


@pytest.mark.slow  # a generated population, 32 comparisons: about 10 s
def test_two_steps_rank_the_generated_population_as_scoring_everyone(generated, settings):
    dense = most_populous()
    tasks = [
        published_task(dense, category="farming", skills=flags.mask_of(Skill, ["cooking"])),
        published_task(dense, category="festivals", minimum_age=20),
        published_task(HIDA, category="disaster"),
        published_task(CHIZU, category="tourism", is_online=True),
    ]
    # Some of the best close their account, and a few sign up for the first task.
    leaders = [person for person, *_ in both(tasks[0])[0]]
    User.objects.filter(pk__in=leaders[:12:3]).update(is_active=False)
    for person in User.objects.filter(pk__in=leaders[20:23]):
        services.signup_create(session=tasks[0].sessions.get(), person=person)

    compared = ties = 0
    for limit in (1, 6, 40, 500):
        settings.MATCHING_MATCHES_PER_TASK = limit
        for task in tasks:
            for wave in (1, 2):
                everyone, two_steps = both(task, wave)
                assert two_steps == everyone, (task.municipality_id, limit, wave)
                compared += bool(everyone)
                scores = [score for _person, score, *_ in everyone]
                ties += len(set(scores)) < len(scores)
    assert compared >= 30 and ties >= 10  # the comparisons found people, and ties among them
    # Those left out are left out of both.
    left_out = set(leaders[:12:3]) | set(leaders[20:23])
    assert not Match.objects.filter(task=tasks[0], person_id__in=left_out).exists()


def alike(count: int, *, registered: bool = True, **profile) -> list[User]:
    """``count`` people alike in all but their id, living in 鳥取市 (near 智頭町) and, if
    ``registered``, registered with another town of 鳥取県."""
    people = []
    for _ in range(count):
        person = resident(TOTTORI)
        registry_services.profile_update(user=person, **profile)
        if registered:
            register(person, "313025")  # 岩美町
        people.append(person)
    return people


def test_ties_on_the_bar_go_to_the_same_people_with_the_same_reasons(settings):
    """Twelve people whose registration with the prefecture (a probe of step 2) lifts them
    to the score of five others who have a useful skill (known in step 1) and are newer:
    with five matches kept, both rankings store the registrant and the four lowest ids of
    the twelve, with the same reasons; the weaker are left out, and so are the host, the
    too young and a closed account."""
    farming = flags.mask_of(Category, ["farming"])
    farmwork = flags.mask_of(Skill, ["farmwork"])
    free = {
        "available_days": flags.full_mask(AvailableDays),
        "available_months": flags.full_mask(Month),
    }
    twelve = alike(12, interests=farming, **free)
    skilled = alike(5, registered=False, interests=farming, skills=farmwork, **free)
    weak = alike(3, registered=False)
    (registrant,) = alike(1, registered=False, interests=farming)
    register(registrant, CHIZU)
    (young,) = alike(1, registered=False, interests=farming, birth_year=2015, **free)
    (closed,) = alike(1, interests=farming, **free)
    User.objects.filter(pk=closed.pk).update(is_active=False)
    host = host_of(CHIZU)
    registry_services.profile_update(
        user=host,
        home_municipality=Municipality.objects.get(code=TOTTORI),
        birth_year=1980,
        interests=farming,
    )
    task = make_task(host, CHIZU, category="farming", skills=farmwork, minimum_age=18)
    services.task_submit(task=task, actor=host)
    task = services.task_publish(task=task, actor=staff_of(CHIZU))

    settings.MATCHING_MATCHES_PER_TASK = 5
    everyone, two_steps = both(task)
    assert two_steps == everyone
    assert [person for person, *_ in everyone] == [registrant.pk] + [p.pk for p in twelve[:4]]
    assert Reason.REGISTERED in Reason(everyone[0][2])
    tied = Reason(everyone[1][2])
    assert {Reason.PREFECTURE_REGISTERED, Reason.NEAR, Reason.INTEREST} <= set(tied)

    settings.MATCHING_MATCHES_PER_TASK = 500
    everyone, two_steps = both(task)
    assert two_steps == everyone
    scores = {person: score for person, score, *_ in everyone}
    assert set(scores) == {p.pk for p in [*twelve, *skilled, registrant]}
    assert scores[twelve[0].pk] == scores[skilled[0].pk]  # the tie
    # Below the least score (the weak), or left out (the host, the too young, a closed account).
    assert not set(scores) & {p.pk for p in [*weak, host, young, closed]}

    # Most of the best close their account: the two steps read everyone else's too.
    settings.MATCHING_MATCHES_PER_TASK = 5
    User.objects.filter(pk__in=[p.pk for p in [*twelve[:11], *skilled[:4]]]).update(is_active=False)
    everyone, two_steps = both(task)
    assert two_steps == everyone
    assert [person for person, *_ in everyone] == [registrant.pk, twelve[11].pk, skilled[4].pk]
