"""A generated board for benchmarks: tasks over the municipalities, their sessions, and the
sign-ups of generated people (``people``), as the services would have left
them after a year and a half of use.

``board_generate`` writes tasks dated from a year before the reference day to six months
after it, with their sessions and sign-ups. It is deterministic: with the same
municipalities and generated people, the same seed, sizes and reference day give the same
rows, whatever the size of the batches (ids apart, which come from the tables' sequences).
On PostgreSQL it writes with COPY (into empty tables in one transaction, indexes built after
the load: ``core.bulk.load_transaction``); elsewhere with ``bulk_create``.

What the rows keep, as the services and the database would:

- a task's ``prefecture`` is its municipality's; ``search_text`` is
  ``matching.selectors.search.task_search_key`` of title, description, host's message, host
  name, address and the municipality's name and reading, as ``services`` computes it;
  ``starts_at``, ``ends_at`` and ``signup_closes_at`` are its scheduled sessions' first
  start, last end and last start minus ``signup_close_hours``, and
  ``session_days``/``session_months`` the weekday/day-off (``core.holidays``) and month bits
  of their starts, local time (what the matcher compares with people's availability); a
  cancelled task keeps the dates and bits it had, as ``task_cancel`` leaves them;
- status by date, as ``tasks_advance`` would set it on the reference day: a task whose last
  session ended is completed (a few cancelled); one still to come is published, or closed
  once its last sign-up deadline passed; a few are drafts or cancelled;
- sign-ups only on public tasks' scheduled sessions, made between publication and the
  deadline (and before the reference day); at most one live sign-up per person and session;
  no person holds two sessions on the same day; ``Session.taken`` is the number of
  confirmed and offered sign-ups, never above the capacity; waiting lists only behind full
  sessions; offers only on tasks with a confirmation window; attendance only for confirmed
  sign-ups of sessions that ended; a minimum age is respected (by the birth year);
  confirmed sign-ups of sessions that have begun were reminded a day before (``reminded_at``);
  the matcher has not run (no ``Match`` rows, no request pending);
- every description starts with ``generated_mark(seed)``: the rows say they are not real,
  and a seed is used once.

Generated tasks have no host account and no creator (``created_by`` is empty): they stand
for tasks the towns' staff posted. Attendance is not reported to the registry (no
``Activity`` rows). The reference moment is the start of the reference day, in the site's
time zone (Japan: no daylight saving, so day arithmetic in seconds is exact). The shares
and the texts are in ``board_content``.
"""

from __future__ import annotations

import datetime
import gc
import math
import random
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.bulk import BulkWriter, load_transaction
from core.holidays import is_day_off
from matching.models import (
    Attendance,
    Session,
    SessionStatus,
    Signup,
    SignupMode,
    SignupStatus,
    Task,
    TaskStatus,
)
from matching.selectors.search import task_search_key
from places.models import Municipality
from registry import flags
from registry.models import AvailableDays, Month, Skill

from .board_content import (
    ACTIVITY_SIGMA,
    ACTIVITY_SKEW,
    APPROVAL_SHARE,
    ATTENDED,
    BRING,
    CADENCES,
    CANCEL_REASON,
    CANCELLED_SIGNUP,
    CAPACITIES,
    CATEGORY_WEIGHTS,
    CONFIRM_WINDOW_SHARE,
    CONFIRM_WINDOWS,
    CROPS,
    DESIGNATED_SHARE,
    FIRST_DAY,
    FUTURE_CANCELLED,
    FUTURE_DRAFT,
    FUTURE_FLOOR,
    FUTURE_HORIZON,
    HOST_MESSAGES,
    HOST_NAMES,
    KIND_WEIGHTS,
    LAST_DAY,
    MESSAGE_SHARE,
    NEEDS,
    NO_SHOW,
    OFFER_SHARE,
    ONLINE_COSTS,
    OWN_COORDINATE_SHARE,
    PAST_CANCELLED,
    PULL_SIGMA,
    REMINDED_BEFORE,
    REPORT,
    REPORT_SHARE,
    REWARDS,
    SIGNUP_MESSAGES,
    SLOTS_ON_SITE,
    SLOTS_ONLINE,
    TEMPLATES,
    THANKS,
    THANKS_SHARE,
    WEATHER,
    generated_mark,
)
from .choice import Choice
from .survey import EMAIL_DOMAIN

