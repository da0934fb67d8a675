"""API keys in the SQL store: expiry, revocation, listing, and a cheap last-used time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import Conflict, NotFound
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_an_expired_key_is_not_found_from_its_expiry_on(sql_store: SqlStore) -> None:
    key, secret = sql_store.create_api_key(
        "crm", ["ingest"], [], at=T0, expires_at=T0 + timedelta(days=90)
    )
    assert sql_store.find_api_key(secret, at=T0 + timedelta(days=89)) is not None
    assert sql_store.find_api_key(secret, at=T0 + timedelta(days=90)) is None
    (listed,) = sql_store.list_api_keys()
    assert (listed.id, listed.expires_at) == (key.id, T0 + timedelta(days=90))


def test_a_revoked_key_is_not_found_and_stays_listed(sql_store: SqlStore) -> None:
    key, secret = sql_store.create_api_key("crm", ["ingest"], [], at=T0)
    other, other_secret = sql_store.create_api_key("desk", ["staff"], ["sz-01"], at=T0)
    revoked = sql_store.revoke_api_key("crm", at=T0 + timedelta(hours=1))
    assert (revoked.id, revoked.revoked_at) == (key.id, T0 + timedelta(hours=1))
    assert sql_store.find_api_key(secret, at=T0 + timedelta(hours=2)) is None
    assert sql_store.find_api_key(other_secret, at=T0 + timedelta(hours=2)) is not None
    # Again by id: still revoked since the first time.
    again = sql_store.revoke_api_key(key.id, at=T0 + timedelta(hours=3))
    assert again.revoked_at == T0 + timedelta(hours=1)
    listed = {k.id: k for k in sql_store.list_api_keys()}
    assert listed[key.id].revoked_at == T0 + timedelta(hours=1)
    assert listed[other.id].revoked_at is None


def test_revoking_by_a_shared_name_asks_for_the_id(sql_store: SqlStore) -> None:
    first, _ = sql_store.create_api_key("crm", ["ingest"], [], at=T0)
    second, _ = sql_store.create_api_key("crm", ["ingest"], [], at=T0 + timedelta(seconds=1))
    with pytest.raises(Conflict, match=f"{first.id}, {second.id}"):
        sql_store.revoke_api_key("crm", at=T0)
    with pytest.raises(NotFound, match="no unrevoked API key with id or name 'nobody'"):
        sql_store.revoke_api_key("nobody", at=T0)


def test_last_used_is_written_at_most_once_a_minute(sql_store: SqlStore) -> None:
    key, secret = sql_store.create_api_key("crm", ["ingest"], [], at=T0)
    assert sql_store.list_api_keys()[0].last_used_at is None
    for seconds in (0, 10, 59):
        sql_store.find_api_key(secret, at=T0 + timedelta(seconds=seconds))
    assert sql_store.list_api_keys()[0].last_used_at == T0
    found = sql_store.find_api_key(secret, at=T0 + timedelta(seconds=61))
    assert found is not None and found.last_used_at == T0 + timedelta(seconds=61)
    assert sql_store.list_api_keys()[0].last_used_at == T0 + timedelta(seconds=61)
