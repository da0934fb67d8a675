"""Access tokens in the SQL store: shared while valid, refreshed once under a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
NAME = "wechat:wx0123456789abcdef"


class Platform:
    """A token endpoint that counts its calls and hands out numbered tokens."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls = 0
        self.pause = pause
        self._lock = threading.Lock()

    def fetch(self) -> tuple[str, datetime]:
        with self._lock:
            self.calls += 1
            token = f"token-{self.calls}"
        time.sleep(self.pause)  # a slow platform: the others must wait, not fetch too
        return token, T0 + HOUR


def test_a_stored_token_is_shared_until_it_expires(sql_store: SqlStore) -> None:
    platform = Platform()
    assert sql_store.cached_token(NAME, T0) is None

    assert sql_store.refresh_token_once(NAME, None, platform.fetch, T0) == "token-1"

    assert sql_store.cached_token(NAME, T0 + timedelta(minutes=59)) == "token-1"
    assert sql_store.cached_token(NAME, T0 + HOUR) is None  # expired
    assert sql_store.cached_token("wecom:ww0123456789", T0) is None  # per account
    # Another process that held no token finds this one instead of fetching its own.
    assert sql_store.refresh_token_once(NAME, None, platform.fetch, T0) == "token-1"
    assert platform.calls == 1


def test_a_refused_or_expired_token_is_fetched_again(sql_store: SqlStore) -> None:
    platform = Platform()
    sql_store.refresh_token_once(NAME, None, platform.fetch, T0)

    assert sql_store.refresh_token_once(NAME, "token-1", platform.fetch, T0) == "token-2"
    assert sql_store.cached_token(NAME, T0) == "token-2"
    assert sql_store.refresh_token_once(NAME, None, platform.fetch, T0 + HOUR) == "token-3"
    assert platform.calls == 3


def test_workers_refusing_the_same_token_fetch_one_new_token(
    sql_store: SqlStore, sql_url: str
) -> None:
    # A second store over the same database stands for a second worker process: it
    # has its own connections (and, on SQLite, its own in-process write queue).
    other = SqlStore(sql_url)
    platform = Platform(pause=0.2)
    sql_store.refresh_token_once(NAME, None, platform.fetch, T0)
    start = threading.Barrier(4)
    got: list[str] = []

    def worker(store: SqlStore) -> Callable[[], None]:
        def refuse_and_refresh() -> None:
            start.wait()
            got.append(store.refresh_token_once(NAME, "token-1", platform.fetch, T0))

        return refuse_and_refresh

    threads = [threading.Thread(target=worker(s)) for s in (sql_store, other) * 2]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    finally:
        other.close()

    assert got == ["token-2"] * 4
    assert platform.calls == 2  # the first fetch and one refresh for all four
    assert sql_store.cached_token(NAME, T0) == "token-2"


def test_a_failed_fetch_stores_nothing(sql_store: SqlStore) -> None:
    def refused() -> tuple[str, datetime]:
        raise RuntimeError("40125 invalid appsecret")

    with pytest.raises(RuntimeError, match="40125"):
        sql_store.refresh_token_once(NAME, None, refused, T0)
    assert sql_store.cached_token(NAME, T0) is None

    sql_store.refresh_token_once(NAME, None, Platform().fetch, T0)
    with pytest.raises(RuntimeError, match="40125"):
        sql_store.refresh_token_once(NAME, "token-1", refused, T0)
    assert sql_store.cached_token(NAME, T0) == "token-1"  # the old token is kept
