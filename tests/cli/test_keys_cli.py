"""``carepath keys create``: a migrated database and a key whose secret is shown once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.main import main
from engine.store.sql import SqlStore

SECRET = re.compile(r"^secret: (?P<secret>cp_\S+)$", re.MULTILINE)
KEY_ID = re.compile(r"^key id: (?P<id>\S+) ", re.MULTILINE)


def url_in(tmp_path: Path) -> str:
    # A folder that does not exist yet: the command creates it with the database.
    return f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"


def test_create_prints_the_secret_once_and_stores_only_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_in(tmp_path)
    argv = ["keys", "create", "--name", "sz-desk", "--scope", "staff", "--database-url", url]
    assert main([*argv, "--clinic", "sz-01", "--clinic", "sz-02"]) == 0
    out = capsys.readouterr().out
    secret_match, id_match = SECRET.search(out), KEY_ID.search(out)
    assert secret_match and id_match, out
    assert "it cannot be shown again" in out

    store = SqlStore(url)
    try:
        key = store.find_api_key(secret_match["secret"])
        assert key is not None
        assert (key.id, key.name, key.scopes, key.clinics) == (
            id_match["id"],
            "sz-desk",
            ["staff"],
            ["sz-01", "sz-02"],
        )
        assert store.find_api_key(secret_match["secret"] + "x") is None
    finally:
        store.close()
    assert secret_match["secret"].encode() not in (tmp_path / "var" / "carepath.db").read_bytes()


def test_the_database_url_defaults_to_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.settings import get_settings

    monkeypatch.setenv("CAREPATH_DATABASE__URL", url_in(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["keys", "create", "--name", "crm", "--scope", "ingest"]) == 0
    finally:
        get_settings.cache_clear()
    assert SECRET.search(capsys.readouterr().out)
    assert (tmp_path / "var" / "carepath.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "staff"], "a staff key needs at least one --clinic ID"),
        (["--scope", "admin", "--clinic", "sz-01"], "--clinic applies to staff keys only"),
    ],
)
def test_clinics_belong_to_staff_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    url = url_in(tmp_path)
    assert main(["keys", "create", "--name", "x", *args, "--database-url", url]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "var").exists()


def test_an_unknown_scope_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["keys", "create", "--name", "x", "--scope", "root"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err


def test_keys_without_an_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys"]) == 2
    assert "create a key and print its secret" in capsys.readouterr().out
