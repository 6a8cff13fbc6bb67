"""docker-compose.yml: the production topology, valid, from one image, commands we test."""

import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_specification():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(REPO / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_topology_has_web_workers_beat_postgres_and_redis_from_one_image():
    services = COMPOSE["services"]
    ours = {name: s for name, s in services.items() if name not in ("postgres", "redis")}
    assert {"web", "beat", "migrate"} <= set(ours)
    assert {s["image"] for s in ours.values()} == {"furusato:latest"}
    assert {s["build"] for s in ours.values()} == {"."}
    assert (REPO / "Dockerfile").exists()
    assert services["web"]["command"][:2] == ["gunicorn", "config.wsgi"]
    beats = [n for n, s in ours.items() if s["command"][:4] == ["celery", "-A", "config", "beat"]]
    assert beats == ["beat"]


def test_every_queue_has_a_worker():
    consumed = set()
    for service in COMPOSE["services"].values():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "config", "worker"]:
            queues = next(a for a in command if a.startswith("--queues="))
            consumed |= set(queues.removeprefix("--queues=").split(","))
    assert consumed == {q.name for q in settings.CELERY_TASK_QUEUES}


def test_services_wait_for_healthy_databases():
    for name in ("web", "worker-default", "worker-matching", "worker-notifications", "beat"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_flower_requires_credentials_from_the_environment():
    """Compose refuses to start Flower without FLOWER_BASIC_AUTH (`${VAR:?message}`), which
    Flower reads itself; the rest of the environment is the other services'."""
    flower = COMPOSE["services"]["flower"]
    assert flower["command"][:4] == ["celery", "-A", "config", "flower"]
    assert not any("basic-auth" in arg or "basic_auth" in arg for arg in flower["command"])
    assert re.fullmatch(
        r"\$\{FLOWER_BASIC_AUTH:\?[^}]+\}", flower["environment"]["FLOWER_BASIC_AUTH"]
    )
    assert flower["environment"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert flower["environment"]["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
    for name, service in COMPOSE["services"].items():
        if name != "flower":
            assert "FLOWER_BASIC_AUTH" not in (service.get("environment") or {}), name


def test_secrets_never_go_into_the_image():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored
