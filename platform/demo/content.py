"""The demo's content, read from the data files in ``data/`` (accounts, registry, board):
what the demo loaders make is edited there, not in code. Each file is read once."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matching.models import SignupMode

DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def content(name: str) -> dict[str, Any]:
    """The data file ``data/<name>.yaml``, parsed."""
    with (DATA / f"{name}.yaml").open(encoding="utf-8") as file:
        return yaml.safe_load(file)


# Published in the README: every demo account's password, and the staff's TOTP secret.
DEMO_PASSWORD: str = content("accounts")["password"]
DEMO_TOTP_SECRET: str = content("accounts")["staff_totp_secret"]


@dataclass
class DemoTask:
    """A task of the demo board and what happens to it (``data/board.yaml`` says what each
    field means).

    ``sessions``: (days after the board's first Saturday, start "HH:MM", end "HH:MM",
    capacity). ``signups``: (session index, person key) in the order they sign up;
    ``cancels``, ``accepts``: person keys. ``past``: the task happened ``past`` days ago:
    ``attended``/``no_show`` are marked, ``thanks`` left, ``report`` published.
    """

    municipality: str
    by: str  # "staff" or "host"
    title: str
    category: str
    description: str
    reward: str
    sessions: list[tuple[int, str, str, int]]
    participant_costs: str
    host_message: str = ""
    schedule: str = ""
    skills: list[str] = field(default_factory=list)
    is_online: bool = False
    address: str = ""
    minimum_age: int | None = None
    what_to_bring: str = ""
    conditions: str = ""
    weather_policy: str = ""
    signup_mode: str = SignupMode.FIRST_COME
    signup_close_hours: int = 48
    cancel_close_hours: int = 48
    confirm_window_hours: int | None = None
    designated: bool = False
    host_name: str = ""
    submit_only: bool = False  # left in review for the town's staff
    signups: list[tuple[int, str]] = field(default_factory=list)
    accepts: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    past: int | None = None
    attended: list[str] = field(default_factory=list)
    no_show: list[str] = field(default_factory=list)
    thanks: dict[str, str] = field(default_factory=dict)
    report: str = ""
    # The briefing for participants only (matching.TaskBriefing): meeting point, day-of
    # instructions and contact.
    briefing: dict[str, Any] = field(default_factory=dict)


def demo_tasks(month: int) -> list[DemoTask]:
    """The board's tasks when the demo is loaded in ``month``, in the order they are made
    (a task with ``months`` is the farm or forest work of those months only)."""
    board = content("board")
    tasks = []
    for entry in board["tasks"]:
        entry = dict(entry)
        if month not in entry.pop("months", [month]):
            continue
        entry.setdefault("participant_costs", board["travel_costs"])
        entry["sessions"] = [
            (s["day"], s["starts"], s["ends"], s["capacity"]) for s in entry.get("sessions", [])
        ]
        entry["signups"] = [(s["session"], s["person"]) for s in entry.get("signups", [])]
        tasks.append(DemoTask(**entry))
    return tasks
