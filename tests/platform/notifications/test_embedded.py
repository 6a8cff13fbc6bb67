"""The embedded default delivers e-mail too: on SQLite, with tasks in-process, a
notification's e-mail reaches var/mail/ when its transaction commits (the relay's
statements were PostgreSQL's alone once, and the demo mailed nothing)."""

from __future__ import annotations

import pytest

from tests.embedded import run_embedded

SCRIPT = """
from pathlib import Path
from django.conf import settings
from django.db import transaction
from accounts.models import User
from notifications.models import Email
from notifications.services import email_relay, notification_send

person = User.objects.create_user(email="hanako@example.jp", password="embedded-pass-2026")
with transaction.atomic():
    notification_send(
        recipients=[person], kind="announcement", topic="announcements", key="announcement:1",
        context={"municipality": "智頭町", "title": "冬", "body": "雪かき"},
        url="/municipalities/313289/",
    )
mailed = "".join(path.read_text() for path in Path(settings.EMAIL_FILE_PATH).glob("*.log"))
print(json.dumps({
    "states": list(Email.objects.values_list("state", flat=True)),
    "mailed": "hanako@example.jp" in mailed and "List-Unsubscribe-Post" in mailed,
    "again": email_relay(),
}))
"""


@pytest.mark.slow  # a Django process of its own, migrating a fresh SQLite database
def test_a_notification_is_mailed_on_the_embedded_sqlite_default(tmp_path):
    out = run_embedded(SCRIPT, tmp_path)
    assert out["states"] == ["sent"]
    assert out["mailed"]
    assert out["again"] == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
