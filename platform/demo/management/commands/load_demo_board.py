"""Demo content for the board: about twenty help tasks (お手伝い) in 飛騨市, 智頭町, 海士町,
三豊市, 下北山村, 西粟倉村 and 遠野市, in every category, with sessions in the coming weeks,
sign-ups (full sessions with waiting lists, a host-approved task, an offer to confirm) and a
completed task with its activity report. The content is ``demo/data/board.yaml``.

Everything goes through the services, as the towns' staff, a host (ヌシ) and participants
would do it; only the completed task's dates are moved into the past afterwards (the
services schedule nothing there), as time passing would. Every task says it is demo
content, in its title and at the end of its description. Sessions are dated from the day
it runs. Idempotent: a task that exists (by municipality and title) and has not ended is
left alone; one that has ended stays as history and a fresh copy is made, so that a demo
loaded again weeks later still has tasks to sign up for. Refused in production.
"""

from __future__ import annotations

import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Membership, Role, User
from accounts.selectors import staff_scope, staff_scope_forget
from accounts.services import membership_grant
from demo.content import DEMO_PASSWORD, DemoTask, content, demo_tasks
from demo.second_factor import demo_second_factor_give
from matching import services
from matching.models import (
    HostApplication,
    HostApplicationStatus,
    Session,
    SessionStatus,
    Signup,
    Task,
)
from places.models import Municipality
from registry import services as registry_services
from registry.flags import mask_of
from registry.models import Skill

BOARD = content("board")
DEMO_SUFFIX, DEMO_NOTE = BOARD["suffix"], BOARD["note"]
# Who acts for each town: the staff of load_demo_accounts, and the editors made here.
STAFF = {
    **BOARD["staff"],
    **{person["municipality"]: person["email"] for person in BOARD["board_staff"]},
}
HOST, RESIDENT = BOARD["host"], BOARD["resident"]


def _at(day: datetime.date, hhmm: str) -> datetime.datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def first_saturday(today: datetime.date) -> datetime.date:
    """The board's day 0: the first Saturday at least five days away, so that every
    session is still open for sign-ups when the demo is loaded."""
    day = today + datetime.timedelta(days=5)
    return day + datetime.timedelta(days=(5 - day.weekday()) % 7)


def _shift_into_past(task: Task, days: int) -> None:
    """Move the task's sessions, sign-ups and its own dates ``days`` days before now, as
    time passing would (the services schedule nothing in the past)."""
    first = Session.objects.filter(task=task).aggregate(first=Min("starts_at"))["first"]
    target = timezone.localtime() - datetime.timedelta(days=days)
    delta = datetime.timedelta(days=(timezone.localtime(first).date() - target.date()).days)
    for session in Session.objects.filter(task=task):
        Session.objects.filter(pk=session.pk).update(
            starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
        )
        Signup.objects.filter(session=session).update(
            starts_at=session.starts_at - delta, ends_at=session.ends_at - delta
        )
    for signup in Signup.objects.filter(session__task=task):
        Signup.objects.filter(pk=signup.pk).update(
            created_at=signup.created_at - delta,
            confirmed_at=signup.confirmed_at - delta if signup.confirmed_at else None,
        )
    dates = Session.objects.filter(task=task, status=SessionStatus.SCHEDULED).aggregate(
        first=Min("starts_at"), last=Max("ends_at"), last_start=Max("starts_at")
    )
    Task.objects.filter(pk=task.pk).update(
        created_at=task.created_at - delta,
        updated_at=task.updated_at - delta,
        published_at=task.published_at - delta if task.published_at else None,
        starts_at=dates["first"],
        ends_at=dates["last"],
        signup_closes_at=dates["last_start"] - datetime.timedelta(hours=task.signup_close_hours),
    )


