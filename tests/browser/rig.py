"""A console with a worker: the app served over a fresh database, the providers'
simulators, a worker on the app's queue, and a journey deployed through ``/v1``; the
page tests that need journeys to run (the task and journey pages) start from here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from api.app import create_app
from engine.dispatch.dispatcher import Dispatcher
from engine.models.users import Role
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.browser.conftest import PASSWORD, ConsoleServer, serving
from tests.db import migrated_database
from tests.factories import cancel_running, workspace
from worker import build_worker


@dataclass(frozen=True)
class Stack:
    """The served console, its store, and an admin API client."""

    console: ConsoleServer
    store: SqlStore
    api: httpx.AsyncClient


@asynccontextmanager
async def worker_stack(
    env: WorkflowEnvironment,
    folder: Path,
    users: dict[str, tuple[Role, list[str], str]],
    journey: dict[str, Any],
    name: str,
) -> AsyncIterator[Stack]:
    """The console with a worker over a fresh database, ``users`` created and
    ``journey`` deployed; running enrollments are cancelled at the end."""
    with migrated_database(folder) as url:
        store = SqlStore(url)
        for username, (role, clinics, display) in users.items():
            store.create_user(username, PASSWORD, role, clinics, display_name=display)
        queue = f"{name}-{uuid.uuid4().hex[:8]}"
        app = create_app(store, Dispatcher(env.client, store, queue), Settings())
        _, admin = store.create_api_key(f"{name}-admin", ["admin"], [], at=datetime.now(UTC))
        try:
            with ProviderSimulators() as sims:
                adapters = build_adapters(sims.channel_settings(timeout_seconds=5))
                async with build_worker(env.client, store, adapters, queue):
                    with serving(app) as base:
                        headers = {"Authorization": f"Bearer {admin}"}
                        async with httpx.AsyncClient(base_url=base, headers=headers) as api:
                            deployed = await api.post(
                                "/v1/journeys/deploy",
                                json={"path": str(workspace(folder / "ws", [journey]))},
                            )
                            assert deployed.status_code == 200, deployed.text
                            yield Stack(ConsoleServer(base, app, store), store, api)
                    await cancel_running(env, store)
        finally:
            store.close()
