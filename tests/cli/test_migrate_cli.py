"""``carepath migrate``: a fresh database gets the newest schema; a second run changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from cli.main import main
from engine.settings import get_settings
from engine.store.sql.migrate import alembic_config


def schema_of(db: Path) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    """Every table, index and trigger with its SQL, and the recorded revision."""
    with sqlite3.connect(db) as connection:
        objects = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        revisions = [
            row[0] for row in connection.execute("SELECT version_num FROM alembic_version")
        ]
    connection.close()
    return objects, revisions


def test_migrate_creates_the_newest_schema_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "var" / "carepath.db"  # its folder does not exist yet
    url = f"sqlite:///{db}"
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    assert main(["migrate", "--database-url", url]) == 0
    assert f"schema created at {head}" in capsys.readouterr().out
    objects, revisions = schema_of(db)
    assert revisions == [head]
    assert {"customers", "enrollments", "api_keys"} <= {name for kind, name, _ in objects}

    assert main(["migrate", "--database-url", url]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert schema_of(db) == (objects, revisions)


def test_migrate_uses_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "configured.db"
    monkeypatch.setenv("CAREPATH_DATABASE__URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 0
    finally:
        get_settings.cache_clear()
    assert "schema created" in capsys.readouterr().out
    assert schema_of(db)[1]
