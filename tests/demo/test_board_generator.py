"""The board generator: every generated row keeps the board's rules (the database's
constraints and the services' own), the counts asked for, and the same rows for the same
seed, by COPY or by ``bulk_create`` and whatever the batches."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.test import override_settings
from django.utils import timezone

from demo.population import BoardRefused, board_generate, generated_mark, population_generate
from matching.models import (
    HOLDING_STATUSES,
    PUBLIC_STATUSES,
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskStatus,
)
from matching.services import _search_text
from registry.models import Category
from tests.support import sql_rows

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("population")]

AS_OF = datetime.date(2026, 11, 23)
REF = timezone.make_aware(datetime.datetime.combine(AS_OF, datetime.time.min))
TASKS = 2_000
SIGNUPS = 8_000
SEED = 32  # one whose small board holds offers too (rare: an offer lasts hours)


@pytest.fixture
def people() -> None:
    population_generate(people=1_500, seed=9_031, batch=1_500, as_of=AS_OF)


@pytest.fixture
def board(people):
    return board_generate(tasks=TASKS, signups=SIGNUPS, seed=SEED, batch=700, as_of=AS_OF)


@pytest.mark.slow  # a generated board: over 5 s
def test_counts_and_what_the_board_looks_like(board):
    tasks = Task.objects.filter(description__startswith=generated_mark(SEED))
    assert board.tasks == tasks.count() == TASKS
    assert board.sessions == Session.objects.filter(task__in=tasks).count()
    assert 2.7 * TASKS <= board.sessions <= 3.3 * TASKS  # a mean of 3, from 1 to 5
    assert set(
        Session.objects.values_list("task_id").annotate(n=Count("id")).values_list("n", flat=True)
    ) == {1, 2, 3, 4, 5}
    assert board.signups == Signup.objects.count()
    assert 0.95 * SIGNUPS <= board.signups <= SIGNUPS
    assert set(tasks.values_list("category", flat=True)) == set(Category.values)
    assert set(tasks.values_list("status", flat=True)) == set(TaskStatus.values) - {
        TaskStatus.IN_REVIEW
    }
    assert tasks.filter(signup_mode=SignupMode.APPROVAL).exists()
    assert tasks.filter(confirm_window_hours__isnull=False, designated=True).exists()
    # Rural towns post most.
    rural = tasks.filter(municipality__kind__in=["town", "village"]).count()
    assert rural > 0.6 * TASKS
    # A search like 草刈 finds a realistic share of what is open, not all nor none.
    live = tasks.filter(status=TaskStatus.PUBLISHED)
    share = live.filter(search_text__contains="草刈").count() / live.count()
    assert 0.03 < share < 0.2
    # Full sessions with waiting lists, offers, attendance, thanks: all there.
    for status in SignupStatus.values:
        if status != SignupStatus.EXPIRED:
            assert Signup.objects.filter(status=status).exists(), status
    assert Signup.objects.exclude(thanks="").exists()


@pytest.mark.slow  # a generated board: over 5 s
def test_rows_keep_the_rules(board):
    # Deferred foreign keys are checked now, not at a commit the test never makes.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    # Session.taken is the places held, never above the capacity.
    wrong = Session.objects.annotate(
        held=Count("signups", filter=Q(signups__status__in=HOLDING_STATUSES))
    ).exclude(taken=F("held"))
    assert not wrong.exists()
    # A waiting list only behind a full session; offers have a deadline, in the future.
    assert not Signup.objects.filter(
        status=SignupStatus.WAITLISTED, session__taken__lt=F("session__capacity")
    ).exists()
    assert (
        not Signup.objects.filter(status=SignupStatus.OFFERED)
        .exclude(
            offer_expires_at__gt=REF,
            session__starts_at__gt=REF,
            session__task__confirm_window_hours__gt=0,
        )
        .exists()
    )
    # Attendance only for confirmed sign-ups of sessions that ended.
    marked = Signup.objects.exclude(attendance="")
    assert marked.exists()
    assert not marked.exclude(status=SignupStatus.CONFIRMED).exists()
    assert not marked.filter(ends_at__gt=REF).exists()
    assert not marked.filter(attendance_marked_at__isnull=True).exists()
    assert not Signup.objects.exclude(thanks="").exclude(attendance=Attendance.ATTENDED).exists()
    # Sign-ups copy their session's times, on public tasks' scheduled sessions, made after
    # publication, before the deadline and the reference day.
    signups = Signup.objects.select_related("session__task")
    assert signups.exists()
    for signup in signups.iterator(chunk_size=2_000):
        session, task = signup.session, signup.session.task
        assert (signup.starts_at, signup.ends_at) == (session.starts_at, session.ends_at)
        assert task.status in PUBLIC_STATUSES
        assert session.status == SessionStatus.SCHEDULED
        assert task.published_at < signup.created_at <= REF
        assert signup.created_at <= session.signup_closes_at()
        assert (signup.confirmed_at is not None) == (signup.status == SignupStatus.CONFIRMED)
        if signup.status == SignupStatus.CANCELLED:
            assert signup.created_at <= signup.cancelled_at <= REF
        if task.signup_mode == SignupMode.FIRST_COME:
            assert signup.status not in (SignupStatus.PENDING, SignupStatus.DECLINED)
        else:
            assert signup.status not in (SignupStatus.WAITLISTED, SignupStatus.OFFERED)
        if task.minimum_age and signup.status in HOLDING_STATUSES:
            born = signup.person.profile.birth_year
            assert AS_OF.year - born >= task.minimum_age
    # No person holds two sessions that overlap.
    assert not sql_rows(
        """SELECT 1 FROM matching_signup a JOIN matching_signup b
           ON a.person_id = b.person_id AND a.id < b.id
           WHERE a.status IN ('confirmed', 'offered') AND b.status IN ('confirmed', 'offered')
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at LIMIT 1"""
    )
    # A task's dates are its sessions', its status follows them, search text as services.
    dates = {
        row["task_id"]: row
        for row in Session.objects.values("task_id").annotate(
            first=Min("starts_at"), last=Max("ends_at"), last_start=Max("starts_at")
        )
    }
    assert Task.objects.exists()
    for task in Task.objects.select_related("municipality"):
        row = dates[task.pk]
        assert (task.starts_at, task.ends_at) == (row["first"], row["last"])
        assert task.signup_closes_at == row["last_start"] - datetime.timedelta(
            hours=task.signup_close_hours
        )
        assert task.prefecture_id == task.municipality.prefecture_id
        assert task.search_text == _search_text(task)
        assert task.description.startswith(generated_mark(SEED))
        if task.status == TaskStatus.COMPLETED:
            assert task.ends_at <= REF
        elif task.status == TaskStatus.PUBLISHED:
            assert task.ends_at > REF and task.signup_closes_at > REF
        elif task.status == TaskStatus.CLOSED:
            assert task.signup_closes_at <= REF < task.ends_at
        elif task.status == TaskStatus.DRAFT:
            assert task.published_at is None and task.starts_at > REF
        elif task.status == TaskStatus.CANCELLED:
            assert task.cancelled_at is not None and task.cancel_reason
            assert not task.sessions.exclude(status=SessionStatus.CANCELLED).exists()
        if task.published_at is not None:
            assert task.created_at <= task.published_at <= REF


class _Rollback(Exception):
    pass


def _generated(**options) -> tuple[int, str]:
    """Generate in a savepoint, digest the rows, roll back: (sign-ups, digest)."""
    try:
        with transaction.atomic():
            result = board_generate(tasks=600, signups=2_500, seed=SEED, as_of=AS_OF, **options)
            raise _Rollback(result.signups, _digest(SEED))
    except _Rollback as rolled_back:
        return rolled_back.args


def _digest(seed: int) -> str:
    """Every generated column but ids (tasks and sessions by their order, people by
    e-mail)."""
    mark = generated_mark(seed) + "%"
    queries = [
        """SELECT municipality_id, prefecture_id, host_name, title, description, host_message,
                  category, skills, is_online, address, latitude, longitude, minimum_age,
                  what_to_bring, reward, participant_costs, weather_policy, signup_mode,
                  signup_close_hours, cancel_close_hours, confirm_window_hours, designated,
                  status, created_at, updated_at, published_at, cancelled_at, starts_at,
                  ends_at, signup_closes_at, search_text, report, report_published_at
           FROM matching_task WHERE description LIKE %s ORDER BY id""",
        """SELECT DENSE_RANK() OVER (ORDER BY t.id), s.starts_at, s.ends_at, s.capacity,
                  s.taken, s.status
           FROM matching_session s JOIN matching_task t ON t.id = s.task_id
           WHERE t.description LIKE %s ORDER BY s.id""",
        """SELECT DENSE_RANK() OVER (ORDER BY s.id), u.email, g.starts_at, g.status,
                  g.message, g.created_at, g.confirmed_at, g.offer_expires_at,
                  g.cancelled_at, g.attendance, g.attendance_marked_at, g.thanks, g.thanks_at
           FROM matching_signup g JOIN matching_session s ON s.id = g.session_id
           JOIN matching_task t ON t.id = s.task_id JOIN accounts_user u ON u.id = g.person_id
           WHERE t.description LIKE %s ORDER BY g.id""",
    ]
    digest = hashlib.sha256()
    for query in queries:
        rows = sql_rows(query, mark)
        assert rows
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_rows_by_copy_and_by_bulk_create(people):
    signups, digest = _generated(batch=600)
    assert signups > 2_000
    assert _generated(batch=170) == (signups, digest)
    assert _generated(batch=250, use_copy=False) == (signups, digest)
    with transaction.atomic():
        board_generate(tasks=600, signups=2_500, seed=SEED + 1, as_of=AS_OF)
        assert _digest(SEED + 1) != digest


def test_the_command_writes_and_refuses(people):
    out = io.StringIO()
    with override_settings(DEMO_CONTENT_ALLOWED=True):
        call_command("generate_board", tasks=50, signups=100, seed=SEED, verbosity=0, stdout=out)
        assert "50 tasks" in out.getvalue()
        with pytest.raises(CommandError, match=f"seed {SEED} exist already"):
            call_command("generate_board", tasks=10, seed=SEED, verbosity=0)
        with pytest.raises(CommandError):
            call_command("generate_board", tasks=0, seed=SEED + 1, verbosity=0)
    with (
        override_settings(DEMO_CONTENT_ALLOWED=False),
        pytest.raises(CommandError, match="not allowed"),
    ):
        call_command("generate_board", tasks=10, seed=SEED + 1, verbosity=0)
    assert Task.objects.count() == 50


def test_sign_ups_need_generated_people():
    with pytest.raises(BoardRefused, match="generate_population"):
        board_generate(tasks=10, signups=10, seed=SEED, as_of=AS_OF)
    assert not Task.objects.exists()
    # Without sign-ups, no people are needed.
    assert board_generate(tasks=10, seed=SEED, as_of=AS_OF).signups == 0
