"""The API keeps its contract: schemathesis generates requests from ``/api/schema/`` for every
operation and checks each response against it — no server error; a status, content type and
body the schema documents (errors included) — as a visitor, as a resident and as a
municipality's staff member (token authentication), on the test database with a little of
everything in it.

The budget is bounded and the run repeatable: a fixed seed, deterministic generation, a
few examples per operation, no shrinking, no example database.
"""

from __future__ import annotations

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from matching import services as board
from matching.models import SignupStatus
from places.models import Municipality
from tests.factories import person_with_role
from tests.matching.support import CHIZU, in_days, published_task, register, resident

# Thousands of generated requests: `make test-slow`.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROLES = ("anonymous", "resident", "staff")
CHECKS = [
    not_a_server_error,
    status_code_conformance,  # every status the API answers is documented
    content_type_conformance,
    response_schema_conformance,  # errors included: the one error format everywhere
]
SEED = 2026
# Requests per operation: valid input aimed at the data below (when the path names some),
# valid input anywhere, and invalid input (a 4xx in the error format, never a 500): about
# 400 requests per role; most of the time goes into generating them.
BUDGET = {"known": 2, GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 2}
# What a run may not do to the people it runs as: they stay signed in throughout.
EXCLUDED = {
    ("POST", "/api/me/delete/"),  # deleting the account is tested through its own door
    ("DELETE", "/api/auth/token/"),  # revoking the run's own token
}


class Application(WSGIHandler):
    """The site as a WSGI application, sharing the test's database transaction as Django's
    test client does: the end of a request does not close the test's connection."""

    def __call__(self, environ, start_response):
        cache.clear()  # the throttles' counters: every generated request is judged on itself
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            return super().__call__(environ, start_response)
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


@pytest.fixture
def board_data():
    """A town with staff, a host, a published task with two sessions (one full, with a
    waiting list), residents signed up and registered, a pending host application."""
    staff = person_with_role(Role.MUNICIPALITY_ADMIN, CHIZU)
    host = person_with_role(Role.HOST, CHIZU)
    task = published_task(
        CHIZU,
        staff=staff,
        sessions=[
            {"starts_at": in_days(7), "ends_at": in_days(7, 15), "capacity": 1},
            {"starts_at": in_days(14), "ends_at": in_days(14, 15), "capacity": 10},
        ],
    )
    first, second = task.sessions.order_by("starts_at")
    person, waiting = resident(), resident()
    for someone in (person, waiting):
        register(someone, CHIZU)
    board.signup_create(session=first, person=person)
    board.signup_create(session=first, person=waiting)
    board.signup_create(session=second, person=person)
    assert first.signups.filter(status=SignupStatus.WAITLISTED).exists()
    application = board.host_apply(
        person=resident(),
        municipality=Municipality.objects.get(code=CHIZU),
        organisation="智頭の森の会",
        message="間伐の手伝いを募集したいです。",
    )
    ids = {
        "/api/tasks/": task.pk,
        "/api/sessions/": first.pk,
        "/api/signups/": person.signups.filter(session=second).get().pk,
        "/api/registrations/": person.registrations.get().pk,
        "/api/notifications/": person.notifications.first().pk,
        "/api/host-applications/": application.pk,
    }
    return {"staff": staff, "host": host, "resident": person, "task": task, "ids": ids}


def _explore(
    operation, mode, headers: dict, failures: dict, known: dict | None = None, aimed=False
) -> None:
    """A few generated requests to one operation; its first failure is kept."""
    label = f"{operation.label} ({'known ids' if known else mode.value})"
    examples = BUDGET["known" if known else mode]
    if aimed and mode == GenerationMode.POSITIVE and not known:
        examples = 1  # its valid input has been aimed at the data: one more anywhere
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=known)

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=strategy)
    def explore(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        explore()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body.
        assert mode == GenerationMode.NEGATIVE, label
    except FailureGroup as group:  # schemathesis's report: what failed, and how to replay it
        failures[label] = "\n".join(str(failure)[:1500] for failure in group.exceptions)


def _known_parameters(path: str, ids: dict[str, int]) -> dict | None:
    """The path parameters of ``path`` that name the test data (the task, its session, the
    resident's sign-up…), or None when the path names nothing of it."""
    params = {}
    if "{id}" in path:
        collection = path.split("{id}")[0]
        if collection not in ids:
            return None
        params["id"] = ids[collection]
    if "{code}" in path:
        params["code"] = "31" if "/prefectures/" in path else CHIZU
    if "{revision}" in path:
        return None
    return params or None


def _token_of(user) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_the_contract(board_data, role):
    """Every operation of /api/schema/, valid and invalid input: 0 server errors, 0 responses
    that disagree with the schema. All failures are gathered and shown together."""
    headers = {}
    if role != "anonymous":
        headers = _token_of(board_data["resident" if role == "resident" else "staff"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", Application())
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # an operation the schema cannot describe fails here
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        operations += 1
        known = _known_parameters(operation.path, board_data["ids"])
        if known:
            _explore(operation, GenerationMode.POSITIVE, headers, failures, known)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _explore(operation, mode, headers, failures, aimed=bool(known))
    assert operations > 50, operations
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_the_three_reported_disagreements_hold_no_more(board_data):
    """The issue's three: the recommendations are a page, a sign-up's session has its
    waiting list, a profile without a home has a null home name — in schema and response."""
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    ok = schema["paths"]["/api/recommendations/"]["get"]["responses"]["200"]
    page = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"count", "next", "previous", "results"} <= set(components[page]["properties"])
    assert "waiting" in components["Session"]["required"]
    assert components["Profile"]["properties"]["home_municipality_name"].get("nullable")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=_token_of(board_data["resident"])["Authorization"])
    assert set(api.get("/api/recommendations/").json()) == {"count", "next", "previous", "results"}
    signups = api.get("/api/signups/").json()["results"]
    assert {row["session"]["waiting"] for row in signups} == {0, 1}  # the full session has one
    api.credentials(HTTP_AUTHORIZATION=_token_of(board_data["staff"])["Authorization"])
    assert api.get("/api/me/").json()["profile"]["home_municipality_name"] is None
