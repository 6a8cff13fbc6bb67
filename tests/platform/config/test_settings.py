"""Production refuses to start without its secrets and passes the deployment checklist;
without any environment the site runs on the embedded default."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x7!k2@q9#m4$w8%e1^r6&t3*y5(u0)i-o=p+a[s]d{f}g|h;j:l,z.c<v>b?n/m",
    "DJANGO_ALLOWED_HOSTS": "furusato.example.jp",
    "DATABASE_URL": "postgres://furusato:secret@db.internal:5432/furusato",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.jp:587",
    "DEFAULT_FROM_EMAIL": "Furusato <no-reply@furusato.example.jp>",
    "SITE_URL": "https://furusato.example.jp",
}


def _manage(*args, env, home):
    base = {"PATH": os.environ["PATH"], "HOME": str(home), "FURUSATO_VAR_DIR": str(home / "var")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_passes_check_deploy_without_warnings(tmp_path):
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, home=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_each_secret(tmp_path):
    for missing in (
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "DJANGO_ALLOWED_HOSTS",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = _manage("check", env=env, home=tmp_path)
        assert result.returncode != 0, missing
        assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_embedded_default_needs_no_environment(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND)"
    )
    result = _manage("shell", "-c", code, env={}, home=tmp_path)
    assert result.returncode == 0, result.stderr
    engine, eager, email = result.stdout.strip().splitlines()[-1].split()
    assert engine == "django.db.backends.sqlite3"
    assert eager == "True"
    assert email.endswith("filebased.EmailBackend")


def test_embedded_e_mail_goes_to_the_absolute_var_mail_folder(tmp_path):
    code = "from django.conf import settings as s; print(s.EMAIL_FILE_PATH)"
    result = _manage("shell", "-c", code, env={}, home=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "var" / "mail")
    result = _manage("shell", "-c", code, env={"EMAIL_URL": "filemail:///srv/mail"}, home=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "/srv/mail"
