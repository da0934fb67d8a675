"""``carepath users``: console users created, listed, disabled and given new passwords
from the command line, with the password never taken as an argument."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from cli import users as users_cli
from cli.main import main
from engine.store.sql import SqlStore
from engine.store.sql.tables import UserRow

PASSWORD = "correct horse battery"


def url_in(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Callable[[], SqlStore]]:
    """Opens the database the commands wrote (once they ran)."""
    opened: list[SqlStore] = []

    def open_store() -> SqlStore:
        opened.append(SqlStore(url_in(tmp_path)))
        return opened[-1]

    yield open_store
    for s in opened:
        s.close()


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _create(tmp_path: Path, *args: str) -> int:
    return main(["users", "create", *args, "--database-url", url_in(tmp_path)])


def test_create_reads_the_password_file_and_stores_only_a_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store: Callable[[], SqlStore]
) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\nignored second line\n", encoding="utf-8")
    argv = ["SZ-Desk", "--role", "staff", "--clinic", "sz-01", "--clinic", "sz-02"]
    assert _create(tmp_path, *argv, "--name", "深圳前台", "--password-file", str(secret)) == 0
    assert capsys.readouterr().out == (
        "created console user sz-desk (深圳前台, staff: sz-01, sz-02)\n"
    )
    db = store()
    user = db.check_password("sz-desk", PASSWORD)
    assert user is not None and (user.role, user.clinics) == ("staff", ["sz-01", "sz-02"])
    assert PASSWORD.encode() not in (tmp_path / "var" / "carepath.db").read_bytes()
    engine = create_engine(url_in(tmp_path))
    with engine.connect() as conn:
        (created_by,) = conn.execute(select(UserRow.created_by)).scalars()
    engine.dispose()
    assert created_by == users_cli.actor() and created_by.startswith("cli")


def test_create_reads_standard_input_when_it_is_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Callable[[], SqlStore]
) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    assert _create(tmp_path, "ops", "--role", "operator") == 0
    assert store().check_password("ops", PASSWORD) is not None


def test_at_a_terminal_the_password_is_asked_twice(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: Callable[[], SqlStore],
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    typed = iter([PASSWORD, PASSWORD + "!", PASSWORD, PASSWORD])
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr("getpass.getpass", getpass)
    assert _create(tmp_path, "boss", "--role", "admin") == 2
    assert "the two passwords differ" in capsys.readouterr().err
    assert _create(tmp_path, "boss", "--role", "admin") == 0
    assert prompts == ["password: ", "again: "] * 2
    assert [u.username for u in store().list_users()] == ["boss"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "staff"], "needs at least one clinic"),
        (["--role", "admin", "--clinic", "sz-01"], "give clinics to staff users only"),
        (["--role", "staff", "--clinic", " "], "a clinic id must not be empty"),
    ],
)
def test_clinics_belong_to_staff_users_and_are_checked_before_the_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setattr(users_cli, "read_password", pytest.fail)  # never asked
    assert _create(tmp_path, "desk", *args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "var").exists()  # no database made either


def test_a_short_password_or_a_taken_name_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: Callable[[], SqlStore],
) -> None:
    _stdin(monkeypatch, "too short\n")
    assert _create(tmp_path, "boss", "--role", "admin") == 2
    assert "9 characters: use at least 10" in capsys.readouterr().err
    _stdin(monkeypatch, PASSWORD + "\n")
    assert _create(tmp_path, "boss", "--role", "admin") == 0
    _stdin(monkeypatch, "another password\n")
    assert _create(tmp_path, "Boss", "--role", "operator") == 1
    assert "'boss' exists already" in capsys.readouterr().err
    db = store()
    assert [(u.username, u.role) for u in db.list_users()] == [("boss", "admin")]
    assert db.check_password("boss", PASSWORD) is not None


def test_list_shows_every_user_in_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["zhang", "--role", "admin", "--name", "张经理"],
        ["sz-desk", "--role", "staff", "--clinic", "sz-01", "--clinic", "sz-02"],
    ):
        _stdin(monkeypatch, PASSWORD + "\n")
        assert _create(tmp_path, *argv) == 0
    assert main(["users", "disable", "sz-desk", "--database-url", url_in(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["users", "list", "--database-url", url_in(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "USERNAME  NAME     ROLE   CLINICS      DISABLED",
        "sz-desk   sz-desk  staff  sz-01,sz-02  yes",
        "zhang     张经理   admin  -            no",
    ]


def test_disable_ends_sessions_and_refuses_the_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: Callable[[], SqlStore],
) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    assert _create(tmp_path, "desk", "--role", "staff", "--clinic", "sz-01") == 0
    db = store()
    token, _ = db.open_session(db.get_user("desk").id, timedelta(hours=1))
    assert main(["users", "disable", "DESK", "--database-url", url_in(tmp_path)]) == 0
    assert "disabled console user desk" in capsys.readouterr().out
    assert db.find_session(token) is None
    assert db.check_password("desk", PASSWORD) is None
    assert main(["users", "disable", "nobody", "--database-url", url_in(tmp_path)]) == 1
    assert "no console user 'nobody'" in capsys.readouterr().err


def test_password_replaces_the_old_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: Callable[[], SqlStore],
) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    assert _create(tmp_path, "boss", "--role", "admin") == 0
    new = tmp_path / "new.txt"
    new.write_text("a brand new password\n", encoding="utf-8")
    argv = ["users", "password", "boss", "--password-file", str(new)]
    assert main([*argv, "--database-url", url_in(tmp_path)]) == 0
    assert "password set for boss" in capsys.readouterr().out
    db = store()
    assert db.check_password("boss", PASSWORD) is None
    assert db.check_password("boss", "a brand new password") is not None

    monkeypatch.setattr(users_cli, "read_password", pytest.fail)  # unknown: never asked
    argv = ["users", "password", "nobody", "--database-url", url_in(tmp_path)]
    assert main(argv) == 1
    assert "no console user 'nobody'" in capsys.readouterr().err
    missing = ["users", "password", "boss", "--password-file", str(tmp_path / "none.txt")]
    monkeypatch.undo()
    assert main([*missing, "--database-url", url_in(tmp_path)]) == 2
    assert "none.txt" in capsys.readouterr().err
