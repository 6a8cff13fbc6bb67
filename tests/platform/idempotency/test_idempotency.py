"""Safe retries (issue 15, Done when 3): a write sent again with its Idempotency-Key (API)
or form token (pages) is answered as the first time and changes nothing more, also when
the first answer was lost after its change committed. On PostgreSQL, with real tokens,
real commits (transactional tests) and threads for the simultaneous retries."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from idempotency.models import IdempotencyKey
from idempotency.tasks import keys_sweep
from matching.models import Signup
from tests.factories import client_for
from tests.matching.support import in_days, published_task, resident
from tests.platform.idempotency.support import LOSE
from tests.support import SIGNUP_DETAILS, SIGNUP_FORM, error_of

# Deadlines, terms and days are counted from a frozen clock (tests/conftest.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]

LOSING = "tests.platform.idempotency.support.LoseTheAnswerMiddleware"


@pytest.fixture
def losing_answers(settings):
    settings.MIDDLEWARE = [LOSING, *settings.MIDDLEWARE]


def api_with_token(user) -> APIClient:
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def signups_url(session) -> str:
    return f"/api/sessions/{session.pk}/signups/"


def test_a_committed_sign_up_whose_answer_was_lost_is_answered_201_on_retry(
    municipalities, losing_answers
):
    session = published_task().sessions.get()
    person = resident()
    api = api_with_token(person)
    key = str(uuid.uuid4())

    lost = api.post(
        signups_url(session),
        {**SIGNUP_DETAILS, "message": "初めてです"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
        **{LOSE: "1"},
    )
    assert lost.status_code == 500  # the client never saw the 201 …
    signup = Signup.objects.get(session=session, person=person)  # … but it committed

    retry = api.post(
        signups_url(session),
        {**SIGNUP_DETAILS, "message": "初めてです"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert retry.status_code == 201, retry.content
    assert retry.json()["id"] == signup.pk
    assert retry.json()["status"] == "confirmed"
    assert retry["Content-Type"] == "application/json"
    assert retry["Idempotent-Replayed"] == "true"
    assert Signup.objects.filter(session=session, person=person).count() == 1
    session.refresh_from_db()
    assert session.taken == 1

    # A new key is a new request: the second sign-up is refused as it always was.
    other = api.post(
        signups_url(session),
        {**SIGNUP_DETAILS, "message": "初めてです"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    error_of(other, 409, "already_signed_up")
    assert "Idempotent-Replayed" not in other
    # So is the retry without a key.
    error_of(
        api.post(signups_url(session), {**SIGNUP_DETAILS, "message": "初めてです"}, format="json"),
        409,
        "already_signed_up",
    )


def test_the_first_answer_is_kept_whatever_it_was_and_a_key_is_for_one_request(municipalities):
    first_session, second_session = (published_task().sessions.get() for _ in range(2))
    api = api_with_token(resident())

    refused = api.post(
        signups_url(first_session),
        {"message": "あ" * 1001},
        format="json",
        HTTP_IDEMPOTENCY_KEY="long-message",
    )
    error_of(refused, 400, "invalid")
    again = api.post(
        signups_url(first_session),
        {"message": "あ" * 1001},
        format="json",
        HTTP_IDEMPOTENCY_KEY="long-message",
    )
    assert again.status_code == 400 and again.content == refused.content
    assert again["Idempotent-Replayed"] == "true"

    done = api.post(
        signups_url(first_session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="one"
    )
    assert done.status_code == 201
    for other in (
        {"path": signups_url(first_session), "data": {**SIGNUP_DETAILS, "message": "別のひとこと"}},
        {"path": signups_url(second_session), "data": SIGNUP_DETAILS},
    ):
        error = error_of(
            api.post(**other, format="json", HTTP_IDEMPOTENCY_KEY="one"),
            422,
            "idempotency_key_reused",
        )
        assert "Idempotency-Key" in error["message"]
    assert not Signup.objects.filter(session=second_session).exists()

    # Another caller's key of the same name is theirs.
    theirs = api_with_token(resident()).post(
        signups_url(second_session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="one"
    )
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs


def test_a_bad_key_is_refused_in_the_error_format(municipalities):
    session = published_task().sessions.get()
    api = api_with_token(resident())
    for key in ("", "キー", "x" * 256, "with space"):
        error_of(
            api.post(signups_url(session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY=key),
            400,
            "invalid_idempotency_key",
        )
    assert not Signup.objects.exists()
    # English where the request asks for it.
    api.credentials(
        HTTP_AUTHORIZATION=api._credentials["HTTP_AUTHORIZATION"], HTTP_ACCEPT_LANGUAGE="en"
    )
    error = error_of(
        api.post(signups_url(session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="キー"),
        400,
        "invalid_idempotency_key",
    )
    assert "Idempotency-Key" in error["message"] and error["message"].isascii()


def test_an_expired_key_is_anyone_s_again_and_swept(municipalities, settings):
    first_session, second_session = (
        published_task(
            sessions=[{"starts_at": in_days(day), "ends_at": in_days(day, 15), "capacity": 5}]
        ).sessions.get()
        for day in (7, 8)
    )
    person = resident()
    api = api_with_token(person)
    assert api.post(
        signups_url(first_session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    row = IdempotencyKey.objects.get(caller=f"user:{person.pk}", key="k")
    assert row.expires_at - row.created_at == datetime.timedelta(hours=24)
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=timezone.now())

    fresh = api.post(
        signups_url(second_session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert Signup.objects.filter(person=person).count() == 2

    IdempotencyKey.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert keys_sweep.apply().get() == 1
    assert not IdempotencyKey.objects.exists()


def test_an_answer_of_500_goes_with_its_change_and_the_retry_runs_anew(municipalities, settings):
    settings.ROOT_URLCONF = "tests.platform.idempotency.failing_urls"
    session = published_task().sessions.get()
    api = api_with_token(resident())
    url = f"/api/test/sessions/{session.pk}/fails/"
    for _ in range(2):
        error_of(api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="k"), 500, "server_error")
        assert not Signup.objects.exists()  # rolled back with the answer that said it failed
        assert not IdempotencyKey.objects.exists()  # nothing kept: the retry runs anew
    # Without a key, as before: the view's change stands whatever it answered.
    error_of(api.post(url, {}, format="json"), 500, "server_error")
    assert Signup.objects.count() == 1


def in_threads(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            results[index] = work(index)
        except Exception as exc:  # reported by the assertions on the results
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_simultaneous_retries_with_one_key_make_one_sign_up_and_get_one_answer(municipalities):
    for _ in range(3):  # one lucky interleaving proves nothing
        session = published_task().sessions.get()
        person = resident()
        token = Token.objects.create(user=person).key
        key = str(uuid.uuid4())

        def send(_index, session=session, token=token, key=key):
            api = APIClient(raise_request_exception=False)
            api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            response = api.post(
                signups_url(session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            return response.status_code, response.content

        results = in_threads(4, send)
        assert [status for status, _body in results] == [201] * 4, results
        assert len({body for _status, body in results}) == 1
        assert Signup.objects.filter(session=session, person=person).count() == 1


def test_a_retry_while_the_first_is_still_running_waits_then_is_told_409(municipalities, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.5
    session = published_task().sessions.get()
    person = resident()
    api = api_with_token(person)
    claimed, finish = threading.Event(), threading.Event()

    def first_request_still_running():
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    caller=f"user:{person.pk}",
                    key="busy",
                    fingerprint="-",
                    created_at=timezone.now(),
                    expires_at=timezone.now() + datetime.timedelta(hours=1),
                )
                claimed.set()
                finish.wait(timeout=30)
                transaction.set_rollback(True)  # it failed: the key is free again
        finally:
            connection.close()

    thread = threading.Thread(target=first_request_still_running)
    thread.start()
    try:
        assert claimed.wait(timeout=30)
        error = error_of(
            api.post(
                signups_url(session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="busy"
            ),
            409,
            "idempotency_in_progress",
        )
        assert "処理中" in error["message"]
        assert not Signup.objects.exists()
    finally:
        finish.set()
        thread.join(timeout=30)
    retry = api.post(
        signups_url(session), SIGNUP_DETAILS, format="json", HTTP_IDEMPOTENCY_KEY="busy"
    )
    assert retry.status_code == 201, retry.content


def test_the_schema_documents_the_header_on_writes():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    signup = schema["paths"]["/api/sessions/{id}/signups/"]
    names = {(p["in"], p["name"]) for p in signup["post"].get("parameters", [])}
    assert ("header", "Idempotency-Key") in names
    assert "422" in signup["post"]["responses"]
    assert ("header", "Idempotency-Key") not in {
        (p["in"], p["name"]) for p in signup["get"].get("parameters", [])
    }


# --- The pages' form token ----------------------------------------------------------------


def form_token_of(page) -> str:
    import re

    found = re.search(rb'name="form_token" value="([0-9a-f-]{36})"', page.content)
    assert found, "the form has no token"
    return found.group(1).decode()


def test_a_sign_up_form_sent_twice_signs_up_once_and_redirects_both_times(
    municipalities, losing_answers
):
    session = published_task().sessions.get()
    person = resident()
    browser = client_for(person, raise_request_exception=False)
    url = reverse("matching:signup_new", args=[session.pk])
    form = browser.get(url)
    assert form.status_code == 200
    token = form_token_of(form)

    lost = browser.post(
        url, {**SIGNUP_FORM, "message": "よろしく", "form_token": token}, **{LOSE: "1"}
    )
    assert lost.status_code == 500
    again = browser.post(url, {**SIGNUP_FORM, "message": "よろしく", "form_token": token})
    assert again.status_code == 302 and again["Location"] == reverse("matching:my_signups")
    assert Signup.objects.filter(session=session, person=person).count() == 1
    # A fresh form is a new submission: refused on the form, as before.
    fresh = browser.post(
        url, {**SIGNUP_FORM, "message": "よろしく", "form_token": str(uuid.uuid4())}
    )
    assert fresh.status_code == 200 and "すでに申し込んでいます" in fresh.content.decode()


def test_the_forms_that_create_things_sent_twice_create_one_thing(municipalities):
    from matching.models import HostApplication, Task
    from registry.models import Registration
    from tests.matching.support import CHIZU, HIDA, staff_of
    from tests.matching.test_pages import day, task_data

    person, staff = resident(), staff_of(CHIZU)
    forms = [
        (
            person,
            reverse("registry:registration_new"),
            {"municipality": HIDA, "types": ["participation", "hobby"], "origin": "visits"},
            lambda: Registration.objects.filter(person=person).count(),
        ),
        (
            person,
            reverse("matching:host_apply"),
            {"municipality": "智頭町", "organisation": "智頭の棚田を守る会", "message": "草刈り"},
            lambda: HostApplication.objects.filter(person=person).count(),
        ),
        (
            staff,
            reverse("matching:task_new", args=[CHIZU]),
            task_data([(day(10), "09:00", "15:00", "5")]),
            lambda: Task.objects.filter(municipality_id=CHIZU).count(),
        ),
    ]
    for user, url, data, count in forms:
        browser = client_for(user)
        before = count()
        token = form_token_of(browser.get(url))
        first = browser.post(url, {**data, "form_token": token})
        assert first.status_code == 302, (url, first.content.decode()[:2000])
        second = browser.post(url, {**data, "form_token": token})
        assert (second.status_code, second["Location"]) == (302, first["Location"]), url
        assert count() == before + 1, url
