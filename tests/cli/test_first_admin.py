"""The console's first admin: made by ``carepath up`` once, its password in an owner-only file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cli.first_admin import first_admin
from engine.errors import Conflict
from engine.store.sql import SqlStore, upgrade
from engine.store.sql.tables import UserRow

CONSOLE = "http://127.0.0.1:8000/"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    url = f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"
    upgrade(url)
    opened = SqlStore(url)
    yield opened
    opened.close()


def _credentials(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split(": ", 1) for line in lines)


def test_the_first_start_creates_admin_with_a_password_only_its_owner_reads(
    store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "console-admin.txt"
    old_umask = os.umask(0)  # even a umask that lets everyone read
    try:
        line = first_admin(store, path, CONSOLE)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = _credentials(path)
    assert set(creds) == {"username", "password"} and creds["username"] == "admin"
    assert len(creds["password"]) >= 20
    assert creds["password"] not in line  # the password is in the file only
    assert line.startswith(f"console      {CONSOLE}") and str(path) in line
    assert "created now" in line

    user = store.check_password("admin", creds["password"])
    assert user is not None and user.role == "admin"
    engine = create_engine(store.url)
    with engine.connect() as conn:
        assert conn.execute(select(UserRow.created_by)).scalars().all() == ["carepath up"]
    engine.dispose()


def test_later_starts_create_nothing_and_only_say_where_the_file_is(
    store: SqlStore, tmp_path: Path
) -> None:
    path = tmp_path / "var" / "console-admin.txt"
    first_admin(store, path, CONSOLE)
    written = path.read_text(encoding="utf-8")
    again = first_admin(store, path, CONSOLE)
    assert "created" not in again and str(path) in again
    assert path.read_text(encoding="utf-8") == written
    assert [u.username for u in store.list_users()] == ["admin"]

    path.unlink()  # the operator changed the password and deleted the file
    assert first_admin(store, path, CONSOLE) == f"console      {CONSOLE}"
    assert not path.exists()
    assert len(store.list_users()) == 1


def test_no_admin_is_made_when_users_exist(store: SqlStore, tmp_path: Path) -> None:
    store.create_user("zhang", "correct horse battery", "admin", by="cli")
    path = tmp_path / "var" / "console-admin.txt"
    assert first_admin(store, path, CONSOLE) == f"console      {CONSOLE}"
    assert not path.exists()
    assert [u.username for u in store.list_users()] == ["zhang"]


def test_a_file_left_from_an_earlier_database_is_replaced(store: SqlStore, tmp_path: Path) -> None:
    path = tmp_path / "var" / "console-admin.txt"
    path.write_text("username: admin\npassword: from-an-old-database\n", encoding="utf-8")
    path.chmod(0o644)
    first_admin(store, path, CONSOLE)
    password = _credentials(path)["password"]
    assert password != "from-an-old-database"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.check_password("admin", password) is not None


def test_no_file_is_left_when_the_user_cannot_be_created(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise Conflict("a console user named 'admin' exists already")

    monkeypatch.setattr(store, "create_user", refuse)
    path = tmp_path / "var" / "console-admin.txt"
    with pytest.raises(Conflict):
        first_admin(store, path, CONSOLE)
    assert not path.exists()