# =========================================================================================
# Generation
# =========================================================================================


class BoardRefused(Exception):
    """Nothing was written: the reason is in the message."""


@dataclass
class BoardResult:
    tasks: int = 0
    sessions: int = 0
    signups: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.tasks + self.sessions + self.signups


TASK_COLUMNS = tuple(f.column for f in Task._meta.concrete_fields)
SESSION_COLUMNS = tuple(f.column for f in Session._meta.concrete_fields)
SIGNUP_COLUMNS = tuple(f.column for f in Signup._meta.concrete_fields)


@dataclass(slots=True)
class _Session:
    """What the sign-up pass needs of a session (times in epoch seconds)."""

    task: int  # the task's number, 0-based
    start: int
    end: int
    capacity: int
    weight: float
    status: str = SessionStatus.SCHEDULED


@dataclass(slots=True)
class _TaskFacts:
    published: int  # epoch seconds; 0 when not public
    close_hours: int
    cancel_hours: int
    approval: bool
    window: int
    minimum_age: int


class _People:
    """The generated people, by id, with their birth years (0 when unknown)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.birth_years = array("h")
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT u.id, COALESCE(p.birth_year, 0) FROM accounts_user u
                   LEFT JOIN registry_profile p ON p.user_id = u.id
                   WHERE u.email LIKE %s AND u.is_active ORDER BY u.id""",
                [f"pop-%@{EMAIL_DOMAIN}"],
            )
            while rows := cursor.fetchmany(50_000):
                for pk, born in rows:
                    self.ids.append(pk)
                    self.birth_years.append(born)

    def __len__(self) -> int:
        return len(self.ids)


