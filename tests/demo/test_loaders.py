"""The demo loaders of `make run`: accounts with the published second factor, the registry's
and the board's demo content, each idempotent and refused where demo content is not allowed."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.core.management import CommandError, call_command

from accounts.models import User
from demo.content import DEMO_PASSWORD, DEMO_TOTP_SECRET
from matching.models import Session, Signup, SignupStatus, Task, TaskStatus
from registry.models import Activity, Perk, Registration
from tests.factories import client_for

pytestmark = pytest.mark.django_db

DEMO = "@demo.furusato.jp"


def _run(name: str) -> str:
    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue().strip()


def test_demo_staff_log_in_with_the_published_secret_and_demo_totp(settings):
    settings.DEMO_CONTENT_ALLOWED = True
    call_command("load_demo_accounts", stdout=StringIO())
    call_command("load_demo_accounts", stdout=StringIO())  # again: nothing doubled
    assert Authenticator.objects.filter(user__email="hida@demo.furusato.jp").count() == 1
    assert not Authenticator.objects.filter(user__email="host@demo.furusato.jp").exists()
    out = StringIO()
    call_command("demo_totp", "hida@demo.furusato.jp", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    stored = Authenticator.objects.get(user__email="hida@demo.furusato.jp").data["secret"]
    assert decrypt(stored) == DEMO_TOTP_SECRET

    browser = client_for(None)
    browser.post("/accounts/login/", {"login": "hida@demo.furusato.jp", "password": DEMO_PASSWORD})
    response = browser.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert browser.get("/staff/212172/registrants/").status_code == 200

    settings.DEMO_CONTENT_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("demo_totp", "hida@demo.furusato.jp", stdout=StringIO())


def test_the_demo_loads_once_and_again_adds_nothing(settings):
    settings.DEMO_CONTENT_ALLOWED = True
    assert _run("load_demo_accounts") == (
        "7 demo accounts ready; password: furusato-demo-2026; staff TOTP secret: "
        "FURUSATODEMOKEYFORSTAFFONLY23456 (or: manage.py demo_totp EMAIL)"
    )
    assert _run("load_demo_registry") == (
        "Demo registry ready: 3 registrations, 5 activities, 6 perks added."
    )
    resident = User.objects.get(email=f"resident{DEMO}")
    assert Registration.objects.filter(person=resident).count() == 3
    assert Registration.objects.get(person=resident, municipality_id="212172").is_premium
    assert Activity.objects.filter(registration__person=resident).count() == 5
    assert Perk.objects.count() == 6
    assert all(perk.title.endswith("（デモ）") for perk in Perk.objects.all())

    assert _run("load_demo_board") == "Demo board ready: 21 tasks and 50 sign-ups added."
    tasks = Task.objects.all()
    assert tasks.count() == 21
    assert all(task.title.endswith("（デモ）") for task in tasks)
    assert tasks.filter(status=TaskStatus.COMPLETED).count() == 1
    assert tasks.exclude(report="").count() == 1
    assert Signup.objects.count() == 50
    assert Signup.objects.filter(status=SignupStatus.WAITLISTED).exists()
    assert Session.objects.filter(task__in=tasks).count() == 38
    assert User.objects.filter(email__endswith=DEMO).count() == 19

    assert _run("load_demo_accounts").startswith("7 demo accounts ready")
    assert _run("load_demo_registry") == (
        "Demo registry ready: 0 registrations, 0 activities, 0 perks added."
    )
    assert _run("load_demo_board") == "Demo board ready: 0 tasks and 0 sign-ups added."
    assert Task.objects.count() == 21 and Signup.objects.count() == 50


@pytest.mark.parametrize("name", ["load_demo_accounts", "load_demo_registry", "load_demo_board"])
def test_the_demo_is_refused_where_demo_content_is_not_allowed(settings, name):
    settings.DEMO_CONTENT_ALLOWED = False
    with pytest.raises(CommandError, match="not allowed here"):
        call_command(name, stdout=StringIO())
    assert not User.objects.filter(email__endswith=DEMO).exists()