class Command(BaseCommand):
    help = (
        "Fill the board with demo tasks in 飛騨市, 智頭町, 海士町, 三豊市, 下北山村, 西粟倉村 "
        "and 遠野市, with sign-ups and a completed task (refused where "
        "FURUSATO_DEMO_CONTENT_ALLOWED is off). Run after load_demo_accounts."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_CONTENT_ALLOWED:
            raise CommandError("Demo content is not allowed here (production settings).")
        codes = {task.municipality for task in demo_tasks(1)} | {
            person["home"] for person in BOARD["participants"]
        }
        towns = Municipality.objects.in_bulk(codes)
        if len(towns) != len(codes):
            raise CommandError("Load the municipalities first: manage.py load_municipalities")
        needed = [*BOARD["staff"].values(), HOST, RESIDENT]
        people = {user.email: user for user in User.objects.filter(email__in=needed)}
        if len(people) != len(needed):
            raise CommandError("Create the demo accounts first: manage.py load_demo_accounts")
        counts = {"tasks": 0, "signups": 0}
        with transaction.atomic():
            people.update(self._board_staff(towns))
            self._host(people, towns)
            participants = self._participants(towns)
            participants["resident"] = people[RESIDENT]
            self.details["resident"] = {
                "full_name": people[RESIDENT].get_full_name(),
                "furigana": BOARD["resident_furigana"],
                "agree": True,
            }
            for spec in demo_tasks(timezone.localdate().month):
                made = self._task(spec, people, participants, towns)
                if made is not None:
                    counts["tasks"] += 1
                    counts["signups"] += made
        self.stdout.write(
            self.style.SUCCESS(
                "Demo board ready: {tasks} tasks and {signups} sign-ups added.".format(**counts)
            )
        )

    # --- People -----------------------------------------------------------------------

    def _account(self, email: str, family: str, given: str) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"family_name": family, "given_name": given}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _board_staff(self, towns: dict[str, Municipality]) -> dict[str, User]:
        """Editors for the towns load_demo_accounts has no staff for."""
        staff = {}
        for person in BOARD["board_staff"]:
            email, code = person["email"], person["municipality"]
            user = self._account(email, person["family_name"], person["given_name"])
            if not Membership.objects.filter(
                user=user, role=Role.MUNICIPALITY_EDITOR, municipality_id=code
            ).exists():
                membership_grant(user=user, role=Role.MUNICIPALITY_EDITOR, municipality=towns[code])
            demo_second_factor_give(user=user)  # staff need one; the README publishes it
            staff[email] = user
        return staff

    def _host(self, people: dict[str, User], towns: dict[str, Municipality]) -> None:
        """The demo host applies to host for 飛騨市 as well; its staff approve."""
        spec = BOARD["host_application"]
        code = spec["municipality"]
        host = people[HOST]
        if staff_scope(user=host).hosts_for(code):
            return
        application = HostApplication.objects.filter(
            person=host, municipality_id=code, status=HostApplicationStatus.PENDING
        ).first() or services.host_apply(
            person=host,
            municipality=towns[code],
            organisation=spec["organisation"],
            message=spec["message"],
        )
        services.host_application_decide(
            application=application, actor=people[STAFF[code]], approve=True, note=spec["note"]
        )
        staff_scope_forget(user=host)  # the scope cached on this object predates the role

    def _participants(self, towns: dict[str, Municipality]) -> dict[str, User]:
        participants = {}
        self.details: dict[str, dict] = {}
        for person in BOARD["participants"]:
            key, home, born = person["key"], person["home"], person["birth_year"]
            user = self._account(person["email"], person["family_name"], person["given_name"])
            profile = registry_services.profile_of(user)
            if profile.birth_year is None:
                registry_services.profile_update(
                    user=user, home_municipality=towns[home], birth_year=born
                )
            participants[key] = user
            # What each agreed to give the hosts for the roster (name and furigana).
            self.details[key] = {
                "full_name": f"{person['family_name']} {person['given_name']}",
                "furigana": person["furigana"],
                "agree": True,
            }
        return participants

    # --- Tasks ------------------------------------------------------------------------

    def _task(
        self,
        spec: DemoTask,
        people: dict[str, User],
        participants: dict[str, User],
        towns: dict[str, Municipality],
    ) -> int | None:
        """Create one task as its spec says; the number of sign-ups, or None if it exists."""
        title = spec.title + DEMO_SUFFIX
        existing = Task.objects.filter(municipality_id=spec.municipality, title=title)
        if spec.past is None:
            # A copy whose sessions are all over is history: the board gets a fresh one.
            existing = existing.filter(ends_at__gt=timezone.now())
        if existing.exists():
            return None
        staff = people[STAFF[spec.municipality]]
        actor = people[HOST] if spec.by == "host" else staff
        day0 = first_saturday(timezone.localdate())
        sessions = [
            {
                "starts_at": _at(day0 + datetime.timedelta(days=days), start),
                "ends_at": _at(day0 + datetime.timedelta(days=days), end),
                "capacity": capacity,
            }
            for days, start, end, capacity in spec.sessions
        ]
        fields = {
            "title": title,
            "category": spec.category,
            "description": f"{spec.description}\n\n{DEMO_NOTE}",
            "host_message": spec.host_message,
            "schedule": spec.schedule,
            "skills": mask_of(Skill, spec.skills),
            "is_online": spec.is_online,
            "address": spec.address,
            "minimum_age": spec.minimum_age,
            "what_to_bring": spec.what_to_bring,
            "reward": spec.reward,
            "conditions": spec.conditions,
            "participant_costs": spec.participant_costs,
            "weather_policy": spec.weather_policy,
            "signup_mode": spec.signup_mode,
            "signup_close_hours": spec.signup_close_hours,
            "cancel_close_hours": spec.cancel_close_hours,
            "confirm_window_hours": spec.confirm_window_hours,
            "designated": spec.designated,
        }
        if spec.host_name:
            fields["host_name"] = spec.host_name + DEMO_SUFFIX
        task = services.task_create(
            actor=actor, municipality=towns[spec.municipality], sessions=sessions, **fields
        )
        if spec.briefing:
            services.briefing_set(task=task, actor=actor, **spec.briefing)
        if spec.by == "host":
            task = services.task_submit(task=task, actor=actor)
            if spec.submit_only:
                return 0
        task = services.task_publish(task=task, actor=staff)

        session_list = list(Session.objects.filter(task=task).order_by("starts_at", "id"))
        signups: dict[str, Signup] = {}
        for index, key in spec.signups:
            # The demo's waiting lists are laid out on purpose, overlaps included.
            signups[key] = services.signup_create(
                session=session_list[index],
                person=participants[key],
                details=self.details[key],
                confirm_overlap=True,
            )
        for key in spec.accepts:
            services.signup_decide(signup=signups[key], actor=actor, accept=True)
        for key in spec.cancels:
            services.signup_cancel(signup=signups[key], actor=participants[key])

        if spec.past is not None:
            self._happened(task, spec, actor, participants, signups)
        return len(spec.signups)

    def _happened(
        self,
        task: Task,
        spec: DemoTask,
        actor: User,
        participants: dict[str, User],
        signups: dict[str, Signup],
    ) -> None:
        """The task took place ``spec.past`` days ago: attendance, thanks, the report."""
        _shift_into_past(task, spec.past)
        for key, attendance in [
            *((key, "attended") for key in spec.attended),
            *((key, "no_show") for key in spec.no_show),
        ]:
            services.attendance_mark(
                signup=Signup.objects.get(pk=signups[key].pk), actor=actor, attendance=attendance
            )
        for key, message in spec.thanks.items():
            services.signup_thank(
                signup=Signup.objects.select_related("session__task").get(pk=signups[key].pk),
                actor=participants[key],
                message=message,
            )
        task.refresh_from_db()
        task = services.task_complete(task=task, actor=actor)
        services.task_report_publish(task=task, actor=actor, report=spec.report)
