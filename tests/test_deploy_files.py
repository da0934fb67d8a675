"""The deployment files (temporal-compose.yml, Dockerfile, carepath.env.example) say
what docs/deploy.md says: Docker is not on the test machines, so their structure is
checked here, and the entry points they name are the real ones."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from engine.settings import Settings, development_secrets

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "temporal-compose.yml"
CARE = ("carepath-migrate", "carepath-api", "carepath-worker")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text("utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def depends(name: str) -> dict[str, str]:
    """What ``name`` waits for, and for what condition."""
    value = services()[name].get("depends_on", {})
    if isinstance(value, list):
        return dict.fromkeys(value, "service_started")
    return {k: v["condition"] for k, v in value.items()}


def secret_variables() -> list[str]:
    """Every ``CAREPATH_*`` variable that holds a secret (engine.settings marks them)."""
    return [variable for variable, _ in development_secrets(Settings(environment="development"))]


def test_the_services_of_one_machine() -> None:
    assert set(services()) == {
        "temporal-db",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
        "carepath-db",
        "carepath-migrate",
        "carepath-worker",
        "carepath-api",
    }
    temporal = services()["temporal"]["environment"]
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "temporal-db"
    assert "NUM_HISTORY_SHARDS" in temporal
    assert services()["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    # carepath's data and Temporal's live in databases of their own.
    assert services()["carepath-db"]["image"].startswith("postgres:")
    assert services()["carepath-db"]["volumes"] != services()["temporal-db"]["volumes"]


def test_start_order() -> None:
    assert depends("temporal-schema") == {"temporal-db": "service_healthy"}
    assert depends("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert depends("temporal-namespace") == {"temporal": "service_healthy"}
    assert depends("carepath-migrate") == {"carepath-db": "service_healthy"}
    # The migration runs to its end before any API or worker starts, and they start
    # once Temporal has its namespace.
    for name in ("carepath-api", "carepath-worker"):
        assert depends(name) == {
            "carepath-migrate": "service_completed_successfully",
            "temporal-namespace": "service_completed_successfully",
        }
    assert services()["carepath-migrate"]["restart"] == "no"


def test_carepath_processes_run_the_real_entry_points() -> None:
    s = services()
    assert s["carepath-migrate"]["command"] == ["carepath", "migrate"]
    assert s["carepath-worker"]["command"] == ["python", "-m", "worker"]
    api = s["carepath-api"]["command"]
    assert api[:3] == ["uvicorn", "--factory", "api.main:app"]
    # What they name exists: the console script, the worker module, the API factory.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["scripts"]["carepath"] == "cli.main:main"
    assert "migrate" in importlib.import_module("cli.main").build_parser().format_help()
    assert callable(importlib.import_module("worker").run)
    module, attr = api[2].split(":")
    assert callable(getattr(importlib.import_module(module), attr))


def test_replicas_and_one_image_built_at_build_time() -> None:
    s = services()
    for name in ("carepath-api", "carepath-worker"):
        assert str(s[name]["deploy"]["replicas"]).startswith("${")  # N, from carepath.env
    for name in CARE:
        assert s[name]["build"] == "."
        assert s[name]["image"] == "carepath:local"
        assert "pip" not in " ".join(s[name]["command"])  # installed in the image
        for mount in s[name].get("volumes", []):
            assert not mount.split(":")[1].startswith("/app")  # no code mounted in
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^RUN pip install \.", dockerfile, re.M)
    assert "USER " in dockerfile


def test_settings_are_carepath_variables_and_secrets_come_from_carepath_env() -> None:
    s = services()
    for name in CARE:
        assert s[name]["env_file"] == "carepath.env"
        env = s[name]["environment"]
        assert all(key.startswith("CAREPATH_") for key in env)
        assert env["CAREPATH_ENVIRONMENT"] == "production"  # refuses development secrets
        assert env["CAREPATH_TEMPORAL__ADDRESS"] == "temporal:7233"
        assert "${CAREPATH_DB_PASSWORD:?" in env["CAREPATH_DATABASE__URL"]


def test_no_secret_value_in_the_compose_file() -> None:
    text = COMPOSE.read_text("utf-8")
    for variable in secret_variables():
        assert variable not in text, f"{variable} belongs in carepath.env"
    # Every password is interpolated from carepath.env, and compose refuses an unset one.
    passwords = [
        str(value)
        for service in services().values()
        for key, value in service.get("environment", {}).items()
        if "PASSWORD" in key or "PWD" in key
    ]
    assert len(passwords) == 4, "both databases, the schema job and the server"
    for value in passwords:
        assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), value
    assert re.findall(r"://carepath:(.+?)@carepath-db", text) == [
        "${CAREPATH_DB_PASSWORD:?set it in carepath.env}"
    ]


def test_env_example_holds_placeholders_only() -> None:
    example = ROOT / "carepath.env.example"
    values = dict(
        line.split("=", 1)
        for line in example.read_text("utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for variable in [*secret_variables(), "CAREPATH_DB_PASSWORD", "TEMPORAL_DB_PASSWORD"]:
        if variable in values:
            assert values[variable] == "", f"{variable} must be left for the operator"
    # The real file never reaches git nor the image.
    assert "carepath.env" in (ROOT / ".gitignore").read_text("utf-8").splitlines()
    assert "carepath.env" in (ROOT / ".dockerignore").read_text("utf-8").splitlines()


def test_the_example_names_every_variable_compose_reads() -> None:
    read = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text("utf-8")))
    assert {"CAREPATH_WORKERS", "CAREPATH_API_REPLICAS", "CAREPATH_DB_PASSWORD"} <= read
    example = (ROOT / "carepath.env.example").read_text("utf-8")
    for name in read:
        assert re.search(rf"^{name}=", example, re.M), f"{name} not in carepath.env.example"
