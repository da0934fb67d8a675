"""Access tokens shared by worker processes through the SQL store: one fetch for all,
one refresh for all after a refusal, and still never a loop on a bad credential."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.channels.base import ChannelAdapter, ChannelName, Outcome
from activities.channels.registry import build_adapters
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.activities.channels.conftest import make_request
from tests.db import migrated_database

pytestmark = pytest.mark.db

Adapters = dict[ChannelName, ChannelAdapter]
TEMPLATE_SEND = "message/template/send"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with migrated_database(tmp_path) as url:
        store = SqlStore(url)
        yield store
        store.close()


def workers(sims: ProviderSimulators, store: SqlStore, n: int = 2) -> list[Adapters]:
    """The adapters of ``n`` worker processes: separate clients, one shared store."""
    return [
        build_adapters(sims.channel_settings(timeout_seconds=0.5), tokens=store) for _ in range(n)
    ]


def test_worker_processes_share_one_token(sims: ProviderSimulators, store: SqlStore) -> None:
    first, second = workers(sims, store)

    for adapters in (first, second):
        assert adapters["wechat_text"].send(make_request("wechat_text")).outcome is (
            Outcome.DELIVERED
        )
        assert adapters["wecom"].send(make_request("wecom")).outcome is Outcome.ACCEPTED

    assert sims.wechat.call_count("stable_token") == 1
    assert sims.wecom.call_count("gettoken") == 1
    assert len(sims.wechat.messages) == 2


def test_a_revoked_token_is_replaced_once_for_every_worker(
    sims: ProviderSimulators, store: SqlStore
) -> None:
    first, second = workers(sims, store)
    for adapters in (first, second):
        assert adapters["wechat_text"].send(make_request("wechat_text")).outcome is (
            Outcome.DELIVERED
        )

    sims.wechat.revoke_tokens()  # both workers hold a token the platform now answers 40001

    for adapters in (first, second):
        assert adapters["wechat_text"].send(make_request("wechat_text")).outcome is (
            Outcome.DELIVERED
        )
    assert sims.wechat.call_count("stable_token") == 2  # the first fetch + one refresh
    assert len(sims.wechat.messages) == 4


def test_concurrent_refusals_make_one_token_call(sims: ProviderSimulators, store: SqlStore) -> None:
    fleet = workers(sims, store, n=4)
    for adapters in fleet:
        adapters["wechat_text"].send(make_request("wechat_text"))
    sims.wechat.revoke_tokens()
    start = threading.Barrier(len(fleet))
    outcomes: list[Outcome] = []

    def send(adapters: Adapters) -> None:
        start.wait()
        outcomes.append(adapters["wechat_text"].send(make_request("wechat_text")).outcome)

    threads = [threading.Thread(target=send, args=(a,)) for a in fleet]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert outcomes == [Outcome.DELIVERED] * len(fleet)
    assert sims.wechat.call_count("stable_token") == 2


def test_a_credential_refused_again_is_config_after_one_refresh(
    sims: ProviderSimulators, store: SqlStore
) -> None:
    first, second = workers(sims, store)
    sims.wechat.configure(default=40001)

    for adapters in (first, second):
        result = adapters["wechat_template"].send(make_request("wechat_template"))
        assert result.outcome is Outcome.CONFIG
        assert result.detail.startswith("40001 invalid credential")

    # Each call: its token refused, one refresh, one more refusal; never a loop.
    assert sims.wechat.call_count(TEMPLATE_SEND) == 4
    assert sims.wechat.call_count("stable_token") == 3  # the first fetch + one per refusal
    assert sims.wechat.messages == []


def test_a_wrong_secret_is_config_and_stores_no_token(
    sims: ProviderSimulators, store: SqlStore
) -> None:
    settings = sims.channel_settings(timeout_seconds=0.5)
    settings.wechat.app_secret = "not-the-secret"
    adapters = build_adapters(settings, tokens=store)

    result = adapters["wechat_template"].send(make_request("wechat_template"))

    assert (result.outcome, result.detail) == (Outcome.CONFIG, "token: 40125 invalid appsecret")
    assert sims.wechat.call_count(TEMPLATE_SEND) == 0
    assert store.cached_token(f"wechat:{settings.wechat.app_id}", datetime.now(UTC)) is None
