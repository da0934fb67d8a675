"""The API over real parts: SqlStore, a Dispatcher and a worker on the time-skipping server.

Each test gets a fresh database (a SQLite file in tmp_path; PostgreSQL when
CAREPATH_TEST_DATABASE_URL is set, so the tests are marked ``db``), its own task queue,
the provider simulators, API keys (admin, ingest, staff of sz-01, staff of bj-01) and
httpx clients talking ASGI to the app.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from api.app import create_app
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.api.helpers import Api

# The SQL store's own fixtures: a SQLite file per test, or with
# CAREPATH_TEST_DATABASE_URL a PostgreSQL schema per module, emptied between tests.
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import cancel_running
from worker import build_worker

__all__ = ["api", "postgres_url", "sql_url"]


@pytest.fixture
async def api(time_env: WorkflowEnvironment, sql_url: str) -> AsyncIterator[Api]:
    store = SqlStore(sql_url)
    queue = f"api-{uuid.uuid4().hex[:8]}"
    dispatcher = Dispatcher(time_env.client, store, queue)
    app = create_app(store, dispatcher, Settings())
    now = datetime.now(UTC)
    secrets = {
        "admin": store.create_api_key("admin-test", ["admin"], [], at=now)[1],
        "ingest": store.create_api_key("crm", ["ingest"], [], at=now)[1],
        "staff": store.create_api_key("sz-desk", ["staff"], ["sz-01"], at=now)[1],
        "other_staff": store.create_api_key("bj-desk", ["staff"], ["bj-01"], at=now)[1],
    }
    transport = httpx.ASGITransport(app=app)
    base = "http://carepath.test"
    clients = {
        name: httpx.AsyncClient(
            transport=transport, base_url=base, headers={"Authorization": f"Bearer {secret}"}
        )
        for name, secret in secrets.items()
    }
    clients["anonymous"] = httpx.AsyncClient(transport=transport, base_url=base)
    with ProviderSimulators() as sims:
        adapters = build_adapters(sims.channel_settings(timeout_seconds=5))
        async with build_worker(time_env.client, store, adapters, queue):
            yield Api(time_env, store, dispatcher, sims, **clients)
            await cancel_running(time_env, store)
    for client in clients.values():
        await client.aclose()
    store.close()
