"""docker-compose.yml runs what the Procfile runs (Docker itself cannot run on this machine)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_compose_names_every_procfile_process_with_its_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name, command in procfile().items():
        assert name in services, f"{name} is missing from docker-compose.yml"
        assert services[name]["command"] == command


def test_compose_has_the_servers_and_shared_configuration() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "redis"} <= set(services)
    for name in procfile():
        env = services[name]["environment"]
        assert env["ADUAN_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["ADUAN_REDIS_URL"].startswith("redis://")
        assert "healthcheck" in services[name] or name.endswith("-worker")
