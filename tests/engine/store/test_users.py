"""Console users and sessions in the SQL store: passwords, roles, sessions, who changed what."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select, update

from engine.errors import AccountRefused, Conflict, NotFound
from engine.store import passwords
from engine.store.access import principal_of, visible_task
from engine.store.records import HandoffTask
from engine.store.sql import SqlStore
from engine.store.sql import users as users_part
from engine.store.sql.tables import ConsoleSessionRow, UserRow

pytestmark = pytest.mark.db

T0 = datetime(2027, 2, 1, 1, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def _rows(url: str, table: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(table))]
    finally:
        engine.dispose()


def _utc(at: datetime) -> datetime:
    # SQLite hands raw rows back naive (in UTC), PostgreSQL aware.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def test_a_user_signs_in_with_their_password_only(sql_store: SqlStore, sql_url: str) -> None:
    user = sql_store.create_user(
        "  Li.Na ", PASSWORD, "staff", ["sz-01", "sz-02", "sz-01"], "李娜", by="cli", at=T0
    )
    assert user.id.startswith("u-") and len(user.id) == 14
    assert (user.username, user.display_name, user.role) == ("li.na", "李娜", "staff")
    assert (user.clinics, user.disabled, user.created_at) == (["sz-01", "sz-02"], False, T0)

    assert sql_store.check_password("li.na", PASSWORD) == user
    assert sql_store.check_password("LI.NA", PASSWORD) == user  # usernames ignore case
    assert sql_store.check_password("li.na", PASSWORD + "x") is None
    assert sql_store.check_password("nobody", PASSWORD) is None
    assert sql_store.get_user("Li.Na") == user

    (row,) = _rows(sql_url, UserRow.__table__)
    assert row["password_hash"].startswith("$argon2id$")
    assert not any(PASSWORD in str(value) for value in row.values())


def test_display_name_defaults_to_the_username_and_users_are_listed_by_name(
    sql_store: SqlStore,
) -> None:
    sql_store.create_user("zhou", PASSWORD, "operator")
    sql_store.create_user("admin", PASSWORD, "admin", [])
    listed = sql_store.list_users()
    assert [(u.username, u.display_name, u.role, u.clinics) for u in listed] == [
        ("admin", "admin", "admin", []),
        ("zhou", "zhou", "operator", []),
    ]
    with pytest.raises(NotFound, match="'nobody'"):
        sql_store.get_user("nobody")


def test_a_taken_username_is_a_conflict_in_any_case(sql_store: SqlStore) -> None:
    first = sql_store.create_user("wang", PASSWORD, "operator")
    with pytest.raises(Conflict, match="'wang' exists"):
        sql_store.create_user("WANG", "another password", "admin")
    assert sql_store.list_users() == [first]
    assert sql_store.check_password("wang", "another password") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "clinics", "message"),
    [
        ("desk", PASSWORD, "staff", [], "needs at least one clinic"),
        ("boss", PASSWORD, "admin", ["sz-01"], "give clinics to staff users only"),
        ("ops", PASSWORD, "operator", ["sz-01"], "give clinics to staff users only"),
        ("short", "123456789", "admin", [], "9 characters: use at least 10"),
        ("has space", PASSWORD, "admin", [], "letters, digits"),
        ("", PASSWORD, "admin", [], "letters, digits"),
        ("desk", PASSWORD, "staff", ["  "], "must not be empty"),
    ],
)
def test_users_breaking_the_rules_are_refused_and_not_stored(
    sql_store: SqlStore,
    username: str,
    password: str,
    role: Any,
    clinics: list[str],
    message: str,
) -> None:
    with pytest.raises(AccountRefused, match=message):
        sql_store.create_user(username, password, role, clinics)
    assert sql_store.list_users() == []


def test_a_session_is_found_by_its_token_until_it_expires_or_is_closed(
    sql_store: SqlStore, sql_url: str
) -> None:
    user = sql_store.create_user("chen", PASSWORD, "operator", at=T0)
    token, session = sql_store.open_session(user.id, timedelta(hours=12), at=T0)
    assert len(token) >= 43 and session.user == user
    assert session.expires_at == T0 + timedelta(hours=12) and len(session.csrf_token) >= 43

    assert sql_store.find_session(token, at=T0 + timedelta(hours=11)) == session
    assert sql_store.find_session(token, at=T0 + timedelta(hours=12)) is None  # expired
    assert sql_store.find_session(token + "x", at=T0) is None
    assert sql_store.find_session("", at=T0) is None

    # Only the token's sha256 is stored.
    (row,) = _rows(sql_url, ConsoleSessionRow.__table__)
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in row.values())

    other, _ = sql_store.open_session(user.id, timedelta(hours=12), at=T0)
    sql_store.close_session(token)
    sql_store.close_session(token)  # closing twice changes nothing
    assert sql_store.find_session(token, at=T0) is None
    assert sql_store.find_session(other, at=T0) is not None  # the other browser stays in


def test_opening_a_session_removes_the_users_expired_ones(
    sql_store: SqlStore, sql_url: str
) -> None:
    user = sql_store.create_user("chen", PASSWORD, "operator", at=T0)
    old, _ = sql_store.open_session(user.id, timedelta(hours=1), at=T0)
    new, _ = sql_store.open_session(user.id, timedelta(hours=1), at=T0 + timedelta(hours=2))
    stored = {r["token_sha256"] for r in _rows(sql_url, ConsoleSessionRow.__table__)}
    assert stored == {hashlib.sha256(new.encode()).hexdigest()}
    with pytest.raises(NotFound):
        sql_store.open_session("u-none", timedelta(hours=1))


def test_disabling_a_user_ends_their_sessions_and_refuses_their_password(
    sql_store: SqlStore, sql_url: str
) -> None:
    user = sql_store.create_user("desk", PASSWORD, "staff", ["sz-01"], by="cli", at=T0)
    token, _ = sql_store.open_session(user.id, timedelta(hours=12), at=T0)
    later = T0 + timedelta(days=3)

    disabled = sql_store.disable_user("DESK", by="console:admin", at=later)
    assert disabled.disabled and disabled.id == user.id
    assert sql_store.find_session(token, at=T0) is None
    assert _rows(sql_url, ConsoleSessionRow.__table__) == []
    assert sql_store.check_password("desk", PASSWORD) is None
    with pytest.raises(Conflict, match="disabled"):
        sql_store.open_session(user.id, timedelta(hours=1))
    with pytest.raises(Conflict, match="disabled"):
        sql_store.set_password("desk", "a new password", by="cli")

    # Disabling again keeps the first time and who did it.
    sql_store.disable_user("desk", by="cli", at=later + timedelta(days=1))
    (row,) = _rows(sql_url, UserRow.__table__)
    assert (row["created_by"], row["updated_by"]) == ("cli", "console:admin")
    assert _utc(row["disabled_at"]) == later
    assert sql_store.list_users()[0].disabled
    with pytest.raises(NotFound):
        sql_store.disable_user("nobody")


def test_a_new_password_replaces_the_old_and_ends_every_session(
    sql_store: SqlStore, sql_url: str
) -> None:
    user = sql_store.create_user("chen", PASSWORD, "admin", by="cli", at=T0)
    token, _ = sql_store.open_session(user.id, timedelta(hours=12), at=T0)
    with pytest.raises(AccountRefused, match="at least 10"):
        sql_store.set_password("chen", "short")
    assert sql_store.find_session(token, at=T0) is not None  # a refused change ends nothing

    sql_store.set_password("chen", "a new password", by="console:chen", at=T0 + timedelta(days=1))
    assert sql_store.find_session(token, at=T0) is None
    assert sql_store.check_password("chen", PASSWORD) is None
    assert sql_store.check_password("chen", "a new password") == user
    (row,) = _rows(sql_url, UserRow.__table__)
    assert (row["created_by"], row["updated_by"]) == ("cli", "console:chen")
    assert _utc(row["updated_at"]) == T0 + timedelta(days=1)
    with pytest.raises(NotFound):
        sql_store.set_password("nobody", "a new password")


def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(
    sql_store: SqlStore, sql_url: str
) -> None:
    user = sql_store.create_user("chen", PASSWORD, "admin")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    engine = create_engine(sql_url)
    with engine.begin() as conn:
        conn.execute(update(UserRow.__table__).values(password_hash=weak))
    engine.dispose()
    assert passwords.needs_rehash(weak)

    assert sql_store.check_password("chen", PASSWORD) == user
    (row,) = _rows(sql_url, UserRow.__table__)
    assert row["password_hash"] != weak
    assert not passwords.needs_rehash(row["password_hash"])
    assert passwords.verify_password(row["password_hash"], PASSWORD)


def test_an_unknown_username_costs_a_password_verification(
    sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql_store.create_user("chen", PASSWORD, "admin")
    checked: list[str] = []

    def dummy(password: str) -> None:
        checked.append(password)
        passwords.verify_dummy(password)

    monkeypatch.setattr(users_part, "verify_dummy", dummy)
    assert sql_store.check_password("nobody", "guess one") is None
    assert sql_store.check_password("chen", "guess two") is None  # known: its own hash
    assert checked == ["guess one"]


def test_staff_users_act_as_staff_keys_of_their_clinics(sql_store: SqlStore) -> None:
    staff = sql_store.create_user("desk", PASSWORD, "staff", ["sz-01"], at=T0)
    operator = sql_store.create_user("ops", PASSWORD, "operator", at=T0)
    admin = sql_store.create_user("boss", PASSWORD, "admin", at=T0)
    key = principal_of(staff)
    assert (key.id, key.name, key.scopes, key.clinics) == (
        staff.id,
        "console:desk",
        ["staff"],
        ["sz-01"],
    )
    assert key.created_at == T0
    for other in (operator, admin):
        assert (principal_of(other).scopes, principal_of(other).clinics) == (["admin"], [])

    for task_id, clinic in (("T-sz", "sz-01"), ("T-gz", "gz-01")):
        sql_store.create_task(
            HandoffTask(
                id=task_id,
                enrollment_id="e1",
                customer_id="c-1",
                journey_id="j",
                step="call",
                queue="nurses",
                clinic=clinic,
                created_at=T0,
            )
        )
    assert visible_task(sql_store, key, "T-sz").clinic == "sz-01"
    with pytest.raises(NotFound):
        visible_task(sql_store, key, "T-gz")  # another clinic's task, as for a staff key
    assert visible_task(sql_store, principal_of(operator), "T-gz").clinic == "gz-01"
