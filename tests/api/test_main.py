"""The API as a process of its own (``uvicorn --factory api.main:app``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api import main
from api.deps import KeyCache
from cli.devserver import free_port
from engine.settings import DatabaseSettings, Settings, TemporalSettings
from engine.store.sql import SqlStore
from engine.store.sql.migrate import upgrade

EXAMPLES = Path(__file__).parents[2] / "examples" / "eye-clinic"


async def test_the_factory_builds_the_api_from_settings_and_stores_while_temporal_is_away(
    tmp_path: Path,
) -> None:
    # No Temporal server listens on this port: the API starts anyway (the client is
    # lazy), stores events, and leaves those that trigger something to the sweep.
    settings = Settings(
        database=DatabaseSettings(url=f"sqlite:///{tmp_path}/var/carepath.db"),
        temporal=TemporalSettings(address=f"127.0.0.1:{free_port()}"),
    )
    app = main.app(settings)
    store: SqlStore = app.state.store
    app.state.dispatcher.deploy(EXAMPLES)
    _, secret = store.create_api_key("crm", ["ingest"], [], at=datetime.now(UTC))
    auth = {"Authorization": f"Bearer {secret}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        quiet = {"customer": {"phone": "13800000001"}, "event": "page.viewed", "message_id": "q1"}
        r = await client.post("/v1/track", json=quiet, headers=auth)
        assert r.status_code == 202, r.text
        assert r.json()["dispatch_pending"] is False  # nobody to tell: no Temporal call
        scan = {
            "customer": {"wechat_openid": "o-1"},
            "event": "wechat.qr_scanned",
            "properties": {"scene": "livestream_dr_wang"},
            "message_id": "s1",
        }
        r = await client.post("/v1/track", json=scan, headers=auth)
        assert r.status_code == 202, r.text
        assert r.json()["dispatch_pending"] is True
    assert [e.message_id for e in store.undispatched_events(datetime.now(UTC))] == ["s1"]
    store.close()


class CountingStore:
    """Counts key lookups (the one store method a KeyCache uses)."""

    def __init__(self, store: SqlStore) -> None:
        self.store, self.lookups = store, 0

    def find_api_key(self, secret: str) -> object:
        self.lookups += 1
        return self.store.find_api_key(secret)


@pytest.mark.parametrize("ttl", [60.0, 0.0])
async def test_a_found_key_is_trusted_for_the_cache_time(tmp_path: Path, ttl: float) -> None:
    upgrade(f"sqlite:///{tmp_path}/keys.db")
    store = SqlStore(f"sqlite:///{tmp_path}/keys.db")
    _, secret = store.create_api_key("crm", ["ingest"], [], at=datetime.now(UTC))
    counting = CountingStore(store)
    cache = KeyCache(ttl=ttl)
    for _ in range(3):
        key = await cache.find(counting, secret)  # type: ignore[arg-type]
        assert key is not None and key.name == "crm"
    for _ in range(2):
        assert await cache.find(counting, "cp_unknown") is None  # type: ignore[arg-type]
    assert counting.lookups == (1 if ttl else 3) + 2  # unknown secrets are never cached
    store.close()