class _Generator:
    def __init__(
        self, *, seed: int, sessions_per_task: float, signups: int, as_of: datetime.date
    ) -> None:
        self.seed = seed
        self.sessions_per_task = sessions_per_task
        self.signups = signups
        self.ref = int(
            timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.min)).timestamp()
        )
        self.this_year = as_of.year
        self.mark = generated_mark(seed)
        rng = self.rng = random.Random(f"board-{seed}")  # noqa: S311  (synthetic data)
        towns = list(
            Municipality.objects.order_by("code").values_list(
                "code", "name", "kind", "prefecture_id", "prefecture__name", "kana"
            )
        )
        if not towns:
            raise BoardRefused("Load the municipalities first: manage.py load_municipalities")
        self.towns = Choice(
            [
                (town, KIND_WEIGHTS[town[2]] * rng.lognormvariate(0.0, ACTIVITY_SIGMA))
                for town in towns
            ]
        )
        self.coordinates = {
            code: (lat, lng)
            for code, lat, lng in Municipality.objects.values_list("code", "latitude", "longitude")
        }
        self.categories = Choice(list(CATEGORY_WEIGHTS.items()))
        self.cadences = Choice(list(CADENCES))
        self.capacities = Choice(list(CAPACITIES))
        self.skill_bits = {skill: flags.bit(Skill, skill) for skill in Skill.values}
        # A session's start as the matcher sees it (services._task_dates_refresh).
        self.local = timezone.get_current_timezone()
        self.weekday_bits = (
            flags.bit(AvailableDays, AvailableDays.WEEKDAYS),
            flags.bit(AvailableDays, AvailableDays.WEEKENDS),
        )
        self.month_bits = {month: flags.bit(Month, str(month)) for month in range(1, 13)}
        self.sessions: list[_Session] = []
        self.facts: list[_TaskFacts] = []
        # Sign-ups are drawn from their own stream, after every task is drawn.
        self.signup_rng = random.Random(f"board-signups-{seed}")  # noqa: S311

    # --- Tasks --------------------------------------------------------------------------

    def task_rows(self, first: int, count: int) -> list[list]:
        """Tasks number ``first`` … ``first + count - 1`` (0-based) as rows (the id is
        filled in later); their sessions are appended to ``self.sessions``."""
        rng = self.rng
        rand, randint = rng.random, rng.randint
        ref, day = self.ref, 86400
        utc = datetime.UTC
        stamp = datetime.datetime.fromtimestamp
        task_rows = []
        for number in range(first, first + count):
            code, town, _kind, prefecture, prefecture_name, town_kana = self.towns.pick(rand())
            category = self.categories.pick(rand())
            title, text, skills, online_share, minimum_age = rng.choice(TEMPLATES[category])
            fill = {"town": town, "crop": rng.choice(CROPS)}
            online = rand() < online_share
            title = title.format(**fill)
            host_name = rng.choice(HOST_NAMES).format(**fill)
            description = "\n\n".join(
                [self.mark, text.format(**fill), rng.choice(NEEDS).format(**fill)]
            )
            host_message = rng.choice(HOST_MESSAGES)
            if online:
                address, latitude, longitude = "", None, None
            else:
                address = f"{prefecture_name}{town}"
                latitude = longitude = None
                if rand() < OWN_COORDINATE_SHARE:
                    lat, lng = self.coordinates[code]
                    latitude = round(min(45.9, max(20.1, lat + (rand() - 0.5) * 0.06)), 6)
                    longitude = round(min(153.9, max(122.1, lng + (rand() - 0.5) * 0.06)), 6)
            rewards = REWARDS.get(category, ()) + REWARDS["default"]
            reward = rng.choice(rewards).format(**fill)
            close_hours = rng.choice((24, 48, 72))
            cancel_hours = rng.choice((24, 48))
            approval = rand() < APPROVAL_SHARE
            window = rng.choice(CONFIRM_WINDOWS) if rand() < CONFIRM_WINDOW_SHARE else None
            designated = rand() < DESIGNATED_SHARE
            skills_mask = 0
            for skill in skills:
                skills_mask |= self.skill_bits[skill]

            # Sessions: a first day, a cadence, a slot.
            k = 1 + int(rand() * (2 * self.sessions_per_task - 1))
            cadence = self.cadences.pick(rand())
            first_day = randint(FIRST_DAY, max(FIRST_DAY, LAST_DAY - (k - 1) * cadence))
            slot = rng.choice(SLOTS_ONLINE if online else SLOTS_ON_SITE)
            start_offset = slot[0] * 3600 + slot[1] * 60
            end_offset = slot[2] * 3600 + slot[3] * 60
            capacity = self.capacities.pick(rand())
            if online:
                capacity = max(capacity, 5)
            times = []
            for j in range(k):
                midnight = ref + (first_day + j * cadence) * day
                times.append((midnight + start_offset, midnight + end_offset))
            session_days = session_months = 0
            for start, _end in times:
                local = stamp(start, self.local)
                session_days |= self.weekday_bits[is_day_off(local.date())]
                session_months |= self.month_bits[local.month]
            first_start, last_end = times[0][0], times[-1][1]
            last_start = times[-1][0]
            closes = last_start - close_hours * 3600

            # Status by date, as tasks_advance would leave it on the reference day.
            r = rand()
            cancelled_at = None
            if last_end <= ref:
                status = TaskStatus.CANCELLED if r < PAST_CANCELLED else TaskStatus.COMPLETED
            elif r < FUTURE_DRAFT and first_start > ref:
                status = TaskStatus.DRAFT
            elif r < FUTURE_DRAFT + FUTURE_CANCELLED:
                status = TaskStatus.CANCELLED
            else:
                status = TaskStatus.PUBLISHED if closes > ref else TaskStatus.CLOSED
            # Published before the first deadline and not after the reference day.
            latest = min(ref, first_start - (close_hours + 24) * 3600)
            created = latest - 3600 - int(rand() * 60 * day)
            published = created + int((latest - created) * rand() * 0.3)
            if status == TaskStatus.DRAFT:
                published = 0
            pull = rng.lognormvariate(0.0, PULL_SIGMA) * (1.5 if designated else 1.0)
            session_status = SessionStatus.SCHEDULED
            if status == TaskStatus.CANCELLED:
                cancelled_at = published + int((min(ref, first_start) - published) * rand())
                session_status = SessionStatus.CANCELLED
                pull = 0.0
            elif status == TaskStatus.DRAFT:
                pull = 0.0
            sqrt_capacity = math.sqrt(capacity)
            for start, end in times:
                weight = pull * sqrt_capacity
                if start > ref:
                    ahead = (start - ref) / day
                    weight *= max(FUTURE_FLOOR, 1.0 - ahead / FUTURE_HORIZON)
                self.sessions.append(
                    _Session(
                        task=number,
                        start=start,
                        end=end,
                        capacity=capacity,
                        weight=weight,
                        status=session_status,
                    )
                )
            self.facts.append(
                _TaskFacts(
                    published=published,
                    close_hours=close_hours,
                    cancel_hours=cancel_hours,
                    approval=approval,
                    window=window or 0,
                    minimum_age=minimum_age or 0,
                )
            )
            report, report_at = "", None
            if status == TaskStatus.COMPLETED and rand() < REPORT_SHARE:
                report = REPORT.format(n=1 + int(rand() * capacity))
                report_at = stamp(min(ref, last_end + int(rand() * 10 * day)), utc)
            search_text = task_search_key(
                title=title,
                description=description,
                host_message=host_message,
                host_name=host_name,
                address=address,
                municipality_name=town,
                municipality_kana=town_kana,
            )
            published_at = stamp(published, utc) if published else None
            row = {
                "id": None,
                "municipality_id": code,
                "prefecture_id": prefecture,
                "host_id": None,
                "host_name": host_name,
                "title": title,
                "description": description,
                "host_message": host_message,
                "schedule": "",
                "category": category,
                "skills": skills_mask,
                "is_online": online,
                "address": address,
                "latitude": latitude,
                "longitude": longitude,
                "minimum_age": minimum_age,
                "what_to_bring": "" if online else rng.choice(BRING),
                "reward": reward,
                "conditions": "",
                "participant_costs": ONLINE_COSTS
                if online
                else "現地までの交通費は参加者の負担です。",
                "weather_policy": "" if online else rng.choice(WEATHER),
                "signup_mode": SignupMode.APPROVAL if approval else SignupMode.FIRST_COME,
                "signup_close_hours": close_hours,
                "cancel_close_hours": cancel_hours,
                "confirm_window_hours": window,
                "designated": designated,
                "asks_phone": False,
                "asks_emergency_contact": False,
                "asks_birth_date": False,
                "asks_reason": "",
                "photo": "",
                "photo_alt": "",
                "status": status,
                "created_by_id": None,
                "created_at": stamp(created, utc),
                "updated_at": published_at or stamp(created, utc),
                "submitted_at": None,
                "published_at": published_at,
                "review_note": "",
                "cancelled_at": stamp(cancelled_at, utc) if cancelled_at else None,
                "cancel_reason": CANCEL_REASON if cancelled_at else "",
                "starts_at": stamp(first_start, utc),
                "ends_at": stamp(last_end, utc),
                "signup_closes_at": stamp(closes, utc),
                "session_days": session_days,
                "session_months": session_months,
                "match_requested_at": None,  # the matcher has not run on generated tasks
                "match_wave": 1,
                "search_text": search_text,
                "report": report,
                "report_photo": "",
                "report_published_at": report_at,
            }
            task_rows.append([row[column] for column in TASK_COLUMNS])
        return task_rows

    # --- Sign-ups -----------------------------------------------------------------------

    def allocate(self) -> list[int]:
        """How many sign-ups each session gets: ``signups`` in all, in proportion to the
        weights, by cumulative rounding; what a session cannot take (see ``_room``) is
        carried to the next one."""
        total_weight = sum(s.weight for s in self.sessions)
        counts = [0] * len(self.sessions)
        if not total_weight or not self.signups:
            return counts
        scale = self.signups / total_weight
        running, given, carry = 0.0, 0, 0
        for i, session in enumerate(self.sessions):
            running += session.weight * scale
            want = round(running) - given + carry
            room = self._room(session)
            n = min(want, room)
            counts[i] = n
            carry = want - n
            given = round(running)
        return counts

    def _room(self, session: _Session) -> int:
        """At most: the capacity, a waiting list of a third of it, and cancellations."""
        if session.weight == 0.0:
            return 0
        return session.capacity + session.capacity // 3 + 1 + session.capacity // 4

    def signup_rows(
        self, numbers: range, counts: list[int], people: _People, held: set[int]
    ) -> tuple[list[int], list[list]]:
        """The sign-ups of the sessions ``numbers`` (indexes in ``self.sessions``): their
        ``taken`` and the rows (session and person by number and index: ids come later)."""
        rng = self.signup_rng
        rand = rng.random
        ref, utc = self.ref, datetime.UTC
        stamp = datetime.datetime.fromtimestamp
        n_people = len(people)
        birth_years = people.birth_years
        this_year = self.this_year
        taken_of, rows = [], []
        confirmed_s, waitlisted_s, pending_s = (
            SignupStatus.CONFIRMED,
            SignupStatus.WAITLISTED,
            SignupStatus.PENDING,
        )
        for number in numbers:
            session = self.sessions[number]
            n = counts[number]
            if not n:
                taken_of.append(0)
                continue
            facts = self.facts[session.task]
            capacity = session.capacity
            start, end = session.start, session.end
            past = end <= ref
            deadline = min(ref, start - facts.close_hours * 3600)
            span = max(60, deadline - facts.published)
            created = sorted(
                min(deadline, facts.published + 60 + int(rand() * span)) for _ in range(n)
            )
            day_key = (start - ref) // 86400 + 1024
            in_session: set[int] = set()
            holding = 0
            waiting = 0
            session_rows = []
            for at in created:
                # The status, in the order people signed up.
                if rand() < CANCELLED_SIGNUP:
                    status = SignupStatus.CANCELLED
                elif facts.approval:
                    r = rand()
                    if holding < capacity and (r < 0.8 if past else r < 0.5):
                        status = confirmed_s
                    elif past or r < 0.6:
                        status = SignupStatus.DECLINED
                    else:
                        status = pending_s
                elif holding < capacity:
                    status = confirmed_s
                elif waiting < capacity // 3 + 1:
                    status = waitlisted_s
                else:
                    continue
                holds = status == confirmed_s
                # The person: not already in this session, of age, free that day if held.
                person = -1
                for _attempt in range(30):
                    candidate = int(n_people * rand() ** ACTIVITY_SKEW)
                    if candidate in in_session:
                        continue
                    if facts.minimum_age:
                        born = birth_years[candidate]
                        if not born or this_year - born < facts.minimum_age:
                            continue
                    if holds and candidate * 2048 + day_key in held:
                        continue
                    person = candidate
                    break
                if person < 0:
                    continue
                in_session.add(person)
                if holds:
                    held.add(person * 2048 + day_key)
                    holding += 1
                elif status == waitlisted_s:
                    waiting += 1
                row = [
                    None,  # id
                    number,  # session: replaced by its id
                    person,  # person: replaced by their id
                    stamp(start, utc),
                    stamp(end, utc),
                    status,
                    rng.choice(SIGNUP_MESSAGES) if rand() < MESSAGE_SHARE else "",
                    stamp(at, utc),
                    None,  # confirmed_at
                    None,  # offer_expires_at
                    None,  # cancelled_at
                    "",  # attendance
                    None,  # attendance_marked_at
                    "",  # thanks
                    None,  # thanks_at
                    None,  # reminded_at
                    "",  # cancel_reason
                ]
                if holds:
                    confirmed = at if not facts.approval else min(deadline, at + 3600)
                    row[8] = stamp(confirmed, utc)
                    if start <= ref:  # reminders_send ran the day before the session
                        row[15] = stamp(max(confirmed, start - REMINDED_BEFORE), utc)
                    if past:
                        r = rand()
                        if r < ATTENDED + NO_SHOW:
                            marked = min(ref, end + 1800 + int(rand() * 72 * 3600))
                            row[11] = Attendance.ATTENDED if r < ATTENDED else Attendance.NO_SHOW
                            row[12] = stamp(marked, utc)
                            if r < ATTENDED and rand() < THANKS_SHARE:
                                row[13] = rng.choice(THANKS)
                                row[14] = stamp(min(ref, marked + int(rand() * 86400)), utc)
                elif status == SignupStatus.CANCELLED:  # by the cancellation deadline
                    until = min(ref, start - facts.cancel_hours * 3600)
                    row[10] = stamp(at + int(max(0, until - at) * rand()), utc)
                session_rows.append(row)
            # A full session of a task with a confirmation window: the last place held is
            # an offer to someone promoted from the waiting list, still to be confirmed.
            if (
                not past
                and facts.window
                and holding == capacity
                and waiting
                and start > ref
                and rand() < OFFER_SHARE
            ):
                for row in reversed(session_rows):
                    if row[5] == confirmed_s:
                        row[5] = SignupStatus.OFFERED
                        row[8] = None
                        expires = ref + 3600 * (1 + int(rand() * facts.window))
                        row[9] = stamp(min(start, expires), utc)
                        break
            taken_of.append(holding)
            rows.extend(session_rows)
        return taken_of, rows


