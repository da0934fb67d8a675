"""``carepath keys``: a migrated database, a key whose secret is shown once, the list of
keys, revocation and expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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


def create_key(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert main(["keys", "create", *args, "--database-url", url]) == 0
    out = capsys.readouterr().out
    secret_match, id_match = SECRET.search(out), KEY_ID.search(out)
    assert secret_match and id_match, out
    return id_match["id"], secret_match["secret"]


def test_list_shows_every_key_without_secrets_and_revoke_refuses_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_in(tmp_path)
    crm_id, crm_secret = create_key(url, capsys, "--name", "crm", "--scope", "ingest")
    desk_id, desk_secret = create_key(
        url, capsys, "--name", "sz-desk", "--scope", "staff", "--clinic", "sz-01"
    )
    assert main(["keys", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    header, *rows = listing.splitlines()
    assert header.split() == [
        "ID", "NAME", "SCOPES", "CLINICS", "CREATED", "EXPIRES", "LAST", "USED", "STATE"
    ]  # fmt: skip
    assert [row.split()[:4] for row in rows] == [
        [crm_id, "crm", "ingest", "-"],
        [desk_id, "sz-desk", "staff", "sz-01"],
    ]
    assert all(row.endswith("active") for row in rows)
    assert crm_secret not in listing and desk_secret not in listing

    assert main(["keys", "revoke", "crm", "--database-url", url]) == 0
    assert f"revoked {crm_id} (name crm)" in capsys.readouterr().out
    assert main(["keys", "list", "--database-url", url]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert "revoked" in rows[0] and rows[1].endswith("active")
    store = SqlStore(url)
    try:
        assert store.find_api_key(crm_secret) is None
        assert store.find_api_key(desk_secret) is not None
    finally:
        store.close()

    assert main(["keys", "revoke", "nobody", "--database-url", url]) == 1
    assert "no unrevoked API key with id or name 'nobody'" in capsys.readouterr().err


def test_create_with_an_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = url_in(tmp_path)
    before = datetime.now(UTC)
    key_id, secret = create_key(
        url, capsys, "--name", "crm", "--scope", "ingest", "--expires", "90d"
    )
    store = SqlStore(url)
    try:
        key = store.find_api_key(secret)
        assert key is not None and key.expires_at is not None
        assert timedelta(days=90) <= key.expires_at - before < timedelta(days=90, minutes=1)
        assert store.find_api_key(secret, at=before + timedelta(days=91)) is None
    finally:
        store.close()
    assert main(["keys", "list", "--database-url", url]) == 0
    assert (before + timedelta(days=90)).strftime("%Y-%m-%d") in capsys.readouterr().out


def test_a_bad_expiry_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = url_in(tmp_path)
    argv = ["keys", "create", "--name", "x", "--scope", "admin", "--expires", "soon"]
    assert main([*argv, "--database-url", url]) == 2
    assert "--expires 'soon': write a number and h, d or w" in capsys.readouterr().err
    assert not (tmp_path / "var").exists()
