"""Production refuses to start with a development secret, naming each; the API process,
the worker and ``carepath up`` all check before they touch anything."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import ValidationError

import worker
from api.main import app
from cli.up import up
from engine.errors import InsecureSettings
from engine.settings import Settings, refuse_development_secrets

DEVELOPMENT = [
    "CAREPATH_CHANNELS__WECHAT__APP_SECRET",
    "CAREPATH_CHANNELS__WECHAT__TOKEN",
    "CAREPATH_CHANNELS__WECOM__CORP_SECRET",
    "CAREPATH_CHANNELS__SMS__SECRET_ID",
    "CAREPATH_CHANNELS__SMS__SECRET_KEY",
    "CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN",
]

OWN = {
    "CAREPATH_ENVIRONMENT": "production",
    "CAREPATH_CHANNELS__WECHAT__APP_SECRET": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "CAREPATH_CHANNELS__WECHAT__TOKEN": "clinicToken2026",
    "CAREPATH_CHANNELS__WECOM__CORP_SECRET": "wecom-secret-of-the-clinic",
    "CAREPATH_CHANNELS__SMS__SECRET_ID": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    "CAREPATH_CHANNELS__SMS__SECRET_KEY": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    "CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN": "x7Qk2mV9pL4sT8wZ3nB6",
}


def production(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> Settings:
    """Settings read from the environment, as a process reads them."""
    for name, value in (OWN | changes).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return Settings()


def test_development_defaults_are_refused_in_production_each_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = production(monkeypatch, **dict.fromkeys(DEVELOPMENT))
    with pytest.raises(InsecureSettings) as refused:
        refuse_development_secrets(settings)
    assert refused.value.variables == DEVELOPMENT
    for name in DEVELOPMENT:
        assert f"{name} (is the development default)" in str(refused.value)


def test_empty_or_short_secrets_are_refused_and_own_ones_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refuse_development_secrets(production(monkeypatch))  # every secret the clinic's own
    weak = production(
        monkeypatch,
        CAREPATH_CHANNELS__WECHAT__TOKEN="",
        CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN="short",
        CAREPATH_CHANNELS__WECOM__AES_KEY="",
    )
    with pytest.raises(InsecureSettings) as refused:
        refuse_development_secrets(weak)
    assert refused.value.variables == [
        "CAREPATH_CHANNELS__WECHAT__TOKEN",
        "CAREPATH_CHANNELS__WECOM__AES_KEY",
        "CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN",
    ]
    assert "CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN (is shorter than 16 characters)" in str(
        refused.value
    )


def test_development_keeps_its_defaults_and_a_misspelt_environment_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refuse_development_secrets(Settings())  # development: the simulators' credentials
    monkeypatch.setenv("CAREPATH_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="environment"):
        Settings()


def test_the_api_process_refuses_before_it_migrates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "carepath.db"
    settings = production(
        monkeypatch,
        CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN=None,
        CAREPATH_DATABASE__URL=f"sqlite:///{database}",
    )
    with pytest.raises(InsecureSettings, match="CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN"):
        app(settings)
    assert not database.exists()


async def test_the_worker_refuses_before_it_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    # An address nobody listens on: reaching it would fail differently.
    settings = production(
        monkeypatch, CAREPATH_CHANNELS__WECHAT__TOKEN=None, CAREPATH_TEMPORAL__ADDRESS="0.0.0.0:9"
    )
    with pytest.raises(InsecureSettings, match="CAREPATH_CHANNELS__WECHAT__TOKEN"):
        await worker.run(settings)


async def test_carepath_up_refuses_before_it_starts_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = production(monkeypatch, CAREPATH_CHANNELS__SMS__SECRET_KEY=None)
    args = argparse.Namespace(var=str(tmp_path / "var"), no_simulators=False)
    with pytest.raises(InsecureSettings, match="CAREPATH_CHANNELS__SMS__SECRET_KEY"):
        await up(args, settings)
    assert not (tmp_path / "var").exists()
