"""Production refuses to start without its secrets and passes the deployment checklist;
without any environment the site runs on the embedded default."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Every test starts manage.py in a process of its own: `make test-slow`.
pytestmark = pytest.mark.slow

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


EMBEDDED_KEY = "embedded-only-key-never-used-in-production-8f2d0c4b9e1a7f3d5c6b2a1e"


def test_production_refuses_the_embedded_key_and_short_keys(tmp_path):
    for key in (EMBEDDED_KEY, "k" * 49, "too-short"):
        env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": key}
        result = _manage("check", env=env, home=tmp_path)
        assert result.returncode != 0, key
        assert "ImproperlyConfigured" in result.stderr, result.stderr
        assert "DJANGO_SECRET_KEY" in result.stderr and "50" in result.stderr
    result = _manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "k" * 50}, home=tmp_path)
    assert result.returncode == 0, result.stderr


def test_check_deploy_fails_on_the_embedded_key_and_says_why(tmp_path):
    # The embedded settings (no environment) with the published key, as someone deploying
    # them by mistake would run them.
    result = _manage("check", "--deploy", env={}, home=tmp_path)
    assert result.returncode != 0
    assert "furusato.E001" in result.stderr
    assert "embedded default" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr
    # Any other key passes this check (the others of --deploy still warn about DEBUG etc.).
    other = _manage("check", "--deploy", env={"DJANGO_SECRET_KEY": "k" * 60}, home=tmp_path)
    assert "furusato.E001" not in other.stdout + other.stderr


def test_production_responses_carry_the_csp_and_permissions_policy(tmp_path):
    """A request through the production settings' whole middleware stack (to /health/, on
    this machine's PostgreSQL and Redis), as the TLS proxy forwards it."""
    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    code = (
        "import json; from django.test import Client; "
        "r = Client(HTTP_HOST='furusato.example.jp', HTTP_X_FORWARDED_PROTO='https')"
        ".get('/health/'); "
        "print(json.dumps({k: r.get(k) for k in ('Content-Security-Policy', "
        "'Permissions-Policy', 'Strict-Transport-Security')} | {'body': r.json()}))"
    )
    result = _manage("shell", "-c", code, env=env, home=tmp_path)
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    csp = {
        part.split()[0]: part.split()[1:] for part in headers["Content-Security-Policy"].split("; ")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    policy = headers["Permissions-Policy"]
    for denied in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert denied in policy
    assert "publickey-credentials-get=(self)" in policy
    assert "publickey-credentials-create=(self)" in policy
    assert headers["Strict-Transport-Security"]
    assert set(headers["body"]) == {"status"}  # no token: no details
