"""``/api/notification-preferences/``: per topic, how the inbox and e-mail receive it, and
the language of e-mail. A change names only what it changes; bad input is refused whole, in
the API's one error format and the reader's language, and changes nothing."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from notifications.errors import NotificationsCode
from notifications.models import Preference, Topic
from tests.support import api_as, error_of, resident

pytestmark = pytest.mark.django_db

URL = "/api/notification-preferences/"
HIRAGANA = re.compile("[\u3041-\u309f]")


@pytest.fixture
def person() -> User:
    return resident()


def rows_of(body: dict) -> dict[str, dict[str, str]]:
    return {
        row["topic"]: {"inbox": row["inbox"], "email": row["email"]} for row in body["preferences"]
    }


def state(person: User) -> tuple[list, str]:
    """What a refused change must leave as it was."""
    person.refresh_from_db()
    rows = list(
        Preference.objects.filter(person=person).values_list("topic", "channel", "frequency")
    )
    return sorted(rows), person.language


def test_every_topic_is_shown_with_its_default(person):
    response = api_as(person).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "ja"
    assert body["match_weekly_cap"] == 3
    assert [row["topic"] for row in body["preferences"]] == list(Topic.values)
    assert rows_of(body) == {
        topic: {"inbox": "immediately", "email": "immediately"} for topic in Topic.values
    }
    labels = {row["topic"]: row["topic_label"] for row in body["preferences"]}
    assert labels["matches"] == "あなたに合う新しいお手伝い"
    assert not Preference.objects.exists()  # reading writes nothing


def test_a_patch_changes_only_the_rows_and_fields_it_names(person):
    api = api_as(person)
    response = api.patch(
        URL,
        {
            "language": "en",
            "preferences": [
                {"topic": "matches", "email": "daily"},
                {"topic": "reminders", "inbox": "never", "email": "weekly"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200
    rows = rows_of(response.json())
    assert rows["matches"] == {"inbox": "immediately", "email": "daily"}
    assert rows["reminders"] == {"inbox": "never", "email": "weekly"}
    untouched = {t: r for t, r in rows.items() if t not in ("matches", "reminders")}
    assert set(map(tuple, map(dict.values, untouched.values()))) == {("immediately", "immediately")}
    assert response.json()["language"] == "en"
    assert state(person) == (
        [
            ("matches", "email", "daily"),
            ("reminders", "email", "weekly"),
            ("reminders", "inbox", "never"),
        ],
        "en",
    )

    # A second change leaves the first as it was, and the language when not named.
    response = api.patch(
        URL, {"preferences": [{"topic": "matches", "inbox": "never"}]}, format="json"
    )
    assert rows_of(response.json())["matches"] == {"inbox": "never", "email": "daily"}
    assert api.get(URL).json() == response.json()
    assert state(person)[1] == "en"

    # PUT takes the same shape.
    response = api.put(URL, {"language": "ja"}, format="json")
    assert response.status_code == 200
    assert state(person)[1] == "ja"
    assert rows_of(response.json())["matches"] == {"inbox": "never", "email": "daily"}


BAD = {
    "unknown topic": ({"preferences": [{"topic": "gossip", "email": "never"}]}, "preferences"),
    "a digest for the inbox": (
        {
            "preferences": [
                {"topic": "signups", "email": "never"},  # fine, yet not applied either
                {"topic": "matches", "inbox": "daily"},
            ]
        },
        "matches.inbox",
    ),
    "unknown frequency": (
        {"preferences": [{"topic": "matches", "email": "sometimes"}]},
        "preferences",
    ),
    "unknown language": ({"language": "fr"}, "language"),
    "not a list": ({"preferences": {"topic": "matches"}}, "preferences"),
}


# The code of each refusal: the serializer's own for what it refuses, the service's for what
# only the service knows is not offered.
CODE_OF_BAD = {"a digest for the inbox": NotificationsCode.FREQUENCY_NOT_OFFERED}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_refused_in_japanese_and_changes_nothing(person, case):
    body, field = BAD[case]
    before = state(person)
    error = error_of(
        api_as(person).patch(URL, body, format="json"), 400, CODE_OF_BAD.get(case, "invalid")
    )
    assert field in error["fields"]
    assert HIRAGANA.search(error["message"]), error["message"]
    assert state(person) == before


@pytest.mark.parametrize(
    "case", ["a digest for the inbox", "unknown frequency", "unknown language"]
)
def test_bad_input_is_refused_in_english_for_english_readers(person, case):
    body, field = BAD[case]
    before = state(person)
    error = error_of(
        api_as(person, "en").patch(URL, body, format="json"), 400, CODE_OF_BAD.get(case, "invalid")
    )
    assert field in error["fields"]
    for message in [error["message"], *error["fields"][field]]:
        assert not HIRAGANA.search(str(message)), message
    assert state(person) == before


def test_the_inbox_digest_message_names_the_choices(person):
    body, _field = BAD["a digest for the inbox"]
    error = error_of(api_as(person).patch(URL, body, format="json"), 400, "frequency_not_offered")
    assert error["fields"]["matches.inbox"] == [
        "サイト内のお知らせは「すぐに」か「受け取らない」から選んでください。"
    ]


def test_a_body_that_is_not_json_is_refused_clearly(person):
    before = state(person)
    response = api_as(person).generic(
        "PATCH", URL, '{"language": "en",', content_type="application/json"
    )
    error = error_of(response, 400, "parse_error")
    assert error["message"] == (
        "リクエストの本文を読み取れませんでした。JSON の形式を確認してください。"
    )
    assert state(person) == before


@pytest.mark.parametrize("method", ["get", "patch", "put"])
def test_preferences_need_an_account(method):
    response = getattr(api_as(None), method)(URL, {"language": "en"}, format="json")
    error_of(response, 401, "not_authenticated")