def board_generate(
    *,
    tasks: int,
    sessions_per_task: float = 3,
    signups: int = 0,
    seed: int,
    batch: int = 10_000,
    as_of: datetime.date | None = None,
    use_copy: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> BoardResult:
    """Write ``tasks`` generated tasks with their sessions and about ``signups`` sign-ups of
    the generated people; see the module docstring.

    ``sessions_per_task`` is the mean (each task has 1 … 2·mean − 1, evenly). ``signups``
    is a target: a session takes at most its capacity, a short waiting list and a few
    cancellations, and a person never holds two sessions on one day, so on a small
    population the count may fall short of it (the result says how many were written).
    ``batch`` tasks (with their sessions and sign-ups) are written per transaction (all in
    one into empty tables; inside a transaction, tests, all in it). ``progress`` is called
    with the phase ("tasks" or "sessions") and the number of tasks done.
    """
    if tasks < 1:
        raise BoardRefused("The number of tasks must be at least 1.")
    if not 1 <= sessions_per_task <= 50:
        raise BoardRefused("Sessions per task must be between 1 and 50.")
    if signups < 0 or seed < 0 or batch < 1:
        raise BoardRefused("Sign-ups and the seed must be 0 or more, the batch at least 1.")
    mark = generated_mark(seed)
    if Task.objects.filter(description__startswith=mark).exists():
        raise BoardRefused(f"Tasks of seed {seed} exist already: choose another seed.")
    people = _People() if signups else None
    if signups and not len(people):
        raise BoardRefused(
            "No generated people to sign up: run manage.py generate_population first."
        )
    started = time.perf_counter()
    generator = _Generator(
        seed=seed,
        sessions_per_task=sessions_per_task,
        signups=signups,
        as_of=as_of or timezone.localdate(),
    )
    writer = BulkWriter(use_copy=use_copy)
    result = BoardResult()
    task_ids, collecting = array("q"), gc.isenabled()
    gc.disable()  # the rows hold no cycles; see people.population_generate
    try:
        with load_transaction([Task, Session, Signup], use_copy=writer.use_copy):
            # Pass 1: tasks (their sessions are drawn and kept, to share the sign-ups out).
            for first in range(0, tasks, batch):
                count = min(batch, tasks - first)
                rows = generator.task_rows(first, count)
                (first_id,) = writer.reserve([(Task, count)])
                for i, row in enumerate(rows):
                    row[0] = first_id + i
                    task_ids.append(first_id + i)
                with transaction.atomic():
                    writer.write(Task, TASK_COLUMNS, rows)
                result.tasks += count
                if progress is not None:
                    progress("tasks", count)
                del rows
            # Pass 2: sessions with their sign-ups, batch by batch of tasks.
            counts = generator.allocate()
            held: set[int] = set()
            sessions = generator.sessions
            position = 0
            for first in range(0, tasks, batch):
                end_task = min(tasks, first + batch)
                stop = position
                while stop < len(sessions) and sessions[stop].task < end_task:
                    stop += 1
                numbers = range(position, stop)
                taken, signup_rows = (
                    generator.signup_rows(numbers, counts, people, held)
                    if people is not None
                    else ([0] * len(numbers), [])
                )
                first_session, first_signup = writer.reserve(
                    [(Session, len(numbers)), (Signup, len(signup_rows))]
                )
                session_rows = []
                for offset, number in enumerate(numbers):
                    s = sessions[number]
                    session_rows.append(
                        [
                            first_session + offset,
                            task_ids[s.task],
                            datetime.datetime.fromtimestamp(s.start, datetime.UTC),
                            datetime.datetime.fromtimestamp(s.end, datetime.UTC),
                            s.capacity,
                            taken[offset],
                            s.status,
                            None,  # understaffed_alerted_at
                        ]
                    )
                for i, row in enumerate(signup_rows):
                    row[0] = first_signup + i
                    row[1] = first_session + (row[1] - position)
                    row[2] = people.ids[row[2]]
                with transaction.atomic():
                    writer.write(Session, SESSION_COLUMNS, session_rows)
                    writer.write(Signup, SIGNUP_COLUMNS, signup_rows)
                result.sessions += len(session_rows)
                result.signups += len(signup_rows)
                if progress is not None:
                    progress("sessions", end_task - first)
                position = stop
                del session_rows, signup_rows
    finally:
        if collecting:
            gc.enable()
    result.seconds = time.perf_counter() - started
    return result
