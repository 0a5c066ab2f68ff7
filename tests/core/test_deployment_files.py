"""Docker can't run here, so the deployment files are checked against the code instead."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from server.cli import build_parser
from server.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KNOWN_SETTINGS = {name.upper() for name in Settings.__struct_fields__}
# Variables read by the images or libraries rather than by our settings.
THIRD_PARTY_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def _subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def test_compose_services_and_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "worker", "postgres", "redis"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("api", "worker"):
        command = services[name]["command"]
        assert command[0] == "interviewace", f"{name} must run the project's entry point"
        assert command[1] in _subcommands(), f"{name} runs an unknown command {command[1]!r}"
        build_parser().parse_args(command[1:])  # the arguments must parse
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_compose_sets_only_known_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            assert variable in KNOWN_SETTINGS | THIRD_PARTY_VARIABLES, f"{name} sets unknown {variable}"


def test_env_example_documents_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {m.group(1) for line in lines if (m := re.match(r"^([A-Z0-9_]+)=", line))}
    assert listed == KNOWN_SETTINGS


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2, "multi-stage build expected"
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert "/health" in dockerfile
    assert "uv sync --frozen" in dockerfile
